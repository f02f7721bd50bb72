"""GSS-API token framing (RFC 2743 3.1) and the krb5 mechanism's token ids (RFC 4121 4.1).

InitialContextToken ::= [APPLICATION 0] IMPLICIT SEQUENCE { thisMech MechType,
innerContextToken ANY }: `60 len 06 oidlen oid inner`. Every krb5 context-establishment token
(AP-REQ, AP-REP, KRB-ERROR) is framed so, with a two-byte TOK_ID first in the inner token
(RFC 1964 1.1, kept by RFC 4121 4.1). Per-message tokens of RFC 4121 are not framed.

Written here because the wire layer had no RFC 2743 framing module when this was written.
"""

from __future__ import annotations

from kerbfirst.gss.errors import BadMechanism, DefectiveToken

# DER content octets of the mechanism OIDs
KRB5_OID = bytes.fromhex("2a864886f712010202")  # 1.2.840.113554.1.2.2 (RFC 1964)
MS_KRB5_OID = bytes.fromhex("2a864882f712010202")  # 1.2.840.48018.1.2.2 (Windows' alias)
IAKERB_OID = bytes.fromhex("2b0601050205")  # 1.3.6.1.5.2.5 (draft-ietf-kitten-iakerb)

# RFC 4121 4.1 / 4.2.6 TOK_ID values
TOK_AP_REQ = b"\x01\x00"
TOK_AP_REP = b"\x02\x00"
TOK_KRB_ERROR = b"\x03\x00"
TOK_MIC = b"\x04\x04"
TOK_WRAP = b"\x05\x04"

# A ticket with a large PAC stays well below this; a token past it is refused, not buffered.
MAX_TOKEN_SIZE = 1 << 20


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def frame(mech_oid: bytes, inner: bytes) -> bytes:
    """Wrap `inner` (TOK_ID + body) in the RFC 2743 3.1 InitialContextToken framing."""
    body = b"\x06" + _der_length(len(mech_oid)) + mech_oid + inner
    return b"\x60" + _der_length(len(body)) + body


def _read_length(data: bytes, pos: int) -> tuple[int, int]:
    if pos >= len(data):
        raise DefectiveToken(f"GSS token truncated in a length at byte {pos}")
    first = data[pos]
    if first < 0x80:
        return first, pos + 1
    count = first & 0x7F
    if count == 0 or count > 4 or pos + 1 + count > len(data):
        raise DefectiveToken(f"GSS token has a bad DER length at byte {pos}")
    return int.from_bytes(data[pos + 1 : pos + 1 + count], "big"), pos + 1 + count


def unframe(token: bytes) -> tuple[bytes, bytes]:
    """Split an RFC 2743 3.1 token into (mechanism OID content octets, inner token)."""
    if len(token) > MAX_TOKEN_SIZE:
        raise DefectiveToken(f"GSS token of {len(token)} bytes exceeds {MAX_TOKEN_SIZE}")
    if len(token) < 2 or token[0] != 0x60:
        raise DefectiveToken("not a GSS initial context token (RFC 2743 3.1: must start 0x60)")
    length, pos = _read_length(token, 1)
    if pos + length != len(token):
        raise DefectiveToken(
            f"GSS token length {length} does not match the {len(token) - pos} bytes that follow"
        )
    if pos >= len(token) or token[pos] != 0x06:
        raise DefectiveToken("GSS token lacks its mechanism OID (RFC 2743 3.1)")
    oid_len, pos = _read_length(token, pos + 1)
    if oid_len == 0 or pos + oid_len > len(token):
        raise DefectiveToken("GSS token has a truncated mechanism OID")
    return token[pos : pos + oid_len], token[pos + oid_len :]


def unframe_krb5(token: bytes, accepted_oids: frozenset[bytes]) -> tuple[bytes, bytes, bytes]:
    """(mech OID, TOK_ID, body) of a framed krb5 context token whose OID is accepted."""
    oid, inner = unframe(token)
    if oid not in accepted_oids:
        raise BadMechanism(f"token is for mechanism OID {oid.hex()}, not krb5 (RFC 1964)")
    if len(inner) < 2:
        raise DefectiveToken("krb5 context token is missing its TOK_ID (RFC 4121 4.1)")
    return oid, inner[:2], inner[2:]
