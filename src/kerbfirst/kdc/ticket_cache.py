"""Opened tickets, remembered: a client presents one TGT with every TGS-REQ of its life.

A ticket's EncTicketPart (RFC 4120 5.3) is sealed with the server's long-term key, key
usage 2. Opening it costs a key derivation lookup, an AES-CTS decryption, an HMAC and a
DER decode; a client that asks for twenty service tickets presents the same ticket bytes
twenty times. This cache opens each distinct ticket once.

Why a hit is exactly what decrypting would give:
- The key of an entry is every input of the computation: the enctype, the contents of
  the server key, its kvno and the exact enc-part ciphertext. Decryption and the DER
  decode are pure functions of those bytes (RFC 3961 5.3: the derived keys depend only on
  the base key and the usage, which is fixed here), so equal inputs give equal results.
  (The kvno does not change the result; it is part of the key so that an entry is never
  shared between two key versions, which keeps the bookkeeping obvious.)
- Only a successful decrypt (the HMAC verified, RFC 3961 5.3) followed by a successful
  decode is stored: a tampered or malformed ticket raises every time and is never stored.
- There is no clock and no policy in here. The caller looks the key up in the principal
  database first (so a deleted or purged kvno refuses the ticket even when its opening
  is remembered), and every check on the result (times against `now`, flags, addresses,
  the authenticator, the req-body checksum, the server's and client's entries) runs on
  every request.
- The remembered EncTicketPart and Key are immutable values, safe to hand out again.

Bounded in entries; the oldest entry is evicted first (insertion order). Memory per entry
is one decoded EncTicketPart plus references to bytes the request already held (a purged
key's bytes stay referenced until its entries are evicted). Not locked: a Kdc is driven
from one thread (net/kdc_handler_thread.py).
"""

from __future__ import annotations

from kerbfirst.crypto import Key
from kerbfirst.krb.database import KeyEntry
from kerbfirst.krb.rd_req import decrypt_ticket
from kerbfirst.wire.krb5 import EncTicketPart

DEFAULT_MAX_ENTRIES = 4096

# (enctype, key contents, kvno, enc-part ciphertext)
_CacheKey = tuple[int, bytes, int, bytes]


class OpenedTicket:
    """A ticket's EncTicketPart and its session key as a crypto Key, built once."""

    __slots__ = ("part", "session_key")

    def __init__(self, part: EncTicketPart, session_key: Key) -> None:
        self.part = part
        self.session_key = session_key


class TicketCache:
    """(server key, ciphertext) -> OpenedTicket, bounded; `hits`/`misses` count lookups."""

    __slots__ = ("_entries", "_max", "hits", "misses")

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self._max = max_entries
        self._entries: dict[_CacheKey, OpenedTicket] = {}
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def unseal(self, key: KeyEntry, cipher: bytes) -> OpenedTicket:
        """The opened ticket whose enc-part is `cipher` under `key` (usage 2).

        Raises IntegrityError (wrong key, tampered), DecodeError (not an EncTicketPart) or
        KerberosCryptoError (its session key is unusable); nothing is stored then.
        """
        cache_key = (key.etype, key.contents, key.kvno, cipher)
        entries = self._entries
        opened = entries.get(cache_key)
        if opened is not None:
            self.hits += 1
            return opened
        self.misses += 1
        opened = OpenedTicket(*decrypt_ticket(Key(key.etype, key.contents), cipher))
        if self._max <= 0:
            return opened
        if len(entries) >= self._max:
            # dicts keep insertion order: the first key is the oldest entry
            del entries[next(iter(entries))]
        entries[cache_key] = opened
        return opened
