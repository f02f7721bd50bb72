"""Long-term keys: derived from a password or random, and sealed at rest.

Derivation uses MIT's default salt (realm + components, RFC 4120 4) for random keys too,
so ETYPE-INFO2 is uniform. Sealing is AES-256-GCM under the master key with an AAD of
(principal, kvno, etype): a sealed key copied onto another principal, kvno or enctype
fails to open instead of silently becoming that principal's key.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kerbfirst.crypto import get_profile, random_to_key, string_to_key
from kerbfirst.krb.database import KeyEntry
from kerbfirst.krb.names import Principal, default_salt
from kerbfirst.store.masterkey import MASTER_KEY_SIZE
from kerbfirst.store.principal_records import StoreError

NONCE_SIZE = 12
_CHECK_PLAINTEXT = b"kerbfirst"


def derive_keys(
    principal: Principal, kvno: int, etypes: Iterable[int], password: str | None
) -> list[KeyEntry]:
    """One key per enctype; password None gives random keys (services, krbtgt)."""
    salt = default_salt(principal.components, principal.realm)
    keys: list[KeyEntry] = []
    for etype in etypes:
        profile = get_profile(etype)  # refuses anything but 17, 18, 19, 20
        if password is None:
            key = random_to_key(etype, os.urandom(profile.key_size))
        else:
            key = string_to_key(etype, password.encode("utf-8"), salt)
        keys.append(KeyEntry(kvno, etype, key.contents, salt, None))
    if not keys:
        raise StoreError(f"no enctypes given for {principal.unparse()}; use e.g. 18 and 17")
    return keys


def aad_for_key(name: str, kvno: int, etype: int) -> bytes:
    encoded = name.encode("utf-8", "surrogateescape")
    return (
        b"kerbfirst-key-v1\0"
        + len(encoded).to_bytes(4, "big")  # length prefix: no ambiguity between name and kvno
        + encoded
        + kvno.to_bytes(4, "big")
        + etype.to_bytes(4, "big", signed=True)
    )


class KeySealer:
    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != MASTER_KEY_SIZE:
            raise StoreError(f"master key must be {MASTER_KEY_SIZE} bytes, got {len(master_key)}")
        self._aead = AESGCM(master_key)

    def seal(self, name: str, kvno: int, etype: int, contents: bytes) -> tuple[bytes, bytes]:
        nonce = os.urandom(NONCE_SIZE)  # random 96-bit nonces: safe far below 2^32 seals
        return nonce, self._aead.encrypt(nonce, contents, aad_for_key(name, kvno, etype))

    def unseal(self, name: str, kvno: int, etype: int, nonce: bytes, sealed: bytes) -> bytes:
        try:
            return self._aead.decrypt(nonce, sealed, aad_for_key(name, kvno, etype))
        except InvalidTag:
            raise StoreError(
                f"key kvno {kvno} etype {etype} of {name} does not decrypt under the master "
                "key: the row was altered or moved from another principal"
            ) from None

    def make_check(self, realm: str) -> bytes:
        """A sealed known value stored with the database, to recognise the right master key."""
        nonce = os.urandom(NONCE_SIZE)
        return nonce + self._aead.encrypt(nonce, _CHECK_PLAINTEXT, self._check_aad(realm))

    def opens_check(self, realm: str, check: bytes) -> bool:
        try:
            self._aead.decrypt(check[:NONCE_SIZE], check[NONCE_SIZE:], self._check_aad(realm))
        except InvalidTag:
            return False
        return True

    @staticmethod
    def _check_aad(realm: str) -> bytes:
        return b"kerbfirst-master-key-check\0" + realm.encode("utf-8")
