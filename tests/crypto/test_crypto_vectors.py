"""Published test vectors: RFC 3961 A.1, RFC 3962 B, RFC 8009 A, MIT's cf2 regression data.

The vectors live in tests/crypto/vectors/*.json, each naming its source section.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from kerbfirst.crypto import (
    Key,
    cf2,
    decrypt,
    derive_usage_keys,
    encrypt,
    make_checksum,
    n_fold,
    prf,
    string_to_key,
    verify_checksum,
)
from kerbfirst.crypto import rfc3962 as rfc3962_profile
from kerbfirst.crypto.cts import AesCts, PersistentAesCts

VECTORS = pathlib.Path(__file__).parent / "vectors"


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTORS / name).read_text())
    return data


NFOLD = _load("rfc3961_a1_nfold.json")
S2K_3962 = _load("rfc3962_b_string_to_key.json")
CTS_3962 = _load("rfc3962_b_cts.json")
RFC8009 = _load("rfc8009_a.json")
CF2 = _load("mit_t_cf2.json")


def test_every_vector_file_names_its_source() -> None:
    for path in VECTORS.glob("*.json"):
        assert "source" in json.loads(path.read_text()), path


def test_vector_counts_match_the_documents() -> None:
    # Counted in the RFC texts: 11 n-fold cases, 7 PBKDF2 cases, 6 CTS cases; RFC 8009 A has
    # 2 string-to-key, 2 key-derivation, 8 encryption, 2 checksum and 2 PRF cases.
    assert len(NFOLD["vectors"]) == 11
    assert len(S2K_3962["vectors"]) == 7
    assert len(CTS_3962["vectors"]) == 6
    counts = {k: len(RFC8009[k]) for k in ("string_to_key", "key_derivation", "encryption")}
    assert counts == {"string_to_key": 2, "key_derivation": 2, "encryption": 8}
    assert len(RFC8009["checksum"]) == 2 and len(RFC8009["prf"]) == 2


# ---- RFC 3961 Appendix A.1 -------------------------------------------------------------


@pytest.mark.parametrize("vector", NFOLD["vectors"], ids=lambda v: v["name"])
def test_rfc3961_n_fold(vector: dict[str, Any]) -> None:
    out = n_fold(bytes.fromhex(vector["input_hex"]), vector["nbits"])
    assert out.hex() == vector["output_hex"]


# ---- RFC 3962 Appendix B ---------------------------------------------------------------


@pytest.mark.parametrize("vector", S2K_3962["vectors"], ids=lambda v: v["name"])
@pytest.mark.parametrize(("etype", "size"), [(17, 128), (18, 256)])
def test_rfc3962_string_to_key(vector: dict[str, Any], etype: int, size: int) -> None:
    password = bytes.fromhex(vector["password_hex"])
    salt = bytes.fromhex(vector["salt_hex"])
    # Intermediate value: the PBKDF2 output (tkey) printed by the RFC.
    tkey = PBKDF2HMAC(
        algorithm=hashes.SHA1(), length=size // 8, salt=salt, iterations=vector["iterations"]
    ).derive(password)
    assert tkey.hex() == vector[f"pbkdf2_{size}_hex"]
    assert rfc3962_profile.derive_key(tkey, b"kerberos").hex() == vector[f"key_{size}_hex"]
    params = vector["iterations"].to_bytes(4, "big")
    key = string_to_key(etype, password, salt, params)
    assert key == Key(etype, bytes.fromhex(vector[f"key_{size}_hex"]))


@pytest.mark.parametrize(
    "vector", CTS_3962["vectors"], ids=lambda v: f"{len(v['input_hex']) // 2}B"
)
@pytest.mark.parametrize("cts_class", [AesCts, PersistentAesCts])
def test_rfc3962_cbc_cts(vector: dict[str, Any], cts_class: type[AesCts]) -> None:
    aes = cts_class(bytes.fromhex(CTS_3962["key_hex"]))
    plain = bytes.fromhex(vector["input_hex"])
    out = aes.encrypt(plain)
    assert out.hex() == vector["output_hex"]
    assert aes.decrypt(out) == plain
    # Twice: a persistent context's second call starts from a non-zero chaining state.
    assert aes.encrypt(plain).hex() == vector["output_hex"]
    assert aes.decrypt(out) == plain
    # "Next IV" (the CBC state after the call) is the last full CBC block C_n, which CTS moves
    # to the second-to-last position of the output.
    tail = len(out) - 16 * ((len(out) - 1) // 16)
    assert out[len(out) - tail - 16 : len(out) - tail].hex() == vector["next_iv_hex"]


# ---- RFC 8009 Appendix A ---------------------------------------------------------------


@pytest.mark.parametrize("vector", RFC8009["string_to_key"], ids=lambda v: str(v["etype"]))
def test_rfc8009_string_to_key(vector: dict[str, Any]) -> None:
    key = string_to_key(
        vector["etype"],
        bytes.fromhex(vector["password_hex"]),
        bytes.fromhex(vector["salt_hex"]),
        vector["iterations"].to_bytes(4, "big"),
    )
    assert key.contents.hex() == vector["key_hex"]
    # 32768 is also the default iteration count of RFC 8009 4.
    default = string_to_key(
        vector["etype"], bytes.fromhex(vector["password_hex"]), bytes.fromhex(vector["salt_hex"])
    )
    assert default == key


@pytest.mark.parametrize("vector", RFC8009["key_derivation"], ids=lambda v: str(v["etype"]))
def test_rfc8009_key_derivation(vector: dict[str, Any]) -> None:
    base = Key(vector["etype"], bytes.fromhex(vector["base_key_hex"]))
    ke, ki, kc = derive_usage_keys(base, vector["usage"])
    assert (ke.hex(), ki.hex(), kc.hex()) == (vector["ke_hex"], vector["ki_hex"], vector["kc_hex"])


@pytest.mark.parametrize(
    "vector",
    RFC8009["encryption"],
    ids=lambda v: f"{v['etype']}-{len(v['plaintext_hex']) // 2}B",
)
def test_rfc8009_encryption(vector: dict[str, Any]) -> None:
    base = Key(vector["etype"], bytes.fromhex(vector["base_key_hex"]))
    plain = bytes.fromhex(vector["plaintext_hex"])
    out = encrypt(base, vector["usage"], plain, confounder=bytes.fromhex(vector["confounder_hex"]))
    assert out.hex() == vector["ciphertext_hex"]
    assert out.hex() == vector["aes_output_hex"] + vector["hmac_output_hex"]
    assert decrypt(base, vector["usage"], out) == plain


@pytest.mark.parametrize("vector", RFC8009["checksum"], ids=lambda v: str(v["etype"]))
def test_rfc8009_checksum(vector: dict[str, Any]) -> None:
    base = Key(vector["etype"], bytes.fromhex(vector["base_key_hex"]))
    data = bytes.fromhex(vector["plaintext_hex"])
    assert make_checksum(base, vector["usage"], data).hex() == vector["checksum_hex"]
    assert verify_checksum(base, vector["usage"], data, bytes.fromhex(vector["checksum_hex"]))


@pytest.mark.parametrize("vector", RFC8009["prf"], ids=lambda v: str(v["etype"]))
def test_rfc8009_prf(vector: dict[str, Any]) -> None:
    base = Key(vector["etype"], bytes.fromhex(vector["base_key_hex"]))
    assert prf(base, bytes.fromhex(vector["input_hex"])).hex() == vector["output_hex"]


# ---- KRB-FX-CF2 (RFC 6113 5.1) against MIT's regression output -------------------------


@pytest.mark.parametrize("vector", CF2["vectors"], ids=lambda v: str(v["etype"]))
def test_cf2_matches_mit(vector: dict[str, Any]) -> None:
    etype = vector["etype"]
    k1 = string_to_key(etype, vector["password1"].encode(), vector["password1"].encode())
    k2 = string_to_key(etype, vector["password2"].encode(), vector["password2"].encode())
    out = cf2(etype, k1, k2, vector["pepper1"].encode(), vector["pepper2"].encode())
    assert out.etype == etype
    assert out.contents.hex() == vector["output_hex"]
