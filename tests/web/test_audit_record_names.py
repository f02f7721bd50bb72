"""The web audit event of an NTLM logon: the account is DOMAIN\\user (MS-NLMP), not
user@REALM, and the client's port is kept apart from its address (IpAddress, IpPort as
Windows' 4624 writes them), so the workbench reads the account as Windows writes it and one
client as one client (not one per connection)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from kerbfirst.audit.ingest import IngestStats, iter_events
from kerbfirst.web.audit import HttpAuthDecision, WebAuditEvent, windows_event

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


def _event(principal: str | None, peer: str,
           decision: HttpAuthDecision = HttpAuthDecision.NTLM_ACCEPTED,
           mechanism: str = "ntlm") -> dict[str, object]:
    return windows_event(WebAuditEvent(
        NOW, decision, "authenticated", peer, "HTTP/web01.corp.example", principal, mechanism),
        host="web01")


def _data(doc: dict[str, object]) -> dict[str, object]:
    data = doc.get("EventData", doc)
    assert isinstance(data, dict), doc
    return data


def test_ntlm_principal_and_peer_are_split() -> None:
    d = _data(_event("CORP\\carol", "10.0.0.7:51234"))
    assert (d["TargetUserName"], d["TargetDomainName"], d["IpAddress"], d["IpPort"]) == (
        "carol", "CORP", "10.0.0.7", "51234")
    d = _data(_event("alice@CORP.EXAMPLE", "[2001:db8::1]:443",
                     HttpAuthDecision.KERBEROS_ACCEPTED, "kerberos"))
    assert (d["TargetUserName"], d["TargetDomainName"], d["IpAddress"], d["IpPort"]) == (
        "alice", "CORP.EXAMPLE", "2001:db8::1", "443")


def test_the_workbench_reads_one_account_per_client(tmp_path: Path) -> None:
    log = tmp_path / "web.jsonl"
    log.write_text("".join(json.dumps(_event("CORP\\carol", f"10.0.0.7:{port}"), default=str)
                           + "\n" for port in (50001, 50002)))
    stats = IngestStats()
    events = list(iter_events([log], stats=stats, warn=print))
    assert [(e.user, e.domain, e.client_address) for e in events] == [
        ("carol", "CORP", "10.0.0.7")] * 2, stats
