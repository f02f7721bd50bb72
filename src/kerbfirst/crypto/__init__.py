"""Kerberos cryptography: enctypes 17, 18 (RFC 3962) and 19, 20 (RFC 8009) only.

Pure: no clock, no files, no randomness (the caller passes the confounder). RC4 and DES do
not exist here by design.
"""

from .errors import IntegrityError, KerberosCryptoError, UnsupportedEnctype
from .nfold import n_fold
from .operations import (
    MAX_ITERATIONS,
    cf2,
    clear_derived_key_cache,
    decrypt,
    derive_usage_keys,
    encrypt,
    make_checksum,
    prf,
    random_to_key,
    string_to_key,
    verify_checksum,
)
from .profiles import (
    SUPPORTED_ETYPES,
    EnctypeProfile,
    Key,
    checksum_type,
    etype_for_checksum_type,
    etype_from_name,
    get_profile,
)

__all__ = [
    "MAX_ITERATIONS",
    "SUPPORTED_ETYPES",
    "EnctypeProfile",
    "IntegrityError",
    "KerberosCryptoError",
    "Key",
    "UnsupportedEnctype",
    "cf2",
    "checksum_type",
    "clear_derived_key_cache",
    "decrypt",
    "derive_usage_keys",
    "encrypt",
    "etype_for_checksum_type",
    "etype_from_name",
    "get_profile",
    "make_checksum",
    "n_fold",
    "prf",
    "random_to_key",
    "string_to_key",
    "verify_checksum",
]
