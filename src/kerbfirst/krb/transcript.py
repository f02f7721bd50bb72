"""The messages of one exchange, in order, exactly as sent and received.

The client's AS and TGS exchanges record theirs (`messages`, for the caller and its log);
IAKerb's KRB-FINISHED checksum covers the concatenation of every token of a conversation
(draft-ietf-kitten-iakerb-03 3.2; MIT iakerb_save_token), so both sides keep one.
"""

from __future__ import annotations

from collections.abc import Callable

MAX_TRANSCRIPT = 1 << 20  # bytes: far more than the messages of one conversation


class TranscriptTooLong(ValueError):
    """A conversation sent or received more than the transcript's limit."""


class Transcript:
    """("sent" | "received", message) pairs, bounded in total size."""

    __slots__ = ("_error", "_size", "limit", "messages")

    def __init__(
        self,
        *,
        limit: int = MAX_TRANSCRIPT,
        error: Callable[[str], Exception] = TranscriptTooLong,
    ) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.limit = limit
        self._size = 0
        self._error = error  # what an over-long conversation raises (the caller's type)

    def add(self, direction: str, message: bytes) -> None:
        self._size += len(message)
        if self._size > self.limit:
            raise self._error(f"the conversation exceeds {self.limit} bytes")
        self.messages.append((direction, bytes(message)))

    def sent(self, message: bytes) -> bytes:
        """Record `message` as sent and return it (so a request is recorded as it leaves)."""
        self.add("sent", message)
        return message

    def received(self, message: bytes) -> None:
        self.add("received", message)

    def data(self) -> bytes:
        """Every message concatenated: what IAKerb's finished checksum covers."""
        return b"".join(message for _, message in self.messages)

    def __len__(self) -> int:
        return len(self.messages)
