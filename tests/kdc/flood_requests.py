"""AS-REQs of chosen sizes, as an attacker would send them (tests of the KDC's bounds)."""

from __future__ import annotations

from datetime import timedelta

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
) -> bytes:
    body = KdcReqBody(
        kdc_options=0,
        cname=PrincipalName(c.NT_PRINCIPAL, cname),
        realm=realm,
        sname=PrincipalName(c.NT_SRV_INST, ("krbtgt", realm)),
        from_=None,
        till=T0 + timedelta(hours=10),
        rtime=None,
        nonce=nonce,
        etype=etypes,
    )
    return KdcReq(c.KRB_AS_REQ, padata, body).encode()
