"""Whatever body a client POSTs to /KdcProxy, decoding answers a ProxyMessage or a
KkdcpError (a 400 naming what is wrong), never another exception (a 500): mutated real
KDC-PROXY-MESSAGEs around an AS-REQ, and random bytes, under Hypothesis."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from kerbfirst.client import AsExchange
from kerbfirst.web.kkdcp import KkdcpError, ProxyMessage, request_realm
from mutations import mutated

# An AS-REQ as our client builds it (the same bytes kinit's would carry).
_AS_REQ = AsExchange("alice", "CORP.EXAMPLE", random=lambda n: bytes(n),
                     password="x").first_request(datetime(2026, 12, 4, tzinfo=UTC))
_REAL = [ProxyMessage(_AS_REQ).encode(),
         ProxyMessage(_AS_REQ, target_domain="CORP.EXAMPLE", dclocator_hint=1).encode()]


def test_real_messages_decode() -> None:
    assert request_realm(ProxyMessage.decode(_REAL[0])) == "CORP.EXAMPLE"
    assert ProxyMessage.decode(_REAL[1]).dclocator_hint == 1


@settings(max_examples=1500, deadline=None)
@given(body=st.binary(max_size=600) | mutated(_REAL, max_cut=24))
def test_any_body_decodes_or_is_refused_by_name(body: bytes) -> None:
    try:
        realm = request_realm(ProxyMessage.decode(body))
    except KkdcpError as exc:
        assert str(exc)
        return
    assert isinstance(realm, str)
