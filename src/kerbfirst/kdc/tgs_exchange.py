"""The TGS exchange, RFC 4120 section 3.3: gather -> check -> issue, as MIT's do_tgs_req.c.

gather() opens the PA-TGS-REQ AP-REQ with krb.rd_req (the ticket under the krbtgt key of
its kvno, the authenticator with usage 7; client match, skew and ticket times, shared with
the GSS acceptor). check() runs the rules on the request and the requested options against
the ticket (MIT kdc_util.c validate_tgs_request; its option table is _OPTION_RULES here)
and returns a CheckedTgsRequest holding every value issue() needs, so issuing cannot
refuse. issue() builds the service ticket or the renewed ticket and the TGS-REP.
"""

from __future__ import annotations

from dataclasses import dataclass

from kerbfirst.crypto import KerberosCryptoError, Key
from kerbfirst.kdc.audit import Outcome
from kerbfirst.kdc.context import KdcContext
from kerbfirst.kdc.keys import find_key, ticket_key
from kerbfirst.kdc.lifetimes import TicketTimes, ticket_times, whole_seconds
from kerbfirst.kdc.request import Refusal, RequestState
from kerbfirst.kdc.tgs_crossrealm import referral_tgt, transited_for
from kerbfirst.kdc.tgs_rules import TGS_RULES, TgsRequest
from kerbfirst.krb.database import KeyEntry, PrincipalEntry
from kerbfirst.krb.key_usage import authenticator_usage, tgs_rep_usage
from kerbfirst.krb.rd_req import ApFault, ApReqRefused, rd_req
from kerbfirst.wire.constants import (
    APP_ENC_TGS_REP_PART,
    KDC_ERR_BADOPTION,
    KDC_ERR_ETYPE_NOSUPP,
    KDC_ERR_PADATA_TYPE_NOSUPP,
    KDC_ERR_POLICY,
    KDC_ERR_S_PRINCIPAL_UNKNOWN,
    KDC_OPT_FORWARDABLE,
    KDC_OPT_FORWARDED,
    KDC_OPT_PROXIABLE,
    KDC_OPT_PROXY,
    KDC_OPT_RENEW,
    KDC_OPT_RENEWABLE,
    KDC_OPT_RENEWABLE_OK,
    KRB_AP_ERR_BAD_INTEGRITY,
    KRB_AP_ERR_BADKEYVER,
    KRB_AP_ERR_BADMATCH,
    KRB_AP_ERR_SKEW,
    KRB_AP_ERR_TKT_EXPIRED,
    KRB_AP_ERR_TKT_NYV,
    KRB_ERR_GENERIC,
    KRB_TGS_REP,
    PA_TGS_REQ,
    TKT_FLG_FORWARDABLE,
    TKT_FLG_FORWARDED,
    TKT_FLG_HW_AUTH,
    TKT_FLG_PRE_AUTH,
    TKT_FLG_PROXIABLE,
    TKT_FLG_PROXY,
    TKT_FLG_RENEWABLE,
    TKT_FLG_TRANSIT_POLICY_CHECKED,
)
from kerbfirst.wire.der import DecodeError
from kerbfirst.wire.krb5 import (
    ApReq,
    EncKdcRepPart,
    EncryptedData,
    EncTicketPart,
    KdcRep,
    KdcReq,
)


def process_tgs_req(ctx: KdcContext, req: KdcReq, state: RequestState) -> bytes:
    """The whole exchange; a Refusal raised on the way becomes the KRB-ERROR (service.py)."""
    return issue(ctx, check(ctx, gather(ctx, req, state)), state)


@dataclass(frozen=True, slots=True)
class CheckedTgsRequest:
    """A request every rule accepted, with the values issue() builds from."""

    request: TgsRequest
    server: PrincipalEntry
    server_key: KeyEntry
    session_etype: int
    renewal_times: TicketTimes | None  # set when renewing (RFC 4120 3.3.3)
    reply_key: Key
    reply_usage: int


def _bad_request(reason: str, code: int = KRB_ERR_GENERIC) -> Refusal:
    return Refusal(code, Outcome.BAD_REQUEST, reason)


# How each rd_req refusal is answered and audited; a malformed part is a bad request.
_AP_FAULTS: dict[ApFault, tuple[int, Outcome]] = {
    ApFault.TICKET_INTEGRITY: (KRB_AP_ERR_BAD_INTEGRITY, Outcome.BAD_INTEGRITY),
    ApFault.TICKET_MALFORMED: (KRB_ERR_GENERIC, Outcome.BAD_REQUEST),
    ApFault.SESSION_KEY_UNUSABLE: (KRB_AP_ERR_BAD_INTEGRITY, Outcome.BAD_INTEGRITY),
    ApFault.AUTHENTICATOR_INTEGRITY: (KRB_AP_ERR_BAD_INTEGRITY, Outcome.BAD_INTEGRITY),
    ApFault.AUTHENTICATOR_MALFORMED: (KRB_ERR_GENERIC, Outcome.BAD_REQUEST),
    ApFault.CLIENT_MISMATCH: (KRB_AP_ERR_BADMATCH, Outcome.BAD_REQUEST),
    ApFault.SKEW: (KRB_AP_ERR_SKEW, Outcome.SKEW),
    ApFault.NOT_YET_VALID: (KRB_AP_ERR_TKT_NYV, Outcome.TICKET_NOT_YET_VALID),
    ApFault.EXPIRED: (KRB_AP_ERR_TKT_EXPIRED, Outcome.TICKET_EXPIRED),
}


def gather(ctx: KdcContext, req: KdcReq, state: RequestState) -> TgsRequest:
    body = req.req_body
    state.requested_etypes = body.etype
    state.server_name = body.sname
    ap_bytes = next(
        (p.padata_value for p in req.padata or () if p.padata_type == PA_TGS_REQ), None
    )
    if ap_bytes is None:
        raise _bad_request("TGS-REQ without PA-TGS-REQ", KDC_ERR_PADATA_TYPE_NOSUPP)
    try:
        ap_req = ApReq.decode(ap_bytes)
    except DecodeError as exc:
        raise _bad_request(f"malformed AP-REQ in PA-TGS-REQ: {exc}") from None
    ticket = ap_req.ticket
    ours = ctx.policy.realm
    renew = bool(body.kdc_options & KDC_OPT_RENEW)
    header_server_name = ctx.principal_text(ticket.sname, ticket.realm)
    # krbtgt/OURS issued by us, or by a realm that trusts us (a cross-realm TGT,
    # krbtgt/OURS@OTHER under the key both KDCs share: RFC 4120 1.2, MIT naming).
    is_tgt = ticket.sname.name_string == ctx.krbtgt_name.name_string
    cross = ticket.realm != ours
    if cross and not is_tgt:
        raise Refusal(
            KDC_ERR_POLICY,
            Outcome.WRONG_REALM,
            f"the PA-TGS-REQ ticket is for {header_server_name}, a server of realm "
            f"{ticket.realm}; this KDC serves {ours} and accepts only krbtgt/{ours} tickets "
            "from other realms",
        )
    if cross and renew:
        raise Refusal(
            KDC_ERR_BADOPTION,
            Outcome.BAD_OPTION,
            f"a ticket issued by realm {ticket.realm} is renewed by {ticket.realm}'s KDC",
        )
    if not is_tgt and not renew:
        raise Refusal(
            KDC_ERR_POLICY,
            Outcome.BAD_REQUEST,
            f"the PA-TGS-REQ ticket is for {header_server_name}, not a TGT; only RENEW "
            "accepts a service ticket",
        )
    header_server = ctx.database.get_principal(header_server_name)
    if header_server is None and cross:
        raise Refusal(
            KDC_ERR_S_PRINCIPAL_UNKNOWN,
            Outcome.WRONG_REALM,
            f"realm {ticket.realm} is not trusted by {ours}: {header_server_name} is not in "
            f"the database (add the trust: kerbfirst realm trust add {ticket.realm} "
            "--direction incoming)",
        )
    if header_server is None:
        raise Refusal(
            KDC_ERR_S_PRINCIPAL_UNKNOWN,
            Outcome.SERVER_UNKNOWN,
            f"the ticket's server {header_server_name} is not in the database",
        )
    enc = ticket.enc_part
    key_entry = find_key(header_server, enc.etype, enc.kvno)
    if key_entry is None:
        raise Refusal(
            KRB_AP_ERR_BADKEYVER,
            Outcome.BAD_INTEGRITY,
            f"no key of {header_server_name} with enctype {enc.etype} and kvno {enc.kvno}; "
            "the ticket predates a key change: get a new one (kinit)",
        )

    def open_ticket(enc: EncryptedData) -> tuple[EncTicketPart, Key]:
        opened = ctx.ticket_cache.unseal(key_entry, enc.cipher)
        return opened.part, opened.session_key

    try:
        verified = rd_req(
            ap_req,
            open_ticket=open_ticket,
            server=header_server_name,
            usage=authenticator_usage(in_tgs_req=True),
            now=state.now,
            skew=ctx.policy.clock_skew,
        )
    except ApReqRefused as refused:  # own name: mypyc types `exc` once per function
        if refused.ticket is not None:
            _record_client(ctx, state, refused.ticket)
        code, outcome = _AP_FAULTS[refused.fault]
        raise Refusal(code, outcome, refused.reason) from None
    header = verified.ticket
    client_name = _record_client(ctx, state, header)

    server: PrincipalEntry | None
    referral = False
    if renew:
        # RFC 4120 3.3.3: renewal returns a new ticket for the same server.
        sname, server_name, server = ticket.sname, header_server_name, header_server
        state.server_name = ticket.sname
    elif body.sname is None:
        raise _bad_request("TGS-REQ without an sname", KDC_ERR_S_PRINCIPAL_UNKNOWN)
    else:
        sname = body.sname
        server_name = ctx.principal_text(body.sname, body.realm)
        server = ctx.database.get_principal(server_name) if body.realm == ours else None
        if server is None:
            found = referral_tgt(ctx, body)
            if found is not None:
                sname, server, referral = found[0], found[1], True
    state.service = server_name
    return TgsRequest(
        req=req,
        now=state.now,
        ticket=ticket,
        header=header,
        header_server=header_server,
        session_key=verified.session_key,
        authenticator=verified.authenticator,
        client_name=client_name,
        renew=renew,
        sname=sname,
        server_name=server_name,
        server=server,
        referral=referral,
        transited=transited_for(ctx, ticket.realm, header),
    )


def _record_client(ctx: KdcContext, state: RequestState, header: EncTicketPart) -> str:
    """The ticket's client, for the audit record (known even when the request is refused)."""
    state.client_name, state.client_realm = header.cname, header.crealm
    state.client = client = ctx.principal_text(header.cname, header.crealm)
    return client


def check(ctx: KdcContext, r: TgsRequest) -> CheckedTgsRequest:
    """Every rule in order, then the values issue() needs; a Refusal at the first failure."""
    for rule in TGS_RULES:
        verdict = rule(ctx, r)
        if verdict is not None:
            raise Refusal(*verdict)
    renewal_times = _renewal_times(r) if r.renew else None
    server = r.server
    server_key = ticket_key(server, ctx.policy.supported_etypes) if server else None
    session_etype = ctx.session_etype(r.req.req_body.etype, server) if server else None
    if server is None or server_key is None or session_etype is None:
        # _server_usable and _etype_supported refuse these first; kept as a refusal so
        # that a rule changed later cannot let a request through without its keys.
        raise Refusal(
            KDC_ERR_ETYPE_NOSUPP,
            Outcome.ETYPE_NOSUPP,
            f"no key of {r.server_name} and no session enctype fit this request",
        )
    reply_key, reply_usage = _reply_key(ctx, r)
    return CheckedTgsRequest(
        request=r,
        server=server,
        server_key=server_key,
        session_etype=session_etype,
        renewal_times=renewal_times,
        reply_key=reply_key,
        reply_usage=reply_usage,
    )


def _renewal_times(r: TgsRequest) -> TicketTimes:
    """RFC 4120 3.3.3: the renewed ticket keeps the old ticket's lifetime, starts now, and
    never runs past renew-till."""
    h = r.header
    renew_till = h.renew_till
    if renew_till is None:
        raise Refusal(KDC_ERR_BADOPTION, Outcome.BAD_OPTION, "ticket not renewable")
    start = whole_seconds(r.now)
    end = min(start + (h.endtime - (h.starttime or h.authtime)), renew_till)
    return TicketTimes(start, end, renew_till)


def _reply_key(ctx: KdcContext, r: TgsRequest) -> tuple[Key, int]:
    """RFC 4120 5.4.2: the reply is encrypted in the authenticator's subkey (usage 9) when
    there is one, else in the TGT session key (usage 8)."""
    subkey = r.authenticator.subkey
    if subkey is None:
        return r.session_key, tgs_rep_usage(subkey=False)
    if subkey.keytype not in ctx.allowed_etypes:
        raise Refusal(
            KDC_ERR_ETYPE_NOSUPP,
            Outcome.ETYPE_NOSUPP,
            f"authenticator subkey has enctype {subkey.keytype}; only AES is served",
        )
    try:
        return Key(subkey.keytype, subkey.keyvalue), tgs_rep_usage(subkey=True)
    except KerberosCryptoError as exc:
        raise Refusal(
            KRB_ERR_GENERIC, Outcome.BAD_REQUEST, f"authenticator subkey is unusable: {exc}"
        ) from None


# ---------------------------------------------------------------- issue

# Flags a derived ticket inherits from the TGT, RFC 4120 3.3.3 / 2.6.
_INHERITED = TKT_FLG_PRE_AUTH | TKT_FLG_HW_AUTH | TKT_FLG_FORWARDED


def issue(ctx: KdcContext, checked: CheckedTgsRequest, state: RequestState) -> bytes:
    r, server, policy = checked.request, checked.server, ctx.policy
    body, h = r.req.req_body, r.header
    options = body.kdc_options
    caddr = h.caddr
    if checked.renewal_times is not None:
        times, flags = checked.renewal_times, h.flags
    else:
        renew_allowed = (
            policy.allow_renewable
            and server.allow_renewable
            and bool(h.flags & TKT_FLG_RENEWABLE)
        )
        max_renew = min(
            d for d in (policy.max_renewable_life, server.max_renewable_life) if d is not None
        )
        times = ticket_times(
            now=r.now,
            skew=policy.clock_skew,
            from_=body.from_,
            till=body.till,
            rtime=body.rtime,
            max_life=min(d for d in (policy.max_life, server.max_life) if d),
            max_renewable_life=max_renew if renew_allowed and max_renew else None,
            renewable=bool(options & KDC_OPT_RENEWABLE),
            renewable_ok=bool(options & KDC_OPT_RENEWABLE_OK),
            end_cap=h.endtime,
            renew_cap=h.renew_till,
        )
        flags = h.flags & _INHERITED
        if options & KDC_OPT_FORWARDABLE and h.flags & TKT_FLG_FORWARDABLE and (
            policy.allow_forwardable and server.allow_forwardable
        ):
            flags |= TKT_FLG_FORWARDABLE
        if options & KDC_OPT_PROXIABLE and h.flags & TKT_FLG_PROXIABLE and (
            policy.allow_proxiable
        ):
            flags |= TKT_FLG_PROXIABLE
        if times.renew_till is not None:
            flags |= TKT_FLG_RENEWABLE
        # The transited rule checked the path against [capaths] (RFC 4120 2.7, as MIT's
        # KDC sets it): servers need not check it again.
        flags |= TKT_FLG_TRANSIT_POLICY_CHECKED
        if options & KDC_OPT_FORWARDED:
            flags |= TKT_FLG_FORWARDED  # RFC 4120 2.6: addresses come from the request
            caddr = body.addresses or None
        if options & KDC_OPT_PROXY:
            flags |= TKT_FLG_PROXY
            caddr = body.addresses or None

    session_key = ctx.new_session_key(checked.session_etype)
    enc_ticket = EncTicketPart(
        flags=flags,
        key=session_key,
        crealm=h.crealm,
        cname=h.cname,
        transited=r.transited,
        authtime=h.authtime,
        starttime=times.starttime,
        endtime=times.endtime,
        renew_till=times.renew_till,
        caddr=caddr,
        authorization_data=h.authorization_data,
    )
    ticket = ctx.seal_ticket(checked.server_key, policy.realm, r.sname, enc_ticket)
    enc_reply = EncKdcRepPart(
        key=session_key,
        last_req=ctx.last_req,
        nonce=body.nonce,
        key_expiration=None,
        flags=flags,
        authtime=h.authtime,
        starttime=times.starttime,
        endtime=times.endtime,
        renew_till=times.renew_till,
        srealm=policy.realm,
        sname=r.sname,
        caddr=caddr,
        app_tag=APP_ENC_TGS_REP_PART,
    )
    # A subkey is fresh in every request (RFC 4120 5.5.1): nothing to gain from caching
    # its derived keys. The TGT session key recurs for the TGT's life: cached.
    reply_key, once = checked.reply_key, r.authenticator.subkey is not None
    rep = KdcRep(
        msg_type=KRB_TGS_REP,
        padata=None,
        crealm=h.crealm,
        cname=h.cname,
        ticket=ticket,
        enc_part=ctx.seal(reply_key, checked.reply_usage, enc_reply.encode(), None, once=once),
    )
    state.ticket_etype = checked.server_key.etype
    state.session_etype = checked.session_etype
    state.reply_etype = reply_key.etype
    state.ticket_flags = flags
    state.endtime = times.endtime
    if r.renew:
        state.outcome = Outcome.RENEWED
        state.reason = f"ticket for {r.server_name} renewed for {r.client_name}"
    elif r.referral:
        state.reason = (
            f"referral: ticket for {server.name} issued to {r.client_name}, who asked for "
            f"{r.server_name}"
        )
    else:
        state.reason = f"ticket for {r.server_name} issued to {r.client_name}"
    return rep.encode()
