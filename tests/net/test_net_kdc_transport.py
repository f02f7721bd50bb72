"""send_to_kdc: transport choice, fallbacks, timeouts and errors; address parsing."""

from __future__ import annotations

import asyncio
import socket
import time

import asn1tools
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kdc_test_handlers import EchoHandler, SvcUnavailableHandler, krb_error
from net_helpers import address_of, run_async, running_server

from kerbfirst.net.kdc_address import KdcAddress, parse_kdc_address
from kerbfirst.net.kdc_transport import (
    UDP_PREFERENCE_LIMIT,
    KdcUnreachable,
    send_to_kdc,
    send_to_kdc_sync,
)
from kerbfirst.net.krb_error_code import krb_error_code
from peerlib import free_port


@run_async
async def test_nothing_listening_raises_kdc_unreachable_naming_the_address() -> None:
    port = free_port()  # free, and nothing will listen there
    kdc = KdcAddress("any", host="127.0.0.1", port=port)
    started = time.monotonic()
    with pytest.raises(KdcUnreachable) as caught:
        await send_to_kdc(b"as-req", [kdc], timeout=1.0)
    assert time.monotonic() - started < 2.5
    text = str(caught.value)
    assert f"udp/127.0.0.1:{port}" in text and f"tcp/127.0.0.1:{port}" in text
    assert "refused" in text
    assert [str(a) for a, _ in caught.value.attempts] == [
        f"udp/127.0.0.1:{port}",
        f"tcp/127.0.0.1:{port}",
    ]


@run_async
async def test_silent_kdc_times_out_on_both_transports() -> None:
    # A UDP socket that never answers and a TCP listener that accepts but never replies.
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with udp, tcp:
        tcp.bind(("127.0.0.1", 0))
        port = tcp.getsockname()[1]
        udp.bind(("127.0.0.1", port))
        tcp.listen()
        started = time.monotonic()
        with pytest.raises(KdcUnreachable) as caught:
            await send_to_kdc(
                b"as-req", [KdcAddress("any", host="127.0.0.1", port=port)], timeout=0.4
            )
        elapsed = time.monotonic() - started
        assert 0.75 <= elapsed < 2.0, elapsed  # one timeout per transport
        assert [why for _, why in caught.value.attempts] == ["no reply within 0.4 s"] * 2
        assert f"127.0.0.1:{port}" in str(caught.value)


@run_async
async def test_udp_is_retransmitted_within_the_timeout() -> None:
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with udp:
        udp.bind(("127.0.0.1", 0))
        udp.setblocking(False)
        kdc = KdcAddress("udp", host="127.0.0.1", port=udp.getsockname()[1])
        with pytest.raises(KdcUnreachable):
            await send_to_kdc(b"as-req", [kdc], timeout=1.3)
        copies = 0
        while True:
            try:
                assert udp.recv(100) == b"as-req"
            except BlockingIOError:
                break
            copies += 1
        assert copies == 2  # at 0 s and after 1 s


@run_async
async def test_next_kdc_is_tried_after_an_unreachable_one() -> None:
    dead = KdcAddress("tcp", host="127.0.0.1", port=free_port())
    async with running_server(EchoHandler()) as server:
        reply = await send_to_kdc(b"req", [dead, address_of(server, "tcp")], timeout=1)
        assert reply.startswith(b"tcp|") and reply.endswith(b"|req")


@run_async
async def test_svc_unavailable_moves_to_the_next_kdc() -> None:
    async with (
        running_server(SvcUnavailableHandler()) as busy,
        running_server(EchoHandler()) as good,
    ):
        reply = await send_to_kdc(b"r", [address_of(busy, "udp"), address_of(good, "udp")])
        assert reply.endswith(b"|r")
        with pytest.raises(KdcUnreachable, match="KDC_ERR_SVC_UNAVAILABLE"):
            await send_to_kdc(b"r", [address_of(busy, "tcp")], timeout=1)


@run_async
async def test_other_krb_errors_are_returned_to_the_caller() -> None:
    class PreauthRequired(EchoHandler):
        def handle(self, request: bytes, **kw: object) -> bytes:  # type: ignore[override]
            return krb_error(25)

    async with running_server(PreauthRequired()) as server:
        reply = await send_to_kdc(b"as-req", [address_of(server, "udp")], timeout=1)
        assert krb_error_code(reply) == 25


@run_async
async def test_transport_choice_follows_size_and_tcp_only() -> None:
    port = free_port()
    async with running_server(
        EchoHandler(), udp_listen=(("127.0.0.1", port),), tcp_listen=(("127.0.0.1", port),)
    ):
        kdc = parse_kdc_address(f"127.0.0.1:{port}")
        small = b"s" * UDP_PREFERENCE_LIMIT
        large = b"l" * (UDP_PREFERENCE_LIMIT + 1)
        assert (await send_to_kdc(small, [kdc], timeout=1)).startswith(b"udp|")
        assert (await send_to_kdc(large, [kdc], timeout=1)).startswith(b"tcp|")
        assert (await send_to_kdc(small, [kdc], timeout=1, tcp_only=True)).startswith(b"tcp|")
        udp_kdc = parse_kdc_address(f"udp/127.0.0.1:{port}")
        assert (await send_to_kdc(small, [udp_kdc], timeout=1, tcp_only=True)).startswith(b"tcp|")


@run_async
async def test_oversized_stream_reply_is_refused_unread() -> None:
    async def liar(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(100)
        writer.write((2 * 1024 * 1024).to_bytes(4, "big") + b"x" * 1000)
        await writer.drain()
        await asyncio.sleep(1)
        writer.close()

    server = await asyncio.start_server(liar, "127.0.0.1", 0)
    async with server:
        port = server.sockets[0].getsockname()[1]
        with pytest.raises(KdcUnreachable, match="exceeds the limit"):
            await send_to_kdc(b"q", [KdcAddress("tcp", host="127.0.0.1", port=port)], timeout=2)


def test_sync_wrapper() -> None:
    async def serve_then_call() -> None:
        async with running_server(EchoHandler()) as server:
            tcp = address_of(server, "tcp")
            loop = asyncio.get_running_loop()
            reply = await loop.run_in_executor(None, lambda: send_to_kdc_sync(b"s", [tcp]))
            assert reply.endswith(b"|s")
            with pytest.raises(RuntimeError, match="inside an event loop"):
                send_to_kdc_sync(b"s", [tcp])

    asyncio.run(serve_then_call())


def test_bad_arguments() -> None:
    with pytest.raises(KdcUnreachable, match="no KDC address"):
        send_to_kdc_sync(b"x", [])
    with pytest.raises(ValueError, match=r"1\.\.1048576"):
        send_to_kdc_sync(b"", [parse_kdc_address("127.0.0.1")])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("kdc.example.com", KdcAddress("any", host="kdc.example.com", port=88)),
        ("kdc.example.com:750", KdcAddress("any", host="kdc.example.com", port=750)),
        ("tcp/10.0.0.1:88", KdcAddress("tcp", host="10.0.0.1", port=88)),
        ("TCP/10.0.0.1", KdcAddress("tcp", host="10.0.0.1", port=88)),
        ("udp/kdc", KdcAddress("udp", host="kdc", port=88)),
        ("[::1]:8888", KdcAddress("any", host="::1", port=8888)),
        ("[::1]", KdcAddress("any", host="::1", port=88)),
        ("tcp/[fe80::1]:89", KdcAddress("tcp", host="fe80::1", port=89)),
        ("::1", KdcAddress("any", host="::1", port=88)),
        ("unix:/run/kerbfirst/kdc.sock", KdcAddress("unix", path="/run/kerbfirst/kdc.sock")),
    ],
)
def test_parse_kdc_address(text: str, expected: KdcAddress) -> None:
    parsed = parse_kdc_address(text)
    assert parsed == expected
    assert parse_kdc_address(str(parsed)) == parsed  # str() round-trips


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("host:0", "port"),
        ("host:99999", "port"),
        ("host:http", "port"),
        ("[::1", "closing"),
        ("[::1]x", "':port'"),
        ("unix:relative.sock", "absolute"),
        ("https://kdcproxy.example/KdcProxy", "not supported"),
        ("tcp/", "not a host"),
    ],
)
def test_parse_kdc_address_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_kdc_address(text)


_KRB_ERROR_ASN1 = """
KerberosV5 DEFINITIONS EXPLICIT TAGS ::= BEGIN
PrincipalName ::= SEQUENCE { name-type [0] INTEGER, name-string [1] SEQUENCE OF GeneralString }
KRB-ERROR ::= [APPLICATION 30] SEQUENCE {
    pvno [0] INTEGER, msg-type [1] INTEGER, ctime [2] GeneralizedTime OPTIONAL,
    cusec [3] INTEGER OPTIONAL, stime [4] GeneralizedTime, susec [5] INTEGER,
    error-code [6] INTEGER, crealm [7] GeneralString OPTIONAL,
    cname [8] PrincipalName OPTIONAL, realm [9] GeneralString, sname [10] PrincipalName,
    e-text [11] GeneralString OPTIONAL, e-data [12] OCTET STRING OPTIONAL }
AS-REQ-ISH ::= [APPLICATION 10] SEQUENCE { pvno [1] INTEGER }
END
"""


@pytest.mark.parametrize("code", [0, 25, 29, 52, 60, 127, 128, 255, 70000, -1765328360])
@pytest.mark.parametrize("with_ctime", [False, True])
def test_krb_error_code_against_asn1tools(code: int, with_ctime: bool) -> None:
    import datetime

    spec = asn1tools.compile_string(_KRB_ERROR_ASN1, "der")
    when = datetime.datetime(2024, 1, 1, 12, 0, 0)
    value: dict[str, object] = {
        "pvno": 5,
        "msg-type": 30,
        "stime": when,
        "susec": 0,
        "error-code": code,
        "realm": "EXAMPLE.ORG",
        "sname": {"name-type": 2, "name-string": ["krbtgt", "EXAMPLE.ORG"]},
        "e-data": b"\x00" * 300,  # long form lengths in the outer headers
    }
    if with_ctime:
        value.update({"ctime": when, "cusec": 123456})
    encoded = spec.encode("KRB-ERROR", value)
    assert krb_error_code(encoded) == code
    assert krb_error_code(encoded[:-1]) is None  # truncated: not trusted
    assert krb_error_code(spec.encode("AS-REQ-ISH", {"pvno": 5})) is None
    assert krb_error_code(b"") is None and krb_error_code(b"\x7e\x84\xff\xff\xff\xff") is None


@given(data=st.data())
@settings(max_examples=300, deadline=None)
def test_krb_error_code_never_raises_on_mutated_replies(data: st.DataObject) -> None:
    valid = bytearray(krb_error(52))
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(valid) - 1))
        valid[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(valid)))
    code = krb_error_code(bytes(valid[:cut]))
    assert code is None or isinstance(code, int)
