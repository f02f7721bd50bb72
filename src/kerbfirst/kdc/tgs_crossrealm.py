"""The TGS exchange's cross-realm steps (RFC 4120 1.2 and 3.3.3.2, RFC 6806 section 8):
which cross-realm TGT answers a request for a server that is not ours, and the transited
field of the ticket issued. The policy they apply is kdc/crossrealm.py's."""

from __future__ import annotations

from kerbfirst.kdc.context import KdcContext
from kerbfirst.kdc.crossrealm import (
    TransitedError,
    decode_transited,
    encode_transited,
    referral_host,
)
from kerbfirst.krb.database import PrincipalEntry
from kerbfirst.krb.names import krbtgt_name, tgs_realm
from kerbfirst.wire.constants import KDC_OPT_CANONICALIZE
from kerbfirst.wire.krb5 import EncTicketPart, KdcReqBody, PrincipalName, TransitedEncoding


def referral_tgt(ctx: KdcContext, body: KdcReqBody) -> tuple[PrincipalName, PrincipalEntry] | None:
    """The cross-realm TGT to answer with when the server is not ours (RFC 6806 section 8,
    MIT do_tgs_req's referral and find_alternate_tgs): a server of another realm, a
    krbtgt/OTHER we hold no key for directly, or (canonicalize) a host-based name whose
    host [domain_realm] maps to another realm. The TGT is for the next realm on the
    [capaths] path; None when there is no such trust."""
    ours, cross_realm = ctx.policy.realm, ctx.policy.cross_realm
    sname = body.sname
    if sname is None:
        return None
    target: str | None = None
    if body.realm != ours:
        target = body.realm
    elif tgs_realm(sname) is not None:
        target = tgs_realm(sname)
    elif body.kdc_options & KDC_OPT_CANONICALIZE:
        host = referral_host(sname)
        target = cross_realm.host_realm(host) if host is not None else None
    if target is None or target == ours:
        return None
    name = krbtgt_name(cross_realm.next_hop(ours, target))
    if name.name_string == sname.name_string and body.realm == ours:
        return None  # asked for exactly this TGT and it is not in the database
    entry = ctx.database.get_principal(ctx.principal_text(name, ours))
    return (name, entry) if entry is not None else None


def transited_for(ctx: KdcContext, ticket_realm: str, header: EncTicketPart) -> TransitedEncoding:
    """RFC 4120 3.3.3.2 (MIT do_tgs_req): the realm that issued a cross-realm TGT joins
    the transited field, unless it is the client's own realm (implicit in the path)."""
    if ticket_realm in (ctx.policy.realm, header.crealm):
        return header.transited
    try:
        realms = decode_transited(header.transited)
    except TransitedError:
        return header.transited  # refused by the transited rule with its reason
    return encode_transited((*realms, ticket_realm))
