"""NTLM session security for an established acceptor context (MS-NLMP 3.4): message
signatures (GSS_GetMIC / GSS_VerifyMIC) and sealing, with extended session security.

Keys (MS-NLMP 3.4.5.2, 3.4.5.3), from the ExportedSessionKey:
- SignKey = MD5(key + "session key to {client-to-server|server-to-client} signing key magic
  constant\\0"), one per direction;
- SealKey = MD5(key' + "... sealing key magic constant\\0"), key' the whole key with
  NTLMSSP_NEGOTIATE_128, its first 7 bytes with _56, else 5;
- each direction has one RC4 state, shared by sealing and by the checksum's encryption,
  running on over the session.

A signature (MS-NLMP 2.2.2.9.1) is Version (1) + Checksum (8) + SeqNum (4), all
little-endian; Checksum = HMAC_MD5(SignKey, SeqNum + message)[0:8], RC4-encrypted when
NTLMSSP_NEGOTIATE_KEY_EXCH was negotiated. Signatures are compared with
hmac.compare_digest; sequence numbers must arrive in order (NTLM has no replay window).
Inside SPNEGO (`spnego=True`) each direction's RC4 state restarts right after the
mechListMIC it carried (MS-SPNG 3.3.5.1: the first MIC verified and the first MIC made),
as Windows and pyspnego do; sequence numbers go on.

This is the acceptor's side: it verifies client-to-server and signs server-to-client.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from datetime import datetime

from Crypto.Cipher import ARC4

from kerbfirst.gss.errors import BadMic, DefectiveToken
from kerbfirst.gss.per_message import Unwrapped
from kerbfirst.wire import ntlm as w

_C2S = "client-to-server"
_S2C = "server-to-client"


class NtlmIntegrityError(BadMic):
    """A signature or sealed message did not verify. A BadMic, so that SPNEGO refuses a
    mechListMIC that fails here as it refuses a krb5 one (RFC 4178 5)."""


def _magic(kind: str, direction: str) -> bytes:
    return f"session key to {direction} {kind} key magic constant\0".encode()


def sign_key(exported: bytes, direction: str) -> bytes:
    return hashlib.md5(exported + _magic("signing", direction)).digest()  # noqa: S324


def seal_key(exported: bytes, flags: int, direction: str) -> bytes:
    if flags & w.NEGOTIATE_128:
        base = exported
    elif flags & w.NEGOTIATE_56:
        base = exported[:7]
    else:
        base = exported[:5]
    return hashlib.md5(base + _magic("sealing", direction)).digest()  # noqa: S324


SIGNATURE_SIZE = 16  # NTLMSSP_MESSAGE_SIGNATURE, MS-NLMP 2.2.2.9.1


class NtlmSessionSecurity:
    def __init__(self, exported_session_key: bytes, flags: int, *, client: str,
                 service: str, spnego: bool = False) -> None:
        if not flags & w.NEGOTIATE_EXTENDED_SESSIONSECURITY:
            raise ValueError("NTLM session security needs extended session security")
        self.flags = flags
        self.client = client
        self.service = service
        self._in_sign = sign_key(exported_session_key, _C2S)
        self._out_sign = sign_key(exported_session_key, _S2C)
        self._in_seal = seal_key(exported_session_key, flags, _C2S)
        self._out_seal = seal_key(exported_session_key, flags, _S2C)
        self._in_seq = 0
        self._out_seq = 0
        self._reset_in_after_mic = self._reset_out_after_mic = spnego
        self.reset()

    def __repr__(self) -> str:  # never the keys
        return f"NtlmSessionSecurity(client={self.client!r}, service={self.service!r})"

    def reset(self) -> None:
        """Restart both RC4 states (after SPNEGO's mechListMIC, MS-SPNG 3.3.5.1)."""
        self._in_rc4 = ARC4.new(self._in_seal)
        self._out_rc4 = ARC4.new(self._out_seal)

    def _checksum(self, key: bytes, seq: int, data: bytes, rc4: object) -> bytes:
        mac = hmac.new(key, struct.pack("<I", seq) + data, hashlib.md5).digest()[:8]
        if self.flags & w.NEGOTIATE_KEY_EXCH:
            mac = rc4.encrypt(mac)  # type: ignore[attr-defined]
        return mac

    def get_mic(self, data: bytes, *, now: datetime | None = None) -> bytes:
        seq = self._out_seq
        self._out_seq += 1
        checksum = self._checksum(self._out_sign, seq, data, self._out_rc4)
        if self._reset_out_after_mic:
            self._reset_out_after_mic = False
            self._out_rc4 = ARC4.new(self._out_seal)
        return struct.pack("<I", 1) + checksum + struct.pack("<I", seq)

    def verify_mic(self, data: bytes, mic: bytes, *, now: datetime | None = None) -> None:
        if len(mic) != 16 or mic[:4] != b"\x01\x00\x00\x00":
            raise NtlmIntegrityError("not an NTLM signature (16 bytes, version 1)")
        (seq,) = struct.unpack_from("<I", mic, 12)
        if seq != self._in_seq:
            raise NtlmIntegrityError(f"sequence number {seq}, expected {self._in_seq}: a "
                                     "message was replayed, dropped or reordered")
        expected = self._checksum(self._in_sign, seq, data, self._in_rc4)
        if not hmac.compare_digest(expected, mic[4:12]):
            raise NtlmIntegrityError("the NTLM signature does not verify: the message was "
                                     "altered or signed with another key")
        self._in_seq += 1
        if self._reset_in_after_mic:
            self._reset_in_after_mic = False
            self._in_rc4 = ARC4.new(self._in_seal)

    def seal(self, data: bytes) -> tuple[bytes, bytes]:
        """(sealed message, signature) for the client (MS-NLMP 3.4.3)."""
        sealed = self._out_rc4.encrypt(data)
        seq = self._out_seq
        self._out_seq += 1
        checksum = self._checksum(self._out_sign, seq, data, self._out_rc4)
        return sealed, struct.pack("<I", 1) + checksum + struct.pack("<I", seq)

    def unseal(self, sealed: bytes, signature: bytes) -> bytes:
        data = bytes(self._in_rc4.decrypt(sealed))
        self.verify_mic(data, signature)
        return data

    def unwrap(self, token: bytes, *, now: datetime | None = None) -> Unwrapped:
        """GSS_Unwrap of a sealed message: the 16-byte signature, then the sealed data (the
        layout SSPI's stream form, gss-ntlmssp and pyspnego use for MS-NLMP 3.4.3)."""
        if len(token) < SIGNATURE_SIZE:
            raise DefectiveToken(f"an NTLM wrap token has at least {SIGNATURE_SIZE} bytes")
        return Unwrapped(self.unseal(token[SIGNATURE_SIZE:], token[:SIGNATURE_SIZE]), True)
