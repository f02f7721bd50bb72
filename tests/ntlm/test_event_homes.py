"""The web's decisions and the governed NTLM acceptor's own events are not counted twice:
with `ntlm_logged_by_acceptor` (the gateway with --policy) the web log leaves the NTLM
acceptor's decisions to it, and keeps Kerberos logons and SPNEGO's refusal to select NTLM."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from kerbfirst.web.audit import HttpAuthDecision, WebAuditEvent, json_lines_sink

T = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)


def _events(sink_path: Path, logged_elsewhere: bool) -> list[tuple[int, str]]:
    sink = json_lines_sink(sink_path, ntlm_logged_by_acceptor=logged_elsewhere)
    for decision, mechanism in [(HttpAuthDecision.KERBEROS_ACCEPTED, "kerberos"),
                                (HttpAuthDecision.NTLM_ACCEPTED, "ntlm"),
                                (HttpAuthDecision.NTLM_REFUSED, "ntlm"),
                                (HttpAuthDecision.NTLM_REFUSED, "negotiate")]:
        sink(WebAuditEvent(T, decision, "why", "192.0.2.7:5000", "HTTP/web.corp.example",
                           "alice@CORP.EXAMPLE" if "accepted" in decision else None,
                           mechanism))
    docs = [json.loads(x) for x in sink_path.read_text().splitlines()]
    return [(int(d["EventID"]), str(d.get("MechanismOID") or d["AuthenticationPackageName"]))
            for d in docs]


def test_ntlm_decisions_are_left_to_the_acceptor_that_logged_them(tmp_path: Path) -> None:
    assert _events(tmp_path / "a.jsonl", logged_elsewhere=False) == [
        (4624, "Kerberos"), (4624, "NTLM"), (4002, "(NULL)"),
        (4002, "1.3.6.1.4.1.311.2.2.10")]
    assert _events(tmp_path / "b.jsonl", logged_elsewhere=True) == [
        (4624, "Kerberos"), (4002, "1.3.6.1.4.1.311.2.2.10")]
