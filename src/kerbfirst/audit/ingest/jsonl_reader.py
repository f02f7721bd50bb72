"""JSON lines: the evtx package / evtx_dump shape ({"Event": ...}), Winlogbeat/ECS
(`winlog.*`), NXLog's flattened form (EventID, SourceName, Hostname, fields at top
level), kerbfirst's own (`AuthEvent.to_record()`) and the KDC's audit log (kdc_json).
The dialect is decided per line, so a concatenation of exports is fine.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import IO, Any

from kerbfirst.audit.events import AuthEvent
from kerbfirst.audit.ingest.evtx_json import event_from_evtx_json, system_value
from kerbfirst.audit.ingest.json_text import loads as json_loads
from kerbfirst.audit.ingest.kdc_json import event_from_kdc_json, is_kdc_line, kdc_host_name
from kerbfirst.audit.ingest.mapping import KERBEROS_IDS, build_event, is_relevant
from kerbfirst.audit.ingest.own_record import OWN_KEYS, event_from_record
from kerbfirst.audit.ingest.stats import ReadContext
from kerbfirst.audit.ingest.values import parse_time

MAX_LINE = 1 << 20  # one event is a few KiB; a longer line is not an event

# NXLog's own metadata, not EventData (im_msvistalog field list).
NXLOG_META = frozenset({
    "EventTime", "EventReceivedTime", "SourceModuleName", "SourceModuleType", "Hostname",
    "EventID", "SourceName", "ProviderName", "ProviderGuid", "Channel", "EventRecordID",
    "RecordNumber", "Severity", "SeverityValue", "EventType", "Keywords", "Task", "Opcode",
    "OpcodeValue", "ProcessID", "ThreadID", "Category", "Message", "Version", "ActivityID",
    "RelatedActivityID", "AccountName", "Domain", "UserID", "AccountType", "ERRORLEVEL",
})

# Events whose own EventData has an AccountName/Domain (Netlogon 4030-4033: the account that
# authenticated). NXLog's flattened form puts EventData next to its own AccountName (the
# publisher's account, usually SYSTEM), so which one a document holds cannot be told;
# for these events the value is taken as EventData.
_EVENTDATA_ACCOUNT_IDS = frozenset({4030, 4031, 4032, 4033})
_NXLOG_META_KEEP_ACCOUNT = NXLOG_META - {"AccountName", "Domain"}


class NotAnEvent(ValueError):
    """A JSON object in none of the dialects we read."""


def _lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes | None]]:
    """(line number, line) with over-long lines reported as None and skipped."""
    n = 0
    while True:
        line = stream.readline(MAX_LINE + 1)
        if not line:
            return
        n += 1
        if len(line) > MAX_LINE and not line.endswith(b"\n"):
            while True:  # drain the rest of the long line
                more = stream.readline(MAX_LINE)
                if not more or more.endswith(b"\n"):
                    break
            yield n, None
            continue
        yield n, line


def read_json_lines(stream: IO[bytes], ctx: ReadContext) -> Iterator[AuthEvent]:
    loads = json_loads
    for n, line in _lines(stream):
        if line is None:
            ctx.corrupt(f"line {n}", f"line longer than {MAX_LINE} bytes")
            continue
        if not line.strip():
            continue
        try:
            doc = loads(line)
            if not isinstance(doc, dict):
                raise NotAnEvent("not a JSON object")
            event = event_from_json(doc, ctx.file)
        except (ValueError, KeyError, TypeError) as exc:  # JSONDecodeError is a ValueError
            ctx.corrupt(f"line {n}", f"{type(exc).__name__}: {str(exc)[:200]}")
            continue
        if event is None:
            _note_kdc(doc, ctx)
        if ctx.counted(event):
            yield event


def _note_kdc(doc: dict[str, Any], ctx: ReadContext) -> None:
    """A Kerberos event filtered out still says its host is a domain controller."""
    try:
        if is_kdc_line(doc):
            ctx.note_kdc_host(kdc_host_name(doc))
            return
        if "Event" in doc:
            system = doc["Event"]["System"]
            eid, host = system_value(system["EventID"]), system.get("Computer")
        elif "winlog" in doc:
            eid, host = doc["winlog"].get("event_id"), doc["winlog"].get("computer_name")
        else:
            eid, host = doc.get("EventID"), doc.get("Hostname")
        if int(eid) in KERBEROS_IDS and isinstance(host, str):
            ctx.note_kdc_host(host)
    except (KeyError, TypeError, ValueError, AttributeError):
        return



def event_from_json(doc: dict[str, Any], file: str) -> AuthEvent | None:
    if "Event" in doc:
        return event_from_evtx_json(doc, file)
    if "winlog" in doc:
        return _winlogbeat(doc, file)
    if is_kdc_line(doc):
        return event_from_kdc_json(doc, file)
    if "EventID" in doc:
        return _nxlog(doc, file)
    if all(k in doc for k in OWN_KEYS):
        return event_from_record(doc, file)
    raise NotAnEvent(
        "not an event in a known JSON shape (evtx 'Event', Winlogbeat 'winlog', NXLog "
        "'EventID', kerbfirst 'source/record_id', kerbfirst KDC audit 'kind/outcome'); "
        f"keys seen: {sorted(doc)[:12]}"
    )


def _winlogbeat(doc: Mapping[str, Any], file: str) -> AuthEvent | None:
    w = doc["winlog"]
    if not isinstance(w, dict):
        raise NotAnEvent("'winlog' is not an object")
    event_id = int(w["event_id"])
    provider = str(w.get("provider_name") or "")
    channel = str(w.get("channel") or "")
    data = w.get("event_data") or w.get("user_data") or {}
    if not isinstance(data, dict):
        raise NotAnEvent("'winlog.event_data' is not an object")
    if not is_relevant(provider, channel, event_id, data):
        return None
    return build_event(
        host=str(w.get("computer_name") or ""),
        channel=channel,
        provider=provider,
        event_id=event_id,
        record_id=None if w.get("record_id") in (None, "") else int(w["record_id"]),
        time=parse_time(doc.get("@timestamp") or w.get("time_created") or ""),
        data=data,
        file=file,
    )


def _nxlog(doc: Mapping[str, Any], file: str) -> AuthEvent | None:
    event_id = int(doc["EventID"])
    provider = str(doc.get("SourceName") or doc.get("ProviderName") or "")
    channel = str(doc.get("Channel") or "")
    meta = _NXLOG_META_KEEP_ACCOUNT if event_id in _EVENTDATA_ACCOUNT_IDS else NXLOG_META
    data = {k: v for k, v in doc.items() if k not in meta}
    if not is_relevant(provider, channel, event_id, data):
        return None
    # Newer NXLog/OTRF exports carry neither: build_event derives a key from the content.
    record = doc.get("EventRecordID", doc.get("RecordNumber"))
    return build_event(
        host=str(doc.get("Hostname") or ""),
        channel=channel,
        provider=provider,
        event_id=event_id,
        record_id=None if record in (None, "") else int(record),
        time=parse_time(doc.get("EventTime") or doc.get("TimeCreated") or ""),
        data=data,
        file=file,
    )
