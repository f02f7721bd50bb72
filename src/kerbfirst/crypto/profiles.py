"""Enctype profiles and the Key value: the facts of RFC 3962 section 6 and RFC 8009 section 5.

Only the four AES enctypes exist here. Names are MIT krb5's (kdc.conf(5) "Encryption types").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from .errors import KerberosCryptoError, UnsupportedEnctype

# RFC 3962 6: default s2kparams 00 00 10 00; RFC 8009 4: default 00 00 80 00.
_SHA1_DEFAULT_ITERATIONS = 4096
_SHA2_DEFAULT_ITERATIONS = 32768


@dataclass(slots=True, init=False, repr=False, unsafe_hash=True)
class Key:
    """A Kerberos protocol key (RFC 4120 EncryptionKey). Its contents are never printed.

    A Key of an unimplemented enctype can be held (a keytab may carry one, to be skipped),
    but every operation on it raises UnsupportedEnctype.

    Immutable without `frozen=True`: the fields are Final (mypy --strict refuses any
    assignment outside __init__, and the mypyc-compiled build makes them read-only), and the
    hand-written __init__ stores them directly. A frozen dataclass's generated __init__ goes
    through object.__setattr__ per field, several times slower, and the KDC builds a few
    Keys per request. Equality and hashing (generated) cover both fields.
    """

    etype: Final[int]
    contents: Final[bytes]

    def __init__(self, etype: int, contents: bytes) -> None:
        if not isinstance(contents, bytes):
            raise KerberosCryptoError(f"key contents must be bytes, got {type(contents).__name__}")
        profile = _PROFILES.get(etype)
        if profile is not None and len(contents) != profile.key_size:
            raise KerberosCryptoError(
                f"{profile.name} keys are {profile.key_size} bytes, got {len(contents)}: "
                "the key material is truncated or belongs to another enctype"
            )
        self.etype = etype
        self.contents = contents

    def __repr__(self) -> str:  # the etype only: key material must never reach a log
        return f"Key(etype={self.etype!r})"


@dataclass(frozen=True)
class EnctypeProfile:
    """Parameters of one enctype. Sizes are in bytes."""

    etype: int
    name: str
    key_size: int
    block_size: int
    mac_size: int
    checksum_type: int
    default_iterations: int
    confounder_size: int
    aliases: tuple[str, ...]
    # Hash of HMAC and PBKDF2: "sha1" (RFC 3962), "sha256"/"sha384" (RFC 8009).
    hash_name: str
    # Output size of prf(): 16 for RFC 3962 4, 32/48 for RFC 8009 5.
    prf_size: int

    @property
    def is_rfc8009(self) -> bool:
        return self.hash_name != "sha1"


_PROFILES: dict[int, EnctypeProfile] = {
    p.etype: p
    for p in (
        EnctypeProfile(
            etype=18,
            name="aes256-cts-hmac-sha1-96",
            key_size=32,
            block_size=16,
            mac_size=12,
            checksum_type=16,
            default_iterations=_SHA1_DEFAULT_ITERATIONS,
            confounder_size=16,
            aliases=("aes256-cts", "aes256-sha1"),
            hash_name="sha1",
            prf_size=16,
        ),
        EnctypeProfile(
            etype=17,
            name="aes128-cts-hmac-sha1-96",
            key_size=16,
            block_size=16,
            mac_size=12,
            checksum_type=15,
            default_iterations=_SHA1_DEFAULT_ITERATIONS,
            confounder_size=16,
            aliases=("aes128-cts", "aes128-sha1"),
            hash_name="sha1",
            prf_size=16,
        ),
        EnctypeProfile(
            etype=20,
            name="aes256-cts-hmac-sha384-192",
            key_size=32,
            block_size=16,
            mac_size=24,
            checksum_type=20,
            default_iterations=_SHA2_DEFAULT_ITERATIONS,
            confounder_size=16,
            aliases=("aes256-sha2",),
            hash_name="sha384",
            prf_size=48,
        ),
        EnctypeProfile(
            etype=19,
            name="aes128-cts-hmac-sha256-128",
            key_size=16,
            block_size=16,
            mac_size=16,
            checksum_type=19,
            default_iterations=_SHA2_DEFAULT_ITERATIONS,
            confounder_size=16,
            aliases=("aes128-sha2",),
            hash_name="sha256",
            prf_size=32,
        ),
    )
}

SUPPORTED_ETYPES: tuple[int, ...] = (18, 17, 20, 19)
"""The implemented enctypes in kerbfirst's default preference order."""

_BY_NAME: dict[str, int] = {}
for _p in _PROFILES.values():
    for _n in (_p.name, *_p.aliases):
        _BY_NAME[_n] = _p.etype

# Names that peers and old configurations use for refused enctypes: recognised only to give
# a precise error (with the number) instead of "unknown name". No implementation exists.
_REFUSED_NAMES: dict[str, int] = {
    "des-cbc-crc": 1,
    "des-cbc-md4": 2,
    "des-cbc-md5": 3,
    "des3-cbc-sha1": 16,
    "des3-hmac-sha1": 16,
    "des3-cbc-sha1-kd": 16,
    "arcfour-hmac": 23,
    "rc4-hmac": 23,
    "arcfour-hmac-md5": 23,
    "arcfour-hmac-exp": 24,
    "rc4-hmac-exp": 24,
    "camellia128-cts-cmac": 25,
    "camellia256-cts-cmac": 26,
}

_ETYPE_BY_CKSUMTYPE: dict[int, int] = {p.checksum_type: p.etype for p in _PROFILES.values()}


def get_profile(etype: int) -> EnctypeProfile:
    """The profile of an implemented enctype; UnsupportedEnctype for anything else."""
    profile = _PROFILES.get(etype)
    if profile is None:
        raise UnsupportedEnctype(etype)
    return profile


def etype_from_name(name: str) -> int:
    """Map an MIT enctype name or alias (case-insensitive) to its number.

    Accepts e.g. "aes256-cts-hmac-sha1-96", "aes256-cts", "aes256-sha1", "aes128-sha2", or the
    decimal number of an implemented enctype.
    """
    key = name.strip().lower()
    if key in _BY_NAME:
        return _BY_NAME[key]
    if key.isdigit():
        return get_profile(int(key)).etype
    if key in _REFUSED_NAMES:
        etype = _REFUSED_NAMES[key]
        raise UnsupportedEnctype(
            etype,
            f"enctype {name!r} ({etype}) is refused by design: RC4, DES, 3DES and Camellia are "
            "not implemented; use aes256-cts-hmac-sha1-96, aes128-cts-hmac-sha1-96, "
            "aes256-cts-hmac-sha384-192 or aes128-cts-hmac-sha256-128",
        )
    known = ", ".join(sorted(_BY_NAME))
    raise UnsupportedEnctype(None, f"unknown enctype name {name!r}; known names: {known}")


def checksum_type(etype: int) -> int:
    """The keyed checksum type that goes with an enctype (RFC 3962 7, RFC 8009 5)."""
    return get_profile(etype).checksum_type


def etype_for_checksum_type(cksumtype: int) -> int:
    """The enctype whose keys compute a given checksum type (15->17, 16->18, 19->19, 20->20)."""
    etype = _ETYPE_BY_CKSUMTYPE.get(cksumtype)
    if etype is None:
        raise UnsupportedEnctype(
            None,
            f"checksum type {cksumtype} is not supported: kerbfirst implements only "
            "hmac-sha1-96-aes128 (15), hmac-sha1-96-aes256 (16), "
            "hmac-sha256-128-aes128 (19) and hmac-sha384-192-aes256 (20)",
        )
    return etype
