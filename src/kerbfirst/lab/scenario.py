"""`kerbfirst lab up` and `lab run`'s phases. Each phase runs real flows from the client
machines, passes the events through the workbench and compares what was observed (HTTP
status, the mechanism, events in the audit store, exit codes) with what the phase promises;
every comparison is a recorded check, so the run can fail and says which step did."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kerbfirst.lab import flows, netns, servers
from kerbfirst.lab.context import Lab, LabError
from kerbfirst.lab.evidence import Step, check
from kerbfirst.lab.realms import (
    ALICE,
    BACKUP,
    CAROL,
    CORP,
    DAVE,
    OTHER,
    SCANNER,
    WG,
    WG_NETBIOS,
    corp_realm,
    krb5_conf,
    mit_realm,
    passwords,
    tls_certificate,
    workgroup_realm,
)
from kerbfirst.lab.workbench import (
    LogMark,
    event_counts,
    ingest_and_report,
    kdc_slices,
    ntlm_flows,
    read_jsonl,
)

FAULTS = ("keep-branch-exception",)
# A running service checks its policy file at most once a second (PolicyFile).
POLICY_CHECK_WAIT = 1.5
APP = "app.corp.lab"
BRANCH_IP, LEGACY_IP, WG_IP = (netns.address("branch"), netns.address("legacy"),
                               netns.address("wg"))


def _ok(step: Step, done: Any, what: str) -> None:
    if done.returncode != 0:
        raise LabError(f"{what} failed ({done.returncode}): "
                       f"{(done.stdout + done.stderr).strip()[-500:]}")


def up(lab: Lab, say: Callable[[str], None]) -> None:
    """Namespaces, realms, trust, certificates, the first policy, and the servers that run
    from the start (corp KDC, MIT KDC, the application, the gateway in audit mode)."""
    step = lab.evidence.step(0, "set-up")
    names = netns.create(lab.tag)
    problems = netns.isolation_problems(lab.tag)
    check(step, "no route off the machine from any namespace", [], problems)
    if problems:
        raise LabError("the lab's network is not isolated: " + "; ".join(problems))
    lab.evidence.facts["namespaces"] = names
    say(f"set-up: {len(names)} network namespaces ({netns.PREFIX}{lab.tag}-*), "
        "no route off the machine")
    passwords(lab)
    for realm in (CORP, WG):  # the clients' krb5.conf, for a person trying the lab too
        krb5_conf(lab, realm)
    corp_realm(lab, step)
    mit_realm(lab, step)
    tls_certificate(lab)
    servers.start_corp_kdc(lab)
    servers.start_mit_kdc(lab)
    servers.start_upstream(lab)
    policy = lab.path("app", "ntlm-policy.toml")
    today = datetime.now(UTC).date()
    kfp = ["policy", "--policy", str(policy)]
    _ok(step, lab.kf(step, "app", *kfp, "init", "--mode", "audit", "--estate",
                     "--max-days", "30", "--by", "lab"), "policy init")
    # The exceptions that keep today's NTLM working while it is measured (each account's
    # NT hash lives only while an exception names it exactly).
    for eid, client, user, expires, reason in (
            ("EX-BRANCH", BRANCH_IP, f"CORP\\{CAROL}", today + timedelta(days=30),
             "branch office: no line of sight to a KDC"),
            ("EX-WG", WG_IP, f"{WG_NETBIOS}\\{BACKUP}", today + timedelta(days=30),
             "workgroup machine: local account"),
            ("EX-LEGACY", LEGACY_IP, f"CORP\\{SCANNER}", today,
             "scanner firmware speaks NTLM only")):
        _ok(step, lab.kf(step, "app", *kfp, "exception", "add", "--id", eid, "--target", APP,
                         "--client", client, "--user", user, "--owner", "lab@corp.lab",
                         "--expires", expires.isoformat(), "--reason", reason,
                         "--compensating-control", "lab network, TLS with EPA", "--by", "lab"),
            f"policy exception add {eid}")
    pw = passwords(lab)
    for account, domain in ((CAROL, "CORP"), (BACKUP, WG_NETBIOS), (SCANNER, "CORP")):
        _ok(step, lab.kf(step, "kdc", *kfp, "credential", "set", account, "--dir",
                         str(lab.directory / "corp"), "--domain", domain, "--password-stdin",
                         stdin=pw[account] + "\n"), f"policy credential set {account}")
    logs = lab.path("logs", "phase1", "x").parent
    servers.start_gateway(lab, servers.gateway_argv(lab, policy=policy, logs=logs,
                                                    iakerb=False))
    lab.evidence.save()


def _status(step: Step, who: str, result: dict[str, Any], expected: int,
            body_has: str | None = None) -> None:
    observed = result.get("status")
    detail = result.get("error") or result.get("body", "")
    check(step, f"{who}: HTTP status", expected, f"{observed} {str(detail)[:120]}".strip(),
          passed=observed == expected and (body_has is None
                                           or body_has in str(result.get("body", ""))))


def _mark(lab: Lab, phase: str) -> tuple[Path, LogMark]:
    return lab.path("logs", phase, "x").parent, LogMark.now(lab)


def _close_phase(lab: Lab, step: Step, phase: str, mark: LogMark,
                 policy: Path | None = None) -> dict[str, Any]:
    """Stop the gateway (its logs complete), then the phase's events through the workbench."""
    lab.stop("gateway")
    logs = lab.directory / "logs" / phase
    kdc_slices(lab, mark, logs)
    report = ingest_and_report(lab, step, logs, lab.directory / "workbench" / phase / "store",
                               lab.directory / "workbench" / phase, policy)
    step.counts["events_in_store"] = report.get("events", 0)
    step.counts["log_records"] = event_counts(logs)
    step.counts["ntlm_events"] = [
        " ".join(f"{k}={e[k]}" for k in ("EventID", "UserName", "Username", "TargetUserName",
                                         "ClientIP", "IpAddress", "PolicyDecision",
                                         "PolicyException", "PolicyNearException")
                 if e.get(k) not in (None, ""))
        for e in _ntlm_events(logs)]
    step.counts["ntlm_flows"] = [
        {k: r.get(k) for k in ("client", "account", "cause", "remedy", "events", "outcome")}
        for r in report.get("failure_map", [])]
    return report


def _accounts(rows: list[dict[str, Any]]) -> list[str]:
    """The accounts of failure-map rows; a row without one (an NTLM attempt refused before
    its AUTHENTICATE named a user) is left out here and counted in the step's events."""
    return sorted({str(r["account"]).lower() for r in rows if r.get("account")})


def _ntlm_events(logs: Path) -> list[dict[str, Any]]:
    return read_jsonl(logs / "ntlm-events.jsonl")


def phase1(lab: Lab) -> Step:
    step = lab.evidence.step(1, "baseline: NTLM in audit mode, every flow measured")
    logs = lab.directory / "logs" / "phase1"
    mark = LogMark({})
    _status(step, "corp client alice (MIT kinit + curl --negotiate)",
            flows.mit_curl(lab, step, "corp", ALICE, CORP), 200, f"{ALICE}@{CORP}")
    branch = flows.ntlm(lab, step, "branch", CAROL, "CORP", "BR01",
                        kerberos_first=f"{CAROL}@{CORP}",
                        client_log=logs / "branch-client-ntlm.jsonl")
    check(step, "branch client: Kerberos fails (no KDC in sight)", "a KDC error",
          branch.get("kerberos"), passed="no KDC answered" in str(branch.get("kerberos")))
    _status(step, "branch client carol (NTLM after Kerberos failed)", branch, 200)
    _status(step, "workgroup machine WG01\\backup (NTLM, local account)",
            flows.ntlm(lab, step, "wg", BACKUP, WG_NETBIOS, WG_NETBIOS), 200)
    _status(step, "legacy device scanner (NTLM only)",
            flows.ntlm(lab, step, "legacy", SCANNER, "CORP", "SCAN01"), 200)
    report = _close_phase(lab, step, "phase1", mark, lab.directory / "app" / "ntlm-policy.toml")
    ntlm_ok = ntlm_flows(report)
    by_account: dict[str, set[str]] = {}
    for r in ntlm_ok:
        by_account.setdefault(str(r["account"]).lower(), set()).add(str(r["remedy"]))
    check(step, "every NTLM flow in the report has a cause and a remedy", True,
          all(r.get("cause") and r.get("remedy") for r in ntlm_ok) and bool(ntlm_ok))
    for account, remedy in ((CAROL, "iakerb"), (BACKUP, "localkdc")):
        seen = sorted({x for a, rs in by_account.items() if account in a for x in rs})
        check(step, f"the report's remedy for {account}'s NTLM", remedy, seen,
              passed=remedy in seen)
    seen_scanner = sorted({x for a, rs in by_account.items() if SCANNER in a for x in rs})
    check(step, "the report lists the legacy device's NTLM", "a remedy", seen_scanner,
          passed=bool(seen_scanner))
    clients = sorted({str(e.get("IpAddress")) for e in _ntlm_events(logs)
                      if e.get("EventID") == 4624})
    check(step, "NTLM logons (4624) at the gateway, by client", sorted(
        [BRANCH_IP, LEGACY_IP, WG_IP]), clients)
    lab.evidence.facts["phase1_ntlm_flows"] = len(_accounts(ntlm_ok))
    lab.evidence.facts["phase1_failure_map_rows"] = len(ntlm_ok)
    return step


def phase2(lab: Lab) -> Step:
    step = lab.evidence.step(2, "IAKerb and LocalKDC remove the NTLM the report named; "
                                "cross-realm Kerberos from the second realm")
    logs, mark = _mark(lab, "phase2")
    workgroup_realm(lab, step)
    servers.start_wg_kdc(lab)
    mark = LogMark.now(lab)
    policy = lab.directory / "app" / "ntlm-policy.toml"
    servers.start_gateway(lab, servers.gateway_argv(lab, policy=policy, logs=logs, iakerb=True))
    servers.start_iakerb(lab, logs)
    branch = flows.negotiate(lab, step, "branch", CAROL, CORP)
    _status(step, "branch client carol (kerbfirst httpx client, no KDC in sight)", branch, 200,
            f"{CAROL}@{CORP}")
    check(step, "branch client's mechanism", "iakerb", branch.get("mechanism"))
    gss = flows.gss_client_iakerb(lab, step, "branch", CAROL, CORP)
    check(step, "branch client: MIT gss-client -iakerb through `kerbfirst iakerb serve`",
          "exit 0, signature verified", f"exit {gss['exit']}, verified={gss['verified']}",
          passed=gss["exit"] == 0 and gss["verified"])
    _status(step, "workgroup machine backup@WG.LAB (its own LocalKDC, MIT kinit + curl)",
            flows.mit_curl(lab, step, "wg", BACKUP, WG), 200, f"{BACKUP}@{WG}")
    _status(step, "second-realm client dave@OTHER.LAB (MIT krb5kdc, cross-realm)",
            flows.mit_curl(lab, step, "other", DAVE, OTHER), 200, f"{DAVE}@{OTHER}")
    _status(step, "corp client alice", flows.mit_curl(lab, step, "corp", ALICE, CORP), 200)
    _status(step, "legacy device scanner (NTLM, under EX-LEGACY)",
            flows.ntlm(lab, step, "legacy", SCANNER, "CORP", "SCAN01"), 200)
    lab.stop("iakerb")
    report = _close_phase(lab, step, "phase2", mark, policy)
    ntlm_ok = ntlm_flows(report)
    accounts = _accounts(ntlm_ok)
    check(step, "accounts still on NTLM in the report", [f"corp\\{SCANNER}"], accounts)
    ntlm_clients = sorted({str(e.get("IpAddress") or e.get("ClientIP"))
                           for e in _ntlm_events(logs)})
    check(step, "NTLM events at the gateway, by client", [LEGACY_IP], ntlm_clients)
    # Security 4624s: the gateway's own (Kerberos, IAKerb) and the NTLM acceptor's, which
    # keeps NTLM decisions in its own log so none is counted twice.
    logons = {f"{e.get('TargetUserName')}@{e.get('TargetDomainName')}":
              str(e.get("KerbfirstMechanism") or e.get("AuthenticationPackageName", "")).lower()
              for e in read_jsonl(logs / "gateway-web.jsonl") + _ntlm_events(logs)
              if e.get("EventID") == 4624}
    step.counts["gateway_logons"] = logons
    check(step, "the gateway's audit: how each client logged on", {
        f"{CAROL}@{CORP}": "iakerb", f"{BACKUP}@{WG}": "kerberos",
        f"{DAVE}@{OTHER}": "kerberos", f"{ALICE}@{CORP}": "kerberos",
        f"{SCANNER}@CORP": "ntlm"}, logons,
        passed=logons.get(f"{CAROL}@{CORP}") == "iakerb"
        and logons.get(f"{BACKUP}@{WG}") == "kerberos"
        and logons.get(f"{DAVE}@{OTHER}") == "kerberos")
    corp_kdc = read_jsonl(logs / "kdc-corp.jsonl")
    wg_kdc = read_jsonl(logs / "kdc-wg.jsonl")
    granted = {(str(e.get("client")), str(e.get("kind"))) for e in corp_kdc
               if e.get("outcome") == "granted"}
    step.counts["corp_kdc_granted"] = sorted(f"{c} {k}" for c, k in granted)
    step.counts["wg_kdc_events"] = len(wg_kdc)
    for who in (f"{BACKUP}@{WG}", f"{DAVE}@{OTHER}"):
        check(step, f"corp KDC issued a cross-realm service ticket to {who}", True,
              (who, "TGS") in granted or any(c == who for c, _ in granted))
    peers = sorted({str(e.get("peer", "")).rsplit(":", 1)[0] for e in corp_kdc
                    if str(e.get("client", "")).startswith(f"{CAROL}@")})
    check(step, "carol's KDC requests came from the app server (IAKerb), none from the "
          "branch", [netns.address("app")], peers)
    mit_log = lab.directory / "logs" / "mit-krb5kdc.log"
    issued = [ln.split("ISSUE:", 1)[1].split(",")[-1].strip()
              for ln in (mit_log.read_text().splitlines() if mit_log.exists() else [])
              if "TGS_REQ" in ln and "ISSUE:" in ln]
    step.counts["mit_kdc_tgs_issued"] = issued
    check(step, "MIT krb5kdc issued the cross-realm TGT (its log)",
          f"{DAVE}@{OTHER} for krbtgt/{CORP}@{OTHER}", issued,
          passed=f"{DAVE}@{OTHER} for krbtgt/{CORP}@{OTHER}" in issued)
    check(step, "workgroup LocalKDC issued backup@WG.LAB's tickets", True,
          any(e.get("client") == f"{BACKUP}@{WG}" and e.get("outcome") == "granted"
              for e in wg_kdc))
    for eid, why in (("EX-BRANCH", "branch client uses IAKerb (phase 2 evidence)"),
                     ("EX-WG", "workgroup machine uses its LocalKDC (phase 2 evidence)")):
        if eid == "EX-BRANCH" and lab.evidence.facts.get("fault") == "keep-branch-exception":
            continue
        _ok(step, lab.kf(step, "app", "policy", "--policy", str(policy), "exception",
                         "revoke", eid, "--why", why, "--by", "lab"),
            f"policy exception revoke {eid}")
    lab.evidence.facts["phase2_ntlm_flows"] = len(accounts)
    return step


def phase3(lab: Lab) -> tuple[Step, Step]:
    step = lab.evidence.step(3, "enforce: NTLM refused except the legacy device's exception")
    logs, mark = _mark(lab, "phase3-enforce")
    # The same register, switched in place while the gateway runs: the exceptions phase 2
    # left (EX-LEGACY) stay, the history records the switch, and the running gateway takes
    # enforce at its next policy check (store/ntlm_policy_file.py), without a restart.
    policy = lab.directory / "app" / "ntlm-policy.toml"
    servers.start_gateway(lab, servers.gateway_argv(lab, policy=policy, logs=logs, iakerb=True))
    _ok(step, lab.kf(step, "app", "policy", "--policy", str(policy), "mode", "enforce",
                     "--why", "phase 2 report: only the legacy device's NTLM is left",
                     "--by", "lab"), "policy mode enforce (gateway running)")
    changes = read_jsonl(policy.with_name(policy.name + ".history.jsonl"))
    last = changes[-1] if changes else {}
    seen = f"{last.get('action')} {last.get('before')} -> {last.get('after')}"
    check(step, "the register's history records the switch", "mode audit -> enforce", seen,
          passed=last.get("action") == "mode" and last.get("after") == {"mode": "enforce"})
    _ok(step, lab.kf(step, "app", "policy", "--policy", str(policy), "history", "--verify"),
        "policy history --verify")
    time.sleep(POLICY_CHECK_WAIT)
    _status(step, "branch client carol tries NTLM", flows.ntlm(
        lab, step, "branch", CAROL, "CORP", "BR01"), 401)
    _status(step, "workgroup machine WG01\\backup tries NTLM", flows.ntlm(
        lab, step, "wg", BACKUP, WG_NETBIOS, WG_NETBIOS), 401)
    _status(step, "legacy device scanner (NTLM, EX-LEGACY)", flows.ntlm(
        lab, step, "legacy", SCANNER, "CORP", "SCAN01"), 200)
    _status(step, "branch client carol with Kerberos (IAKerb)",
            flows.negotiate(lab, step, "branch", CAROL, CORP), 200)
    report = _close_phase(lab, step, "phase3-enforce", mark, policy)
    blocked = _accounts(ntlm_flows(report, "blocked"))
    allowed = _accounts(ntlm_flows(report))
    check(step, "blocked NTLM in the audit store, by account",
          sorted([f"corp\\{CAROL}", f"{WG_NETBIOS.lower()}\\{BACKUP}"]), blocked)
    check(step, "NTLM that worked, by account", [f"corp\\{SCANNER}"], allowed)
    events = _ntlm_events(logs)
    blocks = sorted({str(e.get("UserName")) for e in events if e.get("EventID") == 4003})
    check(step, "4003 (blocked) events name", sorted([BACKUP, CAROL]), blocks)
    granted = {str(e.get("PolicyException")) for e in events
               if e.get("EventID") == 4022 or e.get("EventID") == 4023
               if e.get("Username") == SCANNER}
    check(step, "the legacy device's NTLM was allowed by", ["EX-LEGACY"], sorted(granted))
    lab.evidence.facts["phase3_ntlm_flows"] = len(allowed)

    expiry = lab.evidence.step(3, "the exception expires: the legacy device is refused")
    logs, mark = _mark(lab, "phase3-expired")
    servers.start_gateway(lab, servers.gateway_argv(lab, policy=policy, logs=logs, iakerb=True,
                                                    clock_offset="2d"))
    _status(expiry, "legacy device scanner after EX-LEGACY's last day (gateway clock +2d)",
            flows.ntlm(lab, expiry, "legacy", SCANNER, "CORP", "SCAN01"), 401)
    report = _close_phase(lab, expiry, "phase3-expired", mark, policy)
    check(expiry, "NTLM that worked", [], ntlm_flows(report))
    blocked = _accounts(ntlm_flows(report, "blocked"))
    check(expiry, "blocked NTLM in the audit store, by account", [f"corp\\{SCANNER}"], blocked)
    events = _ntlm_events(logs)
    near = [e for e in events if e.get("EventID") == 4003]
    named = sorted({f"{e.get('PolicyNearException')}: {e.get('PolicyReason')}" for e in near})
    check(expiry, "the block event names the expired exception", "EX-LEGACY ... expired",
          named, passed=bool(named) and all("EX-LEGACY" in n and "expired" in n for n in named))
    lab.evidence.facts["phase3_expired_ntlm_flows"] = len(_accounts(ntlm_flows(report)))
    return step, expiry
