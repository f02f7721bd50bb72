"""The KDC's own audit log (kdc/audit.py `KdcAuditEvent.to_json`, one JSON object per
request in kdc-audit.jsonl and its rotated copies kdc-audit.jsonl.1, .2.gz, ...).

Each line is mapped onto the Windows event a domain controller logs for the same
request -- 4768 (AS), 4769 (TGS), 4771 (pre-authentication failed), as the line's own
`windows_event_id` says -- with the Kerberos error as Status, so the KDC's decisions go
through the same filter (a failure that explains an NTLM fallback) and the same
classification and correlation as a Windows DC's. The line carries no record number:
the key is derived from its content, so the same line read from the live file and from a
rotated copy is stored once. IAKerb proxy lines (`kind` "iakerb") and undecodable
requests are not Kerberos service decisions and are skipped as irrelevant.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kerbfirst.audit.events import AuthEvent
from kerbfirst.audit.ingest.mapping import PROVIDER_SECURITY, build_event, is_relevant
from kerbfirst.audit.ingest.values import content_record_id, parse_time

PROVIDER_KDC = "kerbfirst-kdc"
CHANNEL_KDC = "kerbfirst/kdc-audit"
# The keys every KdcAuditEvent line has: how a JSON line is recognised as one.
KDC_KEYS = ("kind", "outcome", "result_code", "peer", "transport")
HOST_PREFIX = "kerbfirst-kdc"


def is_kdc_line(doc: Mapping[str, Any]) -> bool:
    """A line of the KDC's audit stream: a KDC request, or an IAKerb proxy conversation
    (gss/iakerb_audit.py writes those into the same file)."""
    return all(k in doc for k in KDC_KEYS)


def _split_principal(name: object) -> tuple[str, str]:
    """'alice@CORP.EXAMPLE.COM' -> ('alice', 'CORP.EXAMPLE.COM'); the realm is the text
    after the last unescaped '@' (RFC 1964 2.1.1 / MIT's unparse form)."""
    text = str(name or "")
    i = len(text) - 1
    while i >= 0:
        if text[i] == "@" and (i == 0 or text[i - 1] != "\\"):
            return text[:i], text[i + 1:]
        i -= 1
    return text, ""


def _peer_address(peer: str) -> str:
    """'10.0.0.5:5000' -> '10.0.0.5'; '[fe80::1]:88' -> 'fe80::1'; 'unix' stays."""
    if peer.startswith("["):
        return peer[1:].split("]", 1)[0]
    if peer.count(":") == 1:
        return peer.split(":", 1)[0]
    return peer


def kdc_host_name(doc: Mapping[str, Any]) -> str:
    """The name the KDC's events are filed under: kerbfirst-kdc.<realm> (the line names
    no host; the realm of the client, else of the service, tells which KDC)."""
    _, realm = _split_principal(doc.get("client"))
    if not realm:
        _, realm = _split_principal(doc.get("service"))
    return f"{HOST_PREFIX}.{realm.lower()}" if realm else HOST_PREFIX


def event_from_kdc_json(doc: Mapping[str, Any], file: str) -> AuthEvent | None:
    event_id = doc.get("windows_event_id")
    if doc.get("kind") not in ("as-req", "tgs-req") or not isinstance(event_id, int):
        return None
    code = doc.get("result_code")
    if not isinstance(code, int):
        raise ValueError(f"result_code {code!r} is not a number")
    user, realm = _split_principal(doc.get("client"))
    service = str(doc.get("service") or "")
    data: dict[str, object] = {
        "Status": f"0x{code:x}",
        "TargetUserName": user,
        "TargetDomainName": realm,
        "ServiceName": service,
        "IpAddress": _peer_address(str(doc.get("peer") or "")),
        "KdcOutcome": str(doc.get("outcome") or ""),
        "KdcReason": str(doc.get("reason") or ""),
        "Transport": str(doc.get("transport") or ""),
    }
    if not is_relevant(PROVIDER_SECURITY, CHANNEL_KDC, event_id, data):
        return None
    host = kdc_host_name(doc)
    time_text = str(doc.get("time") or "")
    return build_event(
        host=host,
        channel=CHANNEL_KDC,
        provider=PROVIDER_KDC,
        event_id=event_id,
        record_id=content_record_id(CHANNEL_KDC, sorted(
            (str(k), str(v)) for k, v in doc.items())),
        time=parse_time(time_text),
        data=data,
        file=file,
    )
