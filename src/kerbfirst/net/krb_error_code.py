"""The error-code of a reply if it is a KRB-ERROR (RFC 4120 5.9.1), else None.

The transport must recognise two replies before handing bytes to anyone:
KRB_ERR_RESPONSE_TOO_BIG (52: retry over TCP) and KDC_ERR_SVC_UNAVAILABLE (29: try the
next KDC, as MIT's sendto_kdc does). The wire layer's strict, bounded decoder decides;
anything it rejects is not treated as an error reply and is passed to the caller as is.
"""

from __future__ import annotations

from kerbfirst.wire.der import DecodeError
from kerbfirst.wire.krb5 import KrbError

_APPLICATION_30 = 0x7E  # first octet of every KRB-ERROR


def krb_error_code(message: bytes) -> int | None:
    """The error-code of `message` if it is a well-formed KRB-ERROR, else None."""
    if not message or message[0] != _APPLICATION_30:
        return None  # cheap test first: most replies are AS-REP/TGS-REP
    try:
        return KrbError.decode(message).error_code
    except (DecodeError, ValueError, OverflowError):
        return None  # DecodeError is the contract; the rest guards a codec bug
