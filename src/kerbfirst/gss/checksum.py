"""The GSS authenticator checksum, type 0x8003 (RFC 4121 4.1.1), and channel bindings.

    Lgth   4 octets, little-endian: 16, the length of Bnd
    Bnd   16 octets: MD5 of the channel bindings (RFC 4121 4.1.1.2), or zeros
    Flags  4 octets, little-endian: the GSS context flags requested
    [DlgOpt 2 octets LE (1), Dlgth 2 octets LE, Deleg: a KRB-CRED]  only with GSS_C_DELEG_FLAG
    Exts   extensions (RFC 4121 4.1.1.1, RFC 6542): type 4 octets big-endian,
           length 4 octets big-endian, data; IAKerb's KRB-FINISHED is one of them.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from dataclasses import dataclass, field

from kerbfirst.gss.errors import DefectiveToken

# RFC 2744 3.9 / RFC 4121 4.1.1.1 context flags
GSS_C_DELEG_FLAG = 1
GSS_C_MUTUAL_FLAG = 2
GSS_C_REPLAY_FLAG = 4
GSS_C_SEQUENCE_FLAG = 8
GSS_C_CONF_FLAG = 16
GSS_C_INTEG_FLAG = 32
GSS_C_ANON_FLAG = 64
GSS_C_DCE_STYLE = 0x1000
GSS_C_IDENTIFY_FLAG = 0x2000
GSS_C_EXTENDED_ERROR_FLAG = 0x4000

# GSS checksum extension types (RFC 4121 4.1.1.1 registry; draft-ietf-kitten-iakerb-03 uses 2,
# MIT krb5 <= 1.21 used 1 for the same KRB-FINISHED)
GSS_EXTS_IAKERB_FINISHED = 2
GSS_EXTS_IAKERB_FINISHED_MIT_OLD = 1

BND_LENGTH = 16
MAX_EXTENSIONS = 16  # a real initiator sends at most one or two


@dataclass(frozen=True, slots=True)
class ChannelBindings:
    """gss_channel_bindings_struct (RFC 2744 3.11): address types are GSS_C_AF_* values."""

    initiator_addrtype: int = 0
    initiator_address: bytes = b""
    acceptor_addrtype: int = 0
    acceptor_address: bytes = b""
    application_data: bytes = b""

    def digest(self) -> bytes:
        """Bnd: MD5 over the little-endian length-prefixed fields (RFC 4121 4.1.1.2).

        MD5 is what the RFC fixes here; it binds, it does not protect a secret.
        """
        parts = [
            struct.pack("<II", self.initiator_addrtype, len(self.initiator_address)),
            self.initiator_address,
            struct.pack("<II", self.acceptor_addrtype, len(self.acceptor_address)),
            self.acceptor_address,
            struct.pack("<I", len(self.application_data)),
            self.application_data,
        ]
        return hashlib.md5(b"".join(parts), usedforsecurity=False).digest()


@dataclass(frozen=True, slots=True)
class GssChecksum:
    """The parsed contents of a 0x8003 checksum."""

    flags: int
    bindings_hash: bytes = bytes(BND_LENGTH)
    delegation: bytes | None = None  # the KRB-CRED, when GSS_C_DELEG_FLAG was sent
    extensions: tuple[tuple[int, bytes], ...] = field(default=())

    def extension(self, ext_type: int) -> bytes | None:
        for t, data in self.extensions:
            if t == ext_type:
                return data
        return None

    def encode(self) -> bytes:
        if len(self.bindings_hash) != BND_LENGTH:
            raise ValueError("channel binding hash must be 16 bytes (RFC 4121 4.1.1)")
        out = [struct.pack("<I", BND_LENGTH), self.bindings_hash, struct.pack("<I", self.flags)]
        if self.flags & GSS_C_DELEG_FLAG:
            deleg = self.delegation or b""
            if len(deleg) > 0xFFFF:
                raise ValueError("delegated credential too long for Dlgth (RFC 4121 4.1.1)")
            out.append(struct.pack("<HH", 1, len(deleg)) + deleg)
        for ext_type, data in self.extensions:
            out.append(struct.pack(">II", ext_type, len(data)) + data)
        return b"".join(out)

    @classmethod
    def decode(cls, data: bytes) -> GssChecksum:
        if len(data) < 24:
            raise DefectiveToken(f"GSS checksum of {len(data)} bytes is shorter than 24")
        (lgth,) = struct.unpack_from("<I", data, 0)
        if lgth != BND_LENGTH:
            raise DefectiveToken(f"GSS checksum Lgth is {lgth}, must be 16 (RFC 4121 4.1.1)")
        bnd = data[4:20]
        (flags,) = struct.unpack_from("<I", data, 20)
        pos = 24
        delegation = None
        if flags & GSS_C_DELEG_FLAG:
            if len(data) < pos + 4:
                raise DefectiveToken("GSS checksum has the delegation flag but no DlgOpt")
            dlg_opt, dlg_len = struct.unpack_from("<HH", data, pos)
            if dlg_opt != 1 or pos + 4 + dlg_len > len(data):
                raise DefectiveToken("GSS checksum has a bad delegation option (RFC 4121 4.1.1)")
            delegation = data[pos + 4 : pos + 4 + dlg_len]
            pos += 4 + dlg_len
        extensions: list[tuple[int, bytes]] = []
        while pos < len(data):
            if len(extensions) >= MAX_EXTENSIONS:
                raise DefectiveToken(f"GSS checksum has more than {MAX_EXTENSIONS} extensions")
            if len(data) < pos + 8:
                raise DefectiveToken("GSS checksum extension header truncated (RFC 4121 4.1.1.1)")
            ext_type, ext_len = struct.unpack_from(">II", data, pos)
            if pos + 8 + ext_len > len(data):
                raise DefectiveToken(f"GSS checksum extension type {ext_type} truncated")
            extensions.append((ext_type, data[pos + 8 : pos + 8 + ext_len]))
            pos += 8 + ext_len
        return cls(flags, bnd, delegation, tuple(extensions))

    def bindings_match(self, expected: ChannelBindings | None, *, required: bool) -> bool:
        """RFC 4121 4.1.1.2: an all-zero Bnd means "none"; it passes only when the acceptor
        has no bindings or does not require them (pyspnego accepts zeros always; we don't)."""
        zero = not any(self.bindings_hash)
        if expected is None:
            return True
        if zero:
            return not required
        return hmac.compare_digest(self.bindings_hash, expected.digest())
