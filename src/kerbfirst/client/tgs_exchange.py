"""The client side of the TGS exchange, RFC 4120 section 3.3, sans I/O.

The TGS-REQ carries an AP-REQ in PA-TGS-REQ: the TGT and an authenticator (usage 7) whose
checksum (usage 6) covers the encoded req-body exactly as sent, and a fresh subkey that
the KDC encrypts the reply in (usage 9), as MIT's client does.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from kerbfirst.client.credential import Credential
from kerbfirst.client.errors import ReplyError
from kerbfirst.client.reply import (
    NONCE_MASK,
    credential_from,
    decrypt_reply,
    raise_error,
    read_reply,
)
from kerbfirst.crypto import (
    SUPPORTED_ETYPES,
    Key,
    checksum_type,
    encrypt,
    get_profile,
    make_checksum,
    random_to_key,
)
from kerbfirst.krb.key_usage import authenticator_usage, tgs_rep_usage
from kerbfirst.krb.names import parse_principal, tgs_realm
from kerbfirst.krb.transcript import Transcript
from kerbfirst.wire.constants import (
    KDC_OPT_RENEW,
    KRB_TGS_REP,
    KRB_TGS_REQ,
    KU_TGS_REQ_AUTH_CKSUM,
    PA_TGS_REQ,
    TKT_FLG_FORWARDABLE,
)
from kerbfirst.wire.krb5 import (
    ApReq,
    Authenticator,
    Checksum,
    EncryptedData,
    EncryptionKey,
    KdcRep,
    KdcReq,
    KdcReqBody,
    PaData,
    PrincipalName,
)


class TgsExchange:
    """Ask the KDC for a ticket to `server` with `tgt` (or, with KDC_OPT_RENEW, renew
    `tgt` itself: see `renewal`)."""

    def __init__(
        self,
        tgt: Credential,
        server: str | PrincipalName,
        *,
        random: Callable[[int], bytes],
        options: int = 0,
        etypes: tuple[int, ...] = SUPPORTED_ETYPES,
        lifetime: timedelta | None = None,
        realm: str | None = None,
        referral_ok: bool = False,
    ) -> None:
        self.tgt = tgt
        # RFC 6806 section 8: with canonicalize, the KDC may answer with a TGT for the next
        # realm instead of the ticket asked for (client/referrals.py follows it).
        self.referral_ok = referral_ok
        self.realm = realm or tgt.srealm
        self.server = server if isinstance(server, PrincipalName) else (
            parse_principal(server, self.realm)[0]
        )
        self._random = random
        self.options = options
        self.etypes = etypes
        self.lifetime = lifetime
        self.transcript = Transcript()
        self._nonce = 0
        self._subkey: Key | None = None
        self._done = False

    @classmethod
    def renewal(
        cls, credential: Credential, *, random: Callable[[int], bytes]
    ) -> TgsExchange:
        """RFC 4120 3.3.1: renew a renewable ticket (kinit -R): the ticket itself goes in
        the AP-REQ and the request names its own server."""
        return cls(
            credential,
            credential.server,
            random=random,
            options=KDC_OPT_RENEW | (credential.flags & TKT_FLG_FORWARDABLE),
            realm=credential.srealm,
        )

    @property
    def messages(self) -> list[tuple[str, bytes]]:
        return self.transcript.messages

    def first_request(self, now: datetime) -> bytes:
        tgt = self.tgt
        key = tgt.session_key
        profile = get_profile(key.etype)
        self._nonce = int.from_bytes(self._random(4), "big") & NONCE_MASK or 1
        start = now.replace(microsecond=0)
        till = tgt.endtime if self.lifetime is None else min(start + self.lifetime, tgt.endtime)
        body = KdcReqBody(
            kdc_options=self.options,
            cname=None,
            realm=self.realm,
            sname=self.server,
            from_=None,
            till=till,
            rtime=None,
            nonce=self._nonce,
            etype=self.etypes,
        )
        # RFC 4120 5.5.1: the checksum is over the DER req-body, which is canonical, so it
        # is byte for byte the req-body that KdcReq.encode() sends below.
        cksum = Checksum(
            checksum_type(key.etype), make_checksum(key, KU_TGS_REQ_AUTH_CKSUM, body.encode())
        )
        self._subkey = random_to_key(key.etype, self._random(profile.key_size))
        authenticator = Authenticator(
            crealm=tgt.crealm,
            cname=tgt.client,
            cusec=now.microsecond,
            ctime=start,
            cksum=cksum,
            subkey=EncryptionKey(self._subkey.etype, self._subkey.contents),
        )
        cipher = encrypt(
            key,
            authenticator_usage(in_tgs_req=True),
            authenticator.encode(),
            confounder=self._random(profile.confounder_size),
        )
        ap_req = ApReq(
            ap_options=0,
            ticket=tgt.ticket,  # its raw bytes are re-embedded unchanged
            authenticator=EncryptedData(key.etype, None, cipher),
        )
        req = KdcReq(
            msg_type=KRB_TGS_REQ,
            padata=(PaData(PA_TGS_REQ, ap_req.encode()),),
            req_body=body,
        )
        return self.transcript.sent(req.encode())

    def receive(self, reply: bytes, now: datetime) -> Credential:
        if self._done:
            raise ReplyError("this TGS exchange is finished; start a new one")
        if self._subkey is None:
            raise ReplyError("receive() before first_request()")
        self._done = True
        self.transcript.received(reply)
        msg = read_reply(reply, KRB_TGS_REP)
        if not isinstance(msg, KdcRep):
            raise_error(msg)
            raise AssertionError("unreachable")  # pragma: no cover
        enc = decrypt_reply(self._subkey, tgs_rep_usage(subkey=True), msg, "TGS-REP")
        server, srealm = self.server, self.realm
        if self.referral_ok and self._is_referral(enc.sname, enc.srealm):
            server, srealm = enc.sname, enc.srealm
        return credential_from(
            msg,
            enc,
            nonce=self._nonce,
            client=self.tgt.client,
            crealm=self.tgt.crealm,
            server=server,
            srealm=srealm,
        )

    def _is_referral(self, sname: PrincipalName, srealm: str) -> bool:
        """A TGT for another realm, issued by the realm of the KDC we asked (a KDC issues
        tickets of its own realm only): RFC 6806 section 8."""
        kdc_realm = tgs_realm(self.tgt.server) or self.tgt.srealm
        other = tgs_realm(sname)
        return srealm == kdc_realm and other is not None and other != kdc_realm
