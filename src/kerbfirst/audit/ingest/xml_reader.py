"""Windows Event XML as `wevtutil qe LOG /f:xml` writes it: concatenated <Event>
elements (no root), or wrapped in <Events> (`/e:Events`), optionally gzip'd.

Streamed with XMLPullParser under a synthetic root (concatenated elements are not one
XML document); each <Event> is cleared once mapped, so memory stays bounded. A DOCTYPE
is refused: event exports never carry one, and it is the door to entity expansion.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import IO, Any
from xml.etree.ElementTree import Element, ParseError, XMLPullParser

from kerbfirst.audit.events import AuthEvent
from kerbfirst.audit.ingest.mapping import KERBEROS_IDS, build_event, is_relevant
from kerbfirst.audit.ingest.stats import ReadContext
from kerbfirst.audit.ingest.values import parse_time

READ_SIZE = 1 << 20
_DECL = re.compile(rb"^\s*(?:\xef\xbb\xbf)?\s*<\?xml[^>]*\?>")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def read_xml(stream: IO[bytes], ctx: ReadContext) -> Iterator[AuthEvent]:
    parser: Any = XMLPullParser(events=("end",))
    parser.feed(b"<kerbfirst-root>")
    first = True
    seen = 0  # <Event> elements of this file, readable or not (names the bad one)
    while True:
        chunk = stream.read(READ_SIZE)
        if first:
            chunk = _DECL.sub(b"", chunk, count=1)
            first = False
        if b"<!DOCTYPE" in chunk or b"<!ENTITY" in chunk:
            ctx.corrupt("document", "DOCTYPE/ENTITY declarations are not allowed in event XML")
            return
        try:
            if chunk:
                parser.feed(chunk)
            else:
                parser.feed(b"</kerbfirst-root>")
            for item in parser.read_events():
                elem = item[1]
                if not isinstance(elem, Element) or _local(elem.tag) != "Event":
                    continue
                seen += 1
                try:
                    event = event_from_xml(elem, ctx.file, ctx.note_kdc_host)
                except (KeyError, ValueError, TypeError) as exc:
                    ctx.corrupt(f"record {seen} of the file", str(exc)[:200])
                    event = None
                else:
                    if ctx.counted(event):
                        yield event
                elem.clear()
        except ParseError as exc:
            line, col = exc.position
            ctx.corrupt(f"line {line}, column {col}",
                        f"malformed XML ({exc}); the rest of this file is not readable")
            return
        if not chunk:
            return


def _child(elem: Element, name: str) -> Element | None:
    for c in elem:
        if _local(c.tag) == name:
            return c
    return None


def event_from_xml(elem: Element, file: str,
                   note_kdc_host: Callable[[str], None] | None = None) -> AuthEvent | None:
    system = _child(elem, "System")
    if system is None:
        raise KeyError("no <System> element")
    fields: dict[str, Element] = {_local(c.tag): c for c in system}
    provider_el = fields.get("Provider")
    provider = provider_el.get("Name", "") if provider_el is not None else ""
    channel = (fields["Channel"].text or "") if "Channel" in fields else ""
    event_id = int((fields["EventID"].text or "").strip())
    data: dict[str, str] = {}
    event_data = _child(elem, "EventData")
    if event_data is not None:
        for d in event_data:
            name = d.get("Name")
            if name:
                data[name] = d.text or ""
    else:
        user_data = _child(elem, "UserData")
        if user_data is not None and len(user_data):
            for d in user_data[0]:
                data[_local(d.tag)] = d.text or ""
    host = (fields["Computer"].text or "") if "Computer" in fields else ""
    if not is_relevant(provider, channel, event_id, data):
        if event_id in KERBEROS_IDS and note_kdc_host is not None:
            note_kdc_host(host)
        return None
    time_el = fields.get("TimeCreated")
    record_text = (fields["EventRecordID"].text or "").strip() if "EventRecordID" in fields else ""
    return build_event(
        host=host,
        channel=channel,
        provider=provider,
        event_id=event_id,
        record_id=int(record_text) if record_text else None,
        time=parse_time(time_el.get("SystemTime") if time_el is not None else ""),
        data=data,
        file=file,
    )
