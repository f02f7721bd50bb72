"""HTTP Negotiate (RFC 4559) on the server, independent of ASGI or WSGI.

A request's `Authorization: Negotiate <base64>` token goes to an SPNEGO acceptor (RFC 4178)
offering Kerberos (RFC 4121) and IAKerb (draft-ietf-kitten-iakerb); a bare krb5 or IAKerb
token (no SPNEGO wrapper, as some clients send) is accepted too. A conversation that needs
more than one leg (a mechListMIC exchange, IAKerb's KDC round trips through the server)
answers 401 with `WWW-Authenticate: Negotiate <token>` and keeps its acceptor in a table
keyed by the connection, as IIS binds it; the table is bounded and entries expire. The
final token (the AP-REP: mutual authentication) is sent on the 200.

NTLM (a bare NTLMSSP message, `Authorization: NTLM`, or NTLMSSP selected inside SPNEGO) is
refused with a 401 that says why, and audited, unless an `NtlmAuthenticator` is configured
(web/ntlm_hook.py). The authenticated principal must be of an allowed realm (else 403) and
is mapped to a local name by auth_to_local rules (web/local_names.py).

`NegotiateServer.begin` returns a `NegotiateResult`, or a `Pending` KDC exchange for IAKerb that
the I/O driver resolves (`authenticate` does it with net/iakerb_proxy's forwarder).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from kerbfirst.gss.errors import BadBindings, GssError
from kerbfirst.gss.iakerb_acceptor import IakerbAcceptor
from kerbfirst.gss.krb5_acceptor import DEFAULT_SKEW
from kerbfirst.gss.mechanism import ForwardToKdc, KdcFailure, MechContext
from kerbfirst.gss.per_message import SecurityContext
from kerbfirst.gss.replay import ReplayCache
from kerbfirst.gss.spnego_acceptor import SpnegoAcceptor
from kerbfirst.gss.spnego_select import NtlmRefused
from kerbfirst.krb.rd_req import KeyLookup
from kerbfirst.net.iakerb_proxy import KdcForwarder, RouteSpec
from kerbfirst.store.keytab import keytab_key_lookup, read_keytab
from kerbfirst.web.acceptors import AcceptorFactory
from kerbfirst.web.audit import AuditSink, HttpAuthDecision, WebAuditEvent
from kerbfirst.web.channel_binding import BindingPolicy, EpaMode
from kerbfirst.web.local_names import (
    AuthToLocal,
    has_control_characters,
    principal_realm,
    realm_allowed,
)
from kerbfirst.web.ntlm_bridge import NtlmConversation, NtlmRefusedByPolicy, is_ntlm_token
from kerbfirst.web.ntlm_hook import NtlmAuthenticator, NtlmFlow
from kerbfirst.wire.gss_framing import OID_SPNEGO
from kerbfirst.wire.spnego import framed_mech_oid

MAX_HEADER = 64 * 1024  # base64 of a token with a large PAC fits; longer is refused
DEFAULT_MAX_CONTEXTS = 10_000
DEFAULT_CONTEXT_TIMEOUT = timedelta(seconds=60)
NTLM_REFUSED = "NTLM is refused on this service: use Kerberos (Negotiate) or IAKerb"


@dataclass(frozen=True, slots=True)
class HttpRequestInfo:
    """What the core needs from one HTTP request."""

    authorization: str | None
    connection: Hashable  # identity of the TCP connection (client address and port ...)
    client_address: str
    host: str
    tls: bool = False
    channel_binding_data: bytes | None = None  # RFC 5929 application data on TLS


@dataclass(frozen=True, slots=True)
class WebUser:
    """The authenticated user, as scope["user"] (Starlette's BaseUser interface)."""

    principal: str  # "alice@EXAMPLE.COM"
    local_name: str  # auth_to_local's result, or the principal when no rule maps it
    realm: str
    mechanism: str  # "kerberos", "iakerb" or "ntlm"

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self.local_name

    @property
    def identity(self) -> str:
        return self.principal


@dataclass(frozen=True, slots=True)
class NegotiateResult:
    status: int  # 200: pass the request on as `user`; 401 or 403: answer it here
    www_authenticate: tuple[str, ...] = ()  # header values to send (challenge / final token)
    user: WebUser | None = None
    reason: str = ""


@dataclass(slots=True)
class _Exchange:
    mech: MechContext | NtlmConversation
    kind: str  # "spnego", "krb5", "iakerb", "ntlm"
    scheme: str  # the HTTP scheme the client used ("Negotiate" or "NTLM")
    expires: datetime
    request: HttpRequestInfo


@dataclass(slots=True)
class Pending:
    """An IAKerb token needs a KDC exchange: resolve `effect`, then call `resume`."""

    effect: ForwardToKdc
    exchange: _Exchange = field(repr=False)


@dataclass(slots=True)
class NegotiateConfig:
    key_lookup: KeyLookup
    realm: str  # the default realm (auth_to_local DEFAULT, IAKerb realm discovery)
    service: str | None = None  # accept tickets for this principal only; None: any key
    epa: EpaMode = EpaMode.OFF
    allowed_realms: Sequence[str] | None = None  # None: any realm
    auth_to_local: Sequence[str] = ("DEFAULT",)
    kdc_routes: Mapping[str, RouteSpec] = field(default_factory=dict)  # IAKerb forwarding
    kdc_timeout: float = 3.0
    ntlm: NtlmAuthenticator | None = None
    audit: AuditSink | None = None
    max_contexts: int = DEFAULT_MAX_CONTEXTS
    context_timeout: timedelta = DEFAULT_CONTEXT_TIMEOUT
    clock_skew: timedelta = DEFAULT_SKEW
    # None: one cache in this process's memory. Worker processes serving one service must
    # share one (net/iakerb_rcache.FileReplayCache on a path), or an authenticator accepted
    # by one worker is accepted again by another (RFC 4120 3.2.3).
    replay_cache: ReplayCache | None = None
    # A name with control characters is refused (403, audited as refused) instead of
    # reaching the app, where it would be an escape sequence in its logs and cannot travel
    # in an HTTP header (the gateway's X-Remote-User).
    refuse_control_characters: bool = True


def _ntlm_domain_allowed(domain: str, allowed: Sequence[str] | None) -> bool:
    """An NTLM domain is allowed when it is an allowed realm or that realm's NetBIOS name
    (its first label, as Windows derives it), compared without case as Windows does."""
    if allowed is None:
        return True
    wanted = {r.casefold() for r in allowed} | {r.split(".")[0].casefold() for r in allowed}
    return bool(domain) and domain.casefold() in wanted


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _challenge(ntlm: bool) -> tuple[str, ...]:
    return ("Negotiate", "NTLM") if ntlm else ("Negotiate",)


class NegotiateServer:
    """The Negotiate acceptor of one web application (one keytab, one configuration)."""

    def __init__(self, config: NegotiateConfig, *, random: Callable[[int], bytes] = os.urandom,
                 clock: Callable[[], datetime] = _utc_now) -> None:
        if config.max_contexts < 1:
            raise ValueError("max_contexts must be at least 1")
        self.config = config
        self.random = random
        self.clock = clock
        # `is None`, not `or`: an empty cache has length 0 and is falsy.
        self.replay_cache = (ReplayCache() if config.replay_cache is None
                             else config.replay_cache)
        self.acceptors = AcceptorFactory(config.key_lookup, self.replay_cache, random,
                                         config.realm, config.service, config.clock_skew)
        self.binding = BindingPolicy(config.epa)
        self.names = AuthToLocal(config.auth_to_local, default_realm=config.realm)
        self.forwarder = KdcForwarder(config.kdc_routes, timeout=config.kdc_timeout)
        self._table: OrderedDict[Hashable, _Exchange] = OrderedDict()
        self._lock = threading.Lock()  # WSGI servers call from many threads

    @classmethod
    def from_keytab(cls, path: str | os.PathLike[str], *, realm: str | None = None,
                    **options: Any) -> NegotiateServer:
        """A server accepting tickets for the keys of an MIT keytab (read once, now);
        `realm` defaults to the keytab's; `options` are NegotiateConfig's fields."""
        entries = read_keytab(path)
        if not entries:
            raise ValueError(f"keytab {os.fspath(path)!r} holds no keys")
        return cls(NegotiateConfig(key_lookup=keytab_key_lookup(path),
                                   realm=realm or entries[0].principal.realm, **options))

    # ------------------------------------------------------------------ drivers

    async def authenticate(self, request: HttpRequestInfo) -> NegotiateResult:
        result = self.begin(request, self.clock())
        while isinstance(result, Pending):
            reply, where = await self.forwarder.forward(result.effect,
                                                        peer=request.client_address)
            result = self.resume(result, reply, where, self.clock())
        return result

    def authenticate_sync(self, request: HttpRequestInfo) -> NegotiateResult:
        """For WSGI: KDC forwards run in a private event loop of this thread."""
        result = self.begin(request, self.clock())
        while isinstance(result, Pending):
            effect = result.effect
            reply, where = asyncio.run(self.forwarder.forward(effect,
                                                              peer=request.client_address))
            result = self.resume(result, reply, where, self.clock())
        return result

    # ------------------------------------------------------------------ core

    def begin(self, req: HttpRequestInfo, now: datetime) -> NegotiateResult | Pending:
        ntlm_on = self.config.ntlm is not None
        if not req.authorization:
            return NegotiateResult(401, _challenge(ntlm_on), reason="authentication required")
        scheme, _, b64 = req.authorization.strip().partition(" ")
        scheme = scheme.capitalize() if scheme.lower() == "negotiate" else scheme.upper()
        if scheme not in ("Negotiate", "NTLM"):
            return NegotiateResult(
                401, _challenge(ntlm_on),
                reason=f"the {scheme[:20]!r} scheme is not accepted; use Negotiate")
        if scheme == "NTLM" and self.config.ntlm is None:
            # The scheme alone is an NTLM attempt, whatever its token: refused and
            # audited as NTLM, so the report counts it.
            return self._refuse(req, now, HttpAuthDecision.NTLM_REFUSED, NTLM_REFUSED, "ntlm")
        token = self._decode(b64.strip())
        if token is None:
            return self._refuse(req, now, HttpAuthDecision.REFUSED, "the Authorization token "
                                "is not valid base64 of at most 64 KiB (RFC 4559 4.2)",
                                "kerberos")
        ntlm_token = scheme == "NTLM" or is_ntlm_token(token)
        if ntlm_token and self.config.ntlm is None:
            return self._refuse(req, now, HttpAuthDecision.NTLM_REFUSED, NTLM_REFUSED,
                                "negotiate")
        with self._lock:
            exchange = self._continuing(req, token, now)
        if exchange is None:
            # A bare NTLMSSP token gets the NTLM acceptor directly (refused above when
            # none is configured); anything else goes to SPNEGO or krb5.
            direct = self.config.ntlm if ntlm_token else None
            built = self._new_exchange(req, scheme, token, direct, now)
            if isinstance(built, NegotiateResult):
                return built
            exchange = built
        return self._step(exchange, token, now)

    def resume(self, pending: Pending, reply: bytes | KdcFailure, kdc: str,
               now: datetime) -> NegotiateResult | Pending:
        exchange = pending.exchange
        mech = exchange.mech
        try:
            with self._lock:
                if isinstance(mech, SpnegoAcceptor | IakerbAcceptor):
                    out: bytes | None = mech.kdc_reply(reply, now=now, kdc=kdc)
                else:
                    raise GssError("no KDC exchange is pending for this mechanism")
        except GssError as exc:
            return self._failed(exchange, exc, now)
        return self._after(exchange, out, now)

    def _decode(self, b64: str) -> bytes | None:
        if not b64 or len(b64) > MAX_HEADER:
            return None
        try:
            return base64.b64decode(b64, validate=True)
        except (binascii.Error, ValueError):
            return None

    def _continuing(self, req: HttpRequestInfo, token: bytes,
                    now: datetime) -> _Exchange | None:
        self._purge(now)
        exchange = self._table.pop(req.connection, None)
        if exchange is None:
            return None
        if framed_mech_oid(token) == OID_SPNEGO and exchange.kind == "spnego":
            _abandon(exchange, now, "the client started a new SPNEGO negotiation")
            return None  # a NegTokenInit restarts the negotiation on this connection
        return exchange

    def _purge(self, now: datetime) -> None:
        while self._table:
            key, oldest = next(iter(self._table.items()))
            if oldest.expires > now and len(self._table) < self.config.max_contexts:
                return
            # Expired, or the table is full: the oldest conversation goes (its client can
            # start again); a flood of half-open conversations cannot grow memory.
            del self._table[key]
            _abandon(oldest, now, "the conversation timed out or was evicted")

    def _new_exchange(self, req: HttpRequestInfo, scheme: str, token: bytes,
                      direct_ntlm: NtlmAuthenticator | None,
                      now: datetime) -> _Exchange | NegotiateResult:
        bindings = self.binding.for_request(req.channel_binding_data)
        if isinstance(bindings, str):
            return self._refuse(req, now, HttpAuthDecision.EPA_FAILURE, bindings, "kerberos")
        cb, required = bindings
        expires = now + self.config.context_timeout
        if direct_ntlm is not None:
            conv = NtlmConversation(direct_ntlm.new_context(self._flow(req, scheme)))
            return _Exchange(conv, "ntlm", scheme, expires, req)
        ntlm = self.config.ntlm
        # The NTLM flow is described only where NTLM can be chosen inside SPNEGO.
        flow = self._flow(req, scheme) if ntlm is not None else None
        mech, kind = self.acceptors.for_token(token, cb, required, req.client_address, ntlm,
                                              flow)
        return _Exchange(mech, kind, scheme, expires, req)

    def _flow(self, req: HttpRequestInfo, scheme: str) -> NtlmFlow:
        return NtlmFlow(client_address=req.client_address, server_name=req.host,
                        spn=self.config.service or f"HTTP/{req.host.rsplit(':', 1)[0]}",
                        scheme="NTLM" if scheme == "NTLM" else "Negotiate",
                        channel_binding_data=req.channel_binding_data, tls=req.tls)

    def _step(self, exchange: _Exchange, token: bytes, now: datetime) -> NegotiateResult | Pending:
        try:
            with self._lock:
                out = exchange.mech.step(token, now=now)
        except GssError as exc:
            return self._failed(exchange, exc, now)
        if isinstance(out, ForwardToKdc):
            return Pending(out, exchange)
        return self._after(exchange, out, now)

    def _after(self, exchange: _Exchange, out: bytes | None, now: datetime) -> NegotiateResult:
        mech = exchange.mech
        header = exchange.scheme + (" " + base64.b64encode(out).decode() if out else "")
        if isinstance(mech, NtlmConversation) and mech.refusal is not None:
            return self._refuse(exchange.request, now, HttpAuthDecision.NTLM_REFUSED, mech.refusal,
                                "ntlm")
        if not mech.complete:
            exchange.expires = now + self.config.context_timeout
            with self._lock:
                self._purge(now)
                self._table[exchange.request.connection] = exchange
            return NegotiateResult(401, (header,), reason="authentication continues")
        principal, mechanism = self._principal(exchange)
        req = exchange.request
        if principal is None:
            return self._refuse(req, now, HttpAuthDecision.REFUSED, "the mechanism completed "
                                "without naming the client", mechanism)
        if self.config.refuse_control_characters and has_control_characters(principal):
            return self._refuse(req, now, HttpAuthDecision.REFUSED, "the authenticated name "
                                "contains control characters and cannot be passed on",
                                mechanism, principal=principal, status=403)
        if mechanism == "ntlm":
            # An NTLM user is DOMAIN\\user (MS-NLMP 2.2.1.3) or user@DOMAIN, not a Kerberos
            # principal: auth_to_local does not apply; the local name is the account.
            if "\\" in principal:
                domain, _, local = principal.rpartition("\\")
            else:
                local, _, domain = principal.rpartition("@")
            if not _ntlm_domain_allowed(domain, self.config.allowed_realms):
                return self._refuse(req, now, HttpAuthDecision.REALM_NOT_ALLOWED, f"the domain of "
                                    f"{principal} is not allowed on this service", mechanism,
                                    principal=principal, status=403)
            user = WebUser(principal, local, domain, mechanism)
            self._audit(req, now, HttpAuthDecision.NTLM_ACCEPTED, "authenticated", mechanism,
                        principal)
            return NegotiateResult(200, (header,) if out else (), user, "authenticated")
        if not realm_allowed(principal, self.config.allowed_realms):
            return self._refuse(req, now, HttpAuthDecision.REALM_NOT_ALLOWED, f"the realm of "
                                f"{principal} is not allowed on this service", mechanism,
                                principal=principal, status=403)
        local = self.names.local_name(principal) or principal
        user = WebUser(principal, local, principal_realm(principal), mechanism)
        decision = {"iakerb": HttpAuthDecision.IAKERB_ACCEPTED,
                    "ntlm": HttpAuthDecision.NTLM_ACCEPTED}.get(
            mechanism, HttpAuthDecision.KERBEROS_ACCEPTED)
        self._audit(req, now, decision, "authenticated", mechanism, principal)
        return NegotiateResult(200, (header,) if out else (), user, "authenticated")

    def _principal(self, exchange: _Exchange) -> tuple[str | None, str]:
        mech = exchange.mech
        if isinstance(mech, NtlmConversation):
            return mech.principal, "ntlm"
        inner: object = mech.mech if isinstance(mech, SpnegoAcceptor) else mech
        if isinstance(inner, NtlmConversation):
            return inner.principal, "ntlm"
        context = mech.context
        name = context.client if isinstance(context, SecurityContext) else None
        if isinstance(inner, IakerbAcceptor):
            return name, "iakerb" if inner.hops else "kerberos"
        return name, "kerberos"

    def _failed(self, exchange: _Exchange, exc: GssError, now: datetime) -> NegotiateResult:
        req = exchange.request
        with self._lock:
            self._table.pop(req.connection, None)
        mechanism = "kerberos"
        if isinstance(exchange.mech, IakerbAcceptor) or (
                isinstance(exchange.mech, SpnegoAcceptor)
                and isinstance(exchange.mech.mech, IakerbAcceptor)):
            mechanism = "iakerb"
        decision = HttpAuthDecision.REFUSED
        if isinstance(exc, NtlmRefused):  # "ntlm": the NTLM acceptor refused (and logged) it
            decision = HttpAuthDecision.NTLM_REFUSED
            mechanism = "ntlm" if isinstance(exc, NtlmRefusedByPolicy) else "negotiate"
        elif isinstance(exc, BadBindings):
            decision = HttpAuthDecision.EPA_FAILURE
        token = exc.output_token
        return self._refuse(req, now, decision, str(exc), mechanism, token=token,
                            scheme=exchange.scheme)

    def _refuse(self, req: HttpRequestInfo, now: datetime, decision: HttpAuthDecision, reason: str,
                mechanism: str, *, principal: str | None = None, status: int = 401,
                token: bytes | None = None, scheme: str = "Negotiate") -> NegotiateResult:
        self._audit(req, now, decision, reason, mechanism, principal)
        if status != 401:
            return NegotiateResult(status, (), None, reason)
        if token:
            challenge = f"{scheme} {base64.b64encode(token).decode()}"
            return NegotiateResult(401, (challenge,), None, reason)
        return NegotiateResult(401, _challenge(self.config.ntlm is not None), None, reason)

    def _audit(self, req: HttpRequestInfo, now: datetime, decision: HttpAuthDecision, reason: str,
               mechanism: str, principal: str | None) -> None:
        sink = self.config.audit
        if sink is None:
            return
        extra = {"epa": self.config.epa.value, "tls": str(req.tls).lower(),
                 "bound": str(req.channel_binding_data is not None).lower()}
        sink(WebAuditEvent(now, decision, reason, req.client_address,
                           self.config.service or f"HTTP/{req.host}", principal, mechanism,
                           extra))

    def contexts(self) -> int:
        """Conversations waiting for their next leg (for tests and monitoring)."""
        with self._lock:
            return len(self._table)


def _abandon(exchange: _Exchange, now: datetime, reason: str) -> None:
    mech = exchange.mech
    inner = mech.mech if isinstance(mech, SpnegoAcceptor) else mech
    if isinstance(inner, IakerbAcceptor):
        inner.abandon(now, reason)


__all__ = ["HttpRequestInfo", "NegotiateConfig", "NegotiateResult", "NegotiateServer", "Pending",
           "WebUser"]
