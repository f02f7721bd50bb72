"""The IAKerb acceptor: the proxy (draft-ietf-kitten-iakerb-03 3, MIT iakerb.c).

Sans-I/O. Each IAKerb token from the initiator yields a `ForwardToKdc(realm, message)`
effect; the I/O driver (net/iakerb_proxy.py) sends the message to a KDC of that realm,
only if the realm is configured there, and hands the outcome to `kdc_reply`, which wraps
it into the token for the initiator. The final AP-REQ goes to a Krb5Acceptor (accepting
the krb5 and IAKerb OIDs, as MIT does) whose extension check verifies KRB-FINISHED over
this acceptor's own transcript; after a conversation, an AP-REQ without it is refused.

Each client is answered in its own variant (draft-03 or MIT <= 1.21), learnt from its
first token; a Windows-style client (one that sends header-flags) is answered as a Windows
acceptor answers: target-realm "." and header-flags 01 00 00 00 (see WINDOWS_REPLY_FLAGS).
Realm discovery is answered as MIT's iakerb_acceptor_realm does: with the realm of this
acceptor (given, or that of its service principal), otherwise with KRB-ERROR 85.

Limits: tokens and KDC messages are capped in size, the number of round trips per
conversation is capped (MIT: 16 + 10), only KDC requests (AS-REQ, TGS-REQ) are forwarded
and only KDC replies are relayed back. The audit event's `hops` counts KDC messages
forwarded; a realm-discovery round trip is not one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import NoReturn

from kerbfirst.crypto import Key
from kerbfirst.gss.checksum import ChannelBindings, GssChecksum
from kerbfirst.gss.errors import (
    DefectiveCredential,
    DefectiveToken,
    DuplicateToken,
    GssError,
    NoContext,
)
from kerbfirst.gss.iakerb_audit import IakerbAuditEvent, IakerbOutcome
from kerbfirst.gss.iakerb_finished import (
    FinishedMismatch,
    FinishedMissing,
    verify_finished,
)
from kerbfirst.gss.krb5_acceptor import DEFAULT_SKEW, Krb5Acceptor
from kerbfirst.gss.krb5_initiator import Random, split_time
from kerbfirst.gss.krb5_tokens import IAKERB_OID, KRB5_OID, MS_KRB5_OID, frame, unframe_krb5
from kerbfirst.gss.mechanism import ForwardToKdc, KdcFailure, StepResult
from kerbfirst.gss.per_message import SecurityContext
from kerbfirst.gss.replay import ReplayCache
from kerbfirst.krb.names import unparse_principal as unparse
from kerbfirst.krb.rd_req import KeyLookup
from kerbfirst.krb.transcript import Transcript
from kerbfirst.wire.constants import (
    KRB_AP_ERR_IAKERB_KDC_NO_RESPONSE,
    KRB_AP_ERR_IAKERB_KDC_NOT_FOUND,
    NT_SRV_INST,
    NT_WELLKNOWN,
)
from kerbfirst.wire.der import DecodeError
from kerbfirst.wire.iakerb import (
    IakerbHeader,
    IakerbToken,
    IakerbVariant,
    decode_iakerb_token,
    encode_iakerb_token,
    is_iakerb_token,
)
from kerbfirst.wire.krb5 import KdcReq, KrbError, PrincipalName

MAX_HOPS = 16 + 10  # MIT IAKERB_MAX_HOPS: MAX_IN_TKT_LOOPS + KRB5_REFERRAL_MAXHOPS
MAX_KDC_MESSAGE = 64 * 1024  # a request or reply with a large PAC fits; kdcproxy CVE-2025-59089
_TOKEN_OVERHEAD = 4096  # framing and IAKERB-HEADER around the KDC message
MAX_TOKEN = MAX_KDC_MESSAGE + _TOKEN_OVERHEAD  # the largest initiator token accepted
_KDC_REQUEST_TAGS = frozenset({0x6A, 0x6C})  # [APPLICATION 10] AS-REQ, [APPLICATION 12] TGS-REQ
_KDC_REPLY_TAGS = frozenset({0x6B, 0x6D, 0x7E})  # AS-REP, TGS-REP, KRB-ERROR
WINDOWS_REPLY_REALM = "."  # what a Windows acceptor puts in its replies' target-realm
# header-flags is MS-SPNG's HeaderFlags, a DC-locator hint: a BIT STRING of the DsGetDcName
# flags ([MS-NRPC] 3.5.4.3.1), like KKDCP's dclocator-hint ([MS-KKDCP] 2.2.2). A Windows
# initiator sends it all zero; a Windows (LocalKDC) acceptor answers every proxied reply with
# bit 7 set, octets 01 00 00 00 (the DsGetDcName bit 0x01000000, key-list support required;
# Windows does not document its meaning in a reply). Windows initiators are answered with
# exactly these octets, so that our reply tokens are byte-identical to Windows' own.
WINDOWS_REPLY_FLAGS = b"\x01\x00\x00\x00"
ANONYMOUS = PrincipalName(NT_WELLKNOWN, ("WELLKNOWN", "ANONYMOUS"))  # RFC 8062 2
ANONYMOUS_REALM = "WELLKNOWN:ANONYMOUS"

AuditSink = Callable[[IakerbAuditEvent], None]


class IakerbAcceptor:
    """GSS_Accept_sec_context for IAKerb; one object per conversation (connection)."""

    mech_oid = IAKERB_OID

    def __init__(
        self, *, key_lookup: KeyLookup, replay_cache: ReplayCache, random: Random,
        realm: str | None = None, service: str | None = None,
        channel_bindings: ChannelBindings | None = None, require_bindings: bool = True,
        clock_skew: timedelta = DEFAULT_SKEW, max_hops: int = MAX_HOPS,
        max_kdc_message: int = MAX_KDC_MESSAGE, peer: str = "", audit: AuditSink | None = None,
    ) -> None:
        if realm is None and service is not None and "@" in service:
            realm = service.rsplit("@", 1)[1] or None  # MIT: the verifier cred's realm
        self.realm = realm  # this acceptor's realm, the answer to realm discovery
        self.max_hops = max_hops
        self.max_kdc_message = max_kdc_message
        self.peer = peer
        self._audit = audit
        self._random = random
        self.krb5 = Krb5Acceptor(
            key_lookup=key_lookup, replay_cache=replay_cache, random=random,
            clock_skew=clock_skew, service=service, channel_bindings=channel_bindings,
            require_bindings=require_bindings,
            accepted_oids={KRB5_OID, MS_KRB5_OID, IAKERB_OID},
            extension_check=self._check_finished)
        self.transcript = Transcript(error=DefectiveCredential)
        self.variant: IakerbVariant | None = None
        self.windows_style = False  # the client sent header-flags
        self.hops = 0  # KDC messages forwarded (the audit event's `hops`)
        self.rounds = 0  # IAKerb round trips, realm discovery included (capped by max_hops)
        self.target_realm: str | None = None
        self.client: str | None = None
        self.service: str | None = None
        self.kdc: str | None = None
        self._awaiting: str | None = None  # the realm a ForwardToKdc is outstanding for
        self._pending: tuple[IakerbOutcome, int, str] | None = None  # last proxy failure
        self._reported = False

    # ------------------------------------------------------------------ MechContext

    @property
    def complete(self) -> bool:
        return self.krb5.complete

    @property
    def max_token(self) -> int:
        """The largest initiator token this acceptor takes; a carrier reads no more."""
        return self.max_kdc_message + _TOKEN_OVERHEAD

    @property
    def context(self) -> SecurityContext | None:
        return self.krb5.context

    def step(self, token: bytes | None, *, now: datetime) -> StepResult:
        """Consume one initiator token: an IAKerb token yields ForwardToKdc (or, for realm
        discovery, the reply token); the AP-REQ yields the AP-REP (or None)."""
        if token is None:
            raise NoContext("an IAKerb acceptor needs the initiator's token")
        if self._awaiting is not None:
            raise NoContext("a KDC reply is outstanding; call kdc_reply first")
        if self._reported:
            raise NoContext("this IAKerb conversation is over; start a new acceptor")
        if len(token) > self.max_kdc_message + _TOKEN_OVERHEAD:
            self._fail(now, IakerbOutcome.OVERSIZED, f"token of {len(token)} bytes exceeds "
                       f"{self.max_kdc_message + _TOKEN_OVERHEAD}", DefectiveToken)
        if is_iakerb_token(token):
            return self._proxy_token(token, now)
        return self._ap_req(token, now)

    def kdc_reply(self, reply: bytes | KdcFailure, *, now: datetime, kdc: str = "") -> bytes:
        """The token for the initiator: the KDC's reply, or KRB-ERROR 85/86 on failure."""
        realm = self._awaiting
        if realm is None:
            raise NoContext("no KDC request is outstanding")
        self._awaiting = None
        if isinstance(reply, bytes):
            if not reply or reply[0] not in _KDC_REPLY_TAGS or len(reply) > self.max_kdc_message:
                reply = KdcFailure(KRB_AP_ERR_IAKERB_KDC_NO_RESPONSE,
                                   f"the KDC of {realm} sent something that is not a KDC reply "
                                   f"({len(reply)} bytes)")
            else:
                self.kdc = kdc or self.kdc
                self._pending = None
        if isinstance(reply, KdcFailure):
            outcome = (IakerbOutcome.REALM_NOT_CONFIGURED
                       if reply.code == KRB_AP_ERR_IAKERB_KDC_NOT_FOUND
                       else IakerbOutcome.KDC_NO_RESPONSE)
            self._pending = (outcome, reply.code, reply.reason)
            if kdc:
                self.kdc = kdc
            reply = self._krb_error(reply.code, reply.reason, realm, now)
        return self._reply_token(realm, reply)

    def abandon(self, now: datetime, reason: str = "the initiator went away") -> None:
        """The connection ended before the AP-REQ: report the conversation once."""
        if self._reported:
            return
        if self._pending is not None:
            outcome, code, why = self._pending
            self._report(now, outcome, f"{why}; then {reason}", code)
        else:
            self._report(now, IakerbOutcome.ABANDONED, reason, 0)

    # ------------------------------------------------------------------ IAKerb tokens

    def _proxy_token(self, token: bytes, now: datetime) -> StepResult:
        if self.krb5.complete:
            raise NoContext("IAKerb token after the context was established")
        try:
            parsed = decode_iakerb_token(token)
        except DecodeError as exc:
            self._fail(now, IakerbOutcome.DEFECTIVE_TOKEN, f"IAKerb token does not decode: {exc}",
                       DefectiveToken)
        self._check_variant(parsed, now)
        if self.rounds >= self.max_hops:
            self._fail(now, IakerbOutcome.TOO_MANY_HOPS,
                       f"more than {self.max_hops} KDC round trips in one IAKerb conversation",
                       DefectiveToken)
        realm, message = parsed.target_realm, parsed.message
        if not realm and not message:
            return self._discovery(parsed, now)
        if not realm or not message:
            self._fail(now, IakerbOutcome.DEFECTIVE_TOKEN, "IAKerb token has an empty "
                       "target-realm or an empty KDC message (draft-03 3)", DefectiveToken)
        if len(message) > self.max_kdc_message:
            self._fail(now, IakerbOutcome.OVERSIZED, f"KDC message of {len(message)} bytes "
                       f"exceeds {self.max_kdc_message}", DefectiveToken)
        self._note_request(message, now)
        self.transcript.add("received", parsed.raw)
        self.target_realm = realm
        self.hops += 1
        self.rounds += 1
        self._awaiting = realm
        return ForwardToKdc(realm, message)

    def _check_variant(self, parsed: IakerbToken, now: datetime) -> None:
        if self.variant is None:
            if not parsed.framed:
                self._fail(now, IakerbOutcome.DEFECTIVE_TOKEN, "the first IAKerb token must "
                           "carry the GSS framing (RFC 2743 3.1)", DefectiveToken)
            self.variant = parsed.variant
            self.windows_style = parsed.header.header_flags is not None
        elif parsed.variant is not self.variant:
            self._fail(now, IakerbOutcome.DEFECTIVE_TOKEN,
                       f"IAKerb token of variant {parsed.variant.value} in a "
                       f"{self.variant.value} conversation", DefectiveToken)

    def _note_request(self, message: bytes, now: datetime) -> None:
        """Only KDC requests are relayed; their names feed the audit event."""
        if message[0] not in _KDC_REQUEST_TAGS:
            self._fail(now, IakerbOutcome.DEFECTIVE_TOKEN, f"IAKerb token carries message tag "
                       f"0x{message[0]:02x}, not an AS-REQ or TGS-REQ", DefectiveToken)
        try:
            req = KdcReq.decode(message)
        except DecodeError as exc:
            self._fail(now, IakerbOutcome.DEFECTIVE_TOKEN, f"tunnelled KDC request does not "
                       f"decode: {exc}", DefectiveToken)
        body = req.req_body
        if body.cname is not None:
            self.client = unparse(body.cname, body.realm)
        if body.sname is not None and body.sname.name_string[:1] != ("krbtgt",):
            self.service = unparse(body.sname, body.realm)

    def _discovery(self, parsed: IakerbToken, now: datetime) -> bytes:
        """draft-03 3.1: an empty realm and message ask for the acceptor's realm."""
        if parsed.variant is not IakerbVariant.DRAFT03:
            self._fail(now, IakerbOutcome.DEFECTIVE_TOKEN, "realm discovery is a draft-03 "
                       "feature; an MIT <= 1.21 token must name its realm", DefectiveToken)
        self.transcript.add("received", parsed.raw)
        self.rounds += 1  # no KDC message: not a hop
        if self.realm is None:
            # MIT: KRB-ERROR 85 naming the acceptor (or the anonymous principal), which a
            # 1.22 client reports as "The IAKERB proxy could not determine its realm".
            self._pending = (IakerbOutcome.REALM_NOT_CONFIGURED, KRB_AP_ERR_IAKERB_KDC_NOT_FOUND,
                             "realm discovery: this acceptor has no realm to tell")
            stime, susec = split_time(now)
            body = KrbError(error_code=KRB_AP_ERR_IAKERB_KDC_NOT_FOUND, stime=stime,
                            susec=susec, realm=ANONYMOUS_REALM, sname=ANONYMOUS,
                            e_text="the IAKerb acceptor has no realm to tell").encode()
            return self._reply_token("", body, realm_override="")
        return self._reply_token("", b"", realm_override=self.realm)

    def _reply_token(self, realm: str, body: bytes, *, realm_override: str | None = None) -> bytes:
        variant = self.variant or IakerbVariant.DRAFT03
        reply_realm = realm if realm_override is None else realm_override
        if self.windows_style and realm_override is None:
            reply_realm = WINDOWS_REPLY_REALM
        header = IakerbHeader(reply_realm, None,
                              WINDOWS_REPLY_FLAGS if self.windows_style else None, variant)
        token = encode_iakerb_token(header, body, framed=variant is IakerbVariant.DRAFT03)
        self.transcript.add("sent", token)
        return token

    def _krb_error(self, code: int, reason: str, realm: str, now: datetime) -> bytes:
        stime, susec = split_time(now)
        return KrbError(error_code=code, stime=stime, susec=susec, realm=realm,
                        sname=PrincipalName(NT_SRV_INST, ("krbtgt", realm)),
                        e_text=reason[:200]).encode()

    # ------------------------------------------------------------------ AP-REQ

    def _ap_req(self, token: bytes, now: datetime) -> bytes | None:
        try:
            out = self.krb5.step(token, now=now)
        except GssError as exc:
            self._report(now, _outcome_of(exc), str(exc), exc.krb_error or 0)
            raise
        accepted = self.krb5.accepted
        if accepted is not None:
            self.client, self.service = accepted.client, accepted.service
        if out is not None and self.windows_style:
            # A Windows acceptor frames its AP-REP with the krb5 OID whatever the AP-REQ's
            # (MIT echoes the AP-REQ's): answer a Windows initiator as Windows does.
            oid, tok_id, body = unframe_krb5(out, frozenset({KRB5_OID, MS_KRB5_OID, IAKERB_OID}))
            if oid == IAKERB_OID:
                out = frame(KRB5_OID, tok_id, body)
        self._report(now, IakerbOutcome.AUTHENTICATED,
                     "AP-REQ accepted" + (" with a verified KRB-FINISHED" if self.transcript
                                          else " (no IAKerb conversation: cached ticket)"), 0)
        return out

    def _check_finished(self, gss_cksum: GssChecksum, subkey: Key | None) -> None:
        if not self.transcript:
            return  # no tunnelled exchange: a plain krb5 AP-REQ under the IAKerb OID (MIT)
        verify_finished(gss_cksum, subkey, self.transcript.data(),
                        self.variant or IakerbVariant.DRAFT03)

    # ------------------------------------------------------------------ audit

    def _fail(self, now: datetime, outcome: IakerbOutcome, reason: str,
              error: type[GssError]) -> NoReturn:
        self._report(now, outcome, reason, 0)
        raise error(reason)

    def _report(self, now: datetime, outcome: IakerbOutcome, reason: str, code: int) -> None:
        if self._reported:
            return
        self._reported = True
        if self._audit is None:
            return
        self._audit(IakerbAuditEvent(
            time=now, outcome=outcome, reason=reason, peer=self.peer,
            variant=self.variant.value if self.variant else None,
            target_realm=self.target_realm, client=self.client, service=self.service,
            kdc=self.kdc, hops=self.hops, result_code=code))


def _outcome_of(exc: GssError) -> IakerbOutcome:
    if isinstance(exc, FinishedMissing):
        return IakerbOutcome.FINISHED_MISSING
    if isinstance(exc, FinishedMismatch):
        return IakerbOutcome.FINISHED_MISMATCH
    if isinstance(exc, DuplicateToken):
        return IakerbOutcome.REPLAY
    if isinstance(exc, DefectiveToken):
        return IakerbOutcome.DEFECTIVE_TOKEN
    return IakerbOutcome.AP_REQ_REFUSED
