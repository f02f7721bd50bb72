"""The IAKerb initiator (draft-ietf-kitten-iakerb-03 3, MIT iakerb.c's initiator side).

Sans-I/O. The client cannot reach a KDC, so its KDC messages travel inside IAKerb tokens
to the acceptor, which relays them:

    [realm discovery]  empty realm + empty message -> the acceptor's realm (draft-03 3.1)
    AS exchange        AS-REQ, KDC_ERR_PREAUTH_REQUIRED, AS-REQ with PA-ENC-TIMESTAMP, AS-REP
    TGS exchange       TGS-REQ for the service, TGS-REP
    AP exchange        AP-REQ (framed with the IAKerb OID, as MIT) with KRB-FINISHED over
                       every IAKerb token in order, then the AP-REP

With a cached TGT only the TGS exchange is proxied; with a cached service ticket the
AP-REQ goes first and carries no KRB-FINISHED (there is no conversation), as MIT does.
`transcript` holds every IAKerb token as sent and received; `tgt` and `service_credential`
hold what was obtained so a caller may cache them.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime, timedelta

from kerbfirst.client import AsExchange, Credential, KerberosClientError, ServiceTicketChase
from kerbfirst.client.errors import KerberosError
from kerbfirst.crypto import Key
from kerbfirst.gss.checksum import ChannelBindings
from kerbfirst.gss.errors import (
    DefectiveCredential,
    DefectiveToken,
    GssError,
    KerberosErrorToken,
    NoContext,
    NoCredential,
)
from kerbfirst.gss.iakerb_finished import make_finished
from kerbfirst.gss.krb5_initiator import DEFAULT_FLAGS, Krb5Initiator, Random
from kerbfirst.gss.krb5_tokens import IAKERB_OID
from kerbfirst.gss.mechanism import StepResult
from kerbfirst.gss.per_message import SecurityContext
from kerbfirst.krb.names import parse_principal
from kerbfirst.krb.transcript import Transcript
from kerbfirst.wire.constants import (
    KRB_AP_ERR_IAKERB_KDC_NO_RESPONSE,
    KRB_AP_ERR_IAKERB_KDC_NOT_FOUND,
    KRB_ERR_GENERIC,
)
from kerbfirst.wire.der import DecodeError
from kerbfirst.wire.iakerb import (
    IakerbHeader,
    IakerbVariant,
    decode_iakerb_token,
    encode_iakerb_token,
)
from kerbfirst.wire.krb5 import KrbError

_PROXY_ERRORS = {
    KRB_AP_ERR_IAKERB_KDC_NOT_FOUND: "the IAKerb acceptor has no KDC for realm {realm} (85): "
    "configure the realm on the acceptor, or name the right realm",
    KRB_AP_ERR_IAKERB_KDC_NO_RESPONSE: "the IAKerb acceptor could not reach a KDC of realm "
    "{realm} (86): check the acceptor's KDC configuration and that the KDC is running",
}


class _State(enum.Enum):
    START = "start"
    DISCOVER = "discover"
    AS = "as"
    TGS = "tgs"
    AP = "ap"
    DONE = "done"
    FAILED = "failed"


class IakerbInitiator:
    """GSS_Init_sec_context for IAKerb. Give one of `password`, `key`, `tgt` or
    `service_ticket`. `service` is "name/host@REALM" or "name/host" (realm: the client's).
    `client` is "alice@REALM" or "alice"; without a realm anywhere (client, `realm`, tgt)
    the initiator asks the acceptor (draft-03 realm discovery)."""

    mech_oid = IAKERB_OID

    def __init__(
        self, *, service: str, random: Random, client: str | None = None,
        realm: str | None = None, password: str | bytes | None = None, key: Key | None = None,
        tgt: Credential | None = None, service_ticket: Credential | None = None,
        variant: IakerbVariant = IakerbVariant.DRAFT03, header_flags: bytes | None = None,
        flags: int = DEFAULT_FLAGS, channel_bindings: ChannelBindings | None = None,
        lifetime: timedelta = timedelta(hours=10), etypes: Sequence[int] | None = None,
    ) -> None:
        given = [x is not None for x in (password, key, tgt, service_ticket)]
        if sum(given) != 1:
            raise ValueError("IakerbInitiator needs exactly one of password=, key=, tgt=, "
                             "service_ticket=")
        if (password is not None or key is not None) and client is None:
            raise ValueError("a password or key needs client= (the principal it belongs to)")
        self._random = random
        self.variant = variant
        self.header_flags = header_flags  # bytes(4) to present as Windows does
        self.flags = flags
        self.channel_bindings = channel_bindings
        self.lifetime = lifetime
        self._etypes = tuple(etypes) if etypes else None
        self._password = password
        self._key = key
        self.tgt = tgt
        self.service_credential = service_ticket
        self._client_name = client
        self.realm = realm
        if client is not None and "@" in client:
            _, client_realm = parse_principal(client)
            self.realm = self.realm or client_realm
        if tgt is not None:
            self.realm = self.realm or tgt.crealm
        self._service = service
        self.transcript = Transcript(error=DefectiveCredential)
        self._state = _State.START
        self._as: AsExchange | None = None
        self._tgs: ServiceTicketChase | None = None
        self._krb5: Krb5Initiator | None = None
        self._target_realm = ""  # realm of the outstanding KDC request
        self._cookie: bytes | None = None  # the acceptor's cookie, echoed (draft-03 3; MIT)

    # ------------------------------------------------------------------ MechContext

    @property
    def complete(self) -> bool:
        return self._state is _State.DONE

    @property
    def context(self) -> SecurityContext | None:
        return self._krb5.context if self._krb5 is not None else None

    def step(self, token: bytes | None, *, now: datetime) -> StepResult:
        """None to start; then each acceptor token. Returns the next token, or None once
        the context is established."""
        if self._state in (_State.DONE, _State.FAILED):
            raise NoContext(f"the IAKerb context is {self._state.value}; no token expected")
        try:
            if token is None:
                if self._state is not _State.START:
                    raise NoContext("step(None) starts a context; it was already started")
                return self._start(now)
            if self._state is _State.START:
                raise NoContext("call step(None) first to produce the initial token")
            if self._state is _State.AP:
                self._ap_rep(token)
                return None
            return self._proxy_reply(token, now)
        except GssError:
            self._state = _State.FAILED
            raise
        except KerberosError as exc:
            self._state = _State.FAILED
            raise KerberosErrorToken(f"KDC refused the tunnelled request: {exc}",
                                     krb_error=exc.code) from None
        except KerberosClientError as exc:
            self._state = _State.FAILED
            raise DefectiveToken(f"tunnelled KDC reply is not acceptable: {exc}") from None

    # ------------------------------------------------------------------ states

    def _start(self, now: datetime) -> bytes:
        if self.service_credential is not None:
            return self._make_ap_req(self.service_credential, now)
        if self.tgt is not None:
            return self._start_tgs(self.tgt, now)
        if self.realm is None:
            if self.variant is not IakerbVariant.DRAFT03:
                raise NoCredential("MIT <= 1.21 IAKerb has no realm discovery: name the realm")
            self._state = _State.DISCOVER
            return self._token("", b"")
        return self._start_as(now)

    def _start_as(self, now: datetime) -> bytes:
        realm = self.realm
        if realm is None or self._client_name is None:
            raise NoCredential("the AS exchange needs a client principal and a realm")
        name = self._client_name.split("@", 1)[0] if "@" in self._client_name else (
            self._client_name)
        if self._etypes:
            self._as = AsExchange(name, realm, random=self._random, password=self._password,
                                  key=self._key, lifetime=self.lifetime, etypes=self._etypes)
        else:
            self._as = AsExchange(name, realm, random=self._random, password=self._password,
                                  key=self._key, lifetime=self.lifetime)
        self._state = _State.AS
        return self._token(realm, self._as.first_request(now))

    def _start_tgs(self, tgt: Credential, now: datetime) -> bytes:
        # A service of another realm is reached through the trust, each hop's request
        # tunnelled to that realm's KDC (RFC 6806 referrals; client/referrals.py).
        self._tgs = ServiceTicketChase(tgt, self._service, random=self._random)
        self._state = _State.TGS
        return self._token(*self._tgs.first_request(now))

    def _proxy_reply(self, token: bytes, now: datetime) -> bytes:
        try:
            parsed = decode_iakerb_token(token)
        except DecodeError as exc:
            raise DefectiveToken(f"acceptor's IAKerb token does not decode: {exc}") from None
        if self.variant is IakerbVariant.DRAFT03 and not parsed.framed:
            raise DefectiveToken("draft-03 IAKerb replies must be framed")
        self.transcript.add("received", parsed.raw)
        self._cookie = parsed.header.cookie
        message = parsed.message
        if self._state is _State.DISCOVER:
            return self._discovered(parsed.target_realm, message, now)
        self._check_proxy_error(message)
        if self._state is _State.AS and self._as is not None:
            out = self._as.receive(message, now)
            if isinstance(out, bytes):
                return self._token(self._target_realm, out)
            self.tgt = out
            return self._start_tgs(out, now)
        if self._state is _State.TGS and self._tgs is not None:
            step = self._tgs.receive(message, now)
            if isinstance(step, tuple):
                return self._token(*step)
            self.service_credential = step
            return self._make_ap_req(step, now)
        raise NoContext(f"no IAKerb reply expected in state {self._state.value}")

    def _discovered(self, realm: str, message: bytes, now: datetime) -> bytes:
        if message:
            self._check_proxy_error(message)
            raise DefectiveToken("realm discovery reply carries a KDC message")
        if not realm or realm == ".":
            raise DefectiveToken("the acceptor did not tell its realm (draft-03 3.1)")
        self.realm = realm
        return self._start_as(now)

    def _check_proxy_error(self, message: bytes) -> None:
        """KRB-ERROR 85/86 is the acceptor's, not the KDC's: say so plainly."""
        if message[:1] != b"\x7e":
            return
        try:
            err = KrbError.decode(message)
        except DecodeError:
            return  # the exchange objects report undecodable replies
        if self._state is _State.DISCOVER and err.error_code == KRB_AP_ERR_IAKERB_KDC_NOT_FOUND:
            # MIT's initiator words it so: the acceptor knows no realm to answer with.
            raise KerberosErrorToken("the IAKerb acceptor could not determine its realm (85): "
                                     "name the realm (user@REALM) or configure the acceptor's",
                                     krb_error=err.error_code)
        template = _PROXY_ERRORS.get(err.error_code)
        if template is not None:
            raise KerberosErrorToken(template.format(realm=self._target_realm or "?"),
                                     krb_error=err.error_code)
        if self._state is _State.DISCOVER:
            raise KerberosErrorToken(f"realm discovery failed: {err.e_text or 'no reason'}",
                                     krb_error=err.error_code or KRB_ERR_GENERIC)

    def _token(self, realm: str, message: bytes) -> bytes:
        framed = self.variant is IakerbVariant.DRAFT03 or not self.transcript
        header = IakerbHeader(realm, self._cookie, self.header_flags, self.variant)
        token = encode_iakerb_token(header, message, framed=framed)
        self._target_realm = realm
        self.transcript.add("sent", token)
        return token

    def _make_ap_req(self, cred: Credential, now: datetime) -> bytes:
        self._krb5 = Krb5Initiator(
            ticket=cred.ticket, session_key=cred.session_key, client=cred.client,
            client_realm=cred.crealm, now=now, random=self._random, flags=self.flags,
            channel_bindings=self.channel_bindings, ticket_endtime=cred.endtime,
            mech_oid=IAKERB_OID)
        extensions: list[tuple[int, bytes]] = []
        if self.transcript:
            subkey = self._krb5.subkey
            if subkey is None:  # Krb5Initiator always makes one with use_subkey=True
                raise NoCredential("no authenticator subkey to key KRB-FINISHED with")
            extensions.append(make_finished(subkey, self.transcript.data(), self.variant))
        token = self._krb5.initial_token(extensions=extensions)
        self._state = _State.DONE if self._krb5.complete else _State.AP
        return token

    def _ap_rep(self, token: bytes) -> None:
        if self._krb5 is None:
            raise NoContext("no AP-REQ was sent")
        self._krb5.step(token)
        self._state = _State.DONE
