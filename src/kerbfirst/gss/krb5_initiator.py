"""The krb5 GSS-API mechanism's context establishment (RFC 4121 4.1, RFC 1964 1.1 framing):
the initiator. The acceptor is in krb5_acceptor.py; established contexts in per_message.py.

Initiator token: 60 .. 06 09 2a864886f712010202 | 01 00 | AP-REQ, whose authenticator carries
the 0x8003 checksum (flags, channel-binding hash, extensions), a subkey and a sequence number.
The acceptor answers with 02 00 | AP-REP when mutual authentication was asked for, or with
03 00 | KRB-ERROR.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from kerbfirst.crypto import IntegrityError, Key, encrypt, get_profile, random_to_key
from kerbfirst.crypto import decrypt as crypto_decrypt
from kerbfirst.gss.checksum import (
    GSS_C_CONF_FLAG,
    GSS_C_DELEG_FLAG,
    GSS_C_INTEG_FLAG,
    GSS_C_MUTUAL_FLAG,
    GSS_C_REPLAY_FLAG,
    GSS_C_SEQUENCE_FLAG,
    ChannelBindings,
    GssChecksum,
)
from kerbfirst.gss.errors import (
    DefectiveToken,
    GssError,
    KerberosErrorToken,
    NoContext,
)
from kerbfirst.gss.krb5_tokens import (
    KRB5_OID,
    MS_KRB5_OID,
    TOK_AP_REP,
    TOK_AP_REQ,
    TOK_KRB_ERROR,
    frame,
    unframe_krb5,
)
from kerbfirst.gss.per_message import ContextKeys, SecurityContext
from kerbfirst.krb.names import unparse_principal
from kerbfirst.wire.constants import (
    AP_OPT_MUTUAL_REQUIRED,
    CKSUMTYPE_GSSAPI,
    KRB_AP_ERR_MUT_FAIL,
    KU_AP_REP_ENC_PART,
    KU_AP_REQ_AUTH,
)
from kerbfirst.wire.der import DecodeError
from kerbfirst.wire.krb5 import (
    ApRep,
    ApReq,
    Authenticator,
    Checksum,
    EncApRepPart,
    EncryptedData,
    EncryptionKey,
    KrbError,
    PrincipalName,
    Ticket,
)

DEFAULT_FLAGS = (
    GSS_C_MUTUAL_FLAG | GSS_C_REPLAY_FLAG | GSS_C_SEQUENCE_FLAG | GSS_C_CONF_FLAG
    | GSS_C_INTEG_FLAG
)
ACCEPTED_OIDS = frozenset({KRB5_OID, MS_KRB5_OID})
Random = Callable[[int], bytes]


def to_wire_key(key: Key) -> EncryptionKey:
    return EncryptionKey(keytype=key.etype, keyvalue=key.contents)


def from_wire_key(key: EncryptionKey) -> Key:
    return Key(key.keytype, key.keyvalue)


def new_subkey(etype: int, random: Random) -> Key:
    """A fresh random key of `etype` (RFC 3961 random-to-key over key_size random octets)."""
    return random_to_key(etype, random(get_profile(etype).key_size))


def new_sequence_number(random: Random) -> int:
    # 30 bits, as MIT's krb5_generate_seq_number: old peers treat it as signed 32-bit.
    return int.from_bytes(random(4), "big") & 0x3FFFFFFF


def split_time(now: datetime) -> tuple[datetime, int]:
    """KerberosTime has whole seconds; microseconds travel as cusec (RFC 4120 5.5.1)."""
    if now.tzinfo is None:
        raise ValueError("`now` must be a timezone-aware UTC datetime")
    return now.replace(microsecond=0), now.microsecond


def krb_error_from_token(body: bytes) -> KerberosErrorToken:
    try:
        err = KrbError.decode(body)
    except DecodeError as exc:
        return KerberosErrorToken(f"peer sent an undecodable KRB-ERROR token: {exc}")
    text = f": {err.e_text}" if err.e_text else ""
    return KerberosErrorToken(
        f"acceptor refused the AP-REQ with Kerberos error {err.error_code}{text}",
        krb_error=err.error_code,
    )


class Krb5Initiator:
    """GSS_Init_sec_context for krb5 with a service ticket already in hand.

    Use: `tok = ini.initial_token()`; send it; if `ini.complete` the context is
    `ini.context`; otherwise feed the acceptor's reply to `ini.step(reply)`.
    IAKerb computes its KRB-FINISHED over `ini.subkey` and passes it in `extensions`.
    """

    def __init__(
        self, *, ticket: Ticket, session_key: Key, client: PrincipalName, client_realm: str,
        now: datetime, random: Random, flags: int = DEFAULT_FLAGS,
        channel_bindings: ChannelBindings | None = None, ticket_endtime: datetime | None = None,
        mech_oid: str = KRB5_OID, use_subkey: bool = True,
    ) -> None:
        if flags & GSS_C_DELEG_FLAG:
            raise ValueError("credential delegation is not supported; do not request it")
        self.ticket = ticket
        self.session_key = session_key
        self.client = client
        self.client_realm = client_realm
        self.flags = flags | GSS_C_CONF_FLAG | GSS_C_INTEG_FLAG  # RFC 4121 always offers both
        self.channel_bindings = channel_bindings
        self.ticket_endtime = ticket_endtime
        self.mech_oid = mech_oid
        self._now = now
        self._random = random
        self.subkey: Key | None = new_subkey(session_key.etype, random) if use_subkey else None
        self.seq_number = new_sequence_number(random)
        self._ctime, self._cusec = split_time(now)
        self.context: SecurityContext | None = None
        self._sent = False
        self._failed = False

    @property
    def complete(self) -> bool:
        return self.context is not None

    @property
    def mutual(self) -> bool:
        return bool(self.flags & GSS_C_MUTUAL_FLAG)

    def initial_token(self, *, extensions: Sequence[tuple[int, bytes]] = ()) -> bytes:
        """The framed AP-REQ (RFC 4121 4.1). `extensions` go after the 0x8003 Flags
        (RFC 4121 4.1.1.1): (type, data) pairs, e.g. IAKerb's KRB-FINISHED."""
        if self._sent:
            raise NoContext("the initial token was already produced for this context")
        bnd = self.channel_bindings.digest() if self.channel_bindings else bytes(16)
        gss_cksum = GssChecksum(self.flags, bnd, None, tuple(extensions))
        authenticator = Authenticator(
            crealm=self.client_realm, cname=self.client, cusec=self._cusec, ctime=self._ctime,
            cksum=Checksum(CKSUMTYPE_GSSAPI, gss_cksum.encode()),
            subkey=to_wire_key(self.subkey) if self.subkey else None,
            seq_number=self.seq_number,
        )
        enc_auth = encrypt(
            self.session_key, KU_AP_REQ_AUTH, authenticator.encode(),
            confounder=self._random(get_profile(self.session_key.etype).confounder_size),
        )
        ap_req = ApReq(
            ap_options=AP_OPT_MUTUAL_REQUIRED if self.mutual else 0,
            ticket=self.ticket,
            authenticator=EncryptedData(self.session_key.etype, None, enc_auth),
        )
        self._sent = True
        if not self.mutual:
            # Without an AP-REP both directions count from the initiator's number (RFC 4121 4.2.3
            # via RFC 1964 1.2.1.2; MIT does the same).
            self.context = self._establish(None, self.seq_number)
        return frame(self.mech_oid, TOK_AP_REQ, ap_req.encode())

    def _establish(self, acceptor_subkey: Key | None, recv_seq: int) -> SecurityContext:
        return SecurityContext(
            initiator=True,
            keys=ContextKeys(self.session_key, self.subkey, acceptor_subkey),
            flags=self.flags, send_seq=self.seq_number, recv_seq=recv_seq,
            expires=self.ticket_endtime,
            client=unparse_principal(self.client, self.client_realm),
            service=unparse_principal(self.ticket.sname, self.ticket.realm),
            random=self._random,
        )

    def step(self, token: bytes) -> None:
        """Consume the acceptor's reply: an AP-REP (mutual authentication) or a KRB-ERROR."""
        if not self._sent or self.context is not None or self._failed:
            raise NoContext("no reply is expected by this initiator now")
        try:
            self.context = self._consume(token)
        except GssError:
            self._failed = True
            raise

    def _consume(self, token: bytes) -> SecurityContext:
        _, tok_id, body = unframe_krb5(token, ACCEPTED_OIDS | {self.mech_oid})
        if tok_id == TOK_KRB_ERROR:
            raise krb_error_from_token(body)
        if tok_id != TOK_AP_REP:
            raise DefectiveToken(f"expected an AP-REP token (02 00), got TOK_ID {tok_id.hex()}")
        try:
            ap_rep = ApRep.decode(body)
            plain = crypto_decrypt(self.session_key, KU_AP_REP_ENC_PART, ap_rep.enc_part.cipher)
            part = EncApRepPart.decode(plain)
        except DecodeError as exc:
            raise DefectiveToken(f"AP-REP does not decode: {exc}") from None
        except IntegrityError:
            raise GssError("AP-REP does not decrypt with the session key: mutual "
                           "authentication failed", krb_error=KRB_AP_ERR_MUT_FAIL) from None
        # RFC 4120 3.2.5: the AP-REP must echo our authenticator's time exactly.
        if part.ctime != self._ctime or part.cusec != self._cusec:
            raise GssError("AP-REP does not echo the authenticator's ctime/cusec: mutual "
                           "authentication failed", krb_error=KRB_AP_ERR_MUT_FAIL)
        acceptor_subkey = from_wire_key(part.subkey) if part.subkey is not None else None
        recv_seq = part.seq_number if part.seq_number is not None else 0
        return self._establish(acceptor_subkey, recv_seq)

