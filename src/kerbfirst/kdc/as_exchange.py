"""The AS exchange, RFC 4120 section 3.1: gather -> check -> pre-authenticate -> issue.

The checks are a table of rules, each returning None or (error code, outcome, reason),
in the order MIT krb5kdc applies them (do_as_req.c, kdc_util.c validate_as_request).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from kerbfirst.kdc.audit import Outcome
from kerbfirst.kdc.context import KdcContext
from kerbfirst.kdc.keys import first_shared_key, ticket_key
from kerbfirst.kdc.lifetimes import ticket_times
from kerbfirst.kdc.preauth import (
    PREAUTH_HANDLERS,
    PreauthInput,
    etype_info2,
    preauth_required_data,
    salt_text,
    unavailable,
)
from kerbfirst.kdc.request import Refusal, RequestState
from kerbfirst.kdc.rules import Verdict, offered_etypes_verdict, server_verdict
from kerbfirst.krb.database import KeyEntry, PrincipalEntry
from kerbfirst.wire.constants import (
    APP_ENC_AS_REP_PART,
    DOMAIN_X500_COMPRESS,
    KDC_ERR_BADOPTION,
    KDC_ERR_C_PRINCIPAL_UNKNOWN,
    KDC_ERR_CANNOT_POSTDATE,
    KDC_ERR_CLIENT_REVOKED,
    KDC_ERR_ETYPE_NOSUPP,
    KDC_ERR_NAME_EXP,
    KDC_ERR_PREAUTH_REQUIRED,
    KDC_ERR_S_PRINCIPAL_UNKNOWN,
    KDC_ERR_WRONG_REALM,
    KDC_OPT_ENC_TKT_IN_SKEY,
    KDC_OPT_FORWARDABLE,
    KDC_OPT_FORWARDED,
    KDC_OPT_POSTDATED,
    KDC_OPT_PROXIABLE,
    KDC_OPT_PROXY,
    KDC_OPT_RENEW,
    KDC_OPT_RENEWABLE,
    KDC_OPT_RENEWABLE_OK,
    KDC_OPT_VALIDATE,
    KRB_AS_REP,
    KRB_ERR_GENERIC,
    KU_AS_REP_ENC_PART,
    PA_ETYPE_INFO2,
    TKT_FLG_FORWARDABLE,
    TKT_FLG_INITIAL,
    TKT_FLG_PRE_AUTH,
    TKT_FLG_PROXIABLE,
    TKT_FLG_RENEWABLE,
)
from kerbfirst.wire.krb5 import (
    EncKdcRepPart,
    EncTicketPart,
    EtypeInfo2Entry,
    KdcRep,
    KdcReq,
    PaData,
    TransitedEncoding,
    encode_etype_info2,
)

# RFC 4120 5.4.1: options that only make sense in a TGS-REQ (MIT: AS_INVALID_OPTIONS).
_AS_INVALID_OPTIONS = (
    KDC_OPT_FORWARDED
    | KDC_OPT_PROXY
    | KDC_OPT_VALIDATE
    | KDC_OPT_RENEW
    | KDC_OPT_ENC_TKT_IN_SKEY
)
_EMPTY_TRANSITED = TransitedEncoding(DOMAIN_X500_COMPRESS, b"")


class AsRequest:
    """What gather() found; the rules and issue() read it."""

    __slots__ = ("client", "client_name", "now", "req", "server", "server_name")

    def __init__(
        self,
        req: KdcReq,
        now: datetime,
        client_name: str | None,
        server_name: str | None,
        client: PrincipalEntry | None,
        server: PrincipalEntry | None,
    ) -> None:
        self.req = req
        self.now = now
        self.client_name = client_name
        self.server_name = server_name
        self.client = client
        self.server = server


Rule = Callable[[KdcContext, AsRequest], Verdict]


def gather(ctx: KdcContext, req: KdcReq, state: RequestState) -> AsRequest:
    body = req.req_body
    state.requested_etypes = body.etype
    state.client_name, state.client_realm = body.cname, body.realm
    state.server_name = body.sname
    client_name = None if body.cname is None else ctx.principal_text(body.cname, body.realm)
    server_name = None if body.sname is None else ctx.principal_text(body.sname, body.realm)
    state.client, state.service = client_name, server_name
    own_realm = body.realm == ctx.policy.realm
    db = ctx.database
    client = db.get_principal(client_name) if client_name and own_realm else None
    server = db.get_principal(server_name) if server_name and own_realm else None
    return AsRequest(req, state.now, client_name, server_name, client, server)


# ---------------------------------------------------------------- check rules


def _realm_is_ours(ctx: KdcContext, r: AsRequest) -> Verdict:
    realm = r.req.req_body.realm
    if realm != ctx.policy.realm:
        return (
            KDC_ERR_WRONG_REALM,
            Outcome.WRONG_REALM,
            f"this KDC serves realm {ctx.policy.realm}, not {realm}; check the client's "
            "realm configuration",
        )
    return None


def _names_present(ctx: KdcContext, r: AsRequest) -> Verdict:
    if r.client_name is None:
        return KDC_ERR_C_PRINCIPAL_UNKNOWN, Outcome.BAD_REQUEST, "AS-REQ without a cname"
    if r.server_name is None:
        return KDC_ERR_S_PRINCIPAL_UNKNOWN, Outcome.BAD_REQUEST, "AS-REQ without an sname"
    return None


def _etype_supported(ctx: KdcContext, r: AsRequest) -> Verdict:
    return offered_etypes_verdict(
        r.req.req_body.etype, ctx.allowed_etypes, ctx.policy.supported_etypes
    )


def _client_known(ctx: KdcContext, r: AsRequest) -> Verdict:
    if r.client is None:
        return (
            KDC_ERR_C_PRINCIPAL_UNKNOWN,
            Outcome.CLIENT_UNKNOWN,
            f"client {r.client_name} is not in the database",
        )
    return None


def _server_known(ctx: KdcContext, r: AsRequest) -> Verdict:
    if r.server is None:
        return (
            KDC_ERR_S_PRINCIPAL_UNKNOWN,
            Outcome.SERVER_UNKNOWN,
            f"server {r.server_name} is not in the database",
        )
    return None


def _client_usable(ctx: KdcContext, r: AsRequest) -> Verdict:
    client = r.client
    if client is None:
        return None
    if client.disabled:
        return KDC_ERR_CLIENT_REVOKED, Outcome.CLIENT_REVOKED, f"{r.client_name} is disabled"
    # Checked at the same point as `disabled`: a locked-out client must read exactly as a
    # disabled one whatever else is wrong with the request (an unusable server, an expired
    # entry), or the error code tells an unauthenticated peer which state it is in.
    locked = _client_not_locked_out(ctx, r)
    if locked is not None:
        return locked
    if client.expires is not None and client.expires <= r.now:
        return (
            KDC_ERR_NAME_EXP,
            Outcome.CLIENT_EXPIRED,
            f"{r.client_name} expired at {client.expires.isoformat()}",
        )
    return None


def _server_usable(ctx: KdcContext, r: AsRequest) -> Verdict:
    if r.server is None:
        return None
    name = r.server_name or r.server.name
    return server_verdict(r.server, name, r.now, ctx.policy.supported_etypes)


def _client_not_locked_out(ctx: KdcContext, r: AsRequest) -> Verdict:
    client, lockout = r.client, ctx.policy.lockout
    if client is None or not lockout.locked(client.fail_count, client.last_failed, r.now):
        return None
    last = client.last_failed
    until = "an administrator unlocks it" if not lockout.duration or last is None else (
        (last + lockout.duration).isoformat()
    )
    return (
        KDC_ERR_CLIENT_REVOKED,
        Outcome.CLIENT_LOCKED_OUT,
        f"{r.client_name} is locked out after {client.fail_count} failed pre-authentications "
        f"(threshold {lockout.threshold}) until {until}",
    )


def _client_has_key(ctx: KdcContext, r: AsRequest) -> Verdict:
    if r.client is not None and (
        first_shared_key(r.client, r.req.req_body.etype, ctx.allowed_etypes) is None
    ):
        return (
            KDC_ERR_ETYPE_NOSUPP,
            Outcome.ETYPE_NOSUPP,
            f"{r.client_name} has no key of any offered enctype {list(r.req.req_body.etype)}",
        )
    return None


def _options_valid(ctx: KdcContext, r: AsRequest) -> Verdict:
    options = r.req.req_body.kdc_options
    if options & _AS_INVALID_OPTIONS:
        return (
            KDC_ERR_BADOPTION,
            Outcome.BAD_OPTION,
            f"KDC options 0x{options & _AS_INVALID_OPTIONS:08x} are valid only in a TGS-REQ",
        )
    if options & KDC_OPT_POSTDATED:
        return KDC_ERR_CANNOT_POSTDATE, Outcome.BAD_OPTION, "postdated tickets are not issued"
    return None


AS_RULES: tuple[Rule, ...] = (
    _realm_is_ours,
    _names_present,
    _etype_supported,
    _client_known,
    _server_known,
    _client_usable,
    _server_usable,
    _client_has_key,
    _options_valid,
)


def check(ctx: KdcContext, r: AsRequest) -> None:
    for rule in AS_RULES:
        verdict = rule(ctx, r)
        if verdict is not None:
            raise Refusal(*verdict)


def preauthenticate(ctx: KdcContext, r: AsRequest, state: RequestState) -> KeyEntry | None:
    """The key the client proved it knows, or None when pre-auth is not required."""
    client = r.client
    name = r.client_name
    if client is None or name is None:  # excluded by the rules; keeps mypy exact
        raise Refusal(KRB_ERR_GENERIC, Outcome.INTERNAL_ERROR, "client vanished after checks")
    for pa in r.req.padata or ():
        handler = PREAUTH_HANDLERS.get(pa.padata_type)
        if handler is not None:
            state.preauth_type = pa.padata_type
            if not ctx.database.failures_recordable():
                # Judged now, a wrong password could not be counted: no verdict at all.
                raise unavailable(
                    f"pre-authentication of {name} not judged: the principal store cannot "
                    "record failures (a write failed and still fails: disk full, or another "
                    "process holds its write lock)"
                )
            current = ctx.database.get_principal(name)
            if current is not client:
                # Failures kept through a store outage were just written: check again
                # (lock-out) with the entry as it now is.
                r.client = client = current
                check(ctx, r)
                if client is None:
                    raise Refusal(KRB_ERR_GENERIC, Outcome.INTERNAL_ERROR, "client vanished")
            entry = handler(
                PreauthInput(
                    client=client,
                    name=name,
                    database=ctx.database,
                    now=r.now,
                    skew=ctx.policy.clock_skew,
                    allowed=ctx.allowed_etypes,
                    failure_window=ctx.policy.lockout.window,
                ),
                pa.padata_value,
            )
            return entry
    if ctx.policy.require_preauth or client.requires_preauth:
        body = r.req.req_body
        if body.cname is None:
            raise Refusal(KRB_ERR_GENERIC, Outcome.INTERNAL_ERROR, "cname vanished")
        entries = etype_info2(client, body.cname, body.realm, body.etype, ctx.allowed_etypes)
        raise Refusal(
            KDC_ERR_PREAUTH_REQUIRED,
            Outcome.PREAUTH_REQUIRED,
            "pre-authentication required (PA-ENC-TIMESTAMP)",
            e_data=preauth_required_data(entries),
        )
    return None


def issue(ctx: KdcContext, r: AsRequest, reply_key: KeyEntry | None, state: RequestState) -> bytes:
    body, policy = r.req.req_body, ctx.policy
    client, server = r.client, r.server
    if client is None or server is None or body.cname is None or body.sname is None:
        raise Refusal(KRB_ERR_GENERIC, Outcome.INTERNAL_ERROR, "names vanished after checks")
    if reply_key is None:
        reply_key = first_shared_key(client, body.etype, ctx.allowed_etypes)
    server_key = ticket_key(server, policy.supported_etypes)
    session_etype = ctx.session_etype(body.etype, server)
    if reply_key is None or server_key is None or session_etype is None:
        raise Refusal(KRB_ERR_GENERIC, Outcome.INTERNAL_ERROR, "keys vanished after checks")

    renew_allowed = policy.allow_renewable and client.allow_renewable and server.allow_renewable
    max_renew = min(
        d
        for d in (policy.max_renewable_life, client.max_renewable_life, server.max_renewable_life)
        if d is not None
    )
    options = body.kdc_options
    times = ticket_times(
        now=r.now,
        skew=policy.clock_skew,
        from_=body.from_,
        till=body.till,
        rtime=body.rtime,
        max_life=min(d for d in (policy.max_life, client.max_life, server.max_life) if d),
        max_renewable_life=max_renew if renew_allowed and max_renew else None,
        renewable=bool(options & KDC_OPT_RENEWABLE),
        renewable_ok=bool(options & KDC_OPT_RENEWABLE_OK),
    )

    flags = TKT_FLG_INITIAL
    if state.preauth_type is not None:
        flags |= TKT_FLG_PRE_AUTH
    if (
        options & KDC_OPT_FORWARDABLE
        and policy.allow_forwardable
        and client.allow_forwardable
        and server.allow_forwardable
    ):
        flags |= TKT_FLG_FORWARDABLE
    if options & KDC_OPT_PROXIABLE and policy.allow_proxiable:
        flags |= TKT_FLG_PROXIABLE
    if times.renew_till is not None:
        flags |= TKT_FLG_RENEWABLE

    session_key = ctx.new_session_key(session_etype)
    enc_ticket = EncTicketPart(
        flags=flags,
        key=session_key,
        crealm=body.realm,
        cname=body.cname,
        transited=_EMPTY_TRANSITED,
        authtime=times.starttime,
        starttime=times.starttime,
        endtime=times.endtime,
        renew_till=times.renew_till,
        caddr=body.addresses or None,
    )
    ticket = ctx.seal_ticket(server_key, body.realm, body.sname, enc_ticket)
    enc_reply = EncKdcRepPart(
        key=session_key,
        last_req=ctx.last_req,
        nonce=body.nonce,
        key_expiration=client.expires,
        flags=flags,
        authtime=times.starttime,
        starttime=times.starttime,
        endtime=times.endtime,
        renew_till=times.renew_till,
        srealm=body.realm,
        sname=body.sname,
        caddr=enc_ticket.caddr,
        app_tag=APP_ENC_AS_REP_PART,
    )
    # RFC 4120 5.2.7.5 / RFC 6113 2.1: the AS-REP names the salt of the reply key, so a
    # client that skipped pre-authentication can still derive it.
    info = EtypeInfo2Entry(
        reply_key.etype, salt_text(reply_key, body.cname, body.realm), reply_key.s2kparams
    )
    rep = KdcRep(
        msg_type=KRB_AS_REP,
        padata=(PaData(PA_ETYPE_INFO2, encode_etype_info2((info,))),),
        crealm=body.realm,
        cname=body.cname,
        ticket=ticket,
        enc_part=ctx.seal_with(reply_key, KU_AS_REP_ENC_PART, enc_reply.encode()),
    )
    state.ticket_etype = server_key.etype
    state.session_etype = session_etype
    state.reply_etype = reply_key.etype
    state.ticket_flags = flags
    state.endtime = times.endtime
    state.reason = f"TGT issued to {r.client_name}" if r.server_name == ctx.krbtgt else (
        f"ticket for {r.server_name} issued to {r.client_name}"
    )
    return rep.encode()


def process_as_req(ctx: KdcContext, req: KdcReq, state: RequestState) -> bytes:
    r = gather(ctx, req, state)
    check(ctx, r)
    reply_key = preauthenticate(ctx, r, state)
    return issue(ctx, r, reply_key, state)
