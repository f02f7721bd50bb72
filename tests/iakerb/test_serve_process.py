"""`kerbfirst iakerb serve` as a real process: realm discovery with no --realm (the realm
of the keytab), MIT 1.22's exact discovery token, the connection cap, the token read
bound, and the replay cache that survives a restart. The KDC behind it is an in-memory
realm served over TCP by our KdcServer; the clients are kerbfirst's initiator and raw
sample-protocol sockets."""

from __future__ import annotations

import asyncio
import os
import socket
import struct
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from kdc.memory_realm import run_as
from kerbfirst.client import Credential, TgsExchange
from kerbfirst.gss.iakerb import IakerbInitiator
from kerbfirst.gss.krb5_initiator import Krb5Initiator
from kerbfirst.krb.names import Principal
from kerbfirst.net.gss_stream import TOKEN_CONTEXT, TOKEN_CONTEXT_NEXT, TOKEN_NOOP
from kerbfirst.net.iakerb_server import run_mechanism_client
from kerbfirst.net.kdc_server import KdcServer, KdcServerConfig
from kerbfirst.store.keytab import KeytabEntry, write_keytab
from kerbfirst.wire.constants import NT_SRV_HST
from kerbfirst.wire.iakerb import decode_iakerb_token
from kerbfirst.wire.krb5 import KrbError

from .iakerb_env import ALICE_PASSWORD, REALM, SERVICE, Realm, make_realm
from .serve_process import KF, Serve

HOST = "server.test.realm"
MIT_122_DISCOVERY = bytes.fromhex("601006062b060105020505013004a1020c00")
TIMEOUT = 10.0


def _keytab(realm: Realm, path: Path) -> Path:
    write_keytab(path, [KeytabEntry(Principal(("host", HOST), REALM, NT_SRV_HST),
                                    int(time.time()), k.kvno, k.etype, k.contents)
                        for k in realm.db.entries[SERVICE].keys])
    return path


@asynccontextmanager
async def _kdc(realm: Realm) -> AsyncIterator[int]:
    server = KdcServer(lambda: realm.kdc, KdcServerConfig(tcp_listen=(("127.0.0.1", 0),)))
    await server.start()
    try:
        yield next(a.port for a in server.addresses if a.transport == "tcp")
    finally:
        await server.close(grace=0)


async def _exchange(port: int, token: bytes) -> bytes:
    """Announce a context, send one context token, return the server's reply token."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(bytes((TOKEN_NOOP | TOKEN_CONTEXT_NEXT,)) + struct.pack(">I", 0))
        writer.write(bytes((TOKEN_CONTEXT,)) + struct.pack(">I", len(token)) + token)
        await writer.drain()
        async with asyncio.timeout(TIMEOUT):
            header = await reader.readexactly(5)
            return await reader.readexactly(struct.unpack(">I", header[1:])[0])
    finally:
        writer.close()


def test_discovery_without_realm_takes_the_keytabs_realm(tmp_path: Path) -> None:
    realm = make_realm(seed=41)
    keytab = _keytab(realm, tmp_path / "svc.keytab")

    async def scenario() -> tuple[bytes, bool]:
        async with _kdc(realm) as kdc_port:
            serve = await asyncio.to_thread(Serve, [
                "--keytab", str(keytab), "--realm-kdc", f"{REALM}=tcp/127.0.0.1:{kdc_port}",
                "--replay-cache", str(tmp_path / "rc")])
            try:
                reply = await _exchange(serve.port, MIT_122_DISCOVERY)
                ini = IakerbInitiator(service=f"host/{HOST}", client="alice", realm=None,
                                      password=ALICE_PASSWORD, random=os.urandom)
                result = await run_mechanism_client("127.0.0.1", serve.port, ini, b"hi",
                                                    timeout=TIMEOUT)
                return reply, result.mic_verified
            finally:
                await asyncio.to_thread(serve.stop)

    reply, verified = asyncio.run(scenario())
    parsed = decode_iakerb_token(reply)
    assert parsed.target_realm == REALM and parsed.message == b""  # was KRB-ERROR 60, no realm
    assert verified


def test_discovery_with_no_realm_to_tell_is_krb_error_85(tmp_path: Path) -> None:
    """Two realms in the keytab, two routes: no default; MIT answers KRB-ERROR 85."""
    realm = make_realm(seed=42)
    keytab = _keytab(realm, tmp_path / "svc.keytab")
    other = tmp_path / "other.keytab"
    write_keytab(other, [KeytabEntry(Principal(("host", HOST), "OTHER.REALM", NT_SRV_HST),
                                     1, 1, 18, bytes(32))])
    keytab.write_bytes(keytab.read_bytes() + other.read_bytes()[2:])
    serve = Serve(["--keytab", str(keytab), "--realm-kdc", f"{REALM}=tcp/127.0.0.1:9",
                   "--realm-kdc", "OTHER.REALM=tcp/127.0.0.1:9",
                   "--replay-cache", str(tmp_path / "rc")])
    try:
        reply = asyncio.run(_exchange(serve.port, MIT_122_DISCOVERY))
    finally:
        serve.stop()
    parsed = decode_iakerb_token(reply)
    assert parsed.target_realm == ""
    assert KrbError.decode(parsed.message).error_code == 85


def _ap_req(realm: Realm) -> bytes:
    now = datetime.now(UTC)  # the server process checks the ticket against its own clock
    tgt = run_as(realm, now=now)
    assert isinstance(tgt, Credential)
    tgs = TgsExchange(tgt, f"host/{HOST}@{REALM}", random=realm.random)
    reply = realm.kdc.handle(tgs.first_request(now), peer="t", transport="udp", now=now)
    cred = tgs.receive(reply or b"", now)
    return Krb5Initiator(ticket=cred.ticket, session_key=cred.session_key, client=cred.client,
                         client_realm=cred.crealm, now=now, random=os.urandom).initial_token()


def test_replayed_ap_req_is_refused_after_a_restart(tmp_path: Path) -> None:
    realm = make_realm(seed=43)
    keytab = _keytab(realm, tmp_path / "svc.keytab")
    args = ["--keytab", str(keytab), "--realm-kdc", f"{REALM}=tcp/127.0.0.1:9",
            "--replay-cache", str(tmp_path / "iakerb.rcache")]
    token = _ap_req(realm)
    first = Serve(args)
    try:
        accepted = asyncio.run(_exchange(first.port, token))
    finally:
        first.stop()
    assert accepted[:1] == b"\x60" and b"\x02\x00" in accepted[:20], accepted.hex()
    assert (tmp_path / "iakerb.rcache").stat().st_mode & 0o777 == 0o600
    second = Serve(args)
    try:
        refused = asyncio.run(_exchange(second.port, token))
    finally:
        out = second.stop()
    assert b"\x03\x00" in refused[:20], refused.hex()  # a KRB-ERROR token (TOK_ID 03 00)
    assert "replay" in out, out


def test_connection_cap_and_token_bound(tmp_path: Path) -> None:
    realm = make_realm(seed=44)
    keytab = _keytab(realm, tmp_path / "svc.keytab")
    serve = Serve(["--keytab", str(keytab), "--realm-kdc", f"{REALM}=tcp/127.0.0.1:9",
                   "--max-connections", "4", "--replay-cache", str(tmp_path / "rc")])
    held: list[socket.socket] = []
    try:
        time.sleep(0.2)  # wait_listening's probe connection has gone
        for _ in range(4):
            s = socket.create_connection(("127.0.0.1", serve.port), timeout=TIMEOUT)
            held.append(s)
        time.sleep(0.2)
        extra = socket.create_connection(("127.0.0.1", serve.port), timeout=TIMEOUT)
        extra.settimeout(2)
        started = time.monotonic()
        assert extra.recv(16) == b""  # closed at once: over the cap
        assert time.monotonic() - started < 1.5
        extra.close()
        for s in held:
            s.close()
        held.clear()
        time.sleep(0.2)
        # A token larger than any the acceptor takes is refused from its header alone.
        big = socket.create_connection(("127.0.0.1", serve.port), timeout=TIMEOUT)
        big.settimeout(3)
        big.sendall(bytes((TOKEN_NOOP | TOKEN_CONTEXT_NEXT,)) + struct.pack(">I", 0)
                    + bytes((TOKEN_CONTEXT,)) + struct.pack(">I", 200_000))
        started = time.monotonic()
        assert big.recv(16) == b""
        assert time.monotonic() - started < 1.5
        big.close()
        reply = asyncio.run(_exchange(serve.port, MIT_122_DISCOVERY))  # still serving
        assert decode_iakerb_token(reply).target_realm == REALM
    finally:
        for s in held:
            s.close()
        out = serve.stop()
    assert "refused" in out and "200000-byte token" in out, out


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_rss_stays_flat_under_a_connection_flood(tmp_path: Path) -> None:
    """200 connections each announce a 1 MiB token and send all of it but a byte. Before
    the token bound, the server buffered every one (about +200 MiB); now each is closed
    after its 5-byte header and the server's memory does not move."""
    realm = make_realm(seed=45)
    keytab = _keytab(realm, tmp_path / "svc.keytab")
    serve = Serve(["--keytab", str(keytab), "--realm-kdc", f"{REALM}=tcp/127.0.0.1:9",
                   "--replay-cache", str(tmp_path / "rc")])
    held: list[socket.socket] = []
    body = bytes((1 << 20) - 1)
    try:
        time.sleep(0.5)
        before = _rss_mib(serve.proc.pid)
        for _ in range(200):
            s = socket.create_connection(("127.0.0.1", serve.port), timeout=TIMEOUT)
            held.append(s)
            try:
                s.sendall(bytes((TOKEN_NOOP | TOKEN_CONTEXT_NEXT,)) + struct.pack(">I", 0)
                          + bytes((TOKEN_CONTEXT,)) + struct.pack(">I", 1 << 20))
                s.settimeout(0.2)
                s.sendall(body)
            except OSError:
                pass  # closed by the server: what the bound is for
        time.sleep(1)
        during = _rss_mib(serve.proc.pid)
    finally:
        for s in held:
            s.close()
        serve.stop()
    assert during - before < 30, f"RSS grew from {before:.1f} to {during:.1f} MiB"


def test_replay_cache_slots_size_a_new_file_and_an_existing_one_keeps_its_own(
        tmp_path: Path) -> None:
    """--replay-cache-slots sizes a new cache (32-octet slots after a 32-octet header); an
    existing file keeps the size it was made with, as every process sharing it must."""
    from kerbfirst.net.iakerb_rcache import HEADER, SLOT

    realm = make_realm(seed=43)
    keytab = _keytab(realm, tmp_path / "svc.keytab")
    rc = tmp_path / "rc"
    args = ["--keytab", str(keytab), "--realm-kdc", f"{REALM}=tcp/127.0.0.1:9",
            "--replay-cache", str(rc)]
    Serve([*args, "--replay-cache-slots", "4096"]).stop()
    assert rc.stat().st_size == HEADER.size + 4096 * SLOT.size
    Serve([*args, "--replay-cache-slots", "8192"]).stop()
    assert rc.stat().st_size == HEADER.size + 4096 * SLOT.size
    refused = subprocess.run([*KF, "iakerb", "serve", *args, "--replay-cache-slots", "10"],
                             capture_output=True, text=True, timeout=30)
    assert refused.returncode != 0 and "replay-cache-slots" in refused.stderr, refused
