"""Exceptions of the crypto layer.

Every error a caller can meet is a KerberosCryptoError, so a KDC or an acceptor can catch one
class around any crypto call and map it to a Kerberos error code.
"""

from __future__ import annotations


class KerberosCryptoError(Exception):
    """Base class: bad key, bad parameters, failed integrity check, unsupported enctype."""


class UnsupportedEnctype(KerberosCryptoError):
    """The enctype (or checksum type, or enctype name) is not one kerbfirst implements.

    kerbfirst implements only the AES enctypes 17, 18 (RFC 3962) and 19, 20 (RFC 8009);
    RC4 and DES are refused by design (RFC 6649, RFC 8429 deprecate them).
    """

    def __init__(self, etype: int | None, message: str | None = None) -> None:
        self.etype = etype
        if message is None:
            message = (
                f"encryption type {etype} is not supported: kerbfirst implements only "
                "aes256-cts-hmac-sha1-96 (18), aes128-cts-hmac-sha1-96 (17), "
                "aes256-cts-hmac-sha384-192 (20) and aes128-cts-hmac-sha256-128 (19); "
                "configure the peer or the key store to use one of these"
            )
        super().__init__(message)


class IntegrityError(KerberosCryptoError):
    """Ciphertext failed its integrity check (wrong key, wrong key usage, tampered or truncated
    input). Maps to KRB_AP_ERR_BAD_INTEGRITY (31) in RFC 4120 7.5.9."""
