"""MIT's GSS sample-program protocol (net/gss_stream.py) for any mechanism context, IAKerb
included: `gss-server -iakerb` / `gss-client -iakerb` interoperability.

The server side resolves a proxying acceptor's ForwardToKdc effects (IAKerb, bare or inside
SPNEGO) with a KdcForwarder between reading the initiator's token and answering it; when a
connection ends before the context is established, the acceptor is told (`abandon`) so its
audit event is written. A failing connection never stops the server: it is logged and
closed. The server cannot be exhausted by connections: their number is capped (those over
the cap are closed at once), no token larger than the acceptor takes is ever buffered, and
an unauthenticated connection holds its place for at most ESTABLISH_ROUNDS read timeouts
in all: a peer dripping one small token just inside each read timeout (realm discovery,
26 times) otherwise kept a slot for minutes, and a few hundred such peers the whole server.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from kerbfirst.gss.errors import GssError
from kerbfirst.gss.iakerb_acceptor import MAX_TOKEN
from kerbfirst.gss.iakerb_negotiate import SPNEGO_OVERHEAD
from kerbfirst.gss.mechanism import ForwardToKdc, MechContext, ProxyingAcceptor
from kerbfirst.gss.ntlm_session import NtlmSessionSecurity
from kerbfirst.gss.per_message import SecurityContext
from kerbfirst.net.gss_stream import (
    ANNOUNCEMENT,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_TIMEOUT,
    ESTABLISH_ROUNDS,
    TOKEN_CONTEXT,
    TOKEN_CONTEXT_NEXT,
    TOKEN_NOOP,
    ClientResult,
    MessageContext,
    ReceivedMessage,
    SampleProtocolError,
    close_connection,
    read_token,
    send_message,
    serve_messages,
    start_bounded_server,
    system_now,
    write_token,
)
from kerbfirst.net.iakerb_proxy import KdcForwarder

log = logging.getLogger(__name__)

NewAcceptor = Callable[[str], MechContext]  # peer "ip:port" -> a fresh acceptor
# Hears how each context establishment ended: (peer "ip:port", the acceptor, None when the
# context was established or the GSS error that refused it); app/iakerb.py logs it.
OnEstablished = Callable[[str, MechContext, GssError | None], None]
DEFAULT_MAX_TOKEN = MAX_TOKEN + SPNEGO_OVERHEAD  # an IAKerb token inside SPNEGO


async def run_mechanism_client(
    host: str, port: int, mech: MechContext, message: bytes, *, wrap: bool = True,
    encrypt: bool = True, mic: bool = True, timeout: float = DEFAULT_TIMEOUT,
    clock: Callable[[], datetime] = system_now,
) -> ClientResult:
    """gss-client's session with an initiator MechContext (IakerbInitiator, krb5 adapter)."""
    async with asyncio.timeout(timeout):
        reader, writer = await asyncio.open_connection(host, port)
    try:
        await write_token(writer, TOKEN_NOOP | TOKEN_CONTEXT_NEXT, timeout=timeout)
        out = mech.step(None, now=clock())
        while True:
            if isinstance(out, bytes):
                await write_token(writer, TOKEN_CONTEXT, out, timeout=timeout)
            elif out is not None:
                raise SampleProtocolError(f"an initiator returned {type(out).__name__}")
            if mech.complete:
                break
            flags, token = await read_token(reader, timeout=timeout)
            if not flags & TOKEN_CONTEXT:
                raise SampleProtocolError(f"expected a context token, got flags 0x{flags:02x}")
            out = mech.step(token, now=clock())
        context = _krb5_context(mech)
        if context is None:
            raise SampleProtocolError("context establishment ended without a context")
        return await send_message(reader, writer, context, message, wrap=wrap,
                                  encrypt=encrypt, mic=mic, timeout=timeout)
    finally:
        await close_connection(writer, timeout)


def _krb5_context(mech: MechContext) -> SecurityContext | None:
    """The established krb5 context an initiator's wrap and verify_mic need."""
    context = mech.context
    return context if isinstance(context, SecurityContext) else None


def _message_context(mech: MechContext) -> MessageContext | None:
    """The acceptor's established context for the message phase: krb5's, or NTLM's
    session security (unwrap of a sealed message, MIC of it)."""
    context = mech.context
    return context if isinstance(context, SecurityContext | NtlmSessionSecurity) else None


async def serve_mechanism_connection(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, new_acceptor: NewAcceptor,
    forwarder: KdcForwarder | None, on_message: Callable[[ReceivedMessage], None],
    clock: Callable[[], datetime] = system_now, timeout: float = DEFAULT_TIMEOUT,
    max_token: int = DEFAULT_MAX_TOKEN, on_established: OnEstablished | None = None,
) -> None:
    """Serve one gss-client connection; never raises."""
    peername = writer.get_extra_info("peername")
    peer = f"{peername[0]}:{peername[1]}" if isinstance(peername, tuple) else "unix"
    acceptor: MechContext | None = None
    try:
        flags, _ = await read_token(reader, timeout=timeout, max_size=ANNOUNCEMENT)
        if not flags & TOKEN_NOOP or not flags & TOKEN_CONTEXT_NEXT:
            raise SampleProtocolError("client did not announce a context (NOOP|CONTEXT_NEXT)")
        acceptor = new_acceptor(peer)
        budget = ESTABLISH_ROUNDS * timeout
        try:
            async with asyncio.timeout(budget):
                await _establish(reader, writer, acceptor, forwarder, clock, timeout, peer,
                                 max_token, on_established)
        except TimeoutError:
            raise SampleProtocolError(f"no security context after {budget} s") from None
        await serve_messages(reader, writer, _message_context(acceptor), on_message, clock,
                             timeout, max_size=max_token)
    except (SampleProtocolError, GssError, OSError, TimeoutError) as exc:
        log.warning("gss-sample connection from %s refused: %s", peer, exc)
    except Exception:  # a bug must not take the server down; the type is enough to report
        log.exception("gss-sample connection from %s: internal error", peer)
    finally:
        abandon = getattr(acceptor, "abandon", None)
        if acceptor is not None and not acceptor.complete and callable(abandon):
            abandon(clock())
        await close_connection(writer, timeout)


def _tell(on_established: OnEstablished | None, peer: str, acceptor: MechContext,
          error: GssError | None) -> None:
    if on_established is None:
        return
    try:
        on_established(peer, acceptor, error)
    except Exception:  # an audit failure must not take the connection's answer with it
        log.exception("gss-sample: recording the logon of %s failed", peer)


async def _establish(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     acceptor: MechContext, forwarder: KdcForwarder | None,
                     clock: Callable[[], datetime], timeout: float, peer: str,
                     max_token: int, on_established: OnEstablished | None) -> None:
    """Run the context establishment; its end (established or refused) is recorded before
    the last token goes out, so a peer that has its answer finds the event written."""
    while not acceptor.complete:
        flags, token = await read_token(reader, timeout=timeout, max_size=max_token)
        if not flags & TOKEN_CONTEXT:
            raise SampleProtocolError(f"expected a context token, got flags 0x{flags:02x}")
        try:
            result = acceptor.step(token, now=clock())
            if isinstance(result, ForwardToKdc):
                if forwarder is None or not isinstance(acceptor, ProxyingAcceptor):
                    raise SampleProtocolError("an acceptor asked for a KDC; none is configured")
                result = await forwarder.resolve(acceptor, result, peer=peer)
        except GssError as exc:
            _tell(on_established, peer, acceptor, exc)
            if exc.output_token:
                await write_token(writer, TOKEN_CONTEXT, exc.output_token, timeout=timeout)
            raise
        if acceptor.complete:
            _tell(on_established, peer, acceptor, None)
        if result:
            await write_token(writer, TOKEN_CONTEXT, result, timeout=timeout)


async def start_mechanism_server(
    host: str, port: int, *, new_acceptor: NewAcceptor, forwarder: KdcForwarder | None,
    on_message: Callable[[ReceivedMessage], None], clock: Callable[[], datetime] = system_now,
    timeout: float = DEFAULT_TIMEOUT, max_token: int = DEFAULT_MAX_TOKEN,
    max_connections: int = DEFAULT_MAX_CONNECTIONS, on_established: OnEstablished | None = None,
) -> asyncio.Server:
    """Listen like `gss-server -iakerb -port PORT`; each connection gets a fresh acceptor
    (share one ReplayCache between them). At most `max_connections` are served at once;
    one more is closed as soon as it is accepted. No token above `max_token` bytes is read.
    `on_established` hears how each context establishment ended."""

    def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> Awaitable[None]:
        return serve_mechanism_connection(
            reader, writer, new_acceptor=new_acceptor, forwarder=forwarder,
            on_message=on_message, clock=clock, timeout=timeout, max_token=max_token,
            on_established=on_established)

    return await start_bounded_server(host, port, serve, max_connections=max_connections,
                                      max_token=max_token)
