"""The KDC: request bytes in, reply bytes out, one audit event per request.

`Kdc.handle` is the single exit MIT's KDC has in finish_process_as_req /
process_tgs_req's cleanup: whatever happened, it builds the reply (a ticket or a
KRB-ERROR), emits exactly one KdcAuditEvent, and never raises. net/ serves this object
over UDP and TCP; IAKerb and KKDCP proxies hand it the same bytes.

What cannot be decoded as an AS-REQ or TGS-REQ gets no answer at all, as from MIT's
krb5kdc (kdc/dispatch.c answers decoded requests only): an answer to noise would make the
KDC a reflector that multiplies a spoofed sender's traffic. Such drops are counted
(`dropped`) and audited at most DROP_AUDIT_PER_SECOND times a second, the next record
saying how many went unrecorded. A KRB-ERROR's e-text is fixed per error code
(error_text.py): an error never echoes the request, so it is never much larger than the
request that caused it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime

from kerbfirst.kdc.as_exchange import process_as_req
from kerbfirst.kdc.audit import KdcAuditEvent, Outcome, RequestKind
from kerbfirst.kdc.context import KdcContext
from kerbfirst.kdc.error_text import e_text
from kerbfirst.kdc.lookaside import ReplyCache
from kerbfirst.kdc.policy import KdcPolicy
from kerbfirst.kdc.request import Refusal, RequestState
from kerbfirst.kdc.tgs_exchange import process_tgs_req
from kerbfirst.kdc.ticket_cache import TicketCache
from kerbfirst.krb.database import PrincipalDatabase
from kerbfirst.wire.constants import (
    KDC_ERR_BAD_PVNO,
    KDC_ERR_NONE,
    KRB_AS_REQ,
    KRB_ERR_GENERIC,
    KRB_ERR_RESPONSE_TOO_BIG,
    KRB_TGS_REQ,
    PVNO,
)
from kerbfirst.wire.der import DecodeError
from kerbfirst.wire.krb5 import KdcReq, KrbError

# First byte of a DER AS-REQ / TGS-REQ: [APPLICATION 10] / [APPLICATION 12], constructed.
_AS_REQ_TAG = 0x60 | KRB_AS_REQ
_TGS_REQ_TAG = 0x60 | KRB_TGS_REQ
_KIND_BY_TAG = {_AS_REQ_TAG: RequestKind.AS_REQ, _TGS_REQ_TAG: RequestKind.TGS_REQ}


class Kdc:
    """A Kerberos KDC for one realm, as a pure function of (request, peer, now, database).

    `random(n)` must return n cryptographically random bytes (session keys, confounders);
    `audit` receives one event per answered request (dropped ones: see the module's
    docstring) and should not raise (if it does, the reply is still returned and
    `audit_failures` counts it: a broken sink must not stop the KDC).
    """

    def __init__(
        self,
        *,
        database: PrincipalDatabase,
        policy: KdcPolicy,
        random: Callable[[int], bytes],
        audit: Callable[[KdcAuditEvent], None],
    ) -> None:
        self.policy = policy
        self._ctx = KdcContext(database=database, policy=policy, random=random)
        self._audit = audit
        # RequestScopedDatabase, when the database offers it (a store with other writers).
        self._begin_request: Callable[[], None] | None = getattr(database, "begin_request", None)
        self._end_request: Callable[[], None] | None = getattr(database, "end_request", None)
        self._cache = ReplyCache(
            max_entries=policy.reply_cache_size,
            ttl=policy.reply_cache_ttl,
            max_bytes=policy.reply_cache_bytes,
        )
        self.audit_failures = 0
        self.dropped = 0  # requests that got no answer (not decodable as a KDC request)
        self._drop_audit = _RateLimit(DROP_AUDIT_PER_SECOND)

    @property
    def ticket_cache(self) -> TicketCache:
        """The opened-ticket cache of the TGS exchange (its hits and misses, its size)."""
        return self._ctx.ticket_cache

    def handle(
        self, request: bytes, *, peer: str, transport: str, now: datetime
    ) -> bytes | None:
        """Answer one KDC request. None means "send nothing" (not a KDC request at all)."""
        cache_key = self._cache.key(request)
        clock = now.timestamp()
        cached = self._cache.get(cache_key, clock)
        if cached is not None:
            cached_reply, original = cached
            self._emit(
                dataclasses.replace(
                    original,
                    time=now,
                    peer=peer,
                    transport=transport,
                    outcome=Outcome.REPLAY_CACHE_HIT,
                    reason="identical retransmission answered from the reply cache "
                    f"(first answer: {original.outcome.value}, code {original.result_code})",
                )
            )
            return cached_reply

        state = RequestState(now=now, peer=peer, transport=transport)
        reply: bytes | None
        event: KdcAuditEvent | None
        drop_reason = ""
        if self._begin_request is not None:
            self._begin_request()
        try:
            reply = self._dispatch(request, state)
            event = state.event(state.outcome, KDC_ERR_NONE, state.reason)
        except Refusal as refusal:
            # The reason goes to the audit log; the peer gets a fixed text (error_text.py).
            reply = self._error(refusal.code, e_text(refusal.code), refusal.e_data, state)
            event = state.event(refusal.outcome, refusal.code, refusal.reason)
        except _Dropped as dropped:
            reply = event = None
            drop_reason = str(dropped)
        except Exception as exc:  # the single exit: a bug must not take the KDC down
            reason = f"internal error ({type(exc).__name__}: {exc}); please report it"
            reply = self._error(KRB_ERR_GENERIC, "internal error", None, state)
            event = state.event(Outcome.INTERNAL_ERROR, KRB_ERR_GENERIC, reason)
        finally:
            if self._end_request is not None:
                self._end_request()
        if event is None:
            self.refused(drop_reason, peer=peer, transport=transport, now=now, kind=state.kind)
            return None
        self._emit(event)
        if reply is not None:
            self._cache.put(cache_key, reply, event, clock)
        return reply

    def response_too_big(self, request: bytes, *, now: datetime) -> bytes | None:
        """RFC 4120 7.2.1: the KRB_ERR_RESPONSE_TOO_BIG a UDP client gets when the real
        reply does not fit a datagram; the client retries over TCP."""
        state = RequestState(now=now, peer="", transport="udp")
        try:
            if request[:1] not in (bytes((_AS_REQ_TAG,)), bytes((_TGS_REQ_TAG,))):
                return None
            try:
                req = KdcReq.decode(request)
                state.server_name = req.req_body.sname
            except DecodeError:
                pass
            return self._error(
                KRB_ERR_RESPONSE_TOO_BIG, e_text(KRB_ERR_RESPONSE_TOO_BIG), None, state
            )
        except Exception:  # never raise into the server loop
            return None

    # ------------------------------------------------------------------ internals

    def _dispatch(self, request: bytes, state: RequestState) -> bytes:
        kind = _KIND_BY_TAG.get(request[0]) if request else None
        if kind is None:
            # Not a KDC request: answering it would make the KDC a reflector (RFC 4120
            # 7.2.1 answers requests, not noise). Dropped, and audited.
            first = f"0x{request[0]:02x}" if request else "nothing"
            raise _Dropped(f"not an AS-REQ or TGS-REQ (first byte {first}); dropped")
        state.kind = kind
        try:
            req = KdcReq.decode(request)
        except DecodeError as exc:
            raise _Dropped(f"malformed {kind.value} ({exc}); dropped") from None
        if req.req_body.sname is None and (kind is RequestKind.AS_REQ or not req.padata):
            # Nothing names what it is for (RFC 4120 5.4.1: only a TGS-REQ, which carries
            # its ticket in padata, may leave sname out). Answering would make the
            # smallest decodable datagram (40 bytes) a 3x reflector; MIT krb5kdc cannot
            # choose a realm for it either and sends nothing.
            raise _Dropped(f"{kind.value} without a server name; dropped")
        if req.pvno != PVNO:
            raise Refusal(
                KDC_ERR_BAD_PVNO,
                Outcome.BAD_REQUEST,
                f"protocol version {req.pvno}; only Kerberos 5 is served",
            )
        if kind is RequestKind.AS_REQ:
            return process_as_req(self._ctx, req, state)
        return process_tgs_req(self._ctx, req, state)

    def _error(
        self, code: int, text: str, e_data: bytes | None, state: RequestState
    ) -> bytes:
        """RFC 4120 5.9.1 KRB-ERROR; sname defaults to the realm's krbtgt."""
        now = state.now
        return KrbError(
            error_code=code,
            stime=now.replace(microsecond=0),
            susec=now.microsecond,
            realm=self.policy.realm,
            sname=state.server_name or self._ctx.krbtgt_name,
            crealm=state.client_realm if state.client_name is not None else None,
            cname=state.client_name,
            e_text=text,
            e_data=e_data,
        ).encode()

    def refused(
        self,
        reason: str,
        *,
        peer: str,
        transport: str,
        now: datetime,
        kind: RequestKind = RequestKind.UNKNOWN,
    ) -> None:
        """Count and audit (rate-limited) a request that gets no answer: undecodable here,
        or refused by the transport before it reached the KDC (e.g. above the size limit)."""
        self.dropped += 1
        unrecorded = self._drop_audit.admit(now)
        if unrecorded is None:
            return
        if unrecorded:
            reason = f"{reason} ({unrecorded} more requests were dropped without a record)"
        self._emit(
            KdcAuditEvent(
                time=now,
                kind=kind,
                outcome=Outcome.BAD_REQUEST,
                result_code=KRB_ERR_GENERIC,
                reason=reason,
                peer=peer,
                transport=transport,
            )
        )

    def _emit(self, event: KdcAuditEvent) -> None:
        try:
            self._audit(event)
        except Exception:
            self.audit_failures += 1


class _Dropped(Exception):
    """A request that gets no answer at all."""


#: Records of dropped requests per second, per KDC (worker process); the rest are counted.
DROP_AUDIT_PER_SECOND = 10


class _RateLimit:
    """At most `per_second` admissions per wall-clock second; admit() returns how many were
    refused since the last admission (None: this one is refused too)."""

    __slots__ = ("_count", "_per_second", "_second", "_suppressed")

    def __init__(self, per_second: int) -> None:
        self._per_second = per_second
        self._second = -1
        self._count = 0
        self._suppressed = 0

    def admit(self, now: datetime) -> int | None:
        second = int(now.timestamp())
        if second != self._second:
            self._second = second
            self._count = 0
        if self._count >= self._per_second:
            self._suppressed += 1
            return None
        self._count += 1
        suppressed, self._suppressed = self._suppressed, 0
        return suppressed
