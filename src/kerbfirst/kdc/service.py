"""The KDC: request bytes in, reply bytes out, one audit event per request.

`Kdc.handle` is the single exit MIT's KDC has in finish_process_as_req /
process_tgs_req's cleanup: whatever happened, it builds the reply (a ticket or a
KRB-ERROR), emits exactly one KdcAuditEvent, and never raises. net/ serves this object
over UDP and TCP; IAKerb and KKDCP proxies hand it the same bytes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime

from kerbfirst.kdc.as_exchange import process_as_req
from kerbfirst.kdc.audit import KdcAuditEvent, Outcome, RequestKind
from kerbfirst.kdc.context import KdcContext
from kerbfirst.kdc.database import PrincipalDatabase
from kerbfirst.kdc.error_text import e_text
from kerbfirst.kdc.lookaside import ReplyCache
from kerbfirst.kdc.policy import KdcPolicy
from kerbfirst.kdc.request import Refusal, RequestState
from kerbfirst.kdc.tgs_issue import process_tgs_req
from kerbfirst.kdc.ticket_cache import TicketCache
from kerbfirst.wire import constants as c
from kerbfirst.wire.der import DecodeError
from kerbfirst.wire.krb5 import KdcReq, KrbError

# First byte of a DER AS-REQ / TGS-REQ: [APPLICATION 10] / [APPLICATION 12], constructed.
_AS_REQ_TAG = 0x60 | c.KRB_AS_REQ
_TGS_REQ_TAG = 0x60 | c.KRB_TGS_REQ
_KIND_BY_TAG = {_AS_REQ_TAG: RequestKind.AS_REQ, _TGS_REQ_TAG: RequestKind.TGS_REQ}


class Kdc:
    """A Kerberos KDC for one realm, as a pure function of (request, peer, now, database).

    `random(n)` must return n cryptographically random bytes (session keys, confounders);
    `audit` receives one event per request and should not raise (if it does, the reply is
    still returned and `audit_failures` counts it: a broken sink must not stop the KDC).
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
        self._cache = ReplyCache(max_entries=policy.reply_cache_size, ttl=policy.reply_cache_ttl)
        self.audit_failures = 0

    @property
    def ticket_cache(self) -> TicketCache:
        """The opened-ticket cache of the TGS exchange (its hits and misses, its size)."""
        return self._ctx.ticket_cache

    def handle(
        self, request: bytes, *, peer: str, transport: str, now: datetime
    ) -> bytes | None:
        """Answer one KDC request. None means "send nothing" (not a KDC request at all)."""
        cached = self._cache.get(request, now)
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
        if self._begin_request is not None:
            self._begin_request()
        try:
            reply = self._dispatch(request, state)
            event = state.event(state.outcome, c.KDC_ERR_NONE, state.reason)
        except Refusal as refusal:
            # The reason goes to the audit log; the peer gets a fixed text (error_text.py).
            reply = self._error(refusal.code, e_text(refusal.code), refusal.e_data, state)
            event = state.event(refusal.outcome, refusal.code, refusal.reason)
        except _Dropped as dropped:
            reply = None
            event = state.event(Outcome.BAD_REQUEST, c.KRB_ERR_GENERIC, str(dropped))
        except Exception as exc:  # the single exit: a bug must not take the KDC down
            reason = f"internal error ({type(exc).__name__}: {exc}); please report it"
            reply = self._error(c.KRB_ERR_GENERIC, "internal error", None, state)
            event = state.event(Outcome.INTERNAL_ERROR, c.KRB_ERR_GENERIC, reason)
        finally:
            if self._end_request is not None:
                self._end_request()
        self._emit(event)
        if reply is not None:
            self._cache.put(request, reply, event, now)
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
                c.KRB_ERR_RESPONSE_TOO_BIG, "response too big for UDP, retry with TCP", None, state
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
            raise Refusal(
                c.KRB_ERR_GENERIC, Outcome.BAD_REQUEST, f"malformed {kind.value}: {exc}"
            ) from None
        if req.pvno != c.PVNO:
            raise Refusal(
                c.KDC_ERR_BAD_PVNO,
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

    def _emit(self, event: KdcAuditEvent) -> None:
        try:
            self._audit(event)
        except Exception:
            self.audit_failures += 1


class _Dropped(Exception):
    """A datagram that gets no answer at all."""
