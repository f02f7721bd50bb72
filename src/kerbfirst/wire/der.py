"""A strict, bounded DER codec for the ASN.1 subset Kerberos uses (X.690, RFC 4120 5.1-5.2).

Hand-written on purpose: no installable codec is both fast
and DER-correct for Kerberos's quirks (KerberosFlags of any length on decode, unknown
extension tags skipped, raw byte ranges kept for checksums). `asn1tools` is used only
as a test oracle.

Encoding is strict DER: minimal lengths, minimal INTEGERs, GeneralizedTime as
"YYYYMMDDHHMMSSZ" (RFC 4120 5.2.3), KerberosFlags as 32-bit BIT STRINGs with 0 unused
bits (RFC 4120 5.2.8).

Decoding is bounded, because this is the KDC hot path and faces the network:
total size (1 MiB, as MIT's KDC), nesting depth, elements per SEQUENCE (OF); indefinite
lengths and trailing bytes are refused. It is lenient only where real peers need it:
KerberosFlags of any length, non-minimal length octets, and unknown context tags in
extensible SEQUENCEs (skipped). Every failure is a `DecodeError` naming what was wrong
and the byte offset.

A `Reader` is a window [pos, end) over one immutable `bytes` object; values are sliced
out, never walked byte by byte.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

# Final: mypyc (scripts/build_compiled.py) inlines Final constants where a plain module
# global is a dict lookup at every use, and the decoder reads these per element.
MAX_MESSAGE_SIZE: Final = 1 << 20  # MIT krb5 KDC's limit for one message
MAX_DEPTH: Final = 32
MAX_ELEMENTS: Final = 4096  # per SEQUENCE OF
MAX_FIELDS: Final = 64  # per SEQUENCE, counting unknown extension fields

# Universal tags (X.690 8.1.2); constructed SEQUENCE is 0x30.
TAG_BOOLEAN: Final = 0x01
TAG_INTEGER: Final = 0x02
TAG_BIT_STRING: Final = 0x03
TAG_OCTET_STRING: Final = 0x04
TAG_OID: Final = 0x06
TAG_UTF8_STRING: Final = 0x0C
TAG_SEQUENCE: Final = 0x30
TAG_GENERALIZED_TIME: Final = 0x18
TAG_GENERAL_STRING: Final = 0x1B

INT32_MIN: Final = -(1 << 31)
INT32_MAX: Final = (1 << 31) - 1
UINT32_MAX: Final = (1 << 32) - 1


class DecodeError(ValueError):
    """Malformed or out-of-bounds DER; `offset` is where in the input it was found."""

    def __init__(self, what: str, offset: int) -> None:
        super().__init__(f"{what} (at byte offset {offset})")
        self.what = what
        self.offset = offset


class EncodeError(ValueError):
    """A value cannot be encoded (out of range, naive datetime, ...)."""


# ---------------------------------------------------------------- encoding

# Every octet as a one-byte bytes object: headers are assembled from these, not from
# bytes((...)) calls (a tuple and a call each).
_OCTETS: Final = tuple(bytes((n,)) for n in range(0x100))
# 0x82 and the high length octet, for lengths 256..65535 (a TGS-REP, a ticket).
_LENGTH_82: Final = tuple(bytes((0x82, n)) for n in range(0x100))


def encode_length(n: int) -> bytes:
    """Definite length in the minimal form (X.690 10.1)."""
    if n < 0x80:
        return _OCTETS[n]
    if n < 0x100:
        return b"\x81" + _OCTETS[n]
    if n < 0x10000:
        return _LENGTH_82[n >> 8] + _OCTETS[n & 0xFF]
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


# Identifier + short-form length octets, premade for every (tag, length < 128): the
# encoder's hot path builds a header per element, and most Kerberos elements are short.
# Public: krb5_encode._fields reads it inline, as a call per field costs more.
SHORT_HEADERS: Final = tuple(tuple(bytes((tag, n)) for n in range(0x80)) for tag in range(0x100))


def header(tag: int, n: int) -> bytes:
    """Identifier and length octets of an element of `n` content bytes."""
    if n < 0x80:
        return SHORT_HEADERS[tag][n]
    return _OCTETS[tag] + encode_length(n)


def tlv(tag: int, content: bytes) -> bytes:
    """One element with a low-number (< 31) identifier octet."""
    n = len(content)
    if n < 0x80:
        return SHORT_HEADERS[tag][n] + content
    return _OCTETS[tag] + encode_length(n) + content


def sequence(*parts: bytes) -> bytes:
    return tlv(TAG_SEQUENCE, b"".join(parts))


def sequence_of(items: list[bytes] | tuple[bytes, ...]) -> bytes:
    return tlv(TAG_SEQUENCE, b"".join(items))


def explicit(number: int, inner: bytes) -> bytes:
    """[number] EXPLICIT (RFC 4120 5.2: the module is EXPLICIT TAGS)."""
    return tlv(0xA0 | number, inner)


def application(number: int, inner: bytes) -> bytes:
    """[APPLICATION number], constructed; every Kerberos number is below 31."""
    return tlv(0x60 | number, inner)


# INTEGERs 0..127 (versions, message types, enctypes, name types) are one content octet.
_SMALL_INTEGERS: Final = tuple(bytes((TAG_INTEGER, 1, v)) for v in range(0x80))


def encode_integer(value: int) -> bytes:
    """Minimal two's-complement INTEGER (X.690 8.3.2)."""
    if 0 <= value < 0x80:
        return _SMALL_INTEGERS[value]
    magnitude = value if value >= 0 else ~value
    return tlv(TAG_INTEGER, value.to_bytes((magnitude.bit_length() + 8) // 8, "big", signed=True))


def encode_int32(value: int) -> bytes:
    if not INT32_MIN <= value <= INT32_MAX:
        raise EncodeError(f"{value} does not fit an Int32 (RFC 4120 5.2.4)")
    return encode_integer(value)


def encode_uint32(value: int) -> bytes:
    # Negative values in Int32 range are allowed so that a signed nonce or sequence
    # number received from an old peer can be echoed bit for bit (RFC 4120 5.3, 5.5.1).
    if not INT32_MIN <= value <= UINT32_MAX:
        raise EncodeError(f"{value} does not fit a UInt32 (RFC 4120 5.2.4)")
    return encode_integer(value)


def encode_microseconds(value: int) -> bytes:
    if not 0 <= value <= 999999:
        raise EncodeError(f"{value} is not a Microseconds value 0..999999 (RFC 4120 5.2.4)")
    return encode_integer(value)


def encode_boolean(value: bool) -> bytes:
    return b"\x01\x01\xff" if value else b"\x01\x01\x00"


def encode_octet_string(value: bytes) -> bytes:
    return tlv(TAG_OCTET_STRING, bytes(value))


def encode_kerberos_string(value: str) -> bytes:
    """KerberosString: GeneralString on the wire, UTF-8 in practice (RFC 4120 5.2.1)."""
    return tlv(TAG_GENERAL_STRING, value.encode("utf-8"))


def encode_utf8_string(value: str) -> bytes:
    return tlv(TAG_UTF8_STRING, value.encode("utf-8"))


# A reply carries the same few times several times over (authtime, starttime, endtime in
# the ticket and again in the encrypted part): remember recent encodings. Equal aware
# datetimes denote the same instant, hence the same UTC text, whatever their tzinfo.
_TIME_CACHE: Final[dict[datetime, bytes]] = {}
_TIME_CACHE_SIZE: Final = 4096


def encode_kerberos_time(value: datetime) -> bytes:
    """KerberosTime: GeneralizedTime "YYYYMMDDHHMMSSZ", no fraction (RFC 4120 5.2.3).

    Sub-second parts are dropped: Kerberos carries microseconds in separate fields.
    """
    if value.tzinfo is None:
        raise EncodeError("KerberosTime needs a timezone-aware datetime (UTC); got a naive one")
    cached = _TIME_CACHE.get(value)
    if cached is not None:
        return cached
    v = value if value.tzinfo is UTC else value.astimezone(UTC)
    text = f"{v.year:04d}{v.month:02d}{v.day:02d}{v.hour:02d}{v.minute:02d}{v.second:02d}Z"
    encoded = b"\x18\x0f" + text.encode("ascii")
    if len(_TIME_CACHE) >= _TIME_CACHE_SIZE:
        _TIME_CACHE.clear()
    _TIME_CACHE[value] = encoded
    return encoded


def encode_kerberos_flags(value: int) -> bytes:
    """KerberosFlags: a 32-bit BIT STRING, 0 unused bits (RFC 4120 5.2.8)."""
    if not 0 <= value <= UINT32_MAX:
        raise EncodeError(f"flags {value:#x} do not fit 32 bits (RFC 4120 5.2.8)")
    return b"\x03\x05\x00" + value.to_bytes(4, "big")


def encode_bit_string(value: bytes, unused_bits: int = 0) -> bytes:
    if not 0 <= unused_bits <= 7 or (unused_bits and not value):
        raise EncodeError(f"invalid unused-bits count {unused_bits} for a BIT STRING")
    return tlv(TAG_BIT_STRING, bytes((unused_bits,)) + bytes(value))


# The few OIDs a party speaks (mechanisms, SPNEGO) are converted on every token; each
# conversion is a pure function of its input, so the first OID_MEMO_SIZE results are kept.
# Only valid inputs are stored, and nothing is stored once full (a peer sending many OIDs
# cannot grow memory).
OID_MEMO_SIZE: Final = 64
_OID_DER: dict[str, bytes] = {}
_OID_TEXT: dict[bytes, str] = {}


def encode_oid(dotted: str) -> bytes:
    """OBJECT IDENTIFIER "1.2.840.113554.1.2.2" as DER (X.690 8.19)."""
    known = _OID_DER.get(dotted)
    if known is not None:
        return known
    encoded = _encode_oid(dotted)
    if len(_OID_DER) < OID_MEMO_SIZE:
        _OID_DER[dotted] = encoded
    return encoded


def _encode_oid(dotted: str) -> bytes:
    try:
        arcs = [int(a) for a in dotted.split(".")]
    except ValueError:
        raise EncodeError(f"OID {dotted!r} is not dotted decimal") from None
    if len(arcs) < 2 or not 0 <= arcs[0] <= 2 or (arcs[0] < 2 and not 0 <= arcs[1] < 40):
        raise EncodeError(f"OID {dotted!r}: first arc 0..2, second < 40 under 0 and 1")
    out = bytearray()
    for arc in (40 * arcs[0] + arcs[1], *arcs[2:]):
        if arc < 0:
            raise EncodeError(f"OID {dotted!r} has a negative arc")
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out += bytes(reversed(chunk))
    return tlv(TAG_OID, bytes(out))


MAX_OID_OCTETS: Final = 128


def oid_from_content(content: bytes, offset: int = 0) -> str:
    """Dotted form of OID content octets; refuses non-minimal and unterminated arcs."""
    known = _OID_TEXT.get(content)
    if known is not None:
        return known
    text = _oid_text(content, offset)
    if len(_OID_TEXT) < OID_MEMO_SIZE:
        _OID_TEXT[bytes(content)] = text
    return text


def _oid_text(content: bytes, offset: int) -> str:
    if not content or len(content) > MAX_OID_OCTETS:
        raise DecodeError(f"OID of {len(content)} octets (1..{MAX_OID_OCTETS} allowed)", offset)
    if content[-1] & 0x80:
        raise DecodeError("OID ends inside a sub-identifier", offset + len(content) - 1)
    arcs: list[int] = []
    value = 0
    fresh = True
    for i, octet in enumerate(content):  # <= 128 octets: bounded
        if fresh and octet == 0x80:
            raise DecodeError("OID sub-identifier has a non-minimal leading 0x80", offset + i)
        value = (value << 7) | (octet & 0x7F)
        fresh = not octet & 0x80
        if fresh:
            arcs.append(value)
            value = 0
    first = arcs[0]
    head = [0, first] if first < 40 else [1, first - 40] if first < 80 else [2, first - 80]
    return ".".join(str(a) for a in head + arcs[1:])


# ---------------------------------------------------------------- decoding


def read_header(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """Parse the identifier and length at `pos`; return (tag, content_start, content_end).

    Low-number tags are the identifier octet itself; high-number tags (never used by
    Kerberos) become `identifier << 24 | number` so they match no known tag.
    """
    if pos >= end:
        raise DecodeError("expected an element, found the end of its container", pos)
    tag = data[pos]
    p = pos + 1
    if tag & 0x1F == 0x1F:
        number = 0
        for _ in range(3):  # at most 3 continuation octets: tag numbers < 2**21
            if p >= end:
                raise DecodeError("truncated high-number tag", pos)
            octet = data[p]
            p += 1
            number = (number << 7) | (octet & 0x7F)
            if not octet & 0x80:
                break
        else:
            raise DecodeError("tag number too large", pos)
        tag = (tag << 24) | number
    if p >= end:
        raise DecodeError("truncated element: no length octet", pos)
    first = data[p]
    p += 1
    if first < 0x80:
        length = first
    elif first == 0x80:
        raise DecodeError("indefinite length is not DER and is refused", pos)
    else:
        n = first & 0x7F
        if n > 4:
            raise DecodeError(f"length field of {n} octets is too large", pos)
        if p + n > end:
            raise DecodeError("truncated length field", pos)
        if n == 1:
            length = data[p]
        elif n == 2:
            length = data[p] << 8 | data[p + 1]
        else:
            length = int.from_bytes(data[p : p + n], "big")
        p += n
    if length > end - p:
        raise DecodeError(f"element length {length} exceeds the {end - p} bytes available", pos)
    return tag, p, p + length


# Decoded KerberosTimes by their 15 content octets: a busy KDC sees the same few times
# (a TGT's authtime and endtime, this second's ctime) in request after request. Only
# valid times are stored, and a datetime is immutable, so a hit is exactly what parsing
# again would return. Emptied when full, as the encoder's _TIME_CACHE.
_TIME_MEMO: Final[dict[bytes, datetime]] = {}
_TIME_MEMO_SIZE: Final = 4096


def _tag_name(tag: int) -> str:
    if tag >= 1 << 24:
        return f"high-number tag {tag & 0xFFFFFF}"
    cls = tag >> 6
    if cls == 2:
        return f"[{tag & 0x1F}]"
    if cls == 1:
        return f"[APPLICATION {tag & 0x1F}]"
    return f"tag 0x{tag:02x}"


class Reader:
    """A window [pos, end) of `data` holding one element (or, once entered, a list)."""

    __slots__ = ("data", "depth", "end", "pos")

    def __init__(self, data: bytes, pos: int, end: int, depth: int) -> None:
        self.data = data
        self.pos = pos
        self.end = end
        self.depth = depth

    @classmethod
    def top(cls, data: bytes | bytearray | memoryview, what: str) -> Reader:
        """A reader over a whole message, after the size bound."""
        if len(data) > MAX_MESSAGE_SIZE:
            raise DecodeError(
                f"{what}: message of {len(data)} bytes exceeds the {MAX_MESSAGE_SIZE} byte limit", 0
            )
        buf = data if isinstance(data, bytes) else bytes(data)
        return cls(buf, 0, len(buf), 0)

    def peek_tag(self, what: str) -> int:
        """The first identifier octet of the element at pos (no bounds beyond pos < end)."""
        if self.pos >= self.end:
            raise DecodeError(f"{what}: expected an element, found the end of the data", self.pos)
        return self.data[self.pos]

    def _one(self, tag: int, what: str) -> tuple[int, int]:
        """The window holds exactly one element, with this tag: return its content range."""
        start = self.pos
        end = self.end
        # Fast path: the expected low-number tag, a length of one to three octets
        # (elements up to 64 KiB), filling the window exactly. Anything else (longer
        # lengths, errors) takes the general path below, which gives the same result.
        data = self.data
        if start + 1 < end and data[start] == tag:
            first = data[start + 1]
            cs = length = -1
            if first < 0x80:
                cs, length = start + 2, first
            # Long forms (X.690 8.1.3.5), non-minimal octets accepted as read_header does.
            elif first == 0x81 and start + 2 < end:
                cs, length = start + 3, data[start + 2]
            elif first == 0x82 and start + 3 < end:
                cs, length = start + 4, data[start + 2] << 8 | data[start + 3]
            if cs + length == end:
                self.pos = end
                return cs, end
        try:
            got, cs, ce = read_header(data, start, end)
        except DecodeError as exc:
            raise DecodeError(f"{what}: {exc.what}", exc.offset) from None
        if got != tag:
            raise DecodeError(f"{what}: expected {_tag_name(tag)}, found {_tag_name(got)}", start)
        if ce != self.end:
            raise DecodeError(f"{what}: {self.end - ce} unexpected bytes after the element", ce)
        self.pos = ce
        return cs, ce

    def _child(self, cs: int, ce: int, what: str) -> Reader:
        if self.depth >= MAX_DEPTH:
            raise DecodeError(f"{what}: nesting deeper than {MAX_DEPTH} levels", cs)
        return Reader(self.data, cs, ce, self.depth + 1)

    def raw(self) -> bytes:
        """The exact bytes of this window (e.g. a req-body as sent, for its checksum)."""
        return self.data[self.pos : self.end]

    def enter(self, tag: int, what: str) -> Reader:
        """The content of the one constructed element `tag` as a reader."""
        cs, ce = self._one(tag, what)
        return self._child(cs, ce, what)

    def fields(self, count: int, what: str, tag: int = TAG_SEQUENCE) -> list[Reader | None]:
        """A SEQUENCE of explicitly tagged fields [0]..[count-1], each None when absent.

        Tags must ascend (DER, X.690 10.3 ordering of a SEQUENCE); unknown higher
        context tags are extensions (RFC 4120 5.1 "...") and are skipped.
        """
        cs, ce = self._one(tag, what)
        if self.depth >= MAX_DEPTH:
            raise DecodeError(f"{what}: nesting deeper than {MAX_DEPTH} levels", cs)
        data, depth = self.data, self.depth + 1
        out: list[Reader | None] = [None] * count
        last = -1
        seen = 0
        pos = cs
        while pos < ce:
            ftag = data[pos]
            # Fast path: [0]..[30] with a length of one to three octets that fits (checked
            # as read_header checks it, non-minimal long forms accepted as it accepts them).
            fce = -1
            if 0xA0 <= ftag <= 0xBE and pos + 1 < ce:
                first = data[pos + 1]
                if first < 0x80:
                    fcs = pos + 2
                    fce = fcs + first
                elif first == 0x81 and pos + 2 < ce:
                    fcs = pos + 3
                    fce = fcs + data[pos + 2]
                elif first == 0x82 and pos + 3 < ce:
                    fcs = pos + 4
                    fce = fcs + (data[pos + 2] << 8 | data[pos + 3])
                if fce > ce:
                    fce = -1  # let read_header report it
            if fce < 0:
                try:
                    ftag, fcs, fce = read_header(data, pos, ce)
                except DecodeError as exc:
                    raise DecodeError(f"{what}: {exc.what}", exc.offset) from None
            if 0xA0 <= ftag <= 0xBE:
                number = ftag - 0xA0
            elif ftag >= 1 << 24 and (ftag >> 24) & 0xE0 == 0xA0:
                number = ftag & 0xFFFFFF
            else:
                raise DecodeError(f"{what}: expected a context tag, found {_tag_name(ftag)}", pos)
            if number <= last:
                raise DecodeError(f"{what}: field [{number}] repeated or out of order", pos)
            seen += 1
            if seen > MAX_FIELDS:
                raise DecodeError(f"{what}: more than {MAX_FIELDS} fields", pos)
            last = number
            if number < count:
                out[number] = Reader(data, fcs, fce, depth)
            pos = fce
        return out

    def items(self, what: str, limit: int = MAX_ELEMENTS) -> list[Reader]:
        """The elements of the one SEQUENCE OF in this window, each as a one-element reader."""
        cs, ce = self._one(TAG_SEQUENCE, what)
        if self.depth >= MAX_DEPTH:
            raise DecodeError(f"{what}: nesting deeper than {MAX_DEPTH} levels", cs)
        data, depth = self.data, self.depth + 1
        out: list[Reader] = []
        pos = cs
        while pos < ce:
            if len(out) >= limit:
                raise DecodeError(f"{what}: more than {limit} elements", pos)
            ice = -1
            if pos + 1 < ce and data[pos] & 0x1F != 0x1F:  # fast path: low tag, as fields()
                first = data[pos + 1]
                if first < 0x80:
                    ice = pos + 2 + first
                elif first == 0x81 and pos + 2 < ce:
                    ice = pos + 3 + data[pos + 2]
                elif first == 0x82 and pos + 3 < ce:
                    ice = pos + 4 + (data[pos + 2] << 8 | data[pos + 3])
                if ice > ce:
                    ice = -1
            if ice < 0:
                try:
                    _, _, ice = read_header(data, pos, ce)
                except DecodeError as exc:
                    raise DecodeError(f"{what}: {exc.what}", exc.offset) from None
            out.append(Reader(data, pos, ice, depth))
            pos = ice
        return out

    def integer(self, what: str, lo: int = INT32_MIN, hi: int = INT32_MAX) -> int:
        cs, ce = self._one(TAG_INTEGER, what)
        if ce - cs == 1:
            # Fast path: pvno, msg-type, etypes, name-types, kvnos are one content octet,
            # two's complement (X.690 8.3.3): 0x80..0xFF are -128..-1.
            value = self.data[cs]
            if value >= 0x80:
                value -= 0x100
        else:
            if cs == ce:
                raise DecodeError(f"{what}: empty INTEGER", cs)
            if ce - cs > 9:  # nothing Kerberos carries needs more than 64 bits + sign
                raise DecodeError(f"{what}: INTEGER of {ce - cs} octets is out of range", cs)
            value = int.from_bytes(self.data[cs:ce], "big", signed=True)
        if not lo <= value <= hi:
            raise DecodeError(f"{what}: {value} is outside {lo}..{hi}", cs)
        return value

    def int32(self, what: str) -> int:
        return self.integer(what, INT32_MIN, INT32_MAX)

    def uint32(self, what: str) -> int:
        # Accept the signed form some peers send (RFC 4120 5.3/5.5.1); keep it as received.
        return self.integer(what, INT32_MIN, UINT32_MAX)

    def microseconds(self, what: str) -> int:
        return self.integer(what, 0, 999999)

    def boolean(self, what: str) -> bool:
        cs, ce = self._one(TAG_BOOLEAN, what)
        if ce - cs != 1:
            raise DecodeError(f"{what}: BOOLEAN must be one octet", cs)
        return self.data[cs] != 0  # BER: any non-zero is TRUE

    def octets(self, what: str) -> bytes:
        cs, ce = self._one(TAG_OCTET_STRING, what)
        return self.data[cs:ce]

    def _text(self, tag: int, what: str, limit: int = MAX_MESSAGE_SIZE) -> str:
        cs, ce = self._one(tag, what)
        if ce - cs > limit:
            raise DecodeError(f"{what}: {ce - cs} octets, more than the {limit} allowed", cs)
        try:
            return self.data[cs:ce].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DecodeError(f"{what}: not valid UTF-8 ({exc.reason})", cs + exc.start) from None

    def kerberos_string(self, what: str, limit: int = MAX_MESSAGE_SIZE) -> str:
        """A KerberosString of at most `limit` octets (refused before it is decoded)."""
        return self._text(TAG_GENERAL_STRING, what, limit)

    def utf8_string(self, what: str) -> str:
        return self._text(TAG_UTF8_STRING, what)

    def kerberos_time(self, what: str) -> datetime:
        cs, ce = self._one(TAG_GENERALIZED_TIME, what)
        text = self.data[cs:ce]
        known = _TIME_MEMO.get(text)
        if known is not None:
            return known
        if ce - cs != 15 or text[14] != 0x5A or not text[:14].isdigit():
            raise DecodeError(f"{what}: KerberosTime must be YYYYMMDDHHMMSSZ (RFC 4120 5.2.3)", cs)
        digits = int(text[:14])  # one conversion, then the fields by arithmetic
        try:
            value = datetime(
                digits // 10**10, digits // 10**8 % 100, digits // 10**6 % 100,
                digits // 10**4 % 100, digits // 100 % 100, digits % 100, tzinfo=UTC,
            )  # fmt: skip
        except ValueError as exc:
            raise DecodeError(f"{what}: invalid date or time ({exc})", cs) from None
        if len(_TIME_MEMO) >= _TIME_MEMO_SIZE:
            _TIME_MEMO.clear()  # one atomic step for threads sharing the module
        _TIME_MEMO[text] = value
        return value

    def kerberos_flags(self, what: str) -> int:
        """Any-length BIT STRING, padded or truncated to 32 bits (RFC 4120 5.2.8)."""
        cs, ce = self._one(TAG_BIT_STRING, what)
        if cs == ce:
            raise DecodeError(f"{what}: BIT STRING without its unused-bits octet", cs)
        unused = self.data[cs]
        if unused > 7 or (unused and ce - cs == 1):
            raise DecodeError(f"{what}: invalid unused-bits count {unused}", cs)
        bits = self.data[cs + 1 : min(ce, cs + 5)]
        value = int.from_bytes(bits, "big") << (8 * (4 - len(bits)))
        if ce - cs <= 5 and unused:  # unused bits of the last octet must be ignored
            value &= ~((1 << unused) - 1) << (8 * (4 - len(bits)))
        return value

    def oid(self, what: str) -> str:
        cs, ce = self._one(TAG_OID, what)
        return oid_from_content(self.data[cs:ce], cs)

    def bit_string(self, what: str) -> tuple[bytes, int]:
        """(octets, unused_bits) of a BIT STRING."""
        cs, ce = self._one(TAG_BIT_STRING, what)
        if cs == ce or self.data[cs] > 7 or (self.data[cs] and ce - cs == 1):
            raise DecodeError(f"{what}: malformed BIT STRING", cs)
        return self.data[cs + 1 : ce], self.data[cs]


def required(fields: list[Reader | None], number: int, what: str, offset: int) -> Reader:
    """Field [number] of a decoded SEQUENCE, or a DecodeError saying it is missing."""
    field = fields[number]
    if field is None:
        raise DecodeError(f"{what}: required field [{number}] is missing", offset)
    return field
