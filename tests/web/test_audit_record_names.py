"""The web audit record of an NTLM logon: the principal is DOMAIN\\user (MS-NLMP), not
user@REALM, and the client's port is kept apart from its address, so the workbench reads the
account as Windows writes it and one client as one client (not one per connection)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from kerbfirst.audit.ingest import IngestStats, iter_events
from kerbfirst.web.audit import AuditRecords, HttpAuthDecision, WebAuditEvent

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


def _record(principal: str | None, peer: str,
            decision: HttpAuthDecision = HttpAuthDecision.NTLM_ACCEPTED,
            mechanism: str = "ntlm") -> dict[str, object]:
    return AuditRecords(host="web01").record(WebAuditEvent(
        NOW, decision, "authenticated", peer, "HTTP/web01.corp.example", principal, mechanism))


def test_ntlm_principal_and_peer_are_split() -> None:
    r = _record("CORP\\carol", "10.0.0.7:51234")
    assert (r["user"], r["domain"], r["client_address"]) == ("carol", "CORP", "10.0.0.7")
    assert r["extra"]["IpPort"] == "51234"  # type: ignore[index]
    r = _record("alice@CORP.EXAMPLE", "[2001:db8::1]:443", HttpAuthDecision.KERBEROS_ACCEPTED,
                "kerberos")
    assert (r["user"], r["domain"], r["client_address"]) == (
        "alice", "CORP.EXAMPLE", "2001:db8::1")
    r = _record(None, "192.0.2.9", HttpAuthDecision.NTLM_REFUSED)
    assert (r["user"], r["domain"], r["client_address"]) == ("", "", "192.0.2.9")
    assert "IpPort" not in r["extra"]  # type: ignore[operator]


def test_the_workbench_reads_one_account_per_client(tmp_path: Path) -> None:
    log = tmp_path / "web.jsonl"
    log.write_text("".join(json.dumps(_record("CORP\\carol", f"10.0.0.7:{port}")) + "\n"
                           for port in (50001, 50002)))
    events = list(iter_events([log], stats=IngestStats(), warn=print))
    assert [(e.user, e.domain, e.client_address) for e in events] == [
        ("carol", "CORP", "10.0.0.7")] * 2
