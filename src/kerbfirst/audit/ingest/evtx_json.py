"""The evtx package's JSON shape of one event ({"Event": {"System", "EventData"}}) as an
AuthEvent. The EVTX reader and the JSON-lines reader (evtx_dump output) share it."""

from __future__ import annotations

from typing import Any

from kerbfirst.audit.events import AuthEvent
from kerbfirst.audit.ingest.mapping import build_event, is_relevant
from kerbfirst.audit.ingest.values import parse_time


def system_value(node: Any) -> Any:
    """EVTX JSON puts attributes beside text: {"#attributes": {...}, "#text": v}."""
    if isinstance(node, dict):
        return node.get("#text")
    return node


def event_from_evtx_json(doc: Any, file: str, header_record_id: int | None = None
                         ) -> AuthEvent | None:
    """An AuthEvent from the evtx package's JSON shape ({"Event": {"System", "EventData"}}),
    or None when the record is not relevant. Raises KeyError/ValueError/TypeError on a
    record without the System fields (callers report it as corrupt).

    The record id is the event's own System/EventRecordID, as in the XML, JSON and CSV
    forms of the same event. The EVTX record header's number (`header_record_id`) is
    the position in *this file*: an exported or filtered log renumbers from 1, so it is
    used only when the event has no EventRecordID (the record header's number is the
    file's own counter: libevtx's EVTX format documentation)."""
    ev = doc["Event"]
    system = ev["System"]
    provider_node = system.get("Provider") or {}
    attrs = provider_node.get("#attributes", {}) if isinstance(provider_node, dict) else {}
    provider = attrs.get("Name") or attrs.get("EventSourceName") or ""
    channel = system.get("Channel") or ""
    event_id = int(system_value(system["EventID"]))
    data = ev.get("EventData")
    if not isinstance(data, dict):
        data = _user_data(ev.get("UserData"))
    if not is_relevant(provider, channel, event_id, data):
        return None
    time_node = system.get("TimeCreated") or {}
    time_text = time_node.get("#attributes", {}).get("SystemTime") if isinstance(
        time_node, dict) else None
    own = system_value(system.get("EventRecordID"))
    # Without either number (a JSON export that dropped it) build_event derives a stable
    # key from the content, as for every other format.
    record_id: int | None = int(own) if own not in (None, "") else header_record_id
    return build_event(
        host=str(system.get("Computer") or ""),
        channel=channel,
        provider=provider,
        event_id=event_id,
        record_id=record_id,
        time=parse_time(time_text),
        data=data,
        file=file,
    )


def _user_data(node: Any) -> dict[str, Any]:
    """UserData holds one provider-specific element whose children are the fields."""
    if isinstance(node, dict):
        for key, inner in node.items():
            if key != "#attributes" and isinstance(inner, dict):
                return {k: v for k, v in inner.items() if k != "#attributes"}
    return {}

