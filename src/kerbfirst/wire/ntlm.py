"""NTLMSSP messages (MS-NLMP 2.2): NEGOTIATE, CHALLENGE, AUTHENTICATE, AV pairs and the
NTLMv2 client challenge, as bounded, strict codecs.

Every length and offset is checked against the message before it is used; a message
longer than `MAX_MESSAGE` is refused unread. A field that points outside the message,
overlaps the fixed header, or a string that is not valid UTF-16LE raises `NtlmFormatError`
naming the field. Only Unicode (NTLMSSP_NEGOTIATE_UNICODE) strings are accepted: OEM
code pages cannot be decoded without knowing the client's locale.
"""

from __future__ import annotations

import dataclasses
import enum
import struct
from collections.abc import Iterable, Mapping

SIGNATURE = b"NTLMSSP\x00"
MAX_MESSAGE = 4096  # Windows' AUTHENTICATE is well under 2 KiB; a larger one is not NTLM
MAX_AV_PAIRS = 32
MAX_STRING = 512  # bytes of one user/domain/workstation name (UTF-16LE)


class NtlmVersion(enum.StrEnum):
    """Which NTLM response an AUTHENTICATE carried (MS-NLMP 3.3.1 LM/NTLMv1, 3.3.2
    NTLMv2), as the acceptor tells it apart and as an audit log reports it. The values
    are what the workbench stores; Windows' 4624 LmPackageName spells them `lm_package`."""

    NTLMV2 = "NTLMv2"
    NTLMV1 = "NTLMv1"
    LM = "LM"
    UNKNOWN = "unknown"  # a log that did not say

    @property
    def lm_package(self) -> str:
        """Security 4624's LmPackageName: "NTLM V2", "NTLM V1", "LM" ("-" when unknown)."""
        return {"NTLMv2": "NTLM V2", "NTLMv1": "NTLM V1", "LM": "LM"}.get(self.value, "-")

# NegotiateFlags (MS-NLMP 2.2.2.5)
NEGOTIATE_UNICODE = 0x00000001
NEGOTIATE_OEM = 0x00000002
REQUEST_TARGET = 0x00000004
NEGOTIATE_SIGN = 0x00000010
NEGOTIATE_SEAL = 0x00000020
NEGOTIATE_DATAGRAM = 0x00000040
NEGOTIATE_LM_KEY = 0x00000080
NEGOTIATE_NTLM = 0x00000200
NEGOTIATE_ANONYMOUS = 0x00000800
NEGOTIATE_OEM_DOMAIN_SUPPLIED = 0x00001000
NEGOTIATE_OEM_WORKSTATION_SUPPLIED = 0x00002000
NEGOTIATE_ALWAYS_SIGN = 0x00008000
TARGET_TYPE_DOMAIN = 0x00010000
TARGET_TYPE_SERVER = 0x00020000
NEGOTIATE_EXTENDED_SESSIONSECURITY = 0x00080000
NEGOTIATE_IDENTIFY = 0x00100000
REQUEST_NON_NT_SESSION_KEY = 0x00400000
NEGOTIATE_TARGET_INFO = 0x00800000
NEGOTIATE_VERSION = 0x02000000
NEGOTIATE_128 = 0x20000000
NEGOTIATE_KEY_EXCH = 0x40000000
NEGOTIATE_56 = 0x80000000

# AvId (MS-NLMP 2.2.2.1)
AV_EOL = 0
AV_NB_COMPUTER_NAME = 1
AV_NB_DOMAIN_NAME = 2
AV_DNS_COMPUTER_NAME = 3
AV_DNS_DOMAIN_NAME = 4
AV_DNS_TREE_NAME = 5
AV_FLAGS = 6
AV_TIMESTAMP = 7
AV_SINGLE_HOST = 8
AV_TARGET_NAME = 9
AV_CHANNEL_BINDINGS = 10
# MsvAvFlags bits
AV_FLAG_CONSTRAINED = 0x1
AV_FLAG_MIC_PRESENT = 0x2
AV_FLAG_UNTRUSTED_SPN = 0x4
# Fixed value sizes where the spec gives one.
_AV_SIZES = {AV_FLAGS: 4, AV_TIMESTAMP: 8, AV_CHANNEL_BINDINGS: 16, AV_SINGLE_HOST: 48}

NEGOTIATE_HEADER = 32
CHALLENGE_HEADER = 56  # with Version
AUTHENTICATE_HEADER = 88  # with Version and MIC
MIC_OFFSET = 72
NTLMV2_RESPONSE_MIN = 16 + 28 + 4  # NTProofStr + client challenge header + MsvAvEOL
# Windows 10 / Server 2016 as the version we announce (MS-NLMP 2.2.2.10); informational.
DEFAULT_VERSION = bytes([10, 0]) + struct.pack("<H", 19041) + b"\x00\x00\x00\x0f"


class NtlmFormatError(ValueError):
    """An NTLMSSP message is malformed; the message says which field."""


def _field(data: bytes, at: int, name: str, header: int, limit: int) -> bytes:
    """A (Len, MaxLen, Offset) security buffer at `at` (MS-NLMP 2.2.1)."""
    length, _max, offset = struct.unpack_from("<HHI", data, at)
    if length == 0:
        return b""
    if length > limit:
        raise NtlmFormatError(f"{name}: {length} bytes is more than the {limit} allowed")
    if offset < header or offset + length > len(data):
        raise NtlmFormatError(
            f"{name}: offset {offset} length {length} lies outside the payload "
            f"({header}..{len(data)})"
        )
    return data[offset:offset + length]


def _text(raw: bytes, name: str) -> str:
    if len(raw) % 2:
        raise NtlmFormatError(f"{name}: odd length {len(raw)} is not UTF-16LE")
    try:
        return raw.decode("utf-16-le")
    except UnicodeDecodeError:
        raise NtlmFormatError(f"{name}: not valid UTF-16LE") from None


def _start(data: bytes, kind: int, header: int, what: str) -> None:
    if not isinstance(data, bytes | bytearray):
        raise NtlmFormatError(f"{what}: expected bytes")
    if len(data) > MAX_MESSAGE:
        raise NtlmFormatError(f"{what}: {len(data)} bytes exceeds {MAX_MESSAGE}")
    if len(data) < header:
        raise NtlmFormatError(f"{what}: {len(data)} bytes is shorter than its {header}-byte header")
    if data[:8] != SIGNATURE:
        raise NtlmFormatError(f"{what}: no NTLMSSP signature")
    (found,) = struct.unpack_from("<I", data, 8)
    if found != kind:
        raise NtlmFormatError(f"{what}: MessageType is {found}, expected {kind}")


# ------------------------------------------------------------------------------ AV pairs


def decode_av_pairs(data: bytes, *, allow_trailing: bool = False) -> dict[int, bytes]:
    """AvId -> value of an AV_PAIR list (MS-NLMP 2.2.2.1). Strict: it must end with
    MsvAvEOL, no AvId twice, fixed-size values at their size. With `allow_trailing`,
    bytes after MsvAvEOL are allowed if zero (clients pad the NTLMv2 client challenge)."""
    pairs: dict[int, bytes] = {}
    pos = 0
    while True:
        if pos + 4 > len(data):
            raise NtlmFormatError("AV pairs: list ends without MsvAvEOL")
        av_id, av_len = struct.unpack_from("<HH", data, pos)
        pos += 4
        if av_id == AV_EOL:
            if av_len != 0:
                raise NtlmFormatError("AV pairs: MsvAvEOL with a non-zero length")
            rest = data[pos:]
            if rest and not (allow_trailing and not any(rest)):
                raise NtlmFormatError(f"AV pairs: {len(rest)} bytes after MsvAvEOL")
            return pairs
        if pos + av_len > len(data):
            raise NtlmFormatError(f"AV pairs: AvId {av_id} length {av_len} runs past the end")
        if av_id in pairs:
            raise NtlmFormatError(f"AV pairs: AvId {av_id} appears twice")
        size = _AV_SIZES.get(av_id)
        if size is not None and av_len != size:
            raise NtlmFormatError(f"AV pairs: AvId {av_id} is {av_len} bytes, must be {size}")
        if len(pairs) >= MAX_AV_PAIRS:
            raise NtlmFormatError(f"AV pairs: more than {MAX_AV_PAIRS}")
        pairs[av_id] = bytes(data[pos:pos + av_len])
        pos += av_len


def encode_av_pairs(pairs: Iterable[tuple[int, bytes]]) -> bytes:
    out = bytearray()
    for av_id, value in pairs:
        out += struct.pack("<HH", av_id, len(value)) + value
    return bytes(out + struct.pack("<HH", AV_EOL, 0))


def av_text(pairs: Mapping[int, bytes], av_id: int) -> str | None:
    raw = pairs.get(av_id)
    return None if raw is None else _text(raw, f"AvId {av_id}")


# ------------------------------------------------------------------------------ messages


@dataclasses.dataclass(frozen=True, slots=True)
class Negotiate:
    """NEGOTIATE_MESSAGE (MS-NLMP 2.2.1.1)."""

    flags: int
    raw: bytes


def decode_negotiate(data: bytes) -> Negotiate:
    _start(data, 1, NEGOTIATE_HEADER, "NEGOTIATE")
    (flags,) = struct.unpack_from("<I", data, 12)
    header = NEGOTIATE_HEADER + (8 if flags & NEGOTIATE_VERSION else 0)
    # OEM domain and workstation hints are read only for bounds; they are not trusted.
    _field(data, 16, "NEGOTIATE DomainName", NEGOTIATE_HEADER, MAX_STRING)
    _field(data, 24, "NEGOTIATE Workstation", NEGOTIATE_HEADER, MAX_STRING)
    if len(data) < header:
        raise NtlmFormatError("NEGOTIATE: NEGOTIATE_VERSION set but no Version field")
    return Negotiate(flags, bytes(data))


@dataclasses.dataclass(frozen=True, slots=True)
class Challenge:
    """CHALLENGE_MESSAGE (MS-NLMP 2.2.1.2)."""

    flags: int
    server_challenge: bytes
    target_name: str
    target_info: dict[int, bytes]
    raw: bytes


def encode_challenge(
    *, flags: int, server_challenge: bytes, target_name: str, target_info: bytes,
    version: bytes = DEFAULT_VERSION,
) -> bytes:
    if len(server_challenge) != 8:
        raise ValueError("the server challenge is 8 bytes")
    name = target_name.encode("utf-16-le")
    name_at = CHALLENGE_HEADER
    info_at = name_at + len(name)
    return b"".join((
        SIGNATURE, struct.pack("<I", 2),
        struct.pack("<HHI", len(name), len(name), name_at),
        struct.pack("<I", flags), server_challenge, bytes(8),
        struct.pack("<HHI", len(target_info), len(target_info), info_at),
        version, name, target_info,
    ))


def decode_challenge(data: bytes) -> Challenge:
    _start(data, 2, 48, "CHALLENGE")
    (flags,) = struct.unpack_from("<I", data, 20)
    header = CHALLENGE_HEADER if flags & NEGOTIATE_VERSION else 48
    if len(data) < header:
        raise NtlmFormatError("CHALLENGE: NEGOTIATE_VERSION set but no Version field")
    name = _text(_field(data, 12, "CHALLENGE TargetName", header, MAX_STRING), "TargetName")
    info_raw = _field(data, 40, "CHALLENGE TargetInfo", header, MAX_MESSAGE)
    info = decode_av_pairs(info_raw) if info_raw else {}
    return Challenge(flags, bytes(data[24:32]), name, info, bytes(data))


@dataclasses.dataclass(frozen=True, slots=True)
class ClientChallenge:
    """NTLMv2_CLIENT_CHALLENGE (MS-NLMP 2.2.2.7): the part of the NT response after
    NTProofStr."""

    timestamp: int  # FILETIME: 100 ns units since 1601-01-01 UTC
    client_challenge: bytes
    av_pairs: dict[int, bytes]
    raw: bytes


def decode_client_challenge(data: bytes) -> ClientChallenge:
    if len(data) < 28 + 4:
        raise NtlmFormatError("NTLMv2 client challenge: too short")
    if data[0] != 1 or data[1] != 1:
        raise NtlmFormatError(
            f"NTLMv2 client challenge: RespType {data[0]}/HiRespType {data[1]}, expected 1/1"
        )
    (timestamp,) = struct.unpack_from("<Q", data, 8)
    pairs = decode_av_pairs(data[28:], allow_trailing=True)
    return ClientChallenge(timestamp, bytes(data[16:24]), pairs, bytes(data))


@dataclasses.dataclass(frozen=True, slots=True)
class Authenticate:
    """AUTHENTICATE_MESSAGE (MS-NLMP 2.2.1.3), with its MIC."""

    flags: int
    lm_response: bytes
    nt_response: bytes
    domain: str
    user: str
    workstation: str
    encrypted_session_key: bytes
    mic: bytes  # 16 bytes; zeros when the header had room but the client sent no MIC
    has_mic_field: bool
    raw: bytes

    def raw_without_mic(self) -> bytes:
        """The message with its MIC zeroed: what the MIC is computed over (MS-NLMP 3.2.5.1.2)."""
        if not self.has_mic_field:
            return self.raw
        return self.raw[:MIC_OFFSET] + bytes(16) + self.raw[MIC_OFFSET + 16:]


def decode_authenticate(data: bytes) -> Authenticate:
    _start(data, 3, 64, "AUTHENTICATE")
    (flags,) = struct.unpack_from("<I", data, 60)
    if not flags & NEGOTIATE_UNICODE:
        raise NtlmFormatError("AUTHENTICATE: only Unicode (NTLMSSP_NEGOTIATE_UNICODE) is accepted")
    # The header ends where the payload begins: the lowest offset of a non-empty field.
    offsets = []
    for at in (12, 20, 28, 36, 44, 52):
        length, _max, offset = struct.unpack_from("<HHI", data, at)
        if length:
            offsets.append(offset)
    # Version and MIC are present when the payload leaves room for them; the flags do not
    # say (curl echoes NEGOTIATE_VERSION from the CHALLENGE yet sends no Version field).
    payload = min(offsets, default=len(data))
    has_mic = payload >= AUTHENTICATE_HEADER and len(data) >= AUTHENTICATE_HEADER
    header = AUTHENTICATE_HEADER if has_mic else 72 if payload >= 72 else 64
    if len(data) < header:
        raise NtlmFormatError("AUTHENTICATE: shorter than its header")
    lm = _field(data, 12, "LmChallengeResponse", header, 24)
    nt = _field(data, 20, "NtChallengeResponse", header, MAX_MESSAGE)
    domain = _text(_field(data, 28, "DomainName", header, MAX_STRING), "DomainName")
    user = _text(_field(data, 36, "UserName", header, MAX_STRING), "UserName")
    ws = _text(_field(data, 44, "Workstation", header, MAX_STRING), "Workstation")
    key = _field(data, 52, "EncryptedRandomSessionKey", header, 16)
    if key and len(key) != 16:
        raise NtlmFormatError(f"EncryptedRandomSessionKey: {len(key)} bytes, must be 16")
    mic = bytes(data[MIC_OFFSET:MIC_OFFSET + 16]) if has_mic else bytes(16)
    return Authenticate(flags, lm, nt, domain, user, ws, key, mic, has_mic, bytes(data))


def encode_authenticate(
    *, flags: int, lm_response: bytes, nt_response: bytes, domain: str, user: str,
    workstation: str, encrypted_session_key: bytes, mic: bytes = bytes(16),
    version: bytes = DEFAULT_VERSION,
) -> bytes:
    """An AUTHENTICATE_MESSAGE with Version and MIC fields (the initiator side, used by
    tests and the fuzzer's seeds)."""
    parts = [lm_response, nt_response, domain.encode("utf-16-le"), user.encode("utf-16-le"),
             workstation.encode("utf-16-le"), encrypted_session_key]
    fields = bytearray()
    at = AUTHENTICATE_HEADER
    for p in parts:
        fields += struct.pack("<HHI", len(p), len(p), at)
        at += len(p)
    return b"".join((SIGNATURE, struct.pack("<I", 3), bytes(fields), struct.pack("<I", flags),
                     version, mic, *parts))

