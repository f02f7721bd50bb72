"""What every exchange shares, built once per Kdc: nothing here is recomputed per request."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from kerbfirst.crypto import Key, encrypt, random_to_key
from kerbfirst.kdc.keys import KEY_BYTES, current_kvno
from kerbfirst.kdc.policy import KdcPolicy
from kerbfirst.kdc.ticket_cache import TicketCache
from kerbfirst.krb.database import KeyEntry, PrincipalDatabase, PrincipalEntry
from kerbfirst.krb.names import krbtgt_name, unparse_principal
from kerbfirst.wire.constants import KU_KDC_REP_TICKET, LR_NONE
from kerbfirst.wire.krb5 import (
    EncryptedData,
    EncryptionKey,
    EncTicketPart,
    LastReqEntry,
    PrincipalName,
    Ticket,
)

# RFC 3962 / RFC 8009: the confounder is one cipher block, 16 bytes for AES.
CONFOUNDER_BYTES = 16
PRINCIPAL_TEXT_CACHE_SIZE = 4096
PRINCIPAL_TEXT_MAX_KEPT = 256  # characters
LONG_TERM_KEY_CACHE_SIZE = 4096


class KdcContext:
    __slots__ = (
        "allowed_etypes",
        "database",
        "krbtgt",
        "krbtgt_name",
        "last_req",
        "long_term_keys",
        "names",
        "policy",
        "random",
        "ticket_cache",
    )

    def __init__(
        self, *, database: PrincipalDatabase, policy: KdcPolicy, random: Callable[[int], bytes]
    ) -> None:
        self.policy = policy
        self.database = database
        self.random = random
        self.allowed_etypes = frozenset(policy.supported_etypes)
        self.krbtgt_name = krbtgt_name(policy.realm)
        self.krbtgt = unparse_principal(self.krbtgt_name, policy.realm)
        # RFC 4120 5.4.2: last-req is required; kerbfirst keeps no last-request data, so
        # it sends one entry of type 0 ("no information"), as MIT does.
        self.last_req: tuple[LastReqEntry, ...] = (
            LastReqEntry(LR_NONE, datetime.fromtimestamp(0, tz=UTC)),
        )
        # Opened ticket headers (ticket_cache.py): a client sends one TGT with every TGS-REQ.
        self.ticket_cache = TicketCache()
        # crypto Keys of database keys (long_term_key): the same few seal every reply.
        self.long_term_keys: dict[tuple[int, bytes], Key] = {}
        # unparse_principal results (principal_text); a realm has few names in use.
        self.names: dict[tuple[tuple[str, ...], str], str] = {}

    def principal_text(self, name: PrincipalName, realm: str) -> str:
        """unparse_principal(name, realm), remembered: the escaping runs a str.translate per
        component, and the same few names (krbtgt, the clients, the services) recur in
        every request. The text depends only on the components and the realm (not on the
        name type), which are the key. Bounded: emptied when full, and a long name (from
        a peer's request, perhaps) is not kept, so the memory held stays small."""
        key = (name.name_string, realm)
        text = self.names.get(key)
        if text is None:
            text = unparse_principal(name, realm)
            if len(text) > PRINCIPAL_TEXT_MAX_KEPT:
                return text
            if len(self.names) >= PRINCIPAL_TEXT_CACHE_SIZE:
                self.names.clear()
            self.names[key] = text
        return text

    def seal(
        self, key: Key, usage: int, plaintext: bytes, kvno: int | None, *, once: bool = False
    ) -> EncryptedData:
        """`once`: the key serves this message only (crypto's cache is bypassed)."""
        cipher = encrypt(
            key, usage, plaintext, confounder=self.random(CONFOUNDER_BYTES), cache=not once
        )
        return EncryptedData(key.etype, kvno, cipher)

    def long_term_key(self, entry: KeyEntry) -> Key:
        """The crypto Key of a database key, built (and validated) once per distinct key;
        a Key is immutable, so one serves every request. Bounded: emptied when full."""
        cache_key = (entry.etype, entry.contents)
        key = self.long_term_keys.get(cache_key)
        if key is None:
            key = Key(entry.etype, entry.contents)
            if len(self.long_term_keys) >= LONG_TERM_KEY_CACHE_SIZE:
                self.long_term_keys.clear()
            self.long_term_keys[cache_key] = key
        return key

    def seal_with(self, entry: KeyEntry, usage: int, plaintext: bytes) -> EncryptedData:
        """Encrypt under a principal's long-term key, naming its kvno (RFC 4120 5.2.9)."""
        return self.seal(self.long_term_key(entry), usage, plaintext, entry.kvno)

    def seal_ticket(
        self, server_key: KeyEntry, realm: str, sname: PrincipalName, enc_ticket: EncTicketPart
    ) -> Ticket:
        """RFC 4120 5.3: the ticket's EncTicketPart is sealed with the server's key (usage 2)."""
        return Ticket(
            realm=realm,
            sname=sname,
            enc_part=self.seal_with(server_key, KU_KDC_REP_TICKET, enc_ticket.encode()),
        )

    def new_session_key(self, etype: int) -> EncryptionKey:
        key = random_to_key(etype, self.random(KEY_BYTES[etype]))
        return EncryptionKey(etype, key.contents)

    def session_etype(self, requested: tuple[int, ...], server: PrincipalEntry) -> int | None:
        """RFC 4120 3.1.3: the first etype in the client's list that the realm allows,
        preferring ones the server has a key of (so the server surely supports it)."""
        kvno = current_kvno(server)
        keys = server.keys
        fallback: int | None = None
        for etype in requested:
            if etype in self.allowed_etypes:
                for k in keys:
                    if k.etype == etype and k.kvno == kvno:
                        return etype
                if fallback is None:
                    fallback = etype
        return fallback
