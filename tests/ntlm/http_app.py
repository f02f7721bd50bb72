"""A minimal ASGI service guarded by the governed NTLM acceptor, for the real-peer tests
(curl --ntlm, pyspnego over httpx). It speaks HTTP NTLM and Negotiate (RFC 4559, MS-NTHT):
a conversation is bound to its TCP connection, 401 + WWW-Authenticate carries the
CHALLENGE, 200 names the user. Not the product's web middleware (tests/ntlm only)."""

from __future__ import annotations

import base64
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import uvicorn

from kerbfirst.gss.errors import GssError
from kerbfirst.gss.ntlm import NtlmLogonRefused
from kerbfirst.gss.ntlm_governed import NtlmGovernor
from kerbfirst.gss.ntlm_mech import NtlmMechanism, NtlmMechContext
from kerbfirst.gss.spnego_acceptor import SpnegoAcceptor
from kerbfirst.gss.spnego_select import NtlmVerdict
from kerbfirst.wire.gss_framing import OID_NTLMSSP


class NtlmApp:
    def __init__(self, governor: NtlmGovernor, clock: Callable[[], datetime]) -> None:
        self.auth = NtlmMechanism(governor, random=os.urandom)
        self.clock = clock
        self.conversations: dict[tuple[str, int], NtlmMechContext | SpnegoAcceptor] = {}
        self.refusals: list[str] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        host, port = scope["client"]
        peer: tuple[str, int] = (str(host), int(port))
        header = dict(scope["headers"]).get(b"authorization", b"").decode()
        scheme, _, b64 = header.partition(" ")
        if scheme not in ("NTLM", "Negotiate"):
            return await self._reply(send, 401, "authenticate", [("NTLM", ""),
                                                                 ("Negotiate", "")])
        try:
            token = base64.b64decode(b64, validate=True)
        except ValueError:
            return await self._reply(send, 400, "bad token", [])
        conv = self.conversations.get(peer)
        if conv is None or token[:12] == b"NTLMSSP\x00\x01\x00\x00\x00" or (scheme == "Negotiate" \
                and token[:1] == b"\x60"):
            conv = self._new(scheme, peer[0])
            self.conversations[peer] = conv
        try:
            out = conv.step(token, now=self.clock())
            if not isinstance(out, bytes | None):
                raise GssError(f"an NTLM acceptor returned {type(out).__name__}")
        except (NtlmLogonRefused, GssError) as exc:
            self.conversations.pop(peer, None)
            self.refusals.append(str(exc))
            return await self._reply(send, 401, f"refused: {exc}", [(scheme, "")])
        challenge = [(scheme, base64.b64encode(out).decode())] if out else []
        if not conv.complete:
            return await self._reply(send, 401, "continue", challenge)
        self.conversations.pop(peer, None)
        inner = conv.mech if isinstance(conv, SpnegoAcceptor) else conv
        if not isinstance(inner, NtlmMechContext):
            return await self._reply(send, 500, "SPNEGO chose a mechanism other than NTLM", [])
        return await self._reply(send, 200, f"hello {inner.principal}", challenge)

    def _new(self, scheme: str, address: str) -> NtlmMechContext | SpnegoAcceptor:
        if scheme == "NTLM":
            return self.auth.conversation(client_address=address)
        return SpnegoAcceptor(
            {OID_NTLMSSP: lambda oid: self.auth.conversation(client_address=address,
                                                              spnego=True)},
            ntlm_gate=lambda r: NtlmVerdict(True, "the NTLM policy decides per attempt"))

    @staticmethod
    async def _reply(send: Any, status: int, body: str, auth: list[tuple[str, str]]) -> None:
        headers = [(b"content-type", b"text/plain")]
        headers += [(b"www-authenticate", f"{s} {t}".strip().encode()) for s, t in auth]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body.encode()})


class Served:
    """The app under uvicorn on 127.0.0.1 in a thread; stopped by `close`."""

    def __init__(self, app: NtlmApp) -> None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        config = uvicorn.Config(app, log_level="warning", lifespan="off",
                                timeout_keep_alive=30)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]},
                                       daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start within 10 s")
            time.sleep(0.02)
        self._sock = sock

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self._sock.close()
