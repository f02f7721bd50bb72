"""SPNEGO against independent peers, with tickets from an MIT KDC (k5test realm, as in
tests/gss/test_mit_peers.py):

(a) MIT `gss-client -spnego` authenticates to OUR SpnegoAcceptor (gss-sample framing);
(b) OUR SpnegoInitiator authenticates to MIT `gss-server`, which has no -spnego flag: it
    acquires credentials for every mechanism, so SPNEGO tokens are accepted by its default
    mechanism set (checked: `gss-server` usage text and strings);
(c) `curl --negotiate` (Debian's curl, GSS-API built in) authenticates to a tiny HTTP server on
    127.0.0.1 that answers RFC 4559 `WWW-Authenticate: Negotiate` with OUR SpnegoAcceptor.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast

import pytest

from gss.test_mit_peers import HOST, REALM, SERVICE, TIMEOUT, _service_ticket, _wait_listening
from gss.test_mit_peers import realm as gss_realm
from kerbfirst.gss.errors import GssError
from kerbfirst.gss.krb5_initiator import Krb5Initiator
from kerbfirst.gss.mechanism import Krb5InitiatorMechanism
from kerbfirst.gss.replay import ReplayCache
from kerbfirst.gss.spnego_acceptor import SpnegoAcceptor, krb5_factory
from kerbfirst.gss.spnego_initiator import SpnegoInitiator
from kerbfirst.net.gss_stream import (
    TOKEN_CONTEXT,
    TOKEN_CONTEXT_NEXT,
    TOKEN_DATA,
    TOKEN_ENCRYPTED,
    TOKEN_MIC,
    TOKEN_NOOP,
    TOKEN_SEND_MIC,
    TOKEN_WRAPPED,
    ReceivedMessage,
    read_token,
    start_server,
    system_random,
    write_token,
)
from kerbfirst.store.keytab import keytab_key_lookup
from kerbfirst.wire import spnego as w
from kerbfirst.wire.gss_framing import OID_KRB5, OID_KRB5_MS
from peerlib import free_port, require_program, run_gss_client

pytestmark = pytest.mark.peer
realm = gss_realm  # the module-scoped MIT realm fixture, reused
HTTP_SERVICE = f"HTTP/{HOST}@{REALM}"


def _now() -> datetime:
    return datetime.now(UTC)


def _acceptor(keytab: Path, service: str | None, **kw: Any) -> SpnegoAcceptor:
    factory = krb5_factory(key_lookup=keytab_key_lookup(keytab), replay_cache=ReplayCache(),
                           random=system_random, service=service)
    return SpnegoAcceptor({OID_KRB5: factory}, **kw)


class Recorder:
    """Wraps a SpnegoAcceptor to keep the tokens it saw, for assertions on MIT's choices."""

    def __init__(self, acc: SpnegoAcceptor) -> None:
        self.acc = acc
        self.tokens: list[bytes] = []

    @property
    def complete(self) -> bool:
        return self.acc.complete

    @property
    def context(self) -> Any:
        return self.acc.context

    def step(self, token: bytes, *, now: datetime) -> bytes | None:
        self.tokens.append(token)
        out = self.acc.step(token, now=now)
        if out is not None and not isinstance(out, bytes):
            raise GssError("unexpected KDC effect from a krb5-only SPNEGO acceptor")
        return out


@pytest.mark.parametrize("client_args,always_mic", [
    ([], False), (["-nomutual"], False), (["-seq"], False),
    # MS-style acceptor: a mechListMIC even for the first choice; MIT verifies it and must
    # answer with its own, which our acceptor verifies before completing.
    ([], True), (["-nomutual"], True),
])
def test_mit_gss_client_spnego_to_our_acceptor(realm: Any, client_args: list[str],
                                               always_mic: bool) -> None:
    received: list[ReceivedMessage] = []
    recorders: list[Recorder] = []
    message = "hello over SPNEGO from MIT gss-client"

    def new_acceptor() -> Any:
        recorders.append(Recorder(_acceptor(realm.service_keytab, SERVICE,
                                            always_mic=always_mic)))
        return recorders[-1]

    async def scenario() -> tuple[int, str]:
        server = await start_server("127.0.0.1", 0, new_acceptor=new_acceptor,
                                    on_message=received.append, timeout=TIMEOUT)
        port = server.sockets[0].getsockname()[1]
        try:
            return await run_gss_client(
                ["-port", str(port), "-spnego", *client_args, "127.0.0.1", f"host@{HOST}",
                 message], realm.env, timeout=TIMEOUT)
        finally:
            server.close()
            await server.wait_closed()

    code, text = asyncio.run(scenario())
    assert code == 0, text
    assert "Signature verified" in text, text
    assert [r.data for r in received] == [message.encode()], text
    assert received[0].client == f"user@{REALM}"
    acc = recorders[0].acc
    first = w.decode_initial_token(recorders[0].tokens[0])
    assert isinstance(first, w.NegTokenInit)
    assert first.mech_types[0] == OID_KRB5 and first.mech_token is not None, first
    assert acc.selected == OID_KRB5 and acc.first_choice
    assert acc.mic is not None
    assert (acc.mic.sent, acc.mic.received) == (always_mic, always_mic)


def _krb5_mech(realm: Any, oid: str = OID_KRB5, **kw: Any) -> Krb5InitiatorMechanism:
    ticket, key, client, crealm, endtime = _service_ticket(realm)
    return Krb5InitiatorMechanism(Krb5Initiator(
        ticket=ticket, session_key=key, client=client, client_realm=crealm, now=_now(),
        random=system_random, ticket_endtime=endtime, mech_oid=oid, **kw))


async def run_spnego_client(port: int, initiator: SpnegoInitiator, message: bytes) -> bool:
    """gss-client's side of the sample protocol (gss-misc.c framing), for a SPNEGO context
    whose establishment may take more than one round trip."""
    async with asyncio.timeout(TIMEOUT):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        await write_token(writer, TOKEN_NOOP | TOKEN_CONTEXT_NEXT, timeout=TIMEOUT)
        token = initiator.step(None, now=_now())
        while True:
            if token is not None:
                await write_token(writer, TOKEN_CONTEXT, token, timeout=TIMEOUT)
            if initiator.complete:
                break
            flags, reply = await read_token(reader, timeout=TIMEOUT)
            if not flags & TOKEN_CONTEXT:
                raise AssertionError(f"expected a context token, got flags {flags:#x}")
            token = initiator.step(reply, now=_now())
        context = initiator.context
        assert context is not None
        await write_token(writer, TOKEN_DATA | TOKEN_WRAPPED | TOKEN_ENCRYPTED | TOKEN_SEND_MIC,
                          context.wrap(message), timeout=TIMEOUT)
        flags, mic = await read_token(reader, timeout=TIMEOUT)
        assert flags & TOKEN_MIC, flags
        context.verify_mic(message, mic)
        await write_token(writer, TOKEN_NOOP, timeout=TIMEOUT)
        return True
    finally:
        writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            await writer.wait_closed()


def _gss_server(realm: Any, tmp_path: Path) -> tuple[subprocess.Popen[bytes], int, Path]:
    port = free_port()
    log_file = tmp_path / "gss-server.log"
    proc = subprocess.Popen(
        [require_program("gss-server"), "-port", str(port), "-once", "-logfile", str(log_file),
         "-keytab", str(realm.service_keytab), f"host@{HOST}"],
        env=realm.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    _wait_listening(port, proc)
    return proc, port, log_file


@pytest.mark.parametrize("variant", ["krb5", "ms-oid-first", "second-choice"])
def test_our_spnego_initiator_to_mit_gss_server(realm: Any, tmp_path: Path,
                                                variant: str) -> None:
    if variant == "krb5":
        mechs: list[Any] = [_krb5_mech(realm)]
    elif variant == "ms-oid-first":
        # As Windows does: the MS krb5 OID listed first, its AP-REQ framed with the krb5 OID.
        # (MIT 1.20 refuses an AP-REQ *framed* with the MS OID: "No credentials were
        # supplied".) MIT echoes the MS OID in supportedMech.
        ms = _krb5_mech(realm)
        ms.mech_oid = OID_KRB5_MS
        mechs = [ms, _krb5_mech(realm)]
    else:  # MIT has no credential for this made-up mechanism: it picks krb5, MICs both ways
        unknown = _krb5_mech(realm)
        unknown.mech_oid = "1.3.6.1.4.1.99999.1"
        mechs = [unknown, _krb5_mech(realm)]
    initiator = SpnegoInitiator(mechs)
    proc, port, log_file = _gss_server(realm, tmp_path)
    try:
        message = b"hello over SPNEGO from the kerbfirst initiator"
        try:
            asyncio.run(run_spnego_client(port, initiator, message))
        except GssError as exc:
            proc.kill()
            out, _ = proc.communicate(timeout=TIMEOUT)
            pytest.fail(f"{exc!r}; gss-server said: {out.decode(errors='replace')}"
                        f"{log_file.read_text(errors='replace')}")
        out, _ = proc.communicate(timeout=TIMEOUT)
        text = out.decode(errors="replace") + log_file.read_text(errors="replace")
        assert proc.returncode == 0, text
        assert f'Accepted connection: "user@{REALM}"' in text, text
        assert message.decode() in text, text
        if variant == "second-choice":
            assert initiator.selected == OID_KRB5
            assert initiator.mic is not None and initiator.mic.sent and initiator.mic.received
        elif variant == "ms-oid-first":
            assert initiator.selected == OID_KRB5_MS
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=TIMEOUT)


# ---------------------------------------------------------------- curl --negotiate


@pytest.fixture(scope="module")
def http_keytab(realm: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    realm.addprinc(HTTP_SERVICE)
    keytab = tmp_path_factory.mktemp("http") / "http.keytab"
    realm.extract_keytab(HTTP_SERVICE, str(keytab))
    return keytab


class NegotiateServer(ThreadingHTTPServer):
    """RFC 4559 over http.server: 401 + `WWW-Authenticate: Negotiate` until a token
    completes a SpnegoAcceptor, then 200 with the acceptor's final token, if any."""

    def __init__(self, keytab: Path) -> None:
        super().__init__(("127.0.0.1", 0), NegotiateHandler)
        self.keytab = keytab
        self.accepted: list[str] = []
        self.errors: list[str] = []


class NegotiateHandler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass

    def do_GET(self) -> None:
        server = cast(NegotiateServer, self.server)
        header = self.headers.get("Authorization", "")
        if not header.startswith("Negotiate "):
            return self._reply(401, b"authenticate\n", "Negotiate")
        try:
            # One round trip suffices for krb5; a connection-bound acceptor would be needed
            # for multi-leg mechanisms (RFC 4559 4.2).
            acc = _acceptor(server.keytab, HTTP_SERVICE)
            out = acc.step(base64.b64decode(header[10:], validate=True), now=_now())
        except (GssError, ValueError) as exc:
            server.errors.append(str(exc))
            return self._reply(401, b"refused\n", "Negotiate")
        if not acc.complete or not isinstance(out, (bytes, type(None))):
            server.errors.append("multi-leg negotiation not supported by this test server")
            return self._reply(401, b"refused\n", "Negotiate")
        assert acc.context is not None
        server.accepted.append(acc.context.client)
        final = "Negotiate " + base64.b64encode(out).decode() if out else None
        return self._reply(200, f"hello {acc.context.client}\n".encode(), final)

    def _reply(self, code: int, body: bytes, authenticate: str | None) -> None:
        self.send_response(code)
        if authenticate:
            self.send_header("WWW-Authenticate", authenticate)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def negotiate_server(http_keytab: Path) -> Iterator[NegotiateServer]:
    server = NegotiateServer(http_keytab)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=TIMEOUT)


def test_curl_negotiate_to_our_acceptor(realm: Any, negotiate_server: NegotiateServer) -> None:
    port = negotiate_server.server_address[1]
    url = f"http://{HOST}:{port}/"
    result = subprocess.run(
        [require_program("curl"), "--silent", "--show-error", "--fail", "--negotiate", "-u", ":",
         "--resolve", f"{HOST}:{port}:127.0.0.1", "--max-time", str(int(TIMEOUT)), url],
        env=realm.env, capture_output=True, text=True, timeout=TIMEOUT + 5, check=False)
    assert result.returncode == 0, (result.stderr, negotiate_server.errors)
    assert result.stdout == f"hello user@{REALM}\n"
    assert negotiate_server.accepted == [f"user@{REALM}"]


def test_curl_without_ticket_is_refused(realm: Any, negotiate_server: NegotiateServer,
                                        tmp_path: Path) -> None:
    port = negotiate_server.server_address[1]
    env = dict(realm.env, KRB5CCNAME=f"FILE:{tmp_path / 'empty-ccache'}")
    result = subprocess.run(
        [require_program("curl"), "--silent", "--fail", "--negotiate", "-u", ":",
         "--resolve", f"{HOST}:{port}:127.0.0.1", "--max-time", str(int(TIMEOUT)),
         f"http://{HOST}:{port}/"],
        env=env, capture_output=True, text=True, timeout=TIMEOUT + 5, check=False)
    assert result.returncode == 22, result  # --fail: HTTP 401
    assert negotiate_server.accepted == []
