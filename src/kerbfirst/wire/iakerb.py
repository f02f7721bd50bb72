"""IAKerb tokens (draft-ietf-kitten-iakerb-03 section 3) in both wire variants.

    token = [60 len 06 06 2b0601050205] | 05 01 | IAKERB-HEADER | KDC message
    IAKERB-HEADER ::= SEQUENCE {
        target-realm [1] UTF8String,          -- MIT <= 1.21: OCTET STRING
        cookie       [2] OCTET STRING OPTIONAL,
        header-flags [3] BIT STRING OPTIONAL, -- Windows sends it, all zero
        ... }
    IAKERB-FINISHED ::= SEQUENCE { iakerbFinished [1] Checksum }  -- both variants

Draft-03 (MIT >= 1.22, Windows) frames every token with the GSS header. MIT krb5 before
1.22 (Debian 12 ships 1.20) framed only the initiator's first token, sent later ones as
`05 01 | header | message`, and encoded target-realm as an OCTET STRING (MIT commit
04f9c19c "Correct IAKERB protocol implementation"). The decoder tells them apart from the
wire: the tag inside [1] (0x0c UTF8String vs 0x04 OCTET STRING) and the framing, and it
keeps every token's raw bytes, since the finished checksum covers the tokens as sent.
"""

from __future__ import annotations

import dataclasses
import enum

from kerbfirst.wire.der import (
    TAG_OCTET_STRING,
    TAG_SEQUENCE,
    DecodeError,
    Reader,
    encode_bit_string,
    encode_octet_string,
    encode_utf8_string,
    explicit,
    read_header,
    required,
    sequence,
)
from kerbfirst.wire.gss_framing import (
    OID_IAKERB,
    TOK_ID_IAKERB_PROXY,
    decode_gss_token,
    encode_gss_token,
)
from kerbfirst.wire.krb5 import Checksum

TAG_UTF8_STRING = 0x0C
MAX_REALM_LENGTH = 1024  # realms are short; a kilobyte is generous and bounds the parse
MAX_COOKIE_LENGTH = 4096
# Windows' header-flags: a 32-bit BIT STRING, all zero from the client (03 05 00 00000000).
WINDOWS_HEADER_FLAGS = bytes(4)


class IakerbVariant(enum.Enum):
    """Which IAKerb the peer speaks."""

    DRAFT03 = "draft-03"  # MIT >= 1.22, Windows: UTF8String realm, every token framed
    MIT_OLD = "mit-old"  # MIT <= 1.21: OCTET STRING realm, only the first token framed


@dataclasses.dataclass(frozen=True, slots=True)
class IakerbHeader:
    target_realm: str
    cookie: bytes | None = None
    header_flags: bytes | None = None  # the BIT STRING's octets (Windows: 4 zero octets)
    variant: IakerbVariant = IakerbVariant.DRAFT03  # how target-realm is (to be) encoded

    def encode(self) -> bytes:
        realm = self.target_realm.encode("utf-8")
        if len(realm) > MAX_REALM_LENGTH:
            raise ValueError(f"target realm of {len(realm)} bytes exceeds {MAX_REALM_LENGTH}")
        if self.variant is IakerbVariant.MIT_OLD:
            parts = [explicit(1, encode_octet_string(realm))]
        else:
            parts = [explicit(1, encode_utf8_string(self.target_realm))]
        if self.cookie is not None:
            parts.append(explicit(2, encode_octet_string(self.cookie)))
        if self.header_flags is not None:
            parts.append(explicit(3, encode_bit_string(self.header_flags)))
        return sequence(*parts)

    @classmethod
    def decode(cls, data: bytes) -> IakerbHeader:
        """Exactly one IAKERB-HEADER; unknown later fields (the "...") are skipped."""
        r = Reader.top(data, "IAKERB-HEADER")
        fields = r.fields(4, "IAKERB-HEADER")
        realm_r = required(fields, 1, "IAKERB-HEADER", 0)
        tag = realm_r.peek_tag("IAKERB-HEADER target-realm")
        if tag == TAG_UTF8_STRING:
            variant = IakerbVariant.DRAFT03
            realm = realm_r.utf8_string("IAKERB-HEADER target-realm")
        elif tag == TAG_OCTET_STRING:
            variant = IakerbVariant.MIT_OLD
            raw = realm_r.octets("IAKERB-HEADER target-realm")
            try:
                realm = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise DecodeError("IAKERB-HEADER target-realm: not UTF-8", realm_r.pos) from None
        else:
            raise DecodeError(
                f"IAKERB-HEADER target-realm: expected UTF8String (draft-03) or OCTET STRING "
                f"(MIT <= 1.21), found tag 0x{tag:02x}", realm_r.pos)
        # Bounded in octets, as encode() bounds it: a realm of characters under the limit
        # but octets over it would decode here and then fail to encode in the reply.
        if len(realm.encode("utf-8")) > MAX_REALM_LENGTH:
            raise DecodeError(f"IAKERB-HEADER target-realm longer than {MAX_REALM_LENGTH} "
                              "octets", 0)
        cookie = fields[2].octets("IAKERB-HEADER cookie") if fields[2] is not None else None
        if cookie is not None and len(cookie) > MAX_COOKIE_LENGTH:
            raise DecodeError(f"IAKERB-HEADER cookie longer than {MAX_COOKIE_LENGTH}", 0)
        flags = None
        if fields[3] is not None:
            flags, _unused = fields[3].bit_string("IAKERB-HEADER header-flags")
        return cls(realm, cookie, flags, variant)


@dataclasses.dataclass(frozen=True, slots=True)
class IakerbToken:
    """One decoded IAKerb proxy token (TOK_ID 05 01)."""

    header: IakerbHeader
    message: bytes  # the KDC message (AS/TGS-REQ, reply, KRB-ERROR); empty: realm discovery
    framed: bool  # had the GSS InitialContextToken header
    raw: bytes  # the token exactly as received

    @property
    def variant(self) -> IakerbVariant:
        return self.header.variant

    @property
    def target_realm(self) -> str:
        return self.header.target_realm


def encode_iakerb_token(header: IakerbHeader, message: bytes, *, framed: bool = True) -> bytes:
    """`[GSS framing] | 05 01 | header | message` (draft-03 3; MIT <= 1.21 unframed later)."""
    body = header.encode() + message
    if framed:
        return encode_gss_token(OID_IAKERB, body, TOK_ID_IAKERB_PROXY)
    return TOK_ID_IAKERB_PROXY + body


def is_iakerb_token(token: bytes) -> bool:
    """Whether `token` is an IAKerb proxy token (framed, or MIT <= 1.21's unframed form),
    as opposed to the final AP-REQ or anything else. Cheap: no full decode."""
    if token[:2] == TOK_ID_IAKERB_PROXY:
        return True
    if token[:1] != b"\x60":
        return False
    try:
        parsed = decode_gss_token(token)
    except DecodeError:
        return False
    return parsed.mech_oid == OID_IAKERB and parsed.tok_id == TOK_ID_IAKERB_PROXY


def decode_iakerb_token(token: bytes) -> IakerbToken:
    """Split an IAKerb proxy token into header and KDC message; raises DecodeError."""
    raw = bytes(token)
    if raw[:2] == TOK_ID_IAKERB_PROXY:
        framed, body = False, raw[2:]
    else:
        parsed = decode_gss_token(raw)
        if parsed.mech_oid != OID_IAKERB:
            raise DecodeError(f"IAKerb token: mechanism is {parsed.mech_oid}, not IAKerb", 0)
        if parsed.tok_id != TOK_ID_IAKERB_PROXY:
            tok = parsed.tok_id.hex() if parsed.tok_id is not None else "none"
            raise DecodeError(f"IAKerb token: TOK_ID {tok}, expected 0501", 0)
        framed, body = True, parsed.inner
    if not body or body[0] != TAG_SEQUENCE:
        raise DecodeError("IAKerb token: expected the IAKERB-HEADER SEQUENCE after TOK_ID", 0)
    _tag, _cs, end = read_header(body, 0, len(body))
    header = IakerbHeader.decode(body[:end])
    if header.variant is IakerbVariant.DRAFT03 and not framed:
        raise DecodeError("IAKerb token: draft-03 tokens must carry the GSS framing", 0)
    return IakerbToken(header, body[end:], framed, raw)


def encode_finished(checksum: Checksum) -> bytes:
    """IAKERB-FINISHED ::= SEQUENCE { iakerbFinished [1] Checksum } (draft-03 3.2)."""
    return sequence(explicit(1, checksum.encode()))


def decode_finished(data: bytes) -> Checksum:
    r = Reader.top(data, "IAKERB-FINISHED")
    fields = r.fields(2, "IAKERB-FINISHED")
    return Checksum.decode(required(fields, 1, "IAKERB-FINISHED", 0).raw())


__all__ = [
    "WINDOWS_HEADER_FLAGS",
    "IakerbHeader",
    "IakerbToken",
    "IakerbVariant",
    "decode_finished",
    "decode_iakerb_token",
    "encode_finished",
    "encode_iakerb_token",
    "is_iakerb_token",
]
