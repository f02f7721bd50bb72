"""GSS-API token framing (RFC 2743 section 3.1) and the mechanism OIDs kerbfirst speaks.

An initial context token is `[APPLICATION 0] IMPLICIT SEQUENCE { thisMech OID, inner }`:
bytes `60 len 06 oidlen oid... inner`, where `inner` is mechanism-specific and not ASN.1
framed. Kerberos (RFC 4121 4.1) and IAKerb (draft-ietf-kitten-iakerb-03 3) start `inner`
with a two-byte TOK_ID; SPNEGO (RFC 4178 4.2) does not.
"""

from __future__ import annotations

from typing import NamedTuple

from kerbfirst.wire.der import (
    TAG_OID,
    DecodeError,
    EncodeError,
    Reader,
    encode_oid,
    oid_from_content,
    read_header,
    tlv,
)

OID_KRB5 = "1.2.840.113554.1.2.2"  # RFC 4121
OID_KRB5_MS = "1.2.840.48018.1.2.2"  # the OID Windows offers first in SPNEGO
OID_IAKERB = "1.3.6.1.5.2.5"  # draft-ietf-kitten-iakerb-03
OID_SPNEGO = "1.3.6.1.5.5.2"  # RFC 4178
OID_NTLMSSP = "1.3.6.1.4.1.311.2.2.10"  # MS-NLMP

TOK_ID_KRB_AP_REQ = b"\x01\x00"  # RFC 4121 4.1
TOK_ID_KRB_AP_REP = b"\x02\x00"
TOK_ID_KRB_ERROR = b"\x03\x00"
TOK_ID_IAKERB_PROXY = b"\x05\x01"  # draft-ietf-kitten-iakerb-03 3

_APP0 = 0x60


class GssToken(NamedTuple):
    mech_oid: str
    tok_id: bytes | None  # the 2-byte TOK_ID, or None when decoded with has_tok_id=False
    inner: bytes  # what follows the OID (and TOK_ID): a Kerberos message, a NegotiationToken...


def decode_oid(data: bytes | bytearray | memoryview) -> str:
    """One DER OBJECT IDENTIFIER (tag 06 included) to dotted form."""
    return Reader.top(data, "OID").oid("OID")


def encode_gss_token(mech_oid: str, inner: bytes, tok_id: bytes | None = None) -> bytes:
    """An RFC 2743 3.1 InitialContextToken: 60 len | 06 oid | [tok_id] | inner."""
    if tok_id is not None and len(tok_id) != 2:
        raise EncodeError(f"TOK_ID must be 2 bytes, got {len(tok_id)}")
    return tlv(_APP0, encode_oid(mech_oid) + (tok_id or b"") + bytes(inner))


def decode_gss_token(data: bytes | bytearray | memoryview, *, has_tok_id: bool = True) -> GssToken:
    """Split an InitialContextToken; the whole input must be the one token (no trailing bytes).

    `has_tok_id`: True for krb5 and IAKerb tokens, False for SPNEGO's.
    """
    r = Reader.top(data, "GSS token")
    if r.peek_tag("GSS token") != _APP0:
        raise DecodeError(
            f"GSS token: expected an InitialContextToken (0x60), found 0x{r.data[0]:02x}", 0
        )
    body = r.enter(_APP0, "GSS token")
    tag, cs, ce = read_header(body.data, body.pos, body.end)
    if tag != TAG_OID:
        raise DecodeError(f"GSS token: expected the mechanism OID, found tag 0x{tag:02x}", body.pos)
    mech = oid_from_content(body.data[cs:ce], cs)
    tok_id = None
    if has_tok_id:
        if body.end - ce < 2:
            raise DecodeError("GSS token: too short for its 2-byte TOK_ID", ce)
        tok_id = body.data[ce : ce + 2]
        ce += 2
    return GssToken(mech, tok_id, body.data[ce : body.end])


__all__ = [
    "OID_IAKERB",
    "OID_KRB5",
    "OID_KRB5_MS",
    "OID_NTLMSSP",
    "OID_SPNEGO",
    "TOK_ID_IAKERB_PROXY",
    "TOK_ID_KRB_AP_REP",
    "TOK_ID_KRB_AP_REQ",
    "TOK_ID_KRB_ERROR",
    "GssToken",
    "decode_gss_token",
    "decode_oid",
    "encode_gss_token",
    "encode_oid",
]
