"""KdcAuditEvent.to_json_line() is exactly the generic JSON encoding of to_json()."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from kerbfirst.kdc.audit import KdcAuditEvent, Outcome, RequestKind

texts = st.text(max_size=40)  # any code point: quotes, backslashes, controls, non-ASCII
small = st.none() | st.integers(min_value=-(2**31), max_value=2**32)
times = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1),
                     timezones=st.just(UTC))

events = st.builds(
    KdcAuditEvent,
    time=times,
    kind=st.sampled_from(RequestKind),
    outcome=st.sampled_from(Outcome),
    result_code=st.integers(min_value=0, max_value=100),
    reason=texts,
    peer=texts,
    transport=texts,
    client=st.none() | texts,
    service=st.none() | texts,
    requested_etypes=st.lists(st.integers(min_value=-200, max_value=200), max_size=6).map(tuple),
    ticket_etype=small,
    session_etype=small,
    reply_etype=small,
    ticket_flags=st.none() | st.integers(min_value=0, max_value=2**32 - 1),
    preauth_type=small,
    ticket_endtime=st.none() | times,
)


@given(events)
def test_to_json_line_equals_generic_encoding(event: KdcAuditEvent) -> None:
    expected = json.dumps(event.to_json(), separators=(",", ":"), ensure_ascii=False)
    assert event.to_json_line() == expected
    assert json.loads(event.to_json_line()) == event.to_json()
