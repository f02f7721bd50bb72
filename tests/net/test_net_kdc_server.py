"""The KDC server's listeners and limits, in-process (RFC 4120 7.2.1, 7.2.2)."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import stat
import time
from datetime import timedelta

import pytest
from kdc_test_handlers import (
    BigReplyHandler,
    EchoHandler,
    RaisingHandler,
    SleepingHandler,
)
from net_helpers import (
    address_of,
    frame,
    read_reply,
    run_async,
    running_server,
    wait_closed_by_peer,
)

from kerbfirst.net.kdc_address import KdcAddress
from kerbfirst.net.kdc_server import KdcServerConfig, serve_kdc
from kerbfirst.net.kdc_transport import send_to_kdc
from kerbfirst.net.krb_error_code import krb_error_code
from peerlib import free_port


async def udp_exchange(address: KdcAddress, message: bytes, wait: float = 2.0) -> bytes | None:
    """One datagram out, the first datagram back, or None after `wait` seconds."""
    loop = asyncio.get_running_loop()
    reply: asyncio.Future[bytes] = loop.create_future()

    class Receiver(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: object) -> None:
            if not reply.done():
                reply.set_result(data)

    transport, _ = await loop.create_datagram_endpoint(
        Receiver, remote_addr=(address.host, address.port)
    )
    try:
        transport.sendto(message)
        done, _ = await asyncio.wait({reply}, timeout=wait)
        return reply.result() if done else None
    finally:
        transport.close()


@run_async
async def test_udp_tcp_unix_round_trips(tmp_path: os.PathLike[str]) -> None:
    handler = EchoHandler()
    path = os.path.join(tmp_path, "kdc.sock")
    async with running_server(handler, unix_paths=(path,)) as server:
        mode = stat.S_IMODE(os.stat(path).st_mode)
        assert mode == 0o660, oct(mode)
        udp, tcp = address_of(server, "udp"), address_of(server, "tcp")
        assert udp.port != 0 and tcp.port != 0  # the real bound ports are reported
        reply = await send_to_kdc(b"as-req-1", [udp], timeout=2)
        assert reply.startswith(b"udp|127.0.0.1:") and reply.endswith(b"|0:00:00|as-req-1")
        reply = await send_to_kdc(b"as-req-2", [tcp], timeout=2)
        assert reply.startswith(b"tcp|127.0.0.1:") and reply.endswith(b"|as-req-2")
        reply = await send_to_kdc(b"as-req-3", [KdcAddress("unix", path=path)], timeout=2)
        assert reply == b"unix|unix|0:00:00|as-req-3"
    assert [t for _, t, _ in handler.calls] == ["udp", "tcp", "unix"]
    assert all(now.utcoffset() == timedelta(0) for _, _, now in handler.calls)
    assert not os.path.exists(path), "the UNIX socket file must be removed on close"


@run_async
async def test_ipv6_loopback_round_trip() -> None:
    if not socket.has_ipv6:
        pytest.fail("IPv6 is needed for this test (loopback ::1)")
    async with running_server(
        EchoHandler(), udp_listen=(("::1", 0),), tcp_listen=(("::1", 0),)
    ) as server:
        for transport in ("udp", "tcp"):
            reply = await send_to_kdc(b"x", [address_of(server, transport)], timeout=2)
            assert reply.startswith(f"{transport}|[::1]:".encode())


@run_async
async def test_tcp_request_in_one_byte_writes() -> None:
    async with running_server(EchoHandler()) as server:
        tcp = address_of(server, "tcp")
        reader, writer = await asyncio.open_connection(tcp.host, tcp.port)
        writer.transport.set_write_buffer_limits(0)
        for byte in frame(b"tgs-req-split"):
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.002)  # separate segments, so the server sees short reads
        assert (await read_reply(reader)).endswith(b"|tgs-req-split")
        writer.close()


@run_async
async def test_two_requests_on_one_connection() -> None:
    async with running_server(EchoHandler()) as server:
        tcp = address_of(server, "tcp")
        reader, writer = await asyncio.open_connection(tcp.host, tcp.port)
        writer.write(frame(b"first") + frame(b"second"))  # pipelined
        assert (await read_reply(reader)).endswith(b"|first")
        assert (await read_reply(reader)).endswith(b"|second")
        writer.write(frame(b"third"))
        assert (await read_reply(reader)).endswith(b"|third")
        writer.close()


@pytest.mark.parametrize(
    "prefix",
    [(1024 * 1024 + 1).to_bytes(4, "big"), (0x8000_0010).to_bytes(4, "big")],
    ids=["above-1MiB", "high-bit"],
)
@run_async
async def test_bad_length_prefix_closes_connection(prefix: bytes) -> None:
    handler = EchoHandler()
    async with running_server(handler) as server:
        tcp = address_of(server, "tcp")
        reader, writer = await asyncio.open_connection(tcp.host, tcp.port)
        writer.write(prefix + b"x" * 100)
        started = time.monotonic()
        assert await wait_closed_by_peer(reader) == b""
        assert time.monotonic() - started < 1.0  # closed at once, not by the read timeout
        writer.close()
        assert handler.calls == []
        reply = await send_to_kdc(b"still-serving", [tcp], timeout=2)
        assert reply.endswith(b"|still-serving")


@run_async
async def test_message_size_limit_is_configurable() -> None:
    async with running_server(EchoHandler(), max_message_size=100) as server:
        tcp = address_of(server, "tcp")
        assert (await send_to_kdc(b"y" * 50, [tcp], timeout=2)).endswith(b"y" * 50)
        # a request at the cap is read; its reply (above the cap) becomes error 52
        assert krb_error_code(await send_to_kdc(b"y" * 100, [tcp], timeout=2)) == 52
        reader, writer = await asyncio.open_connection(tcp.host, tcp.port)
        writer.write(frame(b"y" * 101))
        assert await wait_closed_by_peer(reader) == b""
        writer.close()
        assert await udp_exchange(address_of(server, "udp"), b"z" * 101, wait=0.3) is None


@run_async
async def test_stalled_client_is_cut_off_after_read_timeout() -> None:
    async with running_server(EchoHandler(), read_timeout=0.3) as server:
        tcp = address_of(server, "tcp")
        # Two bytes of a length prefix, then nothing (slowloris).
        reader, writer = await asyncio.open_connection(tcp.host, tcp.port)
        started = time.monotonic()
        writer.write(b"\x00\x00")
        assert await wait_closed_by_peer(reader) == b""
        elapsed = time.monotonic() - started
        assert 0.25 <= elapsed < 2.0, elapsed
        writer.close()
        # A whole prefix but a body that never completes is cut off the same way.
        reader, writer = await asyncio.open_connection(tcp.host, tcp.port)
        writer.write((50).to_bytes(4, "big") + b"partial")
        assert await wait_closed_by_peer(reader) == b""
        writer.close()
        # An idle connection after a reply is closed too.
        reader, writer = await asyncio.open_connection(tcp.host, tcp.port)
        writer.write(frame(b"one"))
        assert (await read_reply(reader)).endswith(b"|one")
        assert await wait_closed_by_peer(reader) == b""
        writer.close()


@run_async
async def test_connection_cap_evicts_the_oldest() -> None:
    async with running_server(EchoHandler(), max_connections=2) as server:
        tcp = address_of(server, "tcp")
        first = await asyncio.open_connection(tcp.host, tcp.port)
        second = await asyncio.open_connection(tcp.host, tcp.port)
        await asyncio.sleep(0.1)  # let the server accept both, in order
        third = await asyncio.open_connection(tcp.host, tcp.port)
        assert await wait_closed_by_peer(first[0], timeout=2) == b""
        for reader, writer in (second, third):
            writer.write(frame(b"served"))
            assert (await read_reply(reader)).endswith(b"|served")
            writer.close()
        first[1].close()


@run_async
async def test_udp_reply_too_big_then_client_retries_over_tcp() -> None:
    port = free_port()
    async with running_server(
        BigReplyHandler(),
        udp_listen=(("127.0.0.1", port),),
        tcp_listen=(("127.0.0.1", port),),
        max_dgram_reply_size=1000,
    ) as server:
        reply = await udp_exchange(address_of(server, "udp"), b"as-req")
        assert reply is not None and krb_error_code(reply) == 52
        # The client sees the RESPONSE_TOO_BIG and asks the same KDC over TCP.
        for transport in ("udp", "any"):
            kdc = KdcAddress(transport, host="127.0.0.1", port=port)  # type: ignore[arg-type]
            reply = await send_to_kdc(b"as-req", [kdc], timeout=2)
            assert reply == b"tcp:" + b"B" * 3000


@run_async
async def test_handler_that_raises_is_logged_and_dropped(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="kerbfirst.net")
    async with running_server(RaisingHandler(), read_timeout=2) as server:
        udp, tcp = address_of(server, "udp"), address_of(server, "tcp")
        assert await udp_exchange(udp, b"boom-secret-udp", wait=0.3) is None
        reader, writer = await asyncio.open_connection(tcp.host, tcp.port)
        writer.write(frame(b"boom-secret-tcp"))
        assert await wait_closed_by_peer(reader) == b""  # no reply coming: closed at once
        writer.close()
        reader, writer = await asyncio.open_connection(tcp.host, tcp.port)
        writer.write(frame(b"none"))  # a handler that answers None: also closed
        assert await wait_closed_by_peer(reader) == b""
        writer.close()
        # Still serving on both transports.
        assert (await send_to_kdc(b"fine", [udp], timeout=2)).endswith(b"|fine")
        assert (await send_to_kdc(b"fine", [tcp], timeout=2)).endswith(b"|fine")
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 2, errors
    assert all("ValueError" in e and "request dropped" in e for e in errors)
    assert all("secret" not in r.getMessage() for r in caplog.records)
    assert all("key material" not in r.getMessage() for r in caplog.records)


@run_async
async def test_event_loop_stays_responsive_while_handler_blocks() -> None:
    # The handler runs on its own thread: a slow database call must not freeze timeouts.
    async with running_server(SleepingHandler(), read_timeout=0.3) as server:
        tcp = address_of(server, "tcp")
        slow = asyncio.create_task(send_to_kdc(b"sleep:800", [tcp], timeout=3))
        await asyncio.sleep(0.05)
        reader, writer = await asyncio.open_connection(tcp.host, tcp.port)
        started = time.monotonic()
        writer.write(b"\x00")
        assert await wait_closed_by_peer(reader) == b""
        assert time.monotonic() - started < 0.75  # cut off before the handler returned
        writer.close()
        assert (await slow).endswith(b"|sleep:800")


@run_async
async def test_graceful_close_finishes_in_flight_requests() -> None:
    server_ready = asyncio.Event()
    stop = asyncio.Event()
    addresses: list[tuple[KdcAddress, ...]] = []
    config = KdcServerConfig(tcp_listen=(("127.0.0.1", 0),), shutdown_grace=3.0)
    serving = asyncio.create_task(
        serve_kdc(
            SleepingHandler, config, ready=server_ready, stop=stop, on_listening=addresses.append
        )
    )
    await server_ready.wait()
    tcp = addresses[0][0]
    in_flight = asyncio.create_task(send_to_kdc(b"sleep:400", [tcp], timeout=3))
    idle_reader, idle_writer = await asyncio.open_connection(tcp.host, tcp.port)
    await asyncio.sleep(0.1)
    stop.set()
    assert (await in_flight).endswith(b"|sleep:400")
    assert await wait_closed_by_peer(idle_reader) == b""  # idle connections are not kept
    idle_writer.close()
    await serving
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection(tcp.host, tcp.port)


def test_config_is_validated() -> None:
    with pytest.raises(ValueError, match="at least one"):
        KdcServerConfig()
    with pytest.raises(ValueError, match="world-writable"):
        KdcServerConfig(unix_paths=("/tmp/x",), unix_mode=0o666)
    with pytest.raises(ValueError, match="workers"):
        KdcServerConfig(tcp_listen=(("127.0.0.1", 0),), workers=0)


@run_async
async def test_unix_path_that_is_not_a_socket_is_left_alone(tmp_path: os.PathLike[str]) -> None:
    path = os.path.join(tmp_path, "not-a-socket")
    with open(path, "w") as f:
        f.write("keep me")
    with pytest.raises(FileExistsError, match="not a socket"):
        async with running_server(EchoHandler(), unix_paths=(path,)):
            pass
    with open(path) as f:
        assert f.read() == "keep me"


@run_async
async def test_stale_unix_socket_is_replaced(tmp_path: os.PathLike[str]) -> None:
    path = os.path.join(tmp_path, "kdc.sock")
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(path)
    stale.close()  # file left behind, nobody listening: as after a crash
    async with running_server(EchoHandler(), unix_paths=(path,)):
        reply = await send_to_kdc(b"hi", [KdcAddress("unix", path=path)], timeout=2)
        assert reply.endswith(b"|hi")
