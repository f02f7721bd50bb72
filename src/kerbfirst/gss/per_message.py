"""Per-message tokens of an established krb5 context: MIC and Wrap (RFC 4121 4.2).

Both start with a 16-octet header (RFC 4121 4.2.6):
    MIC:  04 04 | Flags | FF FF FF FF FF | SND_SEQ (8, big-endian)          then SGN_CKSUM
    Wrap: 05 04 | Flags | FF | EC (2) | RRC (2) | SND_SEQ (8, big-endian)   then the data
Flags: 0x01 SentByAcceptor, 0x02 Sealed, 0x04 AcceptorSubkey (RFC 4121 4.2.2).
Key usages (RFC 4121 2): Wrap uses 24 (initiator) / 22 (acceptor) with or without
confidentiality; MIC uses 25 / 23.
"""

from __future__ import annotations

import hmac
import struct
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple, Protocol

from kerbfirst.crypto import IntegrityError, Key, decrypt, encrypt, get_profile, make_checksum
from kerbfirst.crypto import verify_checksum as crypto_verify_checksum
from kerbfirst.gss.checksum import GSS_C_REPLAY_FLAG, GSS_C_SEQUENCE_FLAG
from kerbfirst.gss.errors import BadMic, ContextExpired, DefectiveToken, NoContext
from kerbfirst.gss.krb5_tokens import MAX_TOKEN_SIZE, TOK_MIC, TOK_WRAP
from kerbfirst.gss.sequence import SequenceWindow
from kerbfirst.wire.constants import (
    KU_GSS_ACCEPTOR_SEAL,
    KU_GSS_ACCEPTOR_SIGN,
    KU_GSS_INITIATOR_SEAL,
    KU_GSS_INITIATOR_SIGN,
)

FLAG_SENT_BY_ACCEPTOR = 0x01
FLAG_SEALED = 0x02
FLAG_ACCEPTOR_SUBKEY = 0x04
HEADER_LEN = 16

SEQ_MASK = (1 << 64) - 1


class Unwrapped(NamedTuple):
    data: bytes
    confidential: bool  # conf_state of RFC 2743 2.3.4
    qop: int = 0


@dataclass(slots=True)
class ContextKeys:
    """Which key protects per-message tokens (RFC 4121 2): the acceptor's subkey from the
    AP-REP when there is one, else the initiator's authenticator subkey, else the ticket's
    session key."""

    session_key: Key
    initiator_subkey: Key | None = None
    acceptor_subkey: Key | None = None

    @property
    def initiator_key(self) -> Key:
        return self.initiator_subkey if self.initiator_subkey is not None else self.session_key


class MicContext(Protocol):
    """What a carrier needs of an established context for SPNEGO's mechListMIC
    (RFC 4178 5; MS-SPNG 3.1.5.1): krb5's SecurityContext and NTLM's session security
    (gss/ntlm_session.py) both have it. `verify_mic` raises a GssError when the MIC does
    not verify; what it returns is not used."""

    def get_mic(self, message: bytes, *, now: datetime | None = None) -> bytes: ...

    def verify_mic(self, message: bytes, token: bytes, *,
                   now: datetime | None = None) -> object: ...


class SecurityContext:
    """An established krb5 security context (GSS_Init/Accept_sec_context completed)."""

    def __init__(
        self, *, initiator: bool, keys: ContextKeys, flags: int, send_seq: int, recv_seq: int,
        expires: datetime | None, client: str, service: str,
        random: Callable[[int], bytes],
    ) -> None:
        self.initiator = initiator
        self.keys = keys
        self.flags = flags
        self.expires = expires
        self.client = client  # "name@REALM" of the initiator
        self.service = service  # "name/host@REALM" of the acceptor
        self._random = random
        self._send_seq = send_seq & SEQ_MASK
        self._recv = SequenceWindow(
            recv_seq & SEQ_MASK,
            replay=bool(flags & GSS_C_REPLAY_FLAG),
            sequence=bool(flags & GSS_C_SEQUENCE_FLAG),
        )
        self.open = True

    def __repr__(self) -> str:  # keys never appear in logs (STYLE: no secrets in reprs)
        role = "initiator" if self.initiator else "acceptor"
        return f"SecurityContext({role}, client={self.client!r}, service={self.service!r})"

    # -- keys and flags -------------------------------------------------------------

    def _send_key(self) -> tuple[Key, int]:
        if self.keys.acceptor_subkey is not None:
            return self.keys.acceptor_subkey, FLAG_ACCEPTOR_SUBKEY
        return self.keys.initiator_key, 0

    def _recv_key(self, token_flags: int) -> Key:
        if token_flags & FLAG_ACCEPTOR_SUBKEY:
            if self.keys.acceptor_subkey is None:
                raise DefectiveToken("token claims an acceptor subkey this context never had")
            return self.keys.acceptor_subkey
        if self.keys.acceptor_subkey is not None:
            # RFC 4121 4.2.2: once the acceptor has asserted a subkey, both sides use it.
            raise DefectiveToken("token is not under the acceptor subkey this context uses")
        return self.keys.initiator_key

    def _direction_flag(self) -> int:
        return 0 if self.initiator else FLAG_SENT_BY_ACCEPTOR

    def _check_usable(self, now: datetime | None) -> None:
        if not self.open:
            raise NoContext("the security context is closed")
        if now is not None and self.expires is not None and now > self.expires:
            raise ContextExpired(f"the context expired at {self.expires.isoformat()}")

    def _next_seq(self) -> int:
        seq = self._send_seq
        self._send_seq = (seq + 1) & SEQ_MASK
        return seq

    def _check_header(self, token: bytes, tok_id: bytes) -> int:
        if len(token) > MAX_TOKEN_SIZE:
            raise DefectiveToken(f"token of {len(token)} bytes exceeds {MAX_TOKEN_SIZE}")
        if len(token) < HEADER_LEN or token[:2] != tok_id:
            raise DefectiveToken(
                f"not an RFC 4121 token with TOK_ID {tok_id.hex()} (got {token[:2].hex()})"
            )
        flags = token[2]
        if flags & ~(FLAG_SENT_BY_ACCEPTOR | FLAG_SEALED | FLAG_ACCEPTOR_SUBKEY):
            raise DefectiveToken(f"token has unknown flags 0x{flags:02x} (RFC 4121 4.2.2)")
        # A token that claims to come from our own side is a reflection (RFC 4121 4.2.2).
        if (flags & FLAG_SENT_BY_ACCEPTOR) == self._direction_flag():
            raise BadMic("token was sent by this side of the context (reflected)")
        return flags

    # -- MIC (RFC 4121 4.2.6.1) ----------------------------------------------------

    def get_mic(self, message: bytes, *, now: datetime | None = None) -> bytes:
        self._check_usable(now)
        key, subkey_flag = self._send_key()
        usage = KU_GSS_INITIATOR_SIGN if self.initiator else KU_GSS_ACCEPTOR_SIGN
        header = (TOK_MIC + bytes((self._direction_flag() | subkey_flag,)) + b"\xff" * 5
                  + struct.pack(">Q", self._next_seq()))
        return header + make_checksum(key, usage, message + header)

    def verify_mic(self, message: bytes, token: bytes, *, now: datetime | None = None) -> int:
        """Verify a MIC token over `message`; returns the QOP (always 0). Raises BadMic,
        DefectiveToken, or a SequenceError (after the checksum verified)."""
        self._check_usable(now)
        flags = self._check_header(token, TOK_MIC)
        if token[3:8] != b"\xff" * 5:
            raise DefectiveToken("MIC token filler is not FF FF FF FF FF (RFC 4121 4.2.6.1)")
        if flags & FLAG_SEALED:
            raise DefectiveToken("MIC token has the Sealed flag (RFC 4121 4.2.2)")
        key = self._recv_key(flags)
        usage = KU_GSS_ACCEPTOR_SIGN if self.initiator else KU_GSS_INITIATOR_SIGN
        header, cksum = token[:HEADER_LEN], token[HEADER_LEN:]
        if len(cksum) != get_profile(key.etype).mac_size:
            raise DefectiveToken(f"MIC checksum is {len(cksum)} bytes, not the enctype's size")
        if not crypto_verify_checksum(key, usage, message + header, cksum):
            raise BadMic("MIC checksum does not verify (wrong key or altered message)")
        (seq,) = struct.unpack_from(">Q", token, 8)
        self._recv.check(seq, message)
        return 0

    # -- Wrap (RFC 4121 4.2.6.2) ---------------------------------------------------

    def wrap(self, message: bytes, *, confidential: bool = True,
             now: datetime | None = None) -> bytes:
        self._check_usable(now)
        key, subkey_flag = self._send_key()
        usage = KU_GSS_INITIATOR_SEAL if self.initiator else KU_GSS_ACCEPTOR_SEAL
        flags = self._direction_flag() | subkey_flag | (FLAG_SEALED if confidential else 0)
        seq = struct.pack(">Q", self._next_seq())
        if confidential:
            # EC = 0: CTS needs no padding. The encrypted copy of the header carries RRC = 0
            # (RFC 4121 4.2.4); we send RRC = 0, so nothing is rotated.
            header = TOK_WRAP + bytes((flags,)) + b"\xff" + struct.pack(">HH", 0, 0) + seq
            confounder = self._random(get_profile(key.etype).confounder_size)
            body = encrypt(key, usage, message + header, confounder=confounder)
            return header + body
        mac_size = get_profile(key.etype).mac_size
        # RFC 4121 4.2.4: checksum over plaintext | header with EC and RRC zero, then EC says
        # how long the trailing checksum is.
        zero_header = TOK_WRAP + bytes((flags,)) + b"\xff" + struct.pack(">HH", 0, 0) + seq
        cksum = make_checksum(key, usage, message + zero_header)
        header = TOK_WRAP + bytes((flags,)) + b"\xff" + struct.pack(">HH", mac_size, 0) + seq
        return header + message + cksum

    def unwrap(self, token: bytes, *, now: datetime | None = None) -> Unwrapped:
        self._check_usable(now)
        flags = self._check_header(token, TOK_WRAP)
        if token[3] != 0xFF:
            raise DefectiveToken("Wrap token filler is not FF (RFC 4121 4.2.6.2)")
        ec, rrc = struct.unpack_from(">HH", token, 4)
        key = self._recv_key(flags)
        usage = KU_GSS_ACCEPTOR_SEAL if self.initiator else KU_GSS_INITIATOR_SEAL
        header = token[:HEADER_LEN]
        body = token[HEADER_LEN:]
        if body and rrc:
            # RFC 4121 4.2.5: the sender rotated the data right by RRC octets (Windows does,
            # with DCE style); rotate it back left.
            r = rrc % len(body)
            body = body[r:] + body[:r]
        if flags & FLAG_SEALED:
            try:
                plain = decrypt(key, usage, body)
            except IntegrityError:
                raise BadMic("Wrap token does not decrypt (wrong key or altered token)") from None
            if len(plain) < HEADER_LEN + ec:
                raise DefectiveToken("Wrap token plaintext is shorter than its EC and header")
            inner = plain[-HEADER_LEN:]
            # The encrypted header copy must equal the clear one except for RRC (4.2.4).
            if not hmac.compare_digest(inner[:6], header[:6]) or inner[8:] != header[8:]:
                raise BadMic("Wrap token's encrypted header does not match its clear header")
            data = plain[: len(plain) - HEADER_LEN - ec]
        else:
            mac_size = get_profile(key.etype).mac_size
            if ec != mac_size or len(body) < ec:
                raise DefectiveToken(f"Wrap token EC {ec} is not the checksum size {mac_size}")
            data, cksum = body[: len(body) - ec], body[len(body) - ec :]
            zero_header = header[:4] + b"\x00\x00\x00\x00" + header[8:]
            if not crypto_verify_checksum(key, usage, data + zero_header, cksum):
                raise BadMic("Wrap token checksum does not verify (wrong key or altered data)")
        (seq,) = struct.unpack_from(">Q", header, 8)
        self._recv.check(seq, data)
        return Unwrapped(data, bool(flags & FLAG_SEALED))

    def close(self) -> None:
        self.open = False
