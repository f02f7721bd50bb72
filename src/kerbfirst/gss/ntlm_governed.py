"""The NTLM acceptor under the NTLM policy, every attempt logged as Windows logs it.

    governor = NtlmGovernor(config, verifier, policy=policy_file.current, replay=cache,
                            sink=log.write, host="web.corp.example", process="kerbfirst-web")
    ctx = governor.context(client_address=peer_ip, channel_bindings=cb_or_None)
    challenge = ctx.challenge(negotiate, server_challenge=os.urandom(8), now=now)
    identity = ctx.authenticate(authenticate, now=now)   # or NtlmLogonRefused; events written

Every AUTHENTICATE consults the policy with the whole flow: the client's address (and its
self-declared workstation name, when `trust_workstation_name`), this server, the account
and domain, the NTLM version and the time (`policy.NtlmAttempt`). Audit mode allows what
enforcement would refuse and logs it as "would be blocked" (8003); enforce mode refuses it
(4003, 4625 with STATUS_NTLM_BLOCKED). The
decision's reason names the exception that would have allowed the flow, or says that none
could. `policy` returns the current policy, or None when none is loaded: then NTLM is
refused. Pure: time, randomness and the log's I/O are the caller's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from kerbfirst.gss.ntlm import (
    GateVerdict,
    NtlmAcceptContext,
    NtlmAcceptorConfig,
    NtlmClaim,
    NtlmIdentity,
    NtlmLogonRefused,
    NtlmVerifier,
)
from kerbfirst.gss.ntlm_events import NtlmOutcome, windows_events
from kerbfirst.gss.replay import ReplayCache
from kerbfirst.policy import Decision, NtlmAttempt, Policy
from kerbfirst.wire.ntlm import NtlmVersion

PolicySource = Callable[[], Policy | None]
EventSink = Callable[[Mapping[str, object]], None]
NO_POLICY = "no NTLM policy is loaded: NTLM is refused (kerbfirst policy, README)"


def service_host(spn: str) -> str:
    """The host of an SPN (service/host[:port][/name][@REALM]), the server the policy names."""
    host = spn.split("@", 1)[0]
    host = host.split("/", 2)[1] if "/" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class NtlmGovernor:
    def __init__(
        self, config: NtlmAcceptorConfig, verifier: NtlmVerifier, *, policy: PolicySource,
        replay: ReplayCache, sink: EventSink, host: str, process: str = "kerbfirst",
        pid: int = 0, mechanism_oid: str = "(NULL)", trust_workstation_name: bool = False,
    ) -> None:
        self.config = config
        self.verifier = verifier
        self.policy = policy
        self.replay = replay
        self.sink = sink
        self.host = host
        self.process = process
        self.pid = pid
        self.mechanism_oid = mechanism_oid
        self.trust_workstation_name = trust_workstation_name

    def context(self, *, client_address: str = "",
                channel_bindings: bytes | None = None) -> GovernedContext:
        return GovernedContext(self, client_address, channel_bindings)

    def flow(self, attempt: NtlmClaim) -> NtlmAttempt:
        names = {n.casefold() for n in self.config.service_names}
        spn = attempt.service if attempt.service.casefold() in names else (
            self.config.service_names[0] if self.config.service_names else self.host)
        # The Workstation field of AUTHENTICATE is whatever the client typed there; only the
        # peer's address is the network's word. An exception limited to a client matches
        # on the address, and on the workstation name only when the operator trusts it.
        client = attempt.workstation if self.trust_workstation_name else ""
        return NtlmAttempt(client=client, server=service_host(spn), user=attempt.user,
                    domain=attempt.domain, ntlmv1=attempt.version is not NtlmVersion.NTLMV2,
                    client_address=attempt.client_address)


class GovernedContext:
    def __init__(self, governor: NtlmGovernor, client_address: str,
                 channel_bindings: bytes | None) -> None:
        self._gov = governor
        self.decision: Decision | None = None
        self._mode = "none"
        self._ctx = NtlmAcceptContext(governor.config, governor.verifier,
                                      replay=governor.replay, gate=self._gate,
                                      channel_bindings=channel_bindings,
                                      client_address=client_address)

    def _gate(self, attempt: NtlmClaim) -> GateVerdict:
        policy = self._gov.policy()
        if policy is None:
            return GateVerdict(False, NO_POLICY)
        self._mode = policy.mode.value
        self.decision = policy.decide(self._gov.flow(attempt), attempt.now)
        return GateVerdict(self.decision.allowed, self.decision.reason)

    def challenge(self, negotiate: bytes, *, server_challenge: bytes, now: datetime) -> bytes:
        return self._ctx.challenge(negotiate, server_challenge=server_challenge, now=now)

    def authenticate(self, authenticate: bytes, *, now: datetime) -> NtlmIdentity:
        try:
            identity = self._ctx.authenticate(authenticate, now=now)
        except NtlmLogonRefused as refusal:
            self._log(refusal)
            raise
        self._log(None)
        return identity

    @property
    def attempt(self) -> NtlmClaim | None:
        return self._ctx.attempt

    def _log(self, refusal: NtlmLogonRefused | None) -> None:
        attempt = self._ctx.attempt
        if attempt is None:  # nothing was claimed (malformed or out of order): no event
            return
        outcome = NtlmOutcome(attempt, self.decision, refusal.fault if refusal else None,
                              refusal.detail if refusal else "authenticated", self._mode)
        server = self._gov.flow(attempt).server
        for doc in windows_events(outcome, host=self._gov.host, server=server,
                                  process=self._gov.process,
                                  pid=self._gov.pid, mechanism_oid=self._gov.mechanism_oid):
            self._gov.sink(doc)
