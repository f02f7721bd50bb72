"""Counting right: the key of every format is (Computer, Channel, EventRecordID); records
without a number are kept; Kerberos failures that explain no fallback are not counted;
rendered-Message CSV exports are read; the KDC's own audit log is read (also rotated)."""

from __future__ import annotations

import csv
import gzip
import json
import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path

import evtx
from typer.testing import CliRunner

from kerbfirst.audit.classify import classify
from kerbfirst.audit.events import AuthMechanism, Cause, NtlmVersion
from kerbfirst.audit.ingest import IngestStats, iter_events
from kerbfirst.audit.pipeline import ingest_to_store
from kerbfirst.audit.store import EventStore
from kerbfirst.cli.audit import app
from kerbfirst.kdc.audit import KdcAuditEvent, Outcome, RequestKind

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _ingest(paths):
    stats, warnings = IngestStats(), []
    events = [classify(e) for e in iter_events(paths, stats=stats, warn=warnings.append)]
    return events, stats, warnings


def renumber_evtx(src: Path, dst: Path, start: int) -> int:
    """A copy of `src` whose record headers are numbered from `start`, as `wevtutil epl`
    with a filter or a re-export numbers them (the events' own EventRecordID stays).
    Record header: signature 2a2a0000, size u32, record number u64 (MS-EVEN6 / libevtx);
    chunks of 64 KiB after the 4 KiB file header."""
    data = bytearray(src.read_bytes())
    n = start
    for chunk in range(0x1000, len(data), 0x10000):
        if data[chunk:chunk + 8] != b"ElfChnk\x00":
            continue
        first = n
        pos = chunk + 0x200
        while pos + 24 <= chunk + 0x10000 and data[pos:pos + 4] == b"\x2a\x2a\x00\x00":
            struct.pack_into("<Q", data, pos + 8, n)
            n += 1
            pos += struct.unpack_from("<I", data, pos + 4)[0]
        struct.pack_into("<QQ", data, chunk + 8, first, n - 1)
    dst.write_bytes(bytes(data))
    return n - start


def test_evtx_is_keyed_on_the_events_record_id_not_the_file_position(evtx_dir, tmp_path):
    src = evtx_dir / "Security_with_size_t.evtx"
    exported = tmp_path / "exported.evtx"
    assert renumber_evtx(src, exported, 700_001) > 600
    headers = [r["event_record_id"] for r in evtx.PyEvtxParser(str(exported)).records_json()]
    assert headers[0] == 700_001  # the copy really is renumbered
    xml_path = tmp_path / "same.xml"
    with xml_path.open("w") as fh:
        for rec in evtx.PyEvtxParser(str(src)).records():
            fh.write(rec["data"].split("?>", 1)[1])
    keys = [[(e.source, e.record_id) for e in _ingest([p])[0]]
            for p in (src, exported, xml_path)]
    assert keys[0] and keys[0] == keys[1] == keys[2]
    store = EventStore(tmp_path / "store")
    stats = IngestStats()
    first = ingest_to_store([src], store, stats=stats, warn=lambda m: None)
    again = ingest_to_store([exported, xml_path], store, stats=IngestStats(),
                            warn=lambda m: None)
    assert first.added == len(keys[0]) and again.added == 0
    assert again.duplicates == 2 * len(keys[0])


def _nxlog_4624(user: str, lm: str, addr: str, minute: int) -> dict[str, object]:
    # The newer NXLog/OTRF shape: no RecordNumber and no EventRecordID.
    return {
        "EventTime": (T0 + timedelta(minutes=minute)).strftime("%Y-%m-%d %H:%M:%S"),
        "Hostname": "SRV01.corp.example.com", "EventID": 4624,
        "SourceName": "Microsoft-Windows-Security-Auditing", "Channel": "Security",
        "TargetUserName": user, "TargetDomainName": "CORP", "TargetUserSid": "S-1-5-21-9-1105",
        "LogonType": "3", "LogonProcessName": "NtLmSsp ",
        "AuthenticationPackageName": "NTLM", "LmPackageName": lm,
        "WorkstationName": "WKS7", "IpAddress": addr,
    }


def test_records_without_a_record_number_are_kept_with_a_stable_key(tmp_path):
    path = tmp_path / "otrf.json"
    docs = [_nxlog_4624("alice", "NTLM V1", "10.0.0.7", 0),
            _nxlog_4624("bob", "NTLM V2", "10.0.0.8", 1)]
    path.write_text("".join(json.dumps(d) + "\n" for d in docs))
    events, stats, warnings = _ingest([path])
    assert warnings == [] and stats.records_corrupt == 0
    assert [e.user for e in events] == ["alice", "bob"]
    assert events[0].ntlm_version is NtlmVersion.NTLMV1
    assert events[0].cause is Cause.NTLMV1_OR_LM
    assert events[0].record_id != events[1].record_id
    assert events[0].extra["record_id"] == "content"
    store = EventStore(tmp_path / "store")
    assert ingest_to_store([path], store, stats=IngestStats(), warn=print).added == 2
    copy = tmp_path / "copy" / "otrf.json"
    copy.parent.mkdir()
    copy.write_bytes(path.read_bytes())
    assert ingest_to_store([copy], store, stats=IngestStats(), warn=print).added == 0


def _kerberos(eid: int, status: str, i: int) -> dict[str, object]:
    return {
        "EventTime": (T0 + timedelta(seconds=i)).isoformat(), "Hostname": "DC01.corp.example.com",
        "EventID": eid, "SourceName": "Microsoft-Windows-Security-Auditing",
        "Channel": "Security", "RecordNumber": 5000 + i, "TargetUserName": f"user{i}",
        "ServiceName": "krbtgt/CORP" if eid != 4769 else "cifs/fs09.corp.example.com",
        "Status": status, "IpAddress": "::ffff:10.9.9.9",
    }


def test_a_kerberos_password_spray_is_not_ntlm(tmp_path, monkeypatch):
    spray = tmp_path / "spray.json"
    docs = ([_kerberos(4771, "0x18", i) for i in range(30)]      # bad password
            + [_kerberos(4768, "0x6", 30 + i) for i in range(10)]  # no such user
            + [_kerberos(4768, "0x12", 40 + i) for i in range(5)])  # disabled
    spray.write_text("".join(json.dumps(d) + "\n" for d in docs))
    events, stats, _ = _ingest([spray])
    assert events == [] and stats.records_read == 45

    mixed = tmp_path / "mixed.json"
    mixed.write_text(spray.read_text() + json.dumps(_kerberos(4769, "0x7", 99)) + "\n"
                     + json.dumps(_nxlog_4624("carol", "NTLM V2", "10.0.0.9", 3)) + "\n")
    monkeypatch.setenv("KERBFIRST_AUDIT_STORE", str(tmp_path / "store"))
    out = CliRunner().invoke(app, ["ingest", "-q", str(mixed)])
    assert out.exit_code == 0, out.output
    assert ("1 NTLM events, 1 Kerberos failures that explain a fallback: 2 added"
            in " ".join(out.output.split()))


MESSAGE_4624 = """An account was successfully logged on.

Subject:
\tSecurity ID:\t\tS-1-0-0
\tAccount Name:\t\t-
\tAccount Domain:\t\t-

Logon Information:
\tLogon Type:\t\t3

New Logon:
\tSecurity ID:\t\tS-1-5-21-9-1107
\tAccount Name:\t\tscanner
\tAccount Domain:\t\tCORP

Network Information:
\tWorkstation Name:\tMFP-2F
\tSource Network Address:\t10.20.0.44
\tSource Port:\t\t50122

Detailed Authentication Information:
\tLogon Process:\t\tNtLmSsp\x20
\tAuthentication Package:\tNTLM
\tTransited Services:\t-
\tPackage Name (NTLM only):\tNTLM V1
\tKey Length:\t\t0
"""


def _export_csv(path: Path, rows: list[tuple[str, int, int]]) -> None:
    """Get-WinEvent | Export-Csv -NoTypeInformation: the rendered text in Message, the
    EventData only as the useless "Properties" type name, local time without a zone."""
    header = ["Message", "Id", "Version", "Qualifiers", "Level", "Task", "Opcode",
              "Keywords", "RecordId", "ProviderName", "ProviderId", "LogName", "ProcessId",
              "ThreadId", "MachineName", "UserId", "TimeCreated", "Properties"]
    with path.open("w", newline="", encoding="utf-8-sig") as fh:
        w = csv.writer(fh, quoting=csv.QUOTE_ALL)
        w.writerow(header)
        for message, eid, rid in rows:
            w.writerow([message, eid, 2, "", 0, 12544, 0, "-9214364837600034816", rid,
                        "Microsoft-Windows-Security-Auditing",
                        "54849625-5478-4994-a5ba-3e3b0328c30d", "Security", 780, 1388,
                        "SRV01.corp.example.com", "", "3/2/2026 9:15:02 AM",
                        "System.Diagnostics.Eventing.Reader.EventProperty[]"])


def test_export_csv_with_a_rendered_message_is_read(tmp_path):
    path = tmp_path / "security.csv"
    _export_csv(path, [(MESSAGE_4624, 4624, 81234),
                       ("Ein Konto wurde erfolgreich angemeldet.", 4624, 81235),
                       ("An account was logged off.", 4634, 81236)])
    events, _, warnings = _ingest([path])
    assert len(events) == 1
    e = events[0]
    assert (e.user, e.domain, e.client_host, e.client_address) == (
        "scanner", "CORP", "MFP-2F", "10.20.0.44")
    assert e.ntlm_version is NtlmVersion.NTLMV1 and e.cause is Cause.NTLMV1_OR_LM
    assert e.record_id == 81234 and e.time == datetime(2026, 3, 2, 9, 15, 2, tzinfo=UTC)
    assert len(warnings) == 1 and "1 NTLM-relevant rows" in warnings[0]


def _kdc_line(i: int, outcome: Outcome, code: int, kind: RequestKind = RequestKind.TGS_REQ,
              service: str = "cifs/fs09.corp.example.com@CORP.EXAMPLE.COM") -> str:
    return KdcAuditEvent(T0 + timedelta(seconds=i), kind, outcome, code, "why", "10.1.2.3:5000",
                         "tcp", client="alice@CORP.EXAMPLE.COM", service=service).to_json_line()


def test_the_kdcs_own_audit_log_is_read_also_when_rotated(tmp_path):
    current = tmp_path / "kdc-audit.jsonl"
    rotated = tmp_path / "kdc-audit.jsonl.1"
    old = tmp_path / "kdc-audit.jsonl.2.gz"
    lines = [_kdc_line(0, Outcome.SERVER_UNKNOWN, 7),
             _kdc_line(1, Outcome.GRANTED, 0),
             _kdc_line(2, Outcome.PREAUTH_FAILED, 24, RequestKind.AS_REQ, "krbtgt/X@X"),
             _kdc_line(3, Outcome.ETYPE_NOSUPP, 14)]
    # the IAKerb proxy writes its conversations into the same stream: not Kerberos service
    # decisions, read and skipped (not corrupt)
    # (the fields of gss/iakerb_audit.py's IakerbAuditEvent.to_json)
    iakerb = {"time": T0.isoformat(), "kind": "iakerb", "outcome": "authenticated",
              "result_code": 0, "reason": "ok", "peer": "10.1.2.3:6000",
              "transport": "iakerb", "variant": "draft-03", "target_realm": "CORP.EXAMPLE.COM",
              "client": "alice@CORP.EXAMPLE.COM", "service": "HTTP/web@CORP.EXAMPLE.COM",
              "kdc": "in-process", "hops": 2}
    rotated.write_text("".join(x + "\n" for x in lines[:2]) + json.dumps(iakerb) + "\n")
    current.write_text("".join(x + "\n" for x in lines[1:]))
    with gzip.open(old, "wt") as fh:
        fh.write(lines[0] + "\n")
    store = EventStore(tmp_path / "store")
    stats = IngestStats()
    result = ingest_to_store([tmp_path / "kdc-audit.jsonl*"], store, stats=stats,
                             warn=print)
    assert stats.records_corrupt == 0 and stats.files_done == 3
    # granted (in two files), pre-auth failed (no fallback), IAKerb
    assert stats.records_skipped_irrelevant == 4
    assert result.added == 2 and result.duplicates == 1  # line 0 is in two files
    assert stats.kerberos_failures == 3 and stats.ntlm_events == 0
    with store.connect() as con:
        rows = con.execute("SELECT event_id, status, mechanism, cause, host, target_name, "
                           "client_address FROM events ORDER BY status").fetchall()
    assert rows[1][:4] == (4769, "0xE", AuthMechanism.KERBEROS.value, "unknown")
    assert rows[0][:4] == (4769, "0x7", AuthMechanism.KERBEROS.value, Cause.SPN_MISSING.value)
    assert rows[0][4:] == ("kerbfirst-kdc.corp.example.com",
                           "cifs/fs09.corp.example.com@CORP.EXAMPLE.COM", "10.1.2.3")
