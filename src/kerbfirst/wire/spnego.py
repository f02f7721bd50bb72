"""SPNEGO messages (RFC 4178 4.2) and Microsoft's NegTokenInit2 (MS-SPNG 2.2.1).

    NegotiationToken ::= CHOICE { negTokenInit [0] NegTokenInit, negTokenResp [1] NegTokenResp }
    NegTokenInit  ::= SEQUENCE { mechTypes [0] MechTypeList, reqFlags [1] ContextFlags OPTIONAL,
                                 mechToken [2] OCTET STRING OPTIONAL,
                                 mechListMIC [3] OCTET STRING OPTIONAL, ... }
    NegTokenInit2 ::= SEQUENCE { mechTypes [0] MechTypeList OPTIONAL, reqFlags [1] OPTIONAL,
                                 mechToken [2] OPTIONAL, negHints [3] NegHints OPTIONAL,
                                 mechListMIC [4] OCTET STRING OPTIONAL, ... }
    NegTokenResp  ::= SEQUENCE { negState [0] ENUMERATED OPTIONAL, supportedMech [1] OPTIONAL,
                                 responseToken [2] OPTIONAL, mechListMIC [3] OPTIONAL, ... }

NegTokenInit2 shares tag [0] with NegTokenInit (MS-SPNG 2.2.1); the two are told apart by
field [3]: an OCTET STRING is RFC 4178's mechListMIC, a SEQUENCE is MS-SPNG's negHints.

The initiator's first token is framed as an RFC 2743 3.1 InitialContextToken with the SPNEGO
OID (RFC 4178 4.2: `60 len 06 06 2b0601050502 | a0 ...`); every later token is a bare
NegotiationToken. The mechListMIC covers the DER of mechTypes *as sent* (RFC 4178 5), so the
decoder keeps those raw bytes (`NegTokenInit.mech_types_der`).

Encoding is strict (no empty mechanism lists, negState 0..3, MIC and hints only where their
form allows); decoding is bounded by the DER Reader (1 MiB, depth, element counts) and by
`MAX_MECH_TYPES`. Every decoding failure is a `DecodeError` naming the field.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from kerbfirst.wire.der import (
    TAG_OCTET_STRING,
    TAG_SEQUENCE,
    DecodeError,
    EncodeError,
    Reader,
    encode_bit_string,
    encode_kerberos_string,
    encode_octet_string,
    encode_oid,
    explicit,
    read_header,
    sequence,
    sequence_of,
    tlv,
)
from kerbfirst.wire.gss_framing import OID_SPNEGO, decode_gss_token, encode_gss_token

TAG_ENUMERATED = 0x0A
TAG_NEG_TOKEN_INIT = 0xA0
TAG_NEG_TOKEN_RESP = 0xA1

# Real initiators offer a handful (Windows: MS-krb5, krb5, NEGOEX, NTLM); a list of hundreds
# is an attack on the acceptor's matching loop, not a negotiation.
MAX_MECH_TYPES = 64

# MS-SPNG 2.2.1: what Windows servers put in hintName; decoders must ignore it.
MS_HINT_NAME = "not_defined_in_RFC4178@please_ignore"


class NegState(enum.IntEnum):
    """RFC 4178 4.2.2 negState."""

    ACCEPT_COMPLETED = 0
    ACCEPT_INCOMPLETE = 1
    REJECT = 2
    REQUEST_MIC = 3


@dataclass(frozen=True, slots=True)
class NegHints:
    """MS-SPNG 2.2.1 NegHints; informational only (hintAddress is never sent by Windows)."""

    hint_name: str | None = None
    hint_address: bytes | None = None

    def encode(self) -> bytes:
        parts = []
        if self.hint_name is not None:
            parts.append(explicit(0, encode_kerberos_string(self.hint_name)))
        if self.hint_address is not None:
            parts.append(explicit(1, encode_octet_string(self.hint_address)))
        return sequence(*parts)


def encode_mech_type_list(mech_types: tuple[str, ...] | list[str]) -> bytes:
    """DER of MechTypeList (SEQUENCE OF OBJECT IDENTIFIER): what the mechListMIC covers."""
    if len(mech_types) > MAX_MECH_TYPES:
        raise EncodeError(f"{len(mech_types)} mechanisms exceed the limit of {MAX_MECH_TYPES}")
    return sequence_of([encode_oid(oid) for oid in mech_types])


@dataclass(frozen=True, slots=True)
class NegTokenInit:
    """NegTokenInit (RFC 4178 4.2.1), or NegTokenInit2 (MS-SPNG 2.2.1) when `neg_hints` is set.

    `req_flags` is the ContextFlags BIT STRING as (octets, unused bits), kept as received:
    RFC 4178 recommends leaving it out and nothing here acts on it.
    `mech_types_der` is the MechTypeList exactly as received (empty when built locally; then
    `mech_types_bytes()` encodes it).
    """

    mech_types: tuple[str, ...]
    req_flags: tuple[bytes, int] | None = None
    mech_token: bytes | None = None
    mech_list_mic: bytes | None = None
    neg_hints: NegHints | None = None
    init2: bool = False  # MS-SPNG form (MIC in [4]) even without negHints
    mech_types_der: bytes = field(default=b"", compare=False, repr=False)

    @property
    def is_init2(self) -> bool:
        return self.init2 or self.neg_hints is not None

    def mech_types_bytes(self) -> bytes:
        """The bytes the mechListMIC is computed over (RFC 4178 5)."""
        return self.mech_types_der or encode_mech_type_list(self.mech_types)

    def encode(self) -> bytes:
        """The bare NegotiationToken `a0 ...` (use `encode_initial_token` for the first token)."""
        if not self.mech_types and not self.is_init2:
            raise EncodeError("NegTokenInit needs at least one mechanism in mechTypes "
                              "(RFC 4178 4.2.1)")
        parts = []
        if self.mech_types or not self.is_init2:
            parts.append(explicit(0, encode_mech_type_list(self.mech_types)))
        if self.req_flags is not None:
            parts.append(explicit(1, encode_bit_string(*self.req_flags)))
        if self.mech_token is not None:
            parts.append(explicit(2, encode_octet_string(self.mech_token)))
        if self.is_init2:
            if self.neg_hints is not None:
                parts.append(explicit(3, self.neg_hints.encode()))
            if self.mech_list_mic is not None:
                parts.append(explicit(4, encode_octet_string(self.mech_list_mic)))
        elif self.mech_list_mic is not None:
            parts.append(explicit(3, encode_octet_string(self.mech_list_mic)))
        return tlv(TAG_NEG_TOKEN_INIT, sequence(*parts))


@dataclass(frozen=True, slots=True)
class NegTokenResp:
    """NegTokenResp (RFC 4178 4.2.2). Every field is optional on the wire."""

    neg_state: NegState | None = None
    supported_mech: str | None = None
    response_token: bytes | None = None
    mech_list_mic: bytes | None = None

    def encode(self) -> bytes:
        parts = []
        if self.neg_state is not None:
            state = int(self.neg_state)
            if state not in NegState._value2member_map_:
                raise EncodeError(f"negState {state} is not 0..3 (RFC 4178 4.2.2)")
            parts.append(explicit(0, tlv(TAG_ENUMERATED, bytes((state,)))))
        if self.supported_mech is not None:
            parts.append(explicit(1, encode_oid(self.supported_mech)))
        if self.response_token is not None:
            parts.append(explicit(2, encode_octet_string(self.response_token)))
        if self.mech_list_mic is not None:
            parts.append(explicit(3, encode_octet_string(self.mech_list_mic)))
        return tlv(TAG_NEG_TOKEN_RESP, sequence(*parts))


NegotiationToken = NegTokenInit | NegTokenResp


def encode_initial_token(token: NegTokenInit) -> bytes:
    """The initiator's first token: RFC 2743 3.1 framing with the SPNEGO OID (RFC 4178 4.2)."""
    return encode_gss_token(OID_SPNEGO, token.encode())


# ---------------------------------------------------------------- decoding


def _enumerated(r: Reader, what: str) -> int:
    tag, cs, ce = read_header(r.data, r.pos, r.end)
    if tag != TAG_ENUMERATED:
        raise DecodeError(f"{what}: expected ENUMERATED, found tag 0x{tag:02x}", r.pos)
    if ce != r.end:
        raise DecodeError(f"{what}: unexpected bytes after the element", ce)
    if not 1 <= ce - cs <= 4:
        raise DecodeError(f"{what}: ENUMERATED of {ce - cs} octets", cs)
    return int.from_bytes(r.data[cs:ce], "big", signed=True)


def _mech_types(r: Reader) -> tuple[tuple[str, ...], bytes]:
    what = "NegTokenInit mechTypes"
    raw = r.raw()
    items = r.items(what, limit=MAX_MECH_TYPES)
    return tuple(item.oid(what) for item in items), raw


def _neg_hints(r: Reader) -> NegHints:
    f = r.fields(2, "NegHints")
    name = f[0].kerberos_string("NegHints hintName") if f[0] else None
    address = f[1].octets("NegHints hintAddress") if f[1] else None
    return NegHints(name, address)


def _neg_token_init(r: Reader) -> NegTokenInit:
    f = r.fields(5, "NegTokenInit")
    hints: NegHints | None = None
    mic: bytes | None = None
    init2 = False
    if f[3] is not None:
        inner = f[3].peek_tag("NegTokenInit [3]")
        if inner == TAG_SEQUENCE:  # MS-SPNG 2.2.1 NegTokenInit2: negHints, MIC in [4]
            hints = _neg_hints(f[3])
            init2 = True
            mic = f[4].octets("NegTokenInit2 mechListMIC") if f[4] else None
        elif inner == TAG_OCTET_STRING:  # RFC 4178 4.2.1 mechListMIC
            if f[4] is not None:
                raise DecodeError("NegTokenInit has a mechListMIC in [3] and a field [4]: "
                                  "neither RFC 4178 nor MS-SPNG NegTokenInit2", f[4].pos)
            mic = f[3].octets("NegTokenInit mechListMIC")
        else:
            raise DecodeError("NegTokenInit [3] is neither a mechListMIC (OCTET STRING) nor "
                              "MS-SPNG negHints (SEQUENCE)", f[3].pos)
    elif f[4] is not None:  # NegTokenInit2 without hints but with a MIC
        init2 = True
        mic = f[4].octets("NegTokenInit2 mechListMIC")
    if f[0] is not None:
        mech_types, raw = _mech_types(f[0])
        if not mech_types and not init2:
            raise DecodeError("NegTokenInit mechTypes is empty (RFC 4178 4.2.1)", f[0].pos)
    elif init2:  # MS-SPNG 2.2.1: mechTypes is OPTIONAL in NegTokenInit2
        mech_types, raw = (), b""
    else:
        raise DecodeError("NegTokenInit: required field [0] mechTypes is missing", r.pos)
    req_flags = f[1].bit_string("NegTokenInit reqFlags") if f[1] else None
    token = f[2].octets("NegTokenInit mechToken") if f[2] else None
    return NegTokenInit(mech_types, req_flags, token, mic, hints, init2, raw)


def _neg_token_resp(r: Reader) -> NegTokenResp:
    f = r.fields(4, "NegTokenResp")
    state: NegState | None = None
    if f[0] is not None:
        value = _enumerated(f[0], "NegTokenResp negState")
        if value not in NegState._value2member_map_:
            raise DecodeError(f"NegTokenResp negState {value} is not 0..3 (RFC 4178 4.2.2)",
                              f[0].pos)
        state = NegState(value)
    mech = f[1].oid("NegTokenResp supportedMech") if f[1] else None
    token = f[2].octets("NegTokenResp responseToken") if f[2] else None
    mic = f[3].octets("NegTokenResp mechListMIC") if f[3] else None
    return NegTokenResp(state, mech, token, mic)


def decode_negotiation_token(data: bytes | bytearray | memoryview) -> NegotiationToken:
    """A bare NegotiationToken (`a0 ...` or `a1 ...`), the whole input."""
    r = Reader.top(data, "NegotiationToken")
    tag = r.peek_tag("NegotiationToken")
    if tag == TAG_NEG_TOKEN_INIT:
        return _neg_token_init(r.enter(TAG_NEG_TOKEN_INIT, "NegotiationToken negTokenInit"))
    if tag == TAG_NEG_TOKEN_RESP:
        return _neg_token_resp(r.enter(TAG_NEG_TOKEN_RESP, "NegotiationToken negTokenResp"))
    raise DecodeError(f"NegotiationToken: expected [0] negTokenInit or [1] negTokenResp, "
                      f"found tag 0x{tag:02x}", 0)


def decode_initial_token(data: bytes | bytearray | memoryview) -> NegotiationToken:
    """The first token of a SPNEGO exchange: `60 .. 06 06 2b0601050502 | NegotiationToken`.

    Raises DecodeError when the framing is wrong, names another mechanism, or does not hold
    a NegotiationToken; `framed_mech_oid` tells callers which mechanism a foreign token names.
    """
    parsed = decode_gss_token(data, has_tok_id=False)
    if parsed.mech_oid != OID_SPNEGO:
        raise DecodeError(f"initial token is for mechanism {parsed.mech_oid}, not SPNEGO "
                          f"({OID_SPNEGO})", 0)
    return decode_negotiation_token(parsed.inner)


def framed_mech_oid(data: bytes) -> str | None:
    """The mechanism OID of an RFC 2743 3.1 framed token, or None when it is not one."""
    try:
        return decode_gss_token(data, has_tok_id=False).mech_oid
    except DecodeError:
        return None


__all__ = [
    "MAX_MECH_TYPES",
    "MS_HINT_NAME",
    "NegHints",
    "NegState",
    "NegTokenInit",
    "NegTokenResp",
    "NegotiationToken",
    "decode_initial_token",
    "decode_negotiation_token",
    "encode_initial_token",
    "encode_mech_type_list",
    "framed_mech_oid",
]
