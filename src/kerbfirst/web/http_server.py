"""The HTTP/1.1 connection guard the gateway runs under uvicorn: uvicorn's httptools
protocol with the two bounds it lacks.

- A time limit for the request head (request line and header fields): uvicorn arms no
  timer on a new connection and cancels its keep-alive timer at the first byte of the next
  request, so a client that sends nothing, or one header byte every few seconds
  (slowloris), holds a connection forever. The limit runs from the connection's opening,
  or the end of the previous response, until the head is complete; then 408 and close.
- A size limit for the head, in bytes and in field count: httptools buffers header fields
  without a bound, so one connection could send gigabytes of them. Past it: 431 (RFC 6585
  5) and close. The default leaves room for a Negotiate token with a large PAC (Windows
  allows 64 KiB in one field).

The body and the application's own waits are not limited here: the application bounds
those (the gateway's body idle timeout, the KDC proxy's read cap and timeouts).
"""

from __future__ import annotations

import asyncio
import resource

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

DEFAULT_HEADER_TIMEOUT = 20.0  # seconds for the request head, as Apache's RequestReadTimeout
DEFAULT_MAX_HEADER_BYTES = 96 * 1024
DEFAULT_MAX_HEADER_FIELDS = 100  # Apache's LimitRequestFields
DEFAULT_MAX_CONNECTIONS = 10_000  # client connections; past it requests get 503
_SPARE_FILES = 512  # the upstream pool (100 by default), logs, keytab, the KDC proxy


class _HeadTooLarge(Exception):
    pass


def _answer(status: bytes, text: str) -> bytes:
    body = text.encode()
    return (b"HTTP/1.1 " + status + b"\r\ncontent-type: text/plain; charset=utf-8\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n"
            + body)


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a time and a size limit on each request head."""

    header_timeout = DEFAULT_HEADER_TIMEOUT
    max_header_bytes = DEFAULT_MAX_HEADER_BYTES
    max_header_fields = DEFAULT_MAX_HEADER_FIELDS

    _head_timer: asyncio.TimerHandle | None = None
    _head_bytes = 0
    _head_fields = 0
    _head_started = False
    _head_too_large = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._head_timer = self.loop.call_later(self.header_timeout, self._head_timed_out)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        if self._head_started:
            self.transport.write(_answer(b"408 Request Timeout", (
                f"the request head was not complete within {self.header_timeout:g} s\n")))
        self.transport.close()

    def _count(self, size: int) -> None:
        self._head_bytes += size
        if (self._head_bytes > self.max_header_bytes
                or self._head_fields > self.max_header_fields):
            self._head_too_large = True
            raise _HeadTooLarge

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_started = True
        self._head_bytes = self._head_fields = 0

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_fields += 1
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._disarm()
        self._head_started = False
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        pipelined = bool(self.pipeline)
        super().on_response_complete()
        if not pipelined and not self.transport.is_closing():
            self._arm()  # the next request's head is timed from here

    def send_400_response(self, msg: str) -> None:
        if not self._head_too_large:
            super().send_400_response(msg)
            return
        self._disarm()
        self.transport.write(_answer(b"431 Request Header Fields Too Large", (
            f"the request head is larger than {self.max_header_bytes} bytes or "
            f"{self.max_header_fields} fields\n")))
        self.transport.close()


def guarded_protocol(*, header_timeout: float = DEFAULT_HEADER_TIMEOUT,
                     max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES,
                     max_header_fields: int = DEFAULT_MAX_HEADER_FIELDS,
                     ) -> type[GuardedHttpToolsProtocol]:
    """The protocol class to give uvicorn as `http=`, with these limits."""
    if not header_timeout > 0 or max_header_bytes < 1 or max_header_fields < 1:
        raise ValueError("the header timeout and limits must be positive")
    return type("GuardedHttpToolsProtocol", (GuardedHttpToolsProtocol,), {
        "header_timeout": header_timeout, "max_header_bytes": max_header_bytes,
        "max_header_fields": max_header_fields})


def open_file_room(connections: int) -> int:
    """Raise this process's soft open-file limit toward its hard limit so that
    `connections` client sockets (and the upstream pool, the keytab, the logs) fit: with
    Debian's default soft limit of 1,024, a flood of idle connections would exhaust the
    descriptors and new clients would wait in the listen backlog until the head timeout
    frees some (asyncio stops accepting on EMFILE). Returns the soft limit now in force.
    The hard limit is never raised: that is the administrator's (systemd LimitNOFILE)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = connections + _SPARE_FILES
    if soft != resource.RLIM_INFINITY and soft < wanted:
        new = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        soft = new
    return soft


__all__ = ["DEFAULT_HEADER_TIMEOUT", "DEFAULT_MAX_CONNECTIONS", "GuardedHttpToolsProtocol",
           "guarded_protocol", "open_file_room"]
