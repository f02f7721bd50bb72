"""AS-REQs of chosen sizes, as an attacker would send them (tests of the KDC's bounds)."""

from __future__ import annotations

from datetime import datetime, timedelta

from memory_realm import T0

from kerbfirst.wire import constants as c
from kerbfirst.wire.krb5 import KdcReq, KdcReqBody, PaData, PrincipalName


def as_req(
    cname: tuple[str, ...] = ("nobody",),
    *,
    realm: str = "TEST.REALM",
    etypes: tuple[int, ...] = (18, 17),
    padata: tuple[PaData, ...] | None = None,
    nonce: int = 1,
    now: datetime = T0,
) -> bytes:
    body = KdcReqBody(
        kdc_options=0,
        cname=PrincipalName(c.NT_PRINCIPAL, cname),
        realm=realm,
        sname=PrincipalName(c.NT_SRV_INST, ("krbtgt", realm)),
        from_=None,
        till=now + timedelta(hours=10),
        rtime=None,
        nonce=nonce,
        etype=etypes,
    )
    return KdcReq(c.KRB_AS_REQ, padata, body).encode()


def big_as_req(size: int, nonce: int, realm: str, now: datetime) -> bytes:
    """A unique AS-REQ of about `size` bytes: an unknown client whose request carries
    one large padata of an unassigned type (a KDC ignores those, RFC 4120 5.2.7)."""
    return as_req(("nobody",), realm=realm, nonce=nonce, now=now,
                  padata=(PaData(9999, bytes(max(0, size - 200))),))


def long_name_as_req(component: int, components: int, nonce: int, realm: str,
                     now: datetime) -> bytes:
    """A unique AS-REQ for an unknown client with a long name (each one different)."""
    first = f"{nonce:08d}" + "u" * (component - 8)
    return as_req((first,) + ("v" * component,) * (components - 1), realm=realm,
                  nonce=nonce, now=now)
