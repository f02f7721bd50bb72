"""A governed NTLM acceptor (MS-NLMP), sans-I/O: NTLMv2 only, MIC, channel bindings (EPA),
target-name check, timestamp window and replay cache; the NTLM policy is asked before any
credential is checked.

One `NtlmAcceptContext` per exchange (a connection, or an HTTP challenge the server keeps):

    ctx = NtlmAcceptContext(config, verifier, replay=cache, gate=gate,
                            channel_bindings=cb, client_address="192.0.2.7")
    challenge = ctx.challenge(negotiate_bytes, server_challenge=os.urandom(8), now=now)
    identity = ctx.authenticate(authenticate_bytes, now=now)   # or NtlmLogonRefused

Refusals (MS-NLMP 3.3.2 and the policy) raise `NtlmLogonRefused` with a `NtlmFault` code and a
sentence a person can act on; `ctx.attempt` then holds what the client claimed (user,
domain, workstation, version), for the log. What is refused and why:

- LM and NTLMv1 responses (NtChallengeResponse of 24 bytes or none): always. Anonymous.
- the policy gate says no (`gate`): checked before the password, so a blocked path is no
  oracle for guessing one.
- no MIC (MsvAvFlags bit 0x2 and the MIC field) when `config.require_mic`; a wrong MIC always.
  The MIC binds NEGOTIATE and CHALLENGE to AUTHENTICATE, so flags cannot be stripped.
- channel bindings (MS-NLMP 3.3.2 step 10, "Extended Protection"): on TLS the client's
  MsvAvChannelBindings must be the MD5 of the gss_channel_bindings structure over the
  server's tls-server-end-point data (a missing or zero value is refused when
  `config.require_channel_bindings`); off TLS a non-zero value is refused, since the
  client bound the exchange to a TLS channel this server is not on: a relay.
- MsvAvTargetName must name one of the service's SPNs (`config.service_names`); missing is
  refused when `config.require_target_name`.
- the NTLMv2 client timestamp must lie within `config.max_skew` of `now`; the NTProofStr
  is remembered (gss/replay.py) until the timestamp leaves the window.
"""

from __future__ import annotations

import dataclasses
import enum
import hmac
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import NamedTuple, Protocol

from kerbfirst.gss import ntlm_crypto as nc
from kerbfirst.gss.errors import GssError
from kerbfirst.gss.replay import ReplayCache, ReplayCacheFull
from kerbfirst.wire import ntlm as w
from kerbfirst.wire.ntlm import NtlmVersion

FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)
_ZERO16 = bytes(16)


def to_filetime(t: datetime) -> int:
    delta = t - FILETIME_EPOCH
    return (delta.days * 86_400 + delta.seconds) * 10_000_000 + delta.microseconds * 10


def from_filetime(ft: int) -> datetime:
    return FILETIME_EPOCH + timedelta(microseconds=ft // 10)


class NtlmFault(enum.StrEnum):
    MALFORMED = "malformed"
    STATE = "out_of_order"
    LM = "lm"
    NTLMV1 = "ntlmv1"
    ANONYMOUS = "anonymous"
    POLICY = "policy"
    NO_MIC = "mic_missing"
    BAD_MIC = "mic_wrong"
    NO_CHANNEL_BINDINGS = "channel_bindings_missing"
    BAD_CHANNEL_BINDINGS = "channel_bindings_wrong"
    NO_TARGET_NAME = "target_name_missing"
    WRONG_TARGET_NAME = "target_name_wrong"
    CLOCK_SKEW = "timestamp_outside_window"
    REPLAY = "replay"
    UNKNOWN_USER = "unknown_user"
    BAD_PASSWORD = "wrong_password"  # noqa: S105 (a fault code)
    UNVERIFIABLE = "verifier_unavailable"


class NtlmLogonRefused(GssError):
    """The acceptor refused the AUTHENTICATE (or an earlier message): `fault` says why. A
    GSS failure, so a GSS carrier (SPNEGO, the sample-protocol server) handles it as any."""

    def __init__(self, fault: NtlmFault, detail: str) -> None:
        super().__init__(detail)
        self.fault = fault
        self.detail = detail


@dataclasses.dataclass(frozen=True, slots=True)
class NtlmAcceptorConfig:
    """The service's identity and how strict it is. `service_names` are the SPNs clients
    must name in MsvAvTargetName (e.g. "HTTP/web.corp.example"), compared without case."""

    service_names: tuple[str, ...]
    nb_computer: str
    nb_domain: str
    dns_computer: str = ""
    dns_domain: str = ""
    require_mic: bool = True
    require_target_name: bool = True
    require_channel_bindings: bool = True  # applies when the exchange runs over TLS
    max_skew: timedelta = timedelta(minutes=5)


class NtlmClaim(NamedTuple):
    """What a client claimed in its AUTHENTICATE message, before anything is verified: what
    the policy decides on and the log records."""

    user: str
    domain: str
    workstation: str
    client_address: str
    service: str  # the SPN the client named, or the service's first name
    version: NtlmVersion
    now: datetime
    flags: int = 0  # the AUTHENTICATE's NegotiateFlags
    mic: bool = False  # MsvAvFlags announced a MIC
    channel_bound: bool = False  # a non-zero MsvAvChannelBindings was sent


class GateVerdict(NamedTuple):
    allowed: bool
    reason: str


NtlmGate = Callable[[NtlmClaim], GateVerdict]


def refuse_all(attempt: NtlmClaim) -> GateVerdict:
    """The default gate: no NTLM without a policy that allows it."""
    return GateVerdict(False, "NTLM is refused by default: no NTLM policy is configured")


class VerifyStatus(enum.Enum):
    OK = "ok"
    UNKNOWN_USER = "unknown_user"
    BAD_PASSWORD = "bad_password"  # noqa: S105 (a status)
    UNAVAILABLE = "unavailable"  # the account's authority could not be asked


class Verified(NamedTuple):
    status: VerifyStatus
    session_base_key: bytes = b""
    account: str = ""  # the canonical account name the verifier matched
    detail: str = ""  # why not, in the verifier's words (a domain's NTSTATUS text)


class NtlmVerifier(Protocol):
    """Checks an NTLMv2 response against an account's secret and returns the
    SessionBaseKey (MS-NLMP 3.3.2). The local verifier computes it from a stored NT hash;
    a domain verifier asks a domain controller (Samba's `ntlm_auth --helper-protocol=
    ntlm-server-1` returns the same key as User-Session-Key)."""

    def verify(self, user: str, domain: str, server_challenge: bytes,
               nt_response: bytes) -> Verified: ...


class NtHashVerifier:
    """Verifies against NT hashes from `lookup(user, domain)` (None: no such account or no
    NTLM credential). The proof is compared with hmac.compare_digest."""

    def __init__(self, lookup: Callable[[str, str], bytes | None]) -> None:
        self._lookup = lookup

    def verify(self, user: str, domain: str, server_challenge: bytes,
               nt_response: bytes) -> Verified:
        secret = self._lookup(user, domain)
        # An unknown account costs the same HMACs as a known one: no timing oracle for
        # which accounts hold an NTLM credential.
        key = nc.ntowf_v2(secret if secret is not None else _ZERO16, user, domain)
        proof, blob = nt_response[:16], nt_response[16:]
        matches = hmac.compare_digest(nc.nt_proof(key, server_challenge, blob), proof)
        if secret is None:
            return Verified(VerifyStatus.UNKNOWN_USER)
        if not matches:
            return Verified(VerifyStatus.BAD_PASSWORD)
        return Verified(VerifyStatus.OK, nc.session_base_key(key, proof), user)


class NtlmIdentity(NamedTuple):
    user: str
    domain: str
    workstation: str
    session_key: bytes  # ExportedSessionKey, for signing/sealing and SPNEGO's mechListMIC
    flags: int
    channel_bound: bool
    target_name: str


_SERVER_FLAGS = (w.NEGOTIATE_UNICODE | w.NEGOTIATE_NTLM | w.NEGOTIATE_TARGET_INFO
                 | w.NEGOTIATE_EXTENDED_SESSIONSECURITY | w.NEGOTIATE_VERSION)
# Flags granted when the client asks for them (MS-NLMP 3.2.5.1.1).
_OPTIONAL_FLAGS = (w.NEGOTIATE_SIGN | w.NEGOTIATE_SEAL | w.NEGOTIATE_ALWAYS_SIGN
                   | w.NEGOTIATE_128 | w.NEGOTIATE_56 | w.NEGOTIATE_KEY_EXCH)


def _utf16(s: str) -> bytes:
    return s.encode("utf-16-le")


class NtlmAcceptContext:
    def __init__(
        self, config: NtlmAcceptorConfig, verifier: NtlmVerifier, *, replay: ReplayCache,
        gate: NtlmGate = refuse_all, channel_bindings: bytes | None = None,
        client_address: str = "",
    ) -> None:
        """`channel_bindings`: the RFC 5929 application data of the TLS channel the exchange
        runs on (nc.tls_server_end_point(cert hash)), or None when it is not on TLS."""
        self.config = config
        self._verifier = verifier
        self._replay = replay
        self._gate = gate
        self._cb = channel_bindings
        self._client_address = client_address
        self._negotiate: bytes | None = None
        self._challenge: bytes | None = None
        self._server_challenge = b""
        self._done = False
        self.attempt: NtlmClaim | None = None
        self.identity: NtlmIdentity | None = None

    # ---------------------------------------------------------------- step 1: CHALLENGE

    def challenge(self, negotiate: bytes, *, server_challenge: bytes, now: datetime) -> bytes:
        if self._negotiate is not None:
            raise NtlmLogonRefused(NtlmFault.STATE, "this NTLM exchange already has a CHALLENGE")
        try:
            msg = w.decode_negotiate(negotiate)
        except w.NtlmFormatError as exc:
            raise NtlmLogonRefused(NtlmFault.MALFORMED, f"NEGOTIATE is malformed: {exc}") from None
        if len(server_challenge) != 8:
            raise ValueError("server_challenge must be 8 random bytes")
        cfg = self.config
        flags = _SERVER_FLAGS | (msg.flags & _OPTIONAL_FLAGS)
        if msg.flags & w.REQUEST_TARGET:
            flags |= w.REQUEST_TARGET | w.TARGET_TYPE_DOMAIN
        info = [(w.AV_NB_DOMAIN_NAME, _utf16(cfg.nb_domain)),
                (w.AV_NB_COMPUTER_NAME, _utf16(cfg.nb_computer))]
        if cfg.dns_domain:
            info.append((w.AV_DNS_DOMAIN_NAME, _utf16(cfg.dns_domain)))
        if cfg.dns_computer:
            info.append((w.AV_DNS_COMPUTER_NAME, _utf16(cfg.dns_computer)))
        # With MsvAvTimestamp in the CHALLENGE the client must send a MIC (MS-NLMP 3.1.5.1.2).
        info.append((w.AV_TIMESTAMP, to_filetime(now).to_bytes(8, "little")))
        out = w.encode_challenge(flags=flags, server_challenge=server_challenge,
                                 target_name=cfg.nb_domain,
                                 target_info=w.encode_av_pairs(info))
        self._negotiate, self._challenge = msg.raw, out
        self._server_challenge = bytes(server_challenge)
        return out

    # ------------------------------------------------------------- step 2: AUTHENTICATE

    def authenticate(self, authenticate: bytes, *, now: datetime) -> NtlmIdentity:
        if self._challenge is None or self._negotiate is None or self._done:
            raise NtlmLogonRefused(NtlmFault.STATE,
                              "AUTHENTICATE without a CHALLENGE of this exchange, or twice")
        self._done = True  # one AUTHENTICATE per CHALLENGE, whatever its outcome
        try:
            msg = w.decode_authenticate(authenticate)
        except w.NtlmFormatError as exc:
            raise NtlmLogonRefused(NtlmFault.MALFORMED,
                                   f"AUTHENTICATE is malformed: {exc}") from None
        nt = msg.nt_response
        version = (NtlmVersion.NTLMV2 if len(nt) > 24 else
                   NtlmVersion.NTLMV1 if len(nt) == 24 else NtlmVersion.LM)
        blob: w.ClientChallenge | None = None
        if version is NtlmVersion.NTLMV2:
            if len(nt) < w.NTLMV2_RESPONSE_MIN:
                raise NtlmLogonRefused(NtlmFault.MALFORMED, "NTLMv2 response is too short")
            try:
                blob = w.decode_client_challenge(nt[16:])
            except w.NtlmFormatError as exc:
                raise NtlmLogonRefused(NtlmFault.MALFORMED, f"NTLMv2 response: {exc}") from None
        try:
            target = (w.av_text(blob.av_pairs, w.AV_TARGET_NAME) or "") if blob else ""
        except w.NtlmFormatError as exc:
            raise NtlmLogonRefused(NtlmFault.MALFORMED, f"MsvAvTargetName: {exc}") from None
        service = target or (self.config.service_names[0] if self.config.service_names else "")
        pairs = blob.av_pairs if blob else {}
        av_flags = int.from_bytes(pairs.get(w.AV_FLAGS, bytes(4)), "little")
        self.attempt = NtlmClaim(
            msg.user, msg.domain, msg.workstation, self._client_address, service, version, now,
            msg.flags, bool(av_flags & w.AV_FLAG_MIC_PRESENT),
            pairs.get(w.AV_CHANNEL_BINDINGS, _ZERO16) != _ZERO16,
        )
        if not msg.user and (not nt or msg.flags & w.NEGOTIATE_ANONYMOUS):
            raise NtlmLogonRefused(NtlmFault.ANONYMOUS, "anonymous NTLM is refused")
        verdict = self._gate(self.attempt)
        if not verdict.allowed:
            raise NtlmLogonRefused(NtlmFault.POLICY, verdict.reason)
        if version is NtlmVersion.LM:
            raise NtlmLogonRefused(NtlmFault.LM, "LM authentication is refused: use Kerberos")
        if version is NtlmVersion.NTLMV1 or blob is None:
            raise NtlmLogonRefused(NtlmFault.NTLMV1, "NTLMv1 is refused; only NTLMv2 is accepted "
                              "(set LmCompatibilityLevel to 5 on the client)")
        self._check_av_pairs(blob, target, now)
        return self._finish(msg, blob, target, now)

    def _check_av_pairs(self, blob: w.ClientChallenge, target: str, now: datetime) -> None:
        cfg = self.config
        if not target:
            if cfg.require_target_name:
                raise NtlmLogonRefused(NtlmFault.NO_TARGET_NAME,
                                  "the client named no target (MsvAvTargetName): refused, an "
                                  "unnamed exchange can be relayed to any service")
        elif target.casefold() not in {n.casefold() for n in cfg.service_names}:
            raise NtlmLogonRefused(NtlmFault.WRONG_TARGET_NAME,
                              f"the client authenticated to {target!r}, not to this service "
                              f"({', '.join(cfg.service_names)}): a relayed exchange")
        bound = blob.av_pairs.get(w.AV_CHANNEL_BINDINGS, _ZERO16)
        if self._cb is None:
            if bound != _ZERO16:
                raise NtlmLogonRefused(NtlmFault.BAD_CHANNEL_BINDINGS,
                                  "the client bound this exchange to a TLS channel, but it "
                                  "arrived without TLS: a relayed exchange")
        elif bound == _ZERO16:
            if cfg.require_channel_bindings:
                raise NtlmLogonRefused(NtlmFault.NO_CHANNEL_BINDINGS,
                                  "no channel bindings (MsvAvChannelBindings) over TLS: the "
                                  "client must support Extended Protection for Authentication")
        elif not hmac.compare_digest(bound, nc.channel_bindings_hash(self._cb)):
            raise NtlmLogonRefused(NtlmFault.BAD_CHANNEL_BINDINGS,
                              "the channel bindings name another TLS channel: a relayed "
                              "exchange (or a TLS-terminating proxy between client and server)")
        # Compared as FILETIME integers: any 64-bit value is a valid input, not every one a
        # representable datetime.
        skew = blob.timestamp - to_filetime(now)
        if abs(skew) > cfg.max_skew // timedelta(microseconds=1) * 10:
            raise NtlmLogonRefused(NtlmFault.CLOCK_SKEW,
                              f"the client's NTLMv2 timestamp is {skew / 1e7:+.0f} s from this "
                              f"server's time {now.isoformat()}; more than {cfg.max_skew} is "
                              "refused (check both clocks)")

    def _finish(self, msg: w.Authenticate, blob: w.ClientChallenge, target: str,
                now: datetime) -> NtlmIdentity:
        av_flags = int.from_bytes(blob.av_pairs.get(w.AV_FLAGS, bytes(4)), "little")
        has_mic = bool(av_flags & w.AV_FLAG_MIC_PRESENT)
        if has_mic and not msg.has_mic_field:
            raise NtlmLogonRefused(NtlmFault.MALFORMED,
                                   "MsvAvFlags announces a MIC the message lacks")
        if not has_mic and self.config.require_mic:
            raise NtlmLogonRefused(NtlmFault.NO_MIC, "the client sent no MIC: refused, the "
                              "NEGOTIATE and CHALLENGE could have been altered")
        result = self._verifier.verify(msg.user, msg.domain, self._server_challenge,
                                       msg.nt_response)
        why = f" ({result.detail})" if result.detail else ""
        if result.status is VerifyStatus.UNKNOWN_USER:
            raise NtlmLogonRefused(NtlmFault.UNKNOWN_USER,
                              f"no NTLM credential for {msg.domain}\\{msg.user}{why}")
        if result.status is VerifyStatus.UNAVAILABLE:
            raise NtlmLogonRefused(NtlmFault.UNVERIFIABLE,
                              f"{msg.domain}\\{msg.user} could not be checked{why}")
        if result.status is not VerifyStatus.OK:
            raise NtlmLogonRefused(NtlmFault.BAD_PASSWORD,
                              f"wrong password for {msg.domain}\\{msg.user}{why}")
        exported = nc.exported_session_key(result.session_base_key, msg.encrypted_session_key,
                                           msg.flags, w.NEGOTIATE_KEY_EXCH)
        if has_mic:
            expected = nc.mic(exported, self._negotiate or b"", self._challenge or b"",
                              msg.raw_without_mic())
            if not hmac.compare_digest(expected, msg.mic):
                raise NtlmLogonRefused(NtlmFault.BAD_MIC, "the MIC does not verify: the messages "
                                  "were altered in transit")
        key = (f"{msg.domain}\\{msg.user}".casefold(), from_filetime(blob.timestamp), 0,
               msg.nt_response[:16])
        try:
            fresh = self._replay.check_and_store(key, now=now, lifetime=self.config.max_skew)
        except ReplayCacheFull as exc:
            raise NtlmLogonRefused(NtlmFault.REPLAY, str(exc)) from None
        if not fresh:
            raise NtlmLogonRefused(NtlmFault.REPLAY, "this AUTHENTICATE was seen before: a replay")
        self.identity = NtlmIdentity(result.account or msg.user, msg.domain, msg.workstation,
                                     exported, msg.flags, self._cb is not None, target)
        return self.identity
