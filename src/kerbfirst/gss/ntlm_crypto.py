"""NTLMv2's one-way functions and keys (MS-NLMP 3.3.2, 3.4.5.1, 3.1.5.1.2).

MD4 (for the NT hash, MS-NLMP 3.3.1 NTOWFv1) and RC4 (for the key exchange, 3.4.5.1) come
from pycryptodome: OpenSSL 3 moved both to its "legacy" provider, which `hashlib` does not
load (hashlib.new("md4") fails on Debian 12) and `cryptography` exposes only RC4, under
`decrepit`. One library for both keeps the dependency honest and the result the same on
every OpenSSL build. Nothing here is used for anything but NTLM.

Only NTLMv2 is here: NTLMv1 and LM responses are refused by the acceptor before any key
is computed, so there is no DES and no LMOWF.
"""

from __future__ import annotations

import hashlib
import hmac
import struct

from Crypto.Cipher import ARC4
from Crypto.Hash import MD4


def nt_hash(password: str) -> bytes:
    """NTOWFv1 = MD4(UNICODE(password)) (MS-NLMP 3.3.1): the stored NTLM secret."""
    return bytes(MD4.new(password.encode("utf-16-le")).digest())  # noqa: S303 (MS-NLMP)


def _hmac_md5(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.md5).digest()


def ntowf_v2(nt_hash_value: bytes, user: str, domain: str) -> bytes:
    """NTOWFv2 = HMAC_MD5(NT hash, UNICODE(Uppercase(user) + domain)) (MS-NLMP 3.3.2)."""
    return _hmac_md5(nt_hash_value, (user.upper() + domain).encode("utf-16-le"))


def nt_proof(response_key_nt: bytes, server_challenge: bytes, client_blob: bytes) -> bytes:
    """NTProofStr = HMAC_MD5(ResponseKeyNT, ServerChallenge + temp) (MS-NLMP 3.3.2)."""
    return _hmac_md5(response_key_nt, server_challenge + client_blob)


def session_base_key(response_key_nt: bytes, nt_proof_str: bytes) -> bytes:
    """SessionBaseKey = HMAC_MD5(ResponseKeyNT, NTProofStr); for NTLMv2 it is also the
    KeyExchangeKey (MS-NLMP 3.4.5.1)."""
    return _hmac_md5(response_key_nt, nt_proof_str)


def lmv2_response(response_key_nt: bytes, server_challenge: bytes,
                  client_challenge: bytes) -> bytes:
    """LMv2 = HMAC_MD5(ResponseKeyLM, ServerChallenge + ClientChallenge) + ClientChallenge,
    where ResponseKeyLM is NTOWFv2 too (MS-NLMP 3.3.2). Only the initiator side (tests)."""
    return _hmac_md5(response_key_nt, server_challenge + client_challenge) + client_challenge


def rc4(key: bytes, data: bytes) -> bytes:
    return bytes(ARC4.new(key).encrypt(data))


def exported_session_key(key_exchange_key: bytes, encrypted_random_key: bytes, flags: int,
                         key_exch_flag: int) -> bytes:
    """ExportedSessionKey: RC4(KeyExchangeKey, EncryptedRandomSessionKey) when the client
    negotiated NTLMSSP_NEGOTIATE_KEY_EXCH, else the KeyExchangeKey (MS-NLMP 3.2.5.1.2)."""
    if flags & key_exch_flag and encrypted_random_key:
        return rc4(key_exchange_key, encrypted_random_key)
    return key_exchange_key


def mic(exported_key: bytes, negotiate: bytes, challenge: bytes, authenticate: bytes) -> bytes:
    """MIC = HMAC_MD5(ExportedSessionKey, NEGOTIATE + CHALLENGE + AUTHENTICATE with the MIC
    field zeroed) (MS-NLMP 3.1.5.1.2)."""
    return _hmac_md5(exported_key, negotiate + challenge + authenticate)


def channel_bindings_hash(application_data: bytes, initiator_addrtype: int = 0,
                          initiator_address: bytes = b"", acceptor_addrtype: int = 0,
                          acceptor_address: bytes = b"") -> bytes:
    """MsvAvChannelBindings: MD5 of the gss_channel_bindings_struct (RFC 4121 4.1.1.2 as
    MS-NLMP 3.1.5.1.2 lays it out: each field little-endian, address and data preceded
    by their length). For TLS (RFC 5929 4) the application data is
    b"tls-server-end-point:" + the hash of the server's certificate."""
    struct_bytes = b"".join((
        struct.pack("<II", initiator_addrtype, len(initiator_address)), initiator_address,
        struct.pack("<II", acceptor_addrtype, len(acceptor_address)), acceptor_address,
        struct.pack("<I", len(application_data)), application_data,
    ))
    return hashlib.md5(struct_bytes).digest()  # noqa: S324 (MS-NLMP fixes MD5)


def tls_server_end_point(certificate_hash: bytes) -> bytes:
    """The RFC 5929 application data for a server certificate's hash."""
    return b"tls-server-end-point:" + certificate_hash
