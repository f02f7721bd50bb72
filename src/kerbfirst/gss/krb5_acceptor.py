"""The krb5 GSS-API acceptor (RFC 4121 4.1, RFC 4120 3.2.3): verify an AP-REQ token and
answer with an AP-REP token (mutual authentication) or a KRB-ERROR token.

Checks, in MIT krb5's order (krb5_rd_req_decoded, then kg_accept_krb5): the service key for
the ticket's (principal, kvno, etype); then krb.rd_req, shared with the KDC: ticket and
authenticator (usage 11) decryption (31), client name match (36), clock skew (37), ticket
start (33) and end (32) time; then the 0x8003 checksum (flags, channel bindings,
extensions) and the replay cache (34). Each refusal carries its Kerberos error code and a
reason a person can act on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from kerbfirst.crypto import Key, encrypt, get_profile
from kerbfirst.gss.checksum import (
    GSS_C_CONF_FLAG,
    GSS_C_DELEG_FLAG,
    GSS_C_INTEG_FLAG,
    GSS_C_MUTUAL_FLAG,
    ChannelBindings,
    GssChecksum,
)
from kerbfirst.gss.errors import (
    BadBindings,
    CredentialsExpired,
    DefectiveCredential,
    DefectiveToken,
    DuplicateToken,
    GssError,
    NoContext,
    NoCredential,
)
from kerbfirst.gss.krb5_initiator import (
    ACCEPTED_OIDS,
    Random,
    from_wire_key,
    new_sequence_number,
    new_subkey,
    split_time,
    to_wire_key,
)
from kerbfirst.gss.krb5_tokens import TOK_AP_REP, TOK_AP_REQ, TOK_KRB_ERROR, frame, unframe_krb5
from kerbfirst.gss.per_message import ContextKeys, SecurityContext
from kerbfirst.gss.replay import ReplayCache, ReplayCacheFull
from kerbfirst.krb.key_usage import authenticator_usage
from kerbfirst.krb.names import unparse_principal
from kerbfirst.krb.rd_req import ApFault, ApReqRefused, KeyLookup, decrypt_ticket, rd_req
from kerbfirst.wire.constants import (
    AP_OPT_MUTUAL_REQUIRED,
    AP_OPT_USE_SESSION_KEY,
    CKSUMTYPE_GSSAPI,
    KRB_AP_ERR_BADKEYVER,
    KRB_AP_ERR_INAPP_CKSUM,
    KRB_AP_ERR_METHOD,
    KRB_AP_ERR_MODIFIED,
    KRB_AP_ERR_NOKEY,
    KRB_AP_ERR_NOT_US,
    KRB_AP_ERR_REPEAT,
    KRB_ERR_GENERIC,
    KU_AP_REP_ENC_PART,
)
from kerbfirst.wire.der import DecodeError
from kerbfirst.wire.krb5 import (
    ApRep,
    ApReq,
    Authenticator,
    EncApRepPart,
    EncryptedData,
    EncTicketPart,
    KrbError,
)

# Called with the parsed 0x8003 checksum and the authenticator subkey before the context is
# established; raise a GssError to refuse (IAKerb verifies its KRB-FINISHED here).
ExtensionCheck = Callable[[GssChecksum, Key | None], None]

DEFAULT_SKEW = timedelta(minutes=5)  # RFC 4120 1.6's usual allowance; MIT's clockskew default


@dataclass(frozen=True, slots=True)
class AcceptedContext:
    """What the acceptor learned, for authorization, audit and IAKerb."""

    client: str  # "name@REALM"
    service: str
    ticket: EncTicketPart
    authenticator: Authenticator
    checksum: GssChecksum
    mech_oid: str


# How each rd_req refusal is reported through GSS-API (RFC 2743 major statuses).
_AP_FAULTS: dict[ApFault, type[GssError]] = {
    ApFault.TICKET_INTEGRITY: DefectiveCredential,
    ApFault.TICKET_MALFORMED: DefectiveToken,
    ApFault.SESSION_KEY_UNUSABLE: DefectiveCredential,
    ApFault.AUTHENTICATOR_INTEGRITY: DefectiveCredential,
    ApFault.AUTHENTICATOR_MALFORMED: DefectiveToken,
    ApFault.CLIENT_MISMATCH: DefectiveCredential,
    ApFault.SKEW: DefectiveCredential,
    ApFault.NOT_YET_VALID: DefectiveCredential,
    ApFault.EXPIRED: CredentialsExpired,
}


class Krb5Acceptor:
    """GSS_Accept_sec_context for krb5: one object per context, one `step` per AP-REQ."""

    def __init__(
        self, *, key_lookup: KeyLookup, replay_cache: ReplayCache, random: Random,
        clock_skew: timedelta = DEFAULT_SKEW, service: str | None = None,
        channel_bindings: ChannelBindings | None = None, require_bindings: bool = True,
        acceptor_subkey: bool = True, accepted_oids: Collection[str] = ACCEPTED_OIDS,
        extension_check: ExtensionCheck | None = None,
    ) -> None:
        self._key_lookup = key_lookup
        self._replay_cache = replay_cache
        self._random = random
        self.clock_skew = clock_skew
        self.service = service  # when set, only tickets for this principal are accepted
        self.channel_bindings = channel_bindings
        self.require_bindings = require_bindings
        self.use_acceptor_subkey = acceptor_subkey
        self.accepted_oids = frozenset(accepted_oids)
        self._extension_check = extension_check
        self.context: SecurityContext | None = None
        self.accepted: AcceptedContext | None = None
        self._done = False

    @property
    def complete(self) -> bool:
        return self.context is not None

    def step(self, token: bytes, *, now: datetime) -> bytes | None:
        """Accept the initiator's token. Returns the AP-REP token to send when mutual
        authentication was requested, else None. On failure raises a GssError whose
        `output_token` (a KRB-ERROR token, or None) should be sent to the peer."""
        if self._done:
            raise NoContext("this acceptor has already processed its AP-REQ")
        self._done = True
        oid, tok_id, body = unframe_krb5(token, self.accepted_oids)
        if tok_id != TOK_AP_REQ:
            raise DefectiveToken(f"expected an AP-REQ token (01 00), got TOK_ID {tok_id.hex()}")
        try:
            ap_req = ApReq.decode(body)
        except DecodeError as decode_exc:  # own name: mypyc types a name once per function
            raise DefectiveToken(f"AP-REQ does not decode: {decode_exc}") from None
        refusal = _Refusal(oid, ap_req, now)
        try:
            return self._accept(oid, ap_req, now, refusal)
        except GssError as exc:
            if exc.krb_error is not None and exc.output_token is None:
                exc.output_token = refusal.token(exc.krb_error, str(exc))
            raise

    def _service_key(self, ap_req: ApReq) -> tuple[str, Key]:
        ticket = ap_req.ticket
        service = unparse_principal(ticket.sname, ticket.realm)
        if self.service is not None and service != self.service:
            raise NoCredential(f"ticket is for {service}, this acceptor is {self.service}",
                               krb_error=KRB_AP_ERR_NOT_US)
        kvno, etype = ticket.enc_part.kvno, ticket.enc_part.etype
        key = self._key_lookup(service, kvno, etype)
        if key is None:
            code = KRB_AP_ERR_BADKEYVER if kvno is not None else KRB_AP_ERR_NOKEY
            raise NoCredential(
                f"no key for {service} kvno {kvno} enctype {etype}: extract the service's "
                "current key into the keytab", krb_error=code)
        return service, key

    def _accept(self, oid: str, ap_req: ApReq, now: datetime, refusal: _Refusal) -> bytes | None:
        if ap_req.ap_options & AP_OPT_USE_SESSION_KEY:
            raise DefectiveCredential("user-to-user AP-REQs are not supported",
                                      krb_error=KRB_AP_ERR_METHOD)
        service, service_key = self._service_key(ap_req)
        try:
            verified = rd_req(
                ap_req, open_ticket=lambda enc: decrypt_ticket(service_key, enc.cipher),
                server=service, usage=authenticator_usage(in_tgs_req=False), now=now,
                skew=self.clock_skew)
        except ApReqRefused as exc:
            refusal.authenticator = exc.authenticator
            raise _AP_FAULTS[exc.fault](exc.reason, krb_error=exc.code) from None
        ticket, session_key, auth = verified.ticket, verified.session_key, verified.authenticator
        refusal.authenticator = auth
        client = unparse_principal(ticket.cname, ticket.crealm)
        gss_cksum = self._check_checksum(auth)
        subkey = from_wire_key(auth.subkey) if auth.subkey is not None else None
        if self._extension_check is not None:
            self._extension_check(gss_cksum, subkey)
        # MIT's replay-cache tag is a hash of the encrypted authenticator; with client and
        # time it identifies one authenticator (RFC 4120 3.2.3).
        tag = hashlib.sha256(ap_req.authenticator.cipher).digest()
        try:
            fresh = self._replay_cache.check_and_store(
                (client, auth.ctime, auth.cusec, tag), now=now, lifetime=self.clock_skew)
        except ReplayCacheFull as full:  # own name: mypyc types a name once per function
            raise GssError(str(full), krb_error=KRB_ERR_GENERIC) from None
        if not fresh:
            raise DuplicateToken(f"replayed authenticator from {client}",
                                 krb_error=KRB_AP_ERR_REPEAT)

        flags = (gss_cksum.flags & ~GSS_C_DELEG_FLAG) | GSS_C_CONF_FLAG | GSS_C_INTEG_FLAG
        mutual = bool(ap_req.ap_options & AP_OPT_MUTUAL_REQUIRED) or bool(
            gss_cksum.flags & GSS_C_MUTUAL_FLAG)
        initiator_seq = auth.seq_number if auth.seq_number is not None else 0
        acceptor_subkey: Key | None = None
        output: bytes | None = None
        if mutual:
            send_seq = new_sequence_number(self._random)
            if self.use_acceptor_subkey:
                etype = subkey.etype if subkey is not None else session_key.etype
                acceptor_subkey = new_subkey(etype, self._random)
            part = EncApRepPart(
                ctime=auth.ctime, cusec=auth.cusec,
                subkey=to_wire_key(acceptor_subkey) if acceptor_subkey else None,
                seq_number=send_seq)
            cipher = encrypt(session_key, KU_AP_REP_ENC_PART, part.encode(),
                             confounder=self._random(get_profile(session_key.etype)
                                                     .confounder_size))
            ap_rep = ApRep(enc_part=EncryptedData(session_key.etype, None, cipher))
            output = frame(oid, TOK_AP_REP, ap_rep.encode())
        else:
            send_seq = initiator_seq  # RFC 1964 1.2.1.2 / MIT: one shared starting number
        self.context = SecurityContext(
            initiator=False, keys=ContextKeys(session_key, subkey, acceptor_subkey),
            flags=flags, send_seq=send_seq, recv_seq=initiator_seq, expires=ticket.endtime,
            client=client, service=service, random=self._random)
        self.accepted = AcceptedContext(client, service, ticket, auth, gss_cksum, oid)
        return output

    def _check_checksum(self, auth: Authenticator) -> GssChecksum:
        if auth.cksum is None or auth.cksum.cksumtype != CKSUMTYPE_GSSAPI:
            got = None if auth.cksum is None else auth.cksum.cksumtype
            raise DefectiveToken(
                f"authenticator checksum type is {got}, GSS requires 0x8003 (RFC 4121 4.1.1)",
                krb_error=KRB_AP_ERR_INAPP_CKSUM)
        try:
            gss_cksum = GssChecksum.decode(auth.cksum.checksum)
        except DefectiveToken as exc:
            raise DefectiveToken(str(exc), krb_error=KRB_AP_ERR_MODIFIED) from None
        if not gss_cksum.bindings_match(self.channel_bindings, required=self.require_bindings):
            # MIT answers binding mismatches without an error token.
            raise BadBindings("channel bindings do not match this connection's (RFC 4121 "
                              "4.1.1.2): the initiator is not talking to this endpoint")
        return gss_cksum


class _Refusal:
    """Builds the KRB-ERROR token for a refused AP-REQ (RFC 4120 5.9.1, RFC 4121 4.1)."""

    def __init__(self, oid: str, ap_req: ApReq, now: datetime) -> None:
        self.oid = oid
        self.ap_req = ap_req
        self.now = now
        self.authenticator: Authenticator | None = None

    def token(self, code: int, text: str) -> bytes:
        stime, susec = split_time(self.now)
        auth = self.authenticator
        err = KrbError(
            error_code=code, stime=stime, susec=susec, realm=self.ap_req.ticket.realm,
            sname=self.ap_req.ticket.sname,
            ctime=auth.ctime if auth else None, cusec=auth.cusec if auth else None,
            e_text=text[:200],
        )
        return frame(self.oid, TOK_KRB_ERROR, err.encode())
