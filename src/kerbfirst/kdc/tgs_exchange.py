"""The TGS exchange, RFC 4120 section 3.3: gather -> check -> issue.

gather() opens the PA-TGS-REQ AP-REQ (ticket with the krbtgt key of its kvno, then the
authenticator, usage 7); the rules verify it and the requested options against the ticket
(MIT kdc_util.c validate_tgs_request; its option table is _OPTION_RULES here); issue()
builds the service ticket or the renewed ticket.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from kerbfirst.crypto import (
    IntegrityError,
    KerberosCryptoError,
    Key,
    checksum_type,
    decrypt,
    verify_checksum,
)
from kerbfirst.kdc.audit import Outcome
from kerbfirst.kdc.context import KdcContext
from kerbfirst.kdc.keys import find_key, ticket_key
from kerbfirst.kdc.request import Refusal, RequestState
from kerbfirst.krb.database import PrincipalEntry
from kerbfirst.wire import constants as c
from kerbfirst.wire.der import DecodeError
from kerbfirst.wire.krb5 import (
    ApReq,
    Authenticator,
    EncTicketPart,
    KdcReq,
    Ticket,
)

Verdict = tuple[int, Outcome, str] | None


class TgsRequest:
    """What gather() found: the request, the opened ticket and authenticator."""

    __slots__ = (
        "authenticator",
        "client_name",
        "header",
        "header_server",
        "is_tgt",
        "now",
        "req",
        "server",
        "server_name",
        "session_key",
        "ticket",
    )

    def __init__(
        self,
        *,
        req: KdcReq,
        now: datetime,
        ticket: Ticket,
        header: EncTicketPart,
        header_server: PrincipalEntry,
        is_tgt: bool,
        session_key: Key,
        authenticator: Authenticator,
        client_name: str,
        server_name: str,
        server: PrincipalEntry | None,
    ) -> None:
        self.req = req
        self.now = now
        self.ticket = ticket
        self.header = header
        self.header_server = header_server
        self.is_tgt = is_tgt
        self.session_key = session_key
        self.authenticator = authenticator
        self.client_name = client_name
        self.server_name = server_name
        self.server = server


def _bad_request(reason: str, code: int = c.KRB_ERR_GENERIC) -> Refusal:
    return Refusal(code, Outcome.BAD_REQUEST, reason)


def gather(ctx: KdcContext, req: KdcReq, state: RequestState) -> TgsRequest:
    body = req.req_body
    state.requested_etypes = body.etype
    state.server_name = body.sname
    ap_bytes = next(
        (p.padata_value for p in req.padata or () if p.padata_type == c.PA_TGS_REQ), None
    )
    if ap_bytes is None:
        raise _bad_request("TGS-REQ without PA-TGS-REQ", c.KDC_ERR_PADATA_TYPE_NOSUPP)
    try:
        ap_req = ApReq.decode(ap_bytes)
    except DecodeError as exc:
        raise _bad_request(f"malformed AP-REQ in PA-TGS-REQ: {exc}") from None
    ticket = ap_req.ticket
    if ticket.realm != ctx.policy.realm:
        raise Refusal(
            c.KDC_ERR_POLICY,
            Outcome.WRONG_REALM,
            f"ticket is from realm {ticket.realm}; this KDC serves {ctx.policy.realm} and "
            "has no cross-realm trust",
        )
    header_server_name = ctx.principal_text(ticket.sname, ticket.realm)
    is_tgt = header_server_name == ctx.krbtgt
    renew = bool(body.kdc_options & c.KDC_OPT_RENEW)
    if not is_tgt and not renew:
        raise Refusal(
            c.KDC_ERR_POLICY,
            Outcome.BAD_REQUEST,
            f"the PA-TGS-REQ ticket is for {header_server_name}, not a TGT; only RENEW "
            "accepts a service ticket",
        )
    header_server = ctx.database.get_principal(header_server_name)
    if header_server is None:
        raise Refusal(
            c.KDC_ERR_S_PRINCIPAL_UNKNOWN,
            Outcome.SERVER_UNKNOWN,
            f"the ticket's server {header_server_name} is not in the database",
        )
    enc = ticket.enc_part
    key_entry = find_key(header_server, enc.etype, enc.kvno)
    if key_entry is None:
        raise Refusal(
            c.KRB_AP_ERR_BADKEYVER,
            Outcome.BAD_INTEGRITY,
            f"no key of {header_server_name} with enctype {enc.etype} and kvno {enc.kvno}; "
            "the ticket predates a key change: get a new one (kinit)",
        )
    try:
        opened = ctx.ticket_cache.unseal(key_entry, enc.cipher)
    except IntegrityError:
        raise Refusal(
            c.KRB_AP_ERR_BAD_INTEGRITY,
            Outcome.BAD_INTEGRITY,
            f"ticket did not decrypt with the key of {header_server_name} (kvno {enc.kvno})",
        ) from None
    except DecodeError as exc:
        raise _bad_request(f"ticket decrypted but is malformed: {exc}") from None
    except KerberosCryptoError as exc:
        raise Refusal(
            c.KRB_AP_ERR_BAD_INTEGRITY,
            Outcome.BAD_INTEGRITY,
            f"the ticket's session key is unusable: {exc}",
        ) from None
    header, session_key = opened.part, opened.session_key
    state.client_name, state.client_realm = header.cname, header.crealm
    state.client = ctx.principal_text(header.cname, header.crealm)
    try:
        authenticator = Authenticator.decode(
            decrypt(session_key, c.KU_TGS_REQ_AUTH, ap_req.authenticator.cipher)
        )
    except (IntegrityError, KerberosCryptoError):
        raise Refusal(
            c.KRB_AP_ERR_BAD_INTEGRITY,
            Outcome.BAD_INTEGRITY,
            "authenticator did not decrypt with the ticket's session key",
        ) from None
    except DecodeError as exc:
        raise _bad_request(f"authenticator decrypted but is malformed: {exc}") from None

    server: PrincipalEntry | None
    if renew:
        # RFC 4120 3.3.3: renewal returns a new ticket for the same server.
        server_name, server = header_server_name, header_server
        state.server_name = ticket.sname
    elif body.sname is None:
        raise _bad_request("TGS-REQ without an sname", c.KDC_ERR_S_PRINCIPAL_UNKNOWN)
    else:
        server_name = ctx.principal_text(body.sname, body.realm)
        server = ctx.database.get_principal(server_name) if body.realm == ctx.policy.realm else None
    state.service = server_name
    return TgsRequest(
        req=req,
        now=state.now,
        ticket=ticket,
        header=header,
        header_server=header_server,
        is_tgt=is_tgt,
        session_key=session_key,
        authenticator=authenticator,
        client_name=state.client,
        server_name=server_name,
        server=server,
    )


# ---------------------------------------------------------------- check rules


def _authenticator_matches(ctx: KdcContext, r: TgsRequest) -> Verdict:
    a, h = r.authenticator, r.header
    if a.crealm != h.crealm or a.cname != h.cname:
        return (
            c.KRB_AP_ERR_BADMATCH,
            Outcome.BAD_REQUEST,
            "the authenticator names another client than the ticket",
        )
    return None


def _authenticator_fresh(ctx: KdcContext, r: TgsRequest) -> Verdict:
    offset = abs(r.authenticator.ctime - r.now)
    skew = ctx.policy.clock_skew
    if offset > skew:
        return (
            c.KRB_AP_ERR_SKEW,
            Outcome.SKEW,
            f"client clock is {int(offset.total_seconds())} s away from the KDC's, more than "
            f"the allowed {int(skew.total_seconds())} s; synchronise the clocks (NTP)",
        )
    return None


def _ticket_current(ctx: KdcContext, r: TgsRequest) -> Verdict:
    h, skew, now = r.header, ctx.policy.clock_skew, r.now
    if h.endtime + skew < now:
        # RFC 4120 2.3 and MIT: an expired ticket cannot be renewed either.
        return (
            c.KRB_AP_ERR_TKT_EXPIRED,
            Outcome.TICKET_EXPIRED,
            f"ticket expired at {h.endtime.isoformat()}; get a new one (kinit)",
        )
    start = h.starttime or h.authtime
    if start - skew > now or h.flags & c.TKT_FLG_INVALID:
        return (
            c.KRB_AP_ERR_TKT_NYV,
            Outcome.TICKET_NOT_YET_VALID,
            f"ticket is not valid before {start.isoformat()}",
        )
    # (a ticket without renew-till is refused as "not renewable" by _options_allowed)
    if r.req.req_body.kdc_options & c.KDC_OPT_RENEW and (
        h.renew_till is not None and h.renew_till < now
    ):
        return (
            c.KRB_AP_ERR_TKT_EXPIRED,
            Outcome.TICKET_EXPIRED,
            "the ticket's renewable lifetime has passed; get a new one (kinit)",
        )
    return None


def _checksum_valid(ctx: KdcContext, r: TgsRequest) -> Verdict:
    """RFC 4120 3.3.2 / 5.5.1: the authenticator's checksum binds the req-body as sent."""
    cksum, key = r.authenticator.cksum, r.session_key
    if cksum is None or cksum.cksumtype != checksum_type(key.etype):
        return (
            c.KRB_AP_ERR_INAPP_CKSUM,
            Outcome.CHECKSUM_FAILED,
            "the authenticator has no keyed checksum of the session key's type over the "
            "req-body",
        )
    body = r.req.raw_req_body
    if body is None or not verify_checksum(key, c.KU_TGS_REQ_AUTH_CKSUM, body, cksum.checksum):
        return (
            c.KRB_AP_ERR_MODIFIED,
            Outcome.CHECKSUM_FAILED,
            "the req-body does not match the authenticator's checksum (modified in transit?)",
        )
    return None


# (requested option, ticket flag it needs, reason, error), as MIT's validate_tgs_request.
_OPTION_RULES: tuple[tuple[int, int, str, int], ...] = (
    (c.KDC_OPT_FORWARDED, c.TKT_FLG_FORWARDABLE, "TGT not forwardable", c.KDC_ERR_BADOPTION),
    (c.KDC_OPT_PROXY, c.TKT_FLG_PROXIABLE, "TGT not proxiable", c.KDC_ERR_BADOPTION),
    (c.KDC_OPT_RENEW, c.TKT_FLG_RENEWABLE, "ticket not renewable", c.KDC_ERR_BADOPTION),
)
# Options kerbfirst does not implement, refused rather than ignored.
_UNSUPPORTED_OPTIONS: tuple[tuple[int, str, int], ...] = (
    (c.KDC_OPT_POSTDATED, "postdated tickets are not issued", c.KDC_ERR_CANNOT_POSTDATE),
    (c.KDC_OPT_VALIDATE, "VALIDATE is not supported (no postdated tickets)", c.KDC_ERR_BADOPTION),
    (c.KDC_OPT_ENC_TKT_IN_SKEY, "user-to-user is not supported", c.KDC_ERR_BADOPTION),
)


def _options_allowed(ctx: KdcContext, r: TgsRequest) -> Verdict:
    options = r.req.req_body.kdc_options
    for option, reason, code in _UNSUPPORTED_OPTIONS:
        if options & option:
            return code, Outcome.BAD_OPTION, reason
    for option, needed, reason, code in _OPTION_RULES:
        if options & option and not r.header.flags & needed:
            return code, Outcome.BAD_OPTION, reason
    return None


def _server_usable(ctx: KdcContext, r: TgsRequest) -> Verdict:
    server = r.server
    if server is None:
        return (
            c.KDC_ERR_S_PRINCIPAL_UNKNOWN,
            Outcome.SERVER_UNKNOWN,
            f"server {r.server_name} is not in the database; register the SPN",
        )
    if server.disabled or not server.allow_as_service:
        return (
            c.KDC_ERR_POLICY,
            Outcome.POLICY,
            f"{r.server_name} may not be the server of a ticket (disabled or not a service)",
        )
    if server.expires is not None and server.expires <= r.now:
        return c.KDC_ERR_SERVICE_EXP, Outcome.SERVER_EXPIRED, f"{r.server_name} has expired"
    if ticket_key(server, ctx.policy.supported_etypes) is None:
        return (
            c.KDC_ERR_ETYPE_NOSUPP,
            Outcome.ETYPE_NOSUPP,
            f"{r.server_name} has no key of an enctype this realm allows; rekey it",
        )
    return None


def _etype_supported(ctx: KdcContext, r: TgsRequest) -> Verdict:
    offered = r.req.req_body.etype
    if not any(e in ctx.allowed_etypes for e in offered):
        return (
            c.KDC_ERR_ETYPE_NOSUPP,
            Outcome.ETYPE_NOSUPP,
            f"client offered only enctypes {list(offered)}; this KDC serves only AES "
            f"{list(ctx.policy.supported_etypes)}; enable AES on the client",
        )
    return None


def _client_not_disabled(ctx: KdcContext, r: TgsRequest) -> Verdict:
    # A TGT outlives an administrator's "disable": refuse new tickets at once (as MIT
    # does for local clients in the TGS exchange).
    if r.header.crealm != ctx.policy.realm:
        return None
    client = ctx.database.get_principal(r.client_name)
    if client is not None and client.disabled:
        return c.KDC_ERR_CLIENT_REVOKED, Outcome.CLIENT_REVOKED, f"{r.client_name} is disabled"
    return None


TGS_RULES: tuple[Callable[[KdcContext, TgsRequest], Verdict], ...] = (
    _authenticator_matches,
    _authenticator_fresh,
    _ticket_current,
    _checksum_valid,
    _options_allowed,
    _etype_supported,
    _server_usable,
    _client_not_disabled,
)


def check(ctx: KdcContext, r: TgsRequest) -> None:
    for rule in TGS_RULES:
        verdict = rule(ctx, r)
        if verdict is not None:
            raise Refusal(*verdict)
