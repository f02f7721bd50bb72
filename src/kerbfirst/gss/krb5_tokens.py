"""The krb5 mechanism's use of GSS-API token framing (RFC 2743 3.1, RFC 4121 4.1).

Every krb5 context-establishment token (AP-REQ, AP-REP, KRB-ERROR) is an InitialContextToken
`60 len 06 oidlen oid | TOK_ID (2) | body` (RFC 1964 1.1, kept by RFC 4121 4.1); the codec is
kerbfirst.wire.gss_framing. Here: the token ids, a size cap, and the mapping of decoding
failures onto GSS errors. Per-message tokens (RFC 4121 4.2) are not framed.
"""

from __future__ import annotations

from kerbfirst.gss.errors import BadMechanism, DefectiveToken
from kerbfirst.wire.der import DecodeError
from kerbfirst.wire.gss_framing import (
    OID_IAKERB,
    OID_KRB5,
    OID_KRB5_MS,
    decode_gss_token,
    encode_gss_token,
)

KRB5_OID = OID_KRB5
MS_KRB5_OID = OID_KRB5_MS  # Windows' alias of the krb5 OID; MIT accepts it too
IAKERB_OID = OID_IAKERB

# RFC 4121 4.1 / 4.2.6 TOK_ID values
TOK_AP_REQ = b"\x01\x00"
TOK_AP_REP = b"\x02\x00"
TOK_KRB_ERROR = b"\x03\x00"
TOK_MIC = b"\x04\x04"
TOK_WRAP = b"\x05\x04"

# A ticket with a large PAC stays well below this; a token past it is refused, not buffered.
MAX_TOKEN_SIZE = 1 << 20


def frame(mech_oid: str, tok_id: bytes, body: bytes) -> bytes:
    """`60 len 06 oid | tok_id | body` (RFC 2743 3.1)."""
    return encode_gss_token(mech_oid, body, tok_id)


def unframe_krb5(token: bytes, accepted_oids: frozenset[str]) -> tuple[str, bytes, bytes]:
    """(mech OID, TOK_ID, body) of a framed krb5 context token whose OID is accepted."""
    if len(token) > MAX_TOKEN_SIZE:
        raise DefectiveToken(f"GSS token of {len(token)} bytes exceeds {MAX_TOKEN_SIZE}")
    try:
        parsed = decode_gss_token(token)
    except DecodeError as exc:
        raise DefectiveToken(f"not a krb5 GSS token (RFC 2743 3.1): {exc}") from None
    if parsed.mech_oid not in accepted_oids:
        raise BadMechanism(f"token is for mechanism {parsed.mech_oid}, not krb5 (RFC 1964)")
    if parsed.tok_id is None:  # has_tok_id=True always yields one; keeps -O and mypy honest
        raise DefectiveToken("krb5 context token is missing its TOK_ID (RFC 4121 4.1)")
    return parsed.mech_oid, parsed.tok_id, parsed.inner
