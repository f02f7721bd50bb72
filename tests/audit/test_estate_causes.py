"""Causes that need the whole estate: DCs vs members for 4776, failures apart from NTLM
use (a guessing burst), one name per server, Kerberos failures before an NTLM logon,
hosts whose logs cannot tell a cause. Built as NXLog JSON lines and ingested for real."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kerbfirst.audit.analytics import Analytics, duckdb_runner
from kerbfirst.audit.ingest import IngestStats
from kerbfirst.audit.pipeline import ingest_to_store
from kerbfirst.audit.simulate import simulate
from kerbfirst.audit.store import EventStore
from kerbfirst.policy import Policy

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
SEC = {"SourceName": "Microsoft-Windows-Security-Auditing", "Channel": "Security"}


def _rec(n: int, host: str, eid: int, minute: float, **fields: Any) -> dict[str, Any]:
    return {"EventTime": (T0 + timedelta(minutes=minute)).strftime("%Y-%m-%d %H:%M:%S"),
            "Hostname": host, "EventID": eid, "RecordNumber": n, **SEC, **fields}


def _logon(n: int, host: str, minute: float, *, eid: int = 4624, user: str = "alice",
           ws: str = "WKS01", ip: str = "10.0.0.5", **more: Any) -> dict[str, Any]:
    fields = {"TargetUserSid": "S-1-5-21-1-2-3-1001", "TargetUserName": user,
              "TargetDomainName": "CORP", "LogonType": "3", "LogonProcessName": "NtLmSsp ",
              "AuthenticationPackageName": "NTLM", "LmPackageName": "NTLM V2",
              "WorkstationName": ws, "IpAddress": ip, **more}
    if eid == 4625:
        fields |= {"Status": "0xc000006d", "SubStatus": "0xc000006a", "LmPackageName": "-",
                   "TargetUserSid": "S-1-0-0"}
    return _rec(n, host, eid, minute, **fields)


def _store(tmp_path: Path, docs: list[dict[str, Any]]) -> EventStore:
    path = tmp_path / "estate.json"
    path.write_text("".join(json.dumps(d) + "\n" for d in docs))
    store = EventStore(tmp_path / "store")
    ingest_to_store([path], store, stats=IngestStats(), warn=print)
    return store


def test_4776_on_a_member_is_a_local_sam_check_on_a_dc_pass_through(tmp_path):
    docs = [
        # DC01 is a DC: it logged a (successful, so not stored) 4768
        _rec(1, "DC01.corp.example.com", 4768, 0, TargetUserName="bob", Status="0x0"),
        _rec(2, "DC01.corp.example.com", 4776, 1, TargetUserName="bob", Workstation="WKS02",
             PackageName="MICROSOFT_AUTHENTICATION_PACKAGE_V1_0", Status="0x0"),
        _rec(3, "APP07.corp.example.com", 4776, 2, TargetUserName="svc_local",
             Workstation="WKS03", PackageName="MICROSOFT_AUTHENTICATION_PACKAGE_V1_0",
             Status="0x0"),
    ]
    store = _store(tmp_path, docs)
    assert store.dc_hosts() == ["DC01.CORP.EXAMPLE.COM"]
    with store.connect() as con:
        rows = {r.account: r for r in Analytics(duckdb_runner(con)).failure_map()}
        cover = {c.host: c for c in Analytics(duckdb_runner(con)).coverage()}
    assert (rows["svc_local"].cause, rows["svc_local"].remedy) == ("local-account", "localkdc")
    assert rows["svc_local"].server == "APP07.CORP.EXAMPLE.COM"
    assert rows["bob"].cause == "unknown" and rows["bob"].server == "(UNKNOWN)"
    assert cover["DC01.CORP.EXAMPLE.COM"].is_dc and not cover["APP07.CORP.EXAMPLE.COM"].is_dc


def test_a_guessing_burst_is_a_finding_not_ntlm_use(tmp_path):
    rng = random.Random(5)
    docs = [_logon(i, "SRV01.corp.example.com", i / 60, eid=4625,
                   user=rng.choice(["administrator", "admin", "backup", "test", "sql"]),
                   ws="".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789")
                              for _ in range(8)), ip="203.0.113.66")
            for i in range(3561)]
    docs += [_logon(10_000 + i, "SRV01.corp.example.com", 100 + i, user="carol",
                    ws="WKS09", ip="10.0.0.9") for i in range(5)]
    store = _store(tmp_path, docs)
    with store.connect() as con:
        a = Analytics(duckdb_runner(con))
        outcomes = {o.outcome: o.events for o in a.outcomes()}
        (burst,) = a.failure_sources()
        ready = a.readiness()
        flows = a.flows()
        fmap = a.failure_map()
    assert outcomes == {"failed": 3561, "success": 5}
    assert (burst.source, burst.events, burst.accounts) == ("203.0.113.66", 3561, 5)
    assert burst.workstations > 3000 and burst.servers == 1
    assert burst.last_seen - burst.first_seen == timedelta(minutes=3560 / 60)
    assert ready.overall.events == 5 and [f.client for f in flows] == ["WKS09"]
    sim = simulate(Policy.from_dict({"mode": "enforce", "scope": {"estate": True}}), flows,
                   at=T0.date())
    assert sum(o.flow.events for o in sim.would_fail) == 5
    failed = [r for r in fmap if r.outcome == "failed"]
    assert sum(r.events for r in failed) == 3561
    assert {r.source_ip for r in failed} == {"203.0.113.66"}


def test_one_name_per_server_and_ip_targets_are_their_own_kind(tmp_path):
    ntlm = {"SourceName": "Microsoft-Windows-NTLM", "Channel": "Microsoft-Windows-NTLM/Operational"}
    docs = [
        _logon(1, "SRV01", 0),
        _logon(2, "SRV01.CORP.EXAMPLE.COM", 1),
        {**_rec(3, "WKS01.corp.example.com", 8001, 2, TargetName="cifs/srv01.corp.example.com",
                UserName="alice", DomainName="CORP", MechanismOID="1.3.6.1.4.1.311.2.2.10"),
         **ntlm},
        {**_rec(4, "WKS01.corp.example.com", 8001, 3, TargetName="cifs/10.1.1.20",
                UserName="alice", DomainName="CORP", MechanismOID="1.3.6.1.4.1.311.2.2.10"),
         **ntlm},
    ]
    store = _store(tmp_path, docs)
    with store.connect() as con:
        a = Analytics(duckdb_runner(con))
        servers = {t.name: t.events for t in a.top_servers(10)}
        kinds = {r.server: r.server_kind for r in a.failure_map()}
    assert servers == {"SRV01.CORP.EXAMPLE.COM": 3, "10.1.1.20": 1}
    assert kinds == {"SRV01.CORP.EXAMPLE.COM": "name", "10.1.1.20": "ip"}


def test_a_4769_spn_failure_before_the_ntlm_logon_names_the_cause(tmp_path):
    docs = [
        _rec(1, "DC01.corp.example.com", 4769, 0, TargetUserName="alice@CORP.EXAMPLE.COM",
             ServiceName="cifs/srv02", Status="0x7", IpAddress="::ffff:10.0.0.5"),
        _logon(2, "SRV02.corp.example.com", 0.5, user="alice", ip="10.0.0.5"),
        _logon(3, "SRV02.corp.example.com", 0.5, user="dave", ip="10.0.0.6"),
    ]
    store = _store(tmp_path, docs)
    with store.connect() as con:
        a = Analytics(duckdb_runner(con))
        rows = {r.account: r for r in a.failure_map()}
        cover = {c.host: c for c in a.coverage()}
    assert (rows["CORP\\alice"].cause, rows["CORP\\alice"].remedy) == (
        "spn-missing", "register-spn-use-fqdn")
    assert rows["CORP\\dave"].cause == "unknown"
    srv = cover["SRV02.CORP.EXAMPLE.COM"]
    assert srv.security_only and srv.unknown_events == 1


def test_a_4648_to_an_ip_before_the_ntlm_logon_names_target_is_ip(tmp_path):
    docs = [
        _rec(1, "WKS05.corp.example.com", 4648, 0, SubjectUserName="bob",
             TargetUserName="bob", TargetDomainName="CORP", TargetServerName="10.1.1.30",
             TargetInfo="cifs/10.1.1.30", ProcessName="C:\\Windows\\explorer.exe"),
        # a 4648 to a DNS name says nothing about NTLM: not kept
        _rec(2, "WKS05.corp.example.com", 4648, 0, TargetUserName="bob",
             TargetServerName="srv09.corp.example.com", TargetInfo="cifs/srv09"),
        _logon(3, "SRV09.corp.example.com", 0.2, user="bob", ws="WKS05", ip="10.0.0.55"),
        _logon(4, "SRV09.corp.example.com", 0.2, user="eve", ws="WKS06", ip="10.0.0.56"),
    ]
    path = tmp_path / "e.json"
    path.write_text("".join(json.dumps(d) + "\n" for d in docs))
    store = EventStore(tmp_path / "store")
    stats = IngestStats()
    ingest_to_store([path], store, stats=stats, warn=print)
    assert (stats.ntlm_events, stats.explicit_credentials) == (2, 1)
    with store.connect() as con:
        a = Analytics(duckdb_runner(con))
        rows = {r.account: r for r in a.failure_map()}
        outcomes = {o.outcome: o.events for o in a.outcomes()}
    assert outcomes == {"success": 2}  # the 4648 is evidence, not NTLM use
    assert (rows["CORP\\bob"].cause, rows["CORP\\bob"].remedy) == (
        "target-is-ip", "register-spn-use-fqdn")
    assert rows["CORP\\eve"].cause == "unknown"
