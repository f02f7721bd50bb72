"""The rules of the TGS exchange's check step (RFC 4120 3.3.2-3.3.3), in the order MIT's
validate_tgs_request applies them; each returns None or (error code, outcome, reason).
AP-REQ verification itself (client match, skew, ticket times) is krb.rd_req's, run when
the request is gathered (tgs_exchange.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from kerbfirst.crypto import Key, checksum_type, verify_checksum
from kerbfirst.kdc.audit import Outcome
from kerbfirst.kdc.context import KdcContext
from kerbfirst.kdc.crossrealm import TransitedError, decode_transited
from kerbfirst.kdc.rules import Verdict, offered_etypes_verdict, server_verdict
from kerbfirst.krb.database import PrincipalEntry
from kerbfirst.krb.names import tgs_realm
from kerbfirst.wire.constants import (
    KDC_ERR_BADOPTION,
    KDC_ERR_CANNOT_POSTDATE,
    KDC_ERR_CLIENT_REVOKED,
    KDC_ERR_PATH_NOT_ACCEPTED,
    KDC_ERR_POLICY,
    KDC_ERR_S_PRINCIPAL_UNKNOWN,
    KDC_ERR_TRTYPE_NOSUPP,
    KDC_OPT_ENC_TKT_IN_SKEY,
    KDC_OPT_FORWARDED,
    KDC_OPT_POSTDATED,
    KDC_OPT_PROXY,
    KDC_OPT_RENEW,
    KDC_OPT_VALIDATE,
    KRB_AP_ERR_INAPP_CKSUM,
    KRB_AP_ERR_MODIFIED,
    KRB_AP_ERR_TKT_EXPIRED,
    KU_TGS_REQ_AUTH_CKSUM,
    TKT_FLG_FORWARDABLE,
    TKT_FLG_PROXIABLE,
    TKT_FLG_RENEWABLE,
)
from kerbfirst.wire.krb5 import (
    Authenticator,
    EncTicketPart,
    KdcReq,
    PrincipalName,
    Ticket,
    TransitedEncoding,
)


@dataclass(frozen=True, slots=True)
class TgsRequest:
    """What gather() found: the request, the opened ticket and authenticator."""

    req: KdcReq
    now: datetime
    ticket: Ticket
    header: EncTicketPart
    header_server: PrincipalEntry
    session_key: Key
    authenticator: Authenticator
    client_name: str
    renew: bool
    sname: PrincipalName  # the server asked for (the ticket's own server when renewing)
    server_name: str
    server: PrincipalEntry | None  # None: not in the database (refused by check)
    referral: bool  # server is a cross-realm TGT answering a request for another realm's
    transited: TransitedEncoding  # the issued ticket's (RFC 4120 3.3.3.2)


# ---------------------------------------------------------------- check rules


def _renewal_current(ctx: KdcContext, r: TgsRequest) -> Verdict:
    # (a ticket without renew-till is refused as "not renewable" by _options_allowed)
    h = r.header
    if r.renew and h.renew_till is not None and h.renew_till < r.now:
        return (
            KRB_AP_ERR_TKT_EXPIRED,
            Outcome.TICKET_EXPIRED,
            "the ticket's renewable lifetime has passed; get a new one (kinit)",
        )
    return None


def _checksum_valid(ctx: KdcContext, r: TgsRequest) -> Verdict:
    """RFC 4120 3.3.2 / 5.5.1: the authenticator's checksum binds the req-body as sent."""
    cksum, key = r.authenticator.cksum, r.session_key
    if cksum is None or cksum.cksumtype != checksum_type(key.etype):
        return (
            KRB_AP_ERR_INAPP_CKSUM,
            Outcome.CHECKSUM_FAILED,
            "the authenticator has no keyed checksum of the session key's type over the "
            "req-body",
        )
    body = r.req.raw_req_body
    if body is None or not verify_checksum(key, KU_TGS_REQ_AUTH_CKSUM, body, cksum.checksum):
        return (
            KRB_AP_ERR_MODIFIED,
            Outcome.CHECKSUM_FAILED,
            "the req-body does not match the authenticator's checksum (modified in transit?)",
        )
    return None


# (requested option, ticket flag it needs, reason, error), as MIT's validate_tgs_request.
_OPTION_RULES: tuple[tuple[int, int, str, int], ...] = (
    (KDC_OPT_FORWARDED, TKT_FLG_FORWARDABLE, "TGT not forwardable", KDC_ERR_BADOPTION),
    (KDC_OPT_PROXY, TKT_FLG_PROXIABLE, "TGT not proxiable", KDC_ERR_BADOPTION),
    (KDC_OPT_RENEW, TKT_FLG_RENEWABLE, "ticket not renewable", KDC_ERR_BADOPTION),
)
# Options kerbfirst does not implement, refused rather than ignored.
_UNSUPPORTED_OPTIONS: tuple[tuple[int, str, int], ...] = (
    (KDC_OPT_POSTDATED, "postdated tickets are not issued", KDC_ERR_CANNOT_POSTDATE),
    (KDC_OPT_VALIDATE, "VALIDATE is not supported (no postdated tickets)", KDC_ERR_BADOPTION),
    (KDC_OPT_ENC_TKT_IN_SKEY, "user-to-user is not supported", KDC_ERR_BADOPTION),
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
    realm = r.req.req_body.realm
    wanted_tgs = tgs_realm(r.sname) if r.server is None else None
    if wanted_tgs is not None and wanted_tgs != ctx.policy.realm:
        return (
            KDC_ERR_S_PRINCIPAL_UNKNOWN,
            Outcome.SERVER_UNKNOWN,
            f"{ctx.policy.realm} has no trust with realm {wanted_tgs}: {r.server_name} is not "
            f"in the database and no [capaths] path leads there; add it with: kerbfirst "
            f"realm trust add {wanted_tgs}",
        )
    if r.server is None and realm != ctx.policy.realm:
        return (
            KDC_ERR_S_PRINCIPAL_UNKNOWN,
            Outcome.SERVER_UNKNOWN,
            f"server {r.server_name} is in realm {realm}, and {ctx.policy.realm} has no "
            f"trust path to it (no krbtgt/{realm}@{ctx.policy.realm}, no [capaths] entry); "
            f"add one with: kerbfirst realm trust add {realm}",
        )
    if r.server is None:
        return (
            KDC_ERR_S_PRINCIPAL_UNKNOWN,
            Outcome.SERVER_UNKNOWN,
            f"server {r.server_name} is not in the database; register the SPN",
        )
    return server_verdict(r.server, r.server_name, r.now, ctx.policy.supported_etypes)


def _etype_supported(ctx: KdcContext, r: TgsRequest) -> Verdict:
    return offered_etypes_verdict(
        r.req.req_body.etype, ctx.allowed_etypes, ctx.policy.supported_etypes
    )


def _client_not_disabled(ctx: KdcContext, r: TgsRequest) -> Verdict:
    # A TGT outlives an administrator's "disable": refuse new tickets at once (as MIT
    # does for local clients in the TGS exchange).
    if r.header.crealm != ctx.policy.realm:
        return None
    client = ctx.database.get_principal(r.client_name)
    if client is not None and client.disabled:
        return KDC_ERR_CLIENT_REVOKED, Outcome.CLIENT_REVOKED, f"{r.client_name} is disabled"
    return None


def _cross_realm_client(ctx: KdcContext, r: TgsRequest) -> Verdict:
    """A realm that trusts us vouches for its own clients and those of realms it
    transited, never for ours (RFC 4120 1.2: our clients come with our own TGTs)."""
    issuer = r.ticket.realm
    if issuer != ctx.policy.realm and r.header.crealm == ctx.policy.realm:
        return (
            KDC_ERR_POLICY,
            Outcome.WRONG_REALM,
            f"a ticket issued by realm {issuer} names {r.client_name}, a client of this realm",
        )
    return None


def _transited_permitted(ctx: KdcContext, r: TgsRequest) -> Verdict:
    """RFC 4120 3.3.3.2: every realm the ticket went through must be on the path policy
    permits from the client's realm to ours ([capaths]; kdc/crossrealm.py)."""
    if not r.transited.contents:
        return None
    try:
        realms = decode_transited(r.transited)
    except TransitedError as exc:
        return KDC_ERR_TRTYPE_NOSUPP, Outcome.POLICY, f"cannot check the transited path: {exc}"
    reason = ctx.policy.cross_realm.transit_refusal(r.header.crealm, ctx.policy.realm, realms)
    if reason is not None:
        return KDC_ERR_PATH_NOT_ACCEPTED, Outcome.POLICY, reason
    return None


TGS_RULES: tuple[Callable[[KdcContext, TgsRequest], Verdict], ...] = (
    _renewal_current,
    _checksum_valid,
    _options_allowed,
    _etype_supported,
    _server_usable,
    _client_not_disabled,
    _cross_realm_client,
    _transited_permitted,
)


