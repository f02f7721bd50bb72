"""One IAKerb server (our acceptor behind the gss-sample driver) meets, in turn: an MIT
gss-client for a realm it does not serve (85), one whose realm's KDC never answers (86,
after the short timeout), an oversized token, garbage, and finally a good MIT client,
which must still succeed: no refusal takes the server down. Every conversation lands in
the JSON-lines audit log, the same stream the KDC writes."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import struct
from pathlib import Path

import pytest

from kerbfirst.gss.iakerb import IakerbAcceptor, IakerbAuditEvent
from kerbfirst.gss.replay import ReplayCache
from kerbfirst.net.gss_stream import TOKEN_CONTEXT, TOKEN_CONTEXT_NEXT, TOKEN_NOOP
from kerbfirst.net.iakerb_proxy import KdcForwarder
from kerbfirst.net.iakerb_server import start_mechanism_server
from kerbfirst.store.audit_log import JsonLinesAuditLog
from peerlib import run_gss_client

from .iakerb_env import ALICE_PASSWORD, REALM, key_lookup, make_realm
from .mit_peers import TIMEOUT, client_conf, client_env

pytestmark = pytest.mark.peer


async def _raw_client(port: int, token: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(bytes((TOKEN_NOOP | TOKEN_CONTEXT_NEXT,)) + struct.pack(">I", 0))
        writer.write(bytes((TOKEN_CONTEXT,)) + struct.pack(">I", len(token)) + token)
        await writer.drain()
        async with asyncio.timeout(TIMEOUT):
            return await reader.read()  # whatever the server sends before it closes
    finally:
        writer.close()


async def _mit_client(port: int, env: dict[str, str], user: str) -> tuple[int, str]:
    return await run_gss_client(
        ["-iakerb", "-user", user, "-pass", ALICE_PASSWORD, "-port", str(port), "127.0.0.1",
         "host@server.test.realm", "after the storm"], env, timeout=TIMEOUT)


def test_server_survives_every_refusal(tmp_path: Path) -> None:
    realm = make_realm(seed=5)
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # a KDC that never answers
    silent.bind(("127.0.0.1", 0))
    dead = f"udp/127.0.0.1:{silent.getsockname()[1]}"
    forwarder = KdcForwarder({REALM: realm.kdc, "DEAD.REALM": [dead]}, timeout=1.0)
    log_path = tmp_path / "audit.jsonl"
    audit = JsonLinesAuditLog(log_path)
    cache = ReplayCache()
    received: list[str] = []

    def new_acceptor(peer: str) -> IakerbAcceptor:
        def sink(event: IakerbAuditEvent) -> None:
            audit.write(event)
        return IakerbAcceptor(key_lookup=key_lookup(realm), replay_cache=cache,
                              random=os.urandom, realm=REALM, peer=peer, audit=sink,
                              max_kdc_message=16 * 1024)

    async def scenario() -> list[tuple[int, str]]:
        server = await start_mechanism_server(
            "127.0.0.1", 0, new_acceptor=new_acceptor, forwarder=forwarder,
            on_message=lambda m: received.append(m.data.decode()), timeout=TIMEOUT)
        port = server.sockets[0].getsockname()[1]
        results = []
        try:
            for name, realm_name in (("nope", "NOPE.REALM"), ("dead", "DEAD.REALM")):
                conf = client_conf(tmp_path, realm_name, name=f"krb5-{name}.conf")
                env = client_env(tmp_path, conf)
                results.append(await _mit_client(port, env, "alice"))
            await _raw_client(port, b"\x05\x01" + bytes(40_000))  # oversized
            await _raw_client(port, b"\x60\x05\x06\x03\x2b\x06\x01\xff\xff")  # garbage
            env = client_env(tmp_path, client_conf(tmp_path, REALM, name="krb5-good.conf"))
            results.append(await _mit_client(port, env, "alice"))
        finally:
            server.close()
            await server.wait_closed()
        return results

    try:
        (nope, nope_out), (dead_code, dead_out), (good, good_out) = asyncio.run(scenario())
    finally:
        silent.close()
        audit.close()
    assert nope != 0 and "IAKERB proxy could not find a KDC" in nope_out, nope_out
    assert dead_code != 0 and "KDC did not respond to the IAKERB proxy" in dead_out, dead_out
    assert good == 0 and "Signature verified" in good_out, good_out
    assert received == ["after the storm"]
    events = [json.loads(line) for line in log_path.read_text().splitlines()]
    assert [(e["outcome"], e["result_code"]) for e in events] == [
        ("realm-not-configured", 85), ("kdc-no-response", 86), ("oversized", 0),
        ("defective-token", 0), ("authenticated", 0)]
    assert events[1]["kdc"] == dead and events[0]["target_realm"] == "NOPE.REALM"
    assert all(e["transport"] == "iakerb" and e["peer"].startswith("127.0.0.1:") for e in events)
    assert os.stat(log_path).st_mode & 0o077 == 0
