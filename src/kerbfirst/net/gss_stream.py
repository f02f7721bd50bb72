"""The TCP protocol of MIT krb5's GSS sample programs (src/appl/gss-sample: gss-server,
gss-client), as a thin asyncio driver around kerbfirst.gss's sans-I/O krb5 contexts.

Each message on the connection is a flag byte, a 4-byte big-endian length and the token
(gss-misc.c send_token/recv_token). A session is:
    client -> NOOP|CONTEXT_NEXT (empty)          "a context follows"
    client -> CONTEXT token, server -> CONTEXT token ... until both sides are established
    client -> DATA[|WRAPPED|ENCRYPTED|SEND_MIC] message
    server -> MIC over the (unwrapped) message, or NOOP when SEND_MIC was not set
    client -> NOOP (empty)                      "done"
The old "v1" format (no flag byte, gss-client -v1) is refused with a clear error.

Every read has a timeout and every token a size cap: a peer that stalls or announces a
huge token is dropped, never waited for or buffered. A server (`start_server`, and the
IAKerb server through `start_bounded_server`) also caps the connections it serves at
once (one more is closed as soon as it is accepted), gives a connection a few read
timeouts in all to establish its context, and buffers at most about one token per
connection: a flood of connections that each announce a large token cannot exhaust it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from kerbfirst.gss.errors import GssError
from kerbfirst.gss.krb5_acceptor import Krb5Acceptor
from kerbfirst.gss.krb5_initiator import Krb5Initiator
from kerbfirst.gss.per_message import SecurityContext, Unwrapped

log = logging.getLogger(__name__)

TOKEN_NOOP = 1 << 0
TOKEN_CONTEXT = 1 << 1
TOKEN_DATA = 1 << 2
TOKEN_MIC = 1 << 3
TOKEN_CONTEXT_NEXT = 1 << 4
TOKEN_WRAPPED = 1 << 5
TOKEN_ENCRYPTED = 1 << 6
TOKEN_SEND_MIC = 1 << 7

MAX_TOKEN = 1 << 20  # the most a client reads from a server it chose to talk to
# The largest context token a server reads: an AP-REQ whose ticket carries a large PAC
# fits (Windows' default MaxTokenSize is 48,000 bytes), as does an IAKerb token.
SERVER_MAX_TOKEN = 96 * 1024
DEFAULT_TIMEOUT = 10.0
MAX_MESSAGES = 10_000  # messages per connection before the server closes it
DEFAULT_MAX_CONNECTIONS = 256
ANNOUNCEMENT = 16  # the NOOP|CONTEXT_NEXT that opens a session carries nothing
# The whole context establishment gets this many read timeouts: a real exchange (a krb5
# AP-REQ in one round trip; IAKerb's discovery, AS-REQ twice, TGS-REQ, a referral, the
# AP-REQ) is a few round trips, each far shorter than one timeout.
ESTABLISH_ROUNDS = 6


class MessageContext(Protocol):
    """What the message phase needs of an established context: krb5's SecurityContext,
    or NTLM's session security (gss/ntlm_session.py)."""

    client: str
    service: str

    def unwrap(self, token: bytes, *, now: datetime | None = None) -> Unwrapped: ...

    def get_mic(self, message: bytes, *, now: datetime | None = None) -> bytes: ...


class SampleProtocolError(Exception):
    """The peer broke the sample protocol (bad flags, oversized token, early close)."""


def system_now() -> datetime:
    return datetime.now(UTC)


async def read_token(reader: asyncio.StreamReader, *, timeout: float = DEFAULT_TIMEOUT,
                     max_size: int = MAX_TOKEN) -> tuple[int, bytes]:
    """One (flags, token) as recv_token reads it."""
    try:
        async with asyncio.timeout(timeout):
            header = await reader.readexactly(5)
            flags = header[0]
            if flags == 0:
                raise SampleProtocolError(
                    "peer speaks the sample programs' v1 format (gss-client -v1), which is "
                    "not supported: run gss-client without -v1")
            (length,) = struct.unpack(">I", header[1:])
            if length > max_size:
                raise SampleProtocolError(f"peer announced a {length}-byte token; the limit is "
                                          f"{max_size}")
            return flags, await reader.readexactly(length)
    except asyncio.IncompleteReadError:
        raise SampleProtocolError("peer closed the connection in the middle of a token") from None
    except TimeoutError:
        raise SampleProtocolError(f"peer sent nothing for {timeout} s") from None


async def write_token(writer: asyncio.StreamWriter, flags: int, token: bytes = b"", *,
                      timeout: float = DEFAULT_TIMEOUT) -> None:
    writer.write(bytes((flags,)) + struct.pack(">I", len(token)) + token)
    async with asyncio.timeout(timeout):
        await writer.drain()


# ---------------------------------------------------------------------- client


@dataclass(frozen=True, slots=True)
class ClientResult:
    context: SecurityContext
    mic_verified: bool


async def run_client(
    host: str, port: int, initiator: Krb5Initiator, message: bytes, *, wrap: bool = True,
    encrypt: bool = True, mic: bool = True, timeout: float = DEFAULT_TIMEOUT,
) -> ClientResult:
    """Authenticate to a gss-server and exchange one message, as `gss-client` does."""
    async with asyncio.timeout(timeout):
        reader, writer = await asyncio.open_connection(host, port)
    try:
        await write_token(writer, TOKEN_NOOP | TOKEN_CONTEXT_NEXT, timeout=timeout)
        await write_token(writer, TOKEN_CONTEXT, initiator.initial_token(), timeout=timeout)
        while not initiator.complete:
            flags, token = await read_token(reader, timeout=timeout)
            if not flags & TOKEN_CONTEXT:
                raise SampleProtocolError(f"expected a context token, got flags 0x{flags:02x}")
            initiator.step(token)
        context = initiator.context
        if context is None:  # complete implies a context; this keeps mypy and -O honest
            raise SampleProtocolError("context establishment ended without a context")
        return await send_message(reader, writer, context, message, wrap=wrap,
                                  encrypt=encrypt, mic=mic, timeout=timeout)
    finally:
        await close_connection(writer, timeout)


async def send_message(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, context: SecurityContext,
    message: bytes, *, wrap: bool, encrypt: bool, mic: bool, timeout: float,
) -> ClientResult:
    """After context establishment, as gss-client's call_server: send the message (wrapped
    or not), verify the server's MIC of it when asked for, then say goodbye with a NOOP."""
    body = context.wrap(message, confidential=encrypt) if wrap else message
    flags = (TOKEN_DATA | (TOKEN_WRAPPED if wrap else 0)
             | (TOKEN_ENCRYPTED if encrypt else 0) | (TOKEN_SEND_MIC if mic else 0))
    await write_token(writer, flags, body, timeout=timeout)
    reply_flags, reply = await read_token(reader, timeout=timeout)
    verified = False
    if mic:
        if not reply_flags & TOKEN_MIC:
            raise SampleProtocolError(f"expected a MIC token, got flags 0x{reply_flags:02x}")
        context.verify_mic(message, reply)
        verified = True
    await write_token(writer, TOKEN_NOOP, timeout=timeout)
    return ClientResult(context, verified)


async def close_connection(writer: asyncio.StreamWriter, timeout: float) -> None:
    """Close a sample-protocol connection, waiting at most `timeout` for the peer."""
    writer.close()
    with contextlib.suppress(OSError, TimeoutError):
        async with asyncio.timeout(timeout):
            await writer.wait_closed()


# ---------------------------------------------------------------------- server


@dataclass(frozen=True, slots=True)
class ReceivedMessage:
    client: str
    data: bytes
    confidential: bool


async def serve_connection(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *,
    new_acceptor: Callable[[], Krb5Acceptor], on_message: Callable[[ReceivedMessage], None],
    clock: Callable[[], datetime] = system_now, timeout: float = DEFAULT_TIMEOUT,
    max_token: int = SERVER_MAX_TOKEN,
) -> None:
    """Serve one gss-client connection as gss-server's sign_server does. Never raises: a
    broken or hostile peer is logged and disconnected."""
    peer = writer.get_extra_info("peername")
    try:
        await _serve(reader, writer, new_acceptor, on_message, clock, timeout, max_token)
    except (SampleProtocolError, GssError, OSError, TimeoutError) as exc:
        log.warning("gss-sample connection from %s refused: %s", peer, exc)
    finally:
        await close_connection(writer, timeout)


async def _serve(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
    new_acceptor: Callable[[], Krb5Acceptor], on_message: Callable[[ReceivedMessage], None],
    clock: Callable[[], datetime], timeout: float, max_token: int,
) -> None:
    flags, _ = await read_token(reader, timeout=timeout, max_size=ANNOUNCEMENT)
    if not flags & TOKEN_NOOP or not flags & TOKEN_CONTEXT_NEXT:
        # gss-server would accept an unauthenticated session here; we never do.
        raise SampleProtocolError("client did not announce a context (NOOP|CONTEXT_NEXT)")
    acceptor = new_acceptor()
    budget = ESTABLISH_ROUNDS * timeout
    try:
        async with asyncio.timeout(budget):
            await _accept(reader, writer, acceptor, clock, timeout, max_token)
    except TimeoutError:
        raise SampleProtocolError(f"no security context after {budget} s") from None
    await serve_messages(reader, writer, acceptor.context, on_message, clock, timeout,
                         max_size=max_token)


async def _accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                  acceptor: Krb5Acceptor, clock: Callable[[], datetime], timeout: float,
                  max_token: int) -> None:
    while not acceptor.complete:
        flags, token = await read_token(reader, timeout=timeout, max_size=max_token)
        if not flags & TOKEN_CONTEXT:
            raise SampleProtocolError(f"expected a context token, got flags 0x{flags:02x}")
        try:
            reply = acceptor.step(token, now=clock())
        except GssError as exc:
            if exc.output_token:
                await write_token(writer, TOKEN_CONTEXT, exc.output_token, timeout=timeout)
            raise
        if reply:
            await write_token(writer, TOKEN_CONTEXT, reply, timeout=timeout)


async def serve_messages(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
    context: MessageContext | None, on_message: Callable[[ReceivedMessage], None],
    clock: Callable[[], datetime], timeout: float, *, max_size: int = MAX_TOKEN,
) -> None:
    """After context establishment, as gss-server's sign_server: unwrap each message and
    answer with a MIC of it (or a NOOP), until the client's NOOP; bounded in count."""
    if context is None:
        raise SampleProtocolError("context establishment ended without a context")
    log.info("gss-sample: accepted %s for %s", context.client, context.service)
    for _ in range(MAX_MESSAGES):
        flags, token = await read_token(reader, timeout=timeout, max_size=max_size)
        if flags & TOKEN_NOOP:
            return
        if flags & TOKEN_WRAPPED:
            unwrapped = context.unwrap(token, now=clock())
            data, confidential = unwrapped.data, unwrapped.confidential
        else:
            data, confidential = token, False
        on_message(ReceivedMessage(context.client, data, confidential))
        if flags & TOKEN_SEND_MIC:
            await write_token(writer, TOKEN_MIC, context.get_mic(data, now=clock()),
                              timeout=timeout)
        else:
            await write_token(writer, TOKEN_NOOP, timeout=timeout)
    raise SampleProtocolError(f"more than {MAX_MESSAGES} messages on one connection")


async def start_bounded_server(
    host: str, port: int, serve: Callable[[asyncio.StreamReader, asyncio.StreamWriter],
                                          Awaitable[None]],
    *, max_connections: int = DEFAULT_MAX_CONNECTIONS, max_token: int = SERVER_MAX_TOKEN,
) -> asyncio.Server:
    """Listen and run `serve` per connection, at most `max_connections` at once: one more
    is closed as soon as it is accepted (a warning says so, not once per connection). The
    stream buffer holds at most about one token."""
    if max_connections < 1:
        raise ValueError("max_connections must be at least 1")
    active = 0
    refused = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal active, refused
        if active >= max_connections:
            refused += 1
            if refused == 1 or refused % 1000 == 0:  # a flood must not flood the log too
                log.warning("gss-sample: %d connections open (the cap); refused %d so far",
                            active, refused)
            writer.transport.abort()
            return
        active += 1
        try:
            await serve(reader, writer)
        finally:
            active -= 1

    return await asyncio.start_server(handle, host, port, limit=min(max_token, 64 * 1024))


async def start_server(
    host: str, port: int, *, new_acceptor: Callable[[], Krb5Acceptor],
    on_message: Callable[[ReceivedMessage], None], clock: Callable[[], datetime] = system_now,
    timeout: float = DEFAULT_TIMEOUT, max_token: int = SERVER_MAX_TOKEN,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
) -> asyncio.Server:
    """Listen like `gss-server -port PORT`; each connection gets a fresh acceptor (which
    should share one ReplayCache). Bounded as `start_bounded_server` says; no context token
    above `max_token` bytes is read."""

    def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> Awaitable[None]:
        return serve_connection(reader, writer, new_acceptor=new_acceptor,
                                on_message=on_message, clock=clock, timeout=timeout,
                                max_token=max_token)

    return await start_bounded_server(host, port, serve, max_connections=max_connections,
                                      max_token=max_token)


def system_random(n: int) -> bytes:
    """The randomness the pure layers are given (a CSPRNG)."""
    return os.urandom(n)
