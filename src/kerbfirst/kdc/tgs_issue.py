"""Issuing in the TGS exchange, RFC 4120 section 3.3.3: the service ticket or the renewed
ticket, and the TGS-REP encrypted in the authenticator's subkey or the session key."""

from __future__ import annotations

from kerbfirst.crypto import KerberosCryptoError, Key
from kerbfirst.kdc.audit import Outcome
from kerbfirst.kdc.context import KdcContext
from kerbfirst.kdc.keys import ticket_key
from kerbfirst.kdc.lifetimes import TicketTimes, ticket_times, whole_seconds
from kerbfirst.kdc.request import Refusal, RequestState
from kerbfirst.kdc.tgs_exchange import TgsRequest, check, gather
from kerbfirst.wire import constants as c
from kerbfirst.wire.krb5 import EncKdcRepPart, EncTicketPart, KdcRep, KdcReq, PrincipalName


def _renewal_times(r: TgsRequest) -> TicketTimes:
    """RFC 4120 3.3.3: same lifetime as before, from now, never past renew-till."""
    h = r.header
    renew_till = h.renew_till
    if renew_till is None:
        raise Refusal(c.KDC_ERR_BADOPTION, Outcome.BAD_OPTION, "ticket not renewable")
    start = whole_seconds(r.now)
    end = min(start + (h.endtime - (h.starttime or h.authtime)), renew_till)
    return TicketTimes(start, end, renew_till)


# Flags a derived ticket inherits from the TGT, RFC 4120 3.3.3 / 2.6.
_INHERITED = c.TKT_FLG_PRE_AUTH | c.TKT_FLG_HW_AUTH | c.TKT_FLG_FORWARDED


def issue(ctx: KdcContext, r: TgsRequest, state: RequestState) -> bytes:
    body, h, policy, server = r.req.req_body, r.header, ctx.policy, r.server
    if server is None:
        raise Refusal(c.KRB_ERR_GENERIC, Outcome.INTERNAL_ERROR, "server vanished after checks")
    options = body.kdc_options
    renew = bool(options & c.KDC_OPT_RENEW)
    if renew:
        times = _renewal_times(r)
        flags = h.flags
        sname: PrincipalName = r.ticket.sname
        caddr = h.caddr
    else:
        renew_allowed = (
            policy.allow_renewable
            and server.allow_renewable
            and bool(h.flags & c.TKT_FLG_RENEWABLE)
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
            renewable=bool(options & c.KDC_OPT_RENEWABLE),
            renewable_ok=bool(options & c.KDC_OPT_RENEWABLE_OK),
            end_cap=h.endtime,
            renew_cap=h.renew_till,
        )
        flags = h.flags & _INHERITED
        if options & c.KDC_OPT_FORWARDABLE and h.flags & c.TKT_FLG_FORWARDABLE and (
            policy.allow_forwardable and server.allow_forwardable
        ):
            flags |= c.TKT_FLG_FORWARDABLE
        if options & c.KDC_OPT_PROXIABLE and h.flags & c.TKT_FLG_PROXIABLE and (
            policy.allow_proxiable
        ):
            flags |= c.TKT_FLG_PROXIABLE
        if times.renew_till is not None:
            flags |= c.TKT_FLG_RENEWABLE
        caddr = h.caddr
        if options & c.KDC_OPT_FORWARDED:
            flags |= c.TKT_FLG_FORWARDED  # RFC 4120 2.6: addresses come from the request
            caddr = body.addresses or None
        if options & c.KDC_OPT_PROXY:
            flags |= c.TKT_FLG_PROXY
            caddr = body.addresses or None
        if body.sname is None:
            raise Refusal(c.KRB_ERR_GENERIC, Outcome.INTERNAL_ERROR, "sname vanished")
        sname = body.sname

    server_key = ticket_key(server, policy.supported_etypes)
    session_etype = ctx.session_etype(body.etype, server)
    if server_key is None or session_etype is None:
        raise Refusal(c.KRB_ERR_GENERIC, Outcome.INTERNAL_ERROR, "keys vanished after checks")
    session_key = ctx.new_session_key(session_etype)
    enc_ticket = EncTicketPart(
        flags=flags,
        key=session_key,
        crealm=h.crealm,
        cname=h.cname,
        transited=h.transited,
        authtime=h.authtime,
        starttime=times.starttime,
        endtime=times.endtime,
        renew_till=times.renew_till,
        caddr=caddr,
        authorization_data=h.authorization_data,
    )
    ticket = ctx.seal_ticket(server_key, policy.realm, sname, enc_ticket)
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
        sname=sname,
        caddr=caddr,
        app_tag=c.APP_ENC_TGS_REP_PART,
    )
    # RFC 4120 5.4.2: the reply is encrypted in the authenticator's subkey (usage 9) when
    # there is one, else in the TGT session key (usage 8).
    subkey = r.authenticator.subkey
    if subkey is not None:
        if subkey.keytype not in ctx.allowed_etypes:
            raise Refusal(
                c.KDC_ERR_ETYPE_NOSUPP,
                Outcome.ETYPE_NOSUPP,
                f"authenticator subkey has enctype {subkey.keytype}; only AES is served",
            )
        try:
            reply_key = Key(subkey.keytype, subkey.keyvalue)
        except KerberosCryptoError as exc:
            raise Refusal(
                c.KRB_ERR_GENERIC, Outcome.BAD_REQUEST, f"authenticator subkey is unusable: {exc}"
            ) from None
        usage = c.KU_TGS_REP_ENC_PART_SUBKEY
    else:
        reply_key, usage = r.session_key, c.KU_TGS_REP_ENC_PART_SESSKEY
    # A subkey is fresh in every request (RFC 4120 5.5.1): nothing to gain from caching
    # its derived keys. The TGT session key recurs for the TGT's life: cached.
    rep = KdcRep(
        msg_type=c.KRB_TGS_REP,
        padata=None,
        crealm=h.crealm,
        cname=h.cname,
        ticket=ticket,
        enc_part=ctx.seal(reply_key, usage, enc_reply.encode(), None, once=subkey is not None),
    )
    state.ticket_etype = server_key.etype
    state.session_etype = session_etype
    state.reply_etype = reply_key.etype
    state.ticket_flags = flags
    state.endtime = times.endtime
    if renew:
        state.outcome = Outcome.RENEWED
        state.reason = f"ticket for {r.server_name} renewed for {r.client_name}"
    else:
        state.reason = f"ticket for {r.server_name} issued to {r.client_name}"
    return rep.encode()


def process_tgs_req(ctx: KdcContext, req: KdcReq, state: RequestState) -> bytes:
    """The whole exchange: gather and check (tgs_exchange.py), then issue (here)."""
    r = gather(ctx, req, state)
    check(ctx, r)
    return issue(ctx, r, state)
