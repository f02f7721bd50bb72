"""The KDC forwarder is not an open proxy: only configured realms, only their KDCs
(kdcproxy CVE-2025-59088), capped sizes (CVE-2025-59089), a timeout on every call."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

from kerbfirst.gss.iakerb import ForwardToKdc, KdcFailure
from kerbfirst.net.iakerb_proxy import KdcForwarder, RealmRoute

from .iakerb_env import REALM, make_realm


@pytest.mark.parametrize("realm", ["127.0.0.1:88", "kdc.evil.example", "test.realm", "", "*"])
def test_unconfigured_realms_get_85_without_any_network(realm: str) -> None:
    forwarder = KdcForwarder({REALM: make_realm().kdc})
    reply, where = asyncio.run(forwarder.forward(ForwardToKdc(realm, b"\x6a\x00")))
    assert isinstance(reply, KdcFailure) and reply.code == 85 and where == ""


def test_oversized_request_is_not_forwarded() -> None:
    seen: list[bytes] = []

    class Recorder:
        def handle(self, request: bytes, **kw: object) -> bytes:
            seen.append(request)
            return b"\x7e\x00"

        def response_too_big(self, request: bytes, **kw: object) -> None:
            return None

    forwarder = KdcForwarder({REALM: Recorder()}, max_message=100)  # type: ignore[dict-item]
    reply, _ = asyncio.run(forwarder.forward(ForwardToKdc(REALM, b"\x6a" + bytes(200))))
    assert isinstance(reply, KdcFailure) and reply.code == 86 and seen == []


def test_silent_kdc_times_out_with_86() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        forwarder = KdcForwarder({REALM: [f"udp/127.0.0.1:{silent.getsockname()[1]}"]},
                                 timeout=0.5)
        t0 = time.monotonic()
        reply, where = asyncio.run(forwarder.forward(ForwardToKdc(REALM, b"\x6a\x00")))
        assert time.monotonic() - t0 < 3
    assert isinstance(reply, KdcFailure) and reply.code == 86 and "udp/127.0.0.1" in where


def test_route_needs_exactly_one_kind() -> None:
    with pytest.raises(ValueError):
        RealmRoute()
    with pytest.raises(TypeError):
        KdcForwarder({REALM: "127.0.0.1:88"})  # type: ignore[dict-item]
