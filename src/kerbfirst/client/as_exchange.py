"""The client side of the AS exchange, RFC 4120 section 3.1, sans I/O.

    exchange = AsExchange("alice", "EXAMPLE.TEST", password=b"...", random=os.urandom)
    out = exchange.first_request(now)
    while isinstance(out, bytes):
        out = exchange.receive(send_to_kdc(out), now)
    credential = out

Pre-authentication follows MIT's kinit: the first request goes without padata (the salt is
not known yet); KDC_ERR_PREAUTH_REQUIRED's ETYPE-INFO2 gives the salt and s2kparams, and
the second request carries PA-ENC-TIMESTAMP. With a long-term key (a keytab) the first
request is already pre-authenticated.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from kerbfirst.client.credential import Credential
from kerbfirst.client.errors import KerberosError, ReplyError
from kerbfirst.client.reply import (
    NONCE_MASK,
    credential_from,
    decrypt_reply,
    raise_error,
    read_reply,
    timestamp,
)
from kerbfirst.crypto import SUPPORTED_ETYPES, Key, encrypt, get_profile, string_to_key
from kerbfirst.krb.names import default_salt, krbtgt_name, parse_principal
from kerbfirst.krb.transcript import Transcript
from kerbfirst.wire.constants import (
    KDC_ERR_ETYPE_NOSUPP,
    KDC_ERR_PREAUTH_FAILED,
    KDC_ERR_PREAUTH_REQUIRED,
    KDC_OPT_FORWARDABLE,
    KDC_OPT_RENEWABLE,
    KDC_OPT_RENEWABLE_OK,
    KRB_AS_REP,
    KRB_AS_REQ,
    KU_AS_REP_ENC_PART,
    KU_PA_ENC_TIMESTAMP,
    PA_ENC_TIMESTAMP,
    PA_ETYPE_INFO2,
)
from kerbfirst.wire.der import DecodeError
from kerbfirst.wire.krb5 import (
    EncryptedData,
    EtypeInfo2Entry,
    KdcRep,
    KdcReq,
    KdcReqBody,
    PaData,
    PrincipalName,
    decode_etype_info2,
    decode_method_data,
)

DEFAULT_OPTIONS = KDC_OPT_FORWARDABLE | KDC_OPT_RENEWABLE_OK


class AsExchange:
    """One AS exchange for one principal. Give exactly one of `password` or `key`."""

    def __init__(
        self,
        principal: str | PrincipalName,
        realm: str,
        *,
        random: Callable[[int], bytes],
        password: bytes | str | None = None,
        key: Key | None = None,
        options: int = DEFAULT_OPTIONS,
        etypes: tuple[int, ...] = SUPPORTED_ETYPES,
        lifetime: timedelta = timedelta(hours=10),
        renew_lifetime: timedelta | None = None,
        server: str | PrincipalName | None = None,
    ) -> None:
        if (password is None) == (key is None):
            raise ValueError("AsExchange needs exactly one of password= or key=")
        unsupported = [e for e in etypes if e not in SUPPORTED_ETYPES]
        if unsupported or not etypes:
            raise ValueError(f"etypes {etypes!r}: only {SUPPORTED_ETYPES} are supported")
        if key is not None and key.etype not in etypes:
            raise ValueError(f"the key's enctype {key.etype} is not among etypes {etypes!r}")
        if isinstance(principal, PrincipalName):
            self.client = principal
        else:
            self.client = parse_principal(principal, realm)[0]
        self.realm = realm
        if server is None:
            self.server = krbtgt_name(realm)
        elif isinstance(server, PrincipalName):
            self.server = server
        else:
            self.server = parse_principal(server, realm)[0]
        self._random = random
        self._password = password.encode("utf-8") if isinstance(password, str) else password
        self._key = key  # the long-term key, once known
        self.options = options | (KDC_OPT_RENEWABLE if renew_lifetime else 0)
        self.etypes = etypes
        self.lifetime = lifetime
        self.renew_lifetime = renew_lifetime
        self.transcript = Transcript()
        self._nonce = 0
        self._preauth_sent = False
        self._done = False

    @property
    def messages(self) -> list[tuple[str, bytes]]:
        """Every message so far, ("sent" | "received", bytes), in order."""
        return self.transcript.messages

    def first_request(self, now: datetime) -> bytes:
        return self._request(now, preauth=self._key is not None)

    def receive(self, reply: bytes, now: datetime) -> bytes | Credential:
        """The next request to send, or the credential. Raises KerberosError for a
        KRB-ERROR the exchange cannot continue from, ReplyError for a bad reply."""
        if self._done:
            raise ReplyError("this AS exchange is finished; start a new one")
        if not self._nonce:
            raise ReplyError("receive() before first_request()")
        self.transcript.received(reply)
        msg = read_reply(reply, KRB_AS_REP)
        if isinstance(msg, KdcRep):
            return self._finish(msg)
        if msg.error_code == KDC_ERR_PREAUTH_REQUIRED and not self._preauth_sent:
            self._choose_key(_etype_info2_of(msg.e_data))
            return self._request(now, preauth=True)
        self._done = True
        raise_error(msg)
        raise AssertionError("unreachable")  # pragma: no cover  (raise_error always raises)

    # ------------------------------------------------------------------ internals

    def _request(self, now: datetime, *, preauth: bool) -> bytes:
        self._nonce = int.from_bytes(self._random(4), "big") & NONCE_MASK or 1
        start = now.replace(microsecond=0)
        body = KdcReqBody(
            kdc_options=self.options,
            cname=self.client,
            realm=self.realm,
            sname=self.server,
            from_=None,
            till=start + self.lifetime,
            rtime=start + self.renew_lifetime if self.renew_lifetime else None,
            nonce=self._nonce,
            etype=self.etypes,
        )
        padata: tuple[PaData, ...] | None = None
        if preauth:
            key = self._key
            if key is None:
                raise ReplyError("no long-term key to pre-authenticate with")
            # RFC 4120 5.2.7.2: PA-ENC-TIMESTAMP, the current time in the long-term key.
            cipher = encrypt(
                key,
                KU_PA_ENC_TIMESTAMP,
                timestamp(now).encode(),
                confounder=self._random(get_profile(key.etype).confounder_size),
            )
            padata = (PaData(PA_ENC_TIMESTAMP, EncryptedData(key.etype, None, cipher).encode()),)
            self._preauth_sent = True
        req = KdcReq(msg_type=KRB_AS_REQ, padata=padata, req_body=body)
        return self.transcript.sent(req.encode())

    def _choose_key(self, entries: tuple[EtypeInfo2Entry, ...]) -> None:
        """Derive the long-term key from the first ETYPE-INFO2 entry we support (the KDC
        lists them in our order of preference, RFC 4120 5.2.7.5)."""
        for entry in entries:
            if entry.etype in self.etypes:
                self._key = self._derive(entry)
                return
        if self._key is not None:
            return
        if entries:
            offered = [e.etype for e in entries]
            raise KerberosError(
                KDC_ERR_ETYPE_NOSUPP, f"the KDC offers enctypes {offered}, we use {self.etypes}"
            )
        # No ETYPE-INFO2: RFC 4120 section 4 default salt, our first enctype.
        self._key = self._derive(EtypeInfo2Entry(self.etypes[0]))

    def _derive(self, entry: EtypeInfo2Entry) -> Key:
        if self._password is None:
            if self._key is not None and self._key.etype == entry.etype:
                return self._key
            raise KerberosError(
                KDC_ERR_ETYPE_NOSUPP,
                f"the KDC wants enctype {entry.etype}; the given key is enctype "
                f"{self._key.etype if self._key else None}",
            )
        salt = (
            entry.salt.encode("utf-8")
            if entry.salt is not None
            else default_salt(self.client.name_string, self.realm)
        )
        return string_to_key(entry.etype, self._password, salt, entry.s2kparams)

    def _finish(self, rep: KdcRep) -> Credential:
        self._done = True
        etype = rep.enc_part.etype
        if etype not in self.etypes:
            raise ReplyError(f"the AS-REP is encrypted with enctype {etype}, not one we offered")
        key = self._key
        if key is None or key.etype != etype:
            # Not pre-authenticated (or another enctype): the AS-REP's ETYPE-INFO2 names
            # the salt of the reply key (RFC 4120 5.2.7.5).
            entries = _etype_info2_of_padata(rep.padata)
            entry = next((e for e in entries if e.etype == etype), EtypeInfo2Entry(etype))
            key = self._derive(entry)
        try:
            enc = decrypt_reply(key, KU_AS_REP_ENC_PART, rep, "AS-REP")
        except ReplyError:
            if self._password is None:
                raise
            # A KDC that does not require pre-authentication (MIT's default) answers a wrong
            # password with an AS-REP that will not decrypt; report it as MIT's kinit does.
            raise KerberosError(
                KDC_ERR_PREAUTH_FAILED, "the AS-REP did not decrypt with this password's key"
            ) from None
        return credential_from(
            rep,
            enc,
            nonce=self._nonce,
            client=self.client,
            crealm=self.realm,
            server=self.server,
            srealm=self.realm,
        )


def _etype_info2_of_padata(padata: tuple[PaData, ...] | None) -> tuple[EtypeInfo2Entry, ...]:
    for pa in padata or ():
        if pa.padata_type == PA_ETYPE_INFO2:
            try:
                return decode_etype_info2(pa.padata_value)
            except DecodeError as exc:
                raise ReplyError(f"malformed PA-ETYPE-INFO2 from the KDC: {exc}") from None
    return ()


def _etype_info2_of(e_data: bytes | None) -> tuple[EtypeInfo2Entry, ...]:
    """ETYPE-INFO2 from the METHOD-DATA e-data of KDC_ERR_PREAUTH_REQUIRED."""
    if not e_data:
        return ()
    try:
        method_data = decode_method_data(e_data)
    except DecodeError as exc:
        raise ReplyError(f"malformed METHOD-DATA in PREAUTH_REQUIRED: {exc}") from None
    return _etype_info2_of_padata(method_data)
