"""Read the error-code of a KRB-ERROR without a full decoder (RFC 4120 5.9.1).

The transport must recognise two replies before handing bytes to anyone:
KRB_ERR_RESPONSE_TOO_BIG (52: retry over TCP) and KDC_ERR_SVC_UNAVAILABLE (29: try the
next KDC, as MIT's sendto_kdc does). Only those two fields matter here, so this walks
the outer DER just far enough to find `error-code [6] Int32`. It is bounded by the input
length, never recurses, and answers None for anything it does not understand: a reply
that is not a well-formed KRB-ERROR is passed to the caller untouched.

    KRB-ERROR ::= [APPLICATION 30] SEQUENCE {
        pvno [0] INTEGER, msg-type [1] INTEGER, ctime [2] KerberosTime OPTIONAL,
        cusec [3] Microseconds OPTIONAL, stime [4] KerberosTime, susec [5] Microseconds,
        error-code [6] Int32, ... }
"""

from __future__ import annotations

_APPLICATION_30 = 0x7E
_SEQUENCE = 0x30
_INTEGER = 0x02
_ERROR_CODE_TAG = 0xA6  # [6] constructed, context-specific


def _header(data: bytes, pos: int, end: int) -> tuple[int, int, int] | None:
    """(tag, content_start, content_end) of the DER element at `pos`, or None if malformed."""
    if pos + 2 > end:
        return None
    tag = data[pos]
    first = data[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        # DER: at most 4 length octets here (messages are capped far below 4 GiB).
        if count == 0 or count > 4 or pos + count > end:
            return None
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    if pos + length > end:
        return None
    return tag, pos, pos + length


def krb_error_code(message: bytes) -> int | None:
    """The error-code of `message` if it is a KRB-ERROR, else None."""
    outer = _header(message, 0, len(message))
    if outer is None or outer[0] != _APPLICATION_30:
        return None
    seq = _header(message, outer[1], outer[2])
    if seq is None or seq[0] != _SEQUENCE:
        return None
    pos, end = seq[1], seq[2]
    while pos < end:
        field = _header(message, pos, end)
        if field is None:
            return None
        tag, start, stop = field
        if tag == _ERROR_CODE_TAG:
            inner = _header(message, start, stop)
            if inner is None or inner[0] != _INTEGER or not 1 <= inner[2] - inner[1] <= 4:
                return None
            return int.from_bytes(message[inner[1] : inner[2]], "big", signed=True)
        if tag > _ERROR_CODE_TAG or tag < 0xA0:
            return None  # fields are in tag order; [6] is mandatory and would have come
        pos = stop
    return None
