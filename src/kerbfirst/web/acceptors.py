"""The GSS acceptor for one HTTP Negotiate conversation, chosen by its first token: SPNEGO
(RFC 4178) offering krb5 and IAKerb (and NTLMSSP only when an NtlmAuthenticator is given),
or a bare krb5 / IAKerb token as some clients send under Negotiate."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from kerbfirst.gss.checksum import ChannelBindings
from kerbfirst.gss.iakerb_acceptor import IakerbAcceptor
from kerbfirst.gss.krb5_acceptor import Krb5Acceptor
from kerbfirst.gss.krb5_initiator import Random
from kerbfirst.gss.mechanism import Krb5AcceptorMechanism, MechContext
from kerbfirst.gss.replay import ReplayCache
from kerbfirst.gss.spnego_acceptor import SpnegoAcceptor
from kerbfirst.gss.spnego_select import NtlmGate, NtlmRequest, NtlmVerdict, deny_ntlm
from kerbfirst.krb.rd_req import KeyLookup
from kerbfirst.web.ntlm_bridge import ntlm_mechanism_factory
from kerbfirst.web.ntlm_hook import NtlmAuthenticator, NtlmFlow
from kerbfirst.wire.gss_framing import OID_IAKERB, OID_KRB5, OID_KRB5_MS, OID_NTLMSSP
from kerbfirst.wire.spnego import framed_mech_oid

# MIT accepts the final AP-REQ under any of the three Kerberos OIDs.
KERBEROS_FRAMINGS = frozenset({OID_KRB5, OID_KRB5_MS, OID_IAKERB})


def _allow_ntlm(request: NtlmRequest) -> NtlmVerdict:
    return NtlmVerdict(True, "an NTLM authenticator is configured and decides")


@dataclass(frozen=True, slots=True)
class AcceptorFactory:
    """Everything the acceptors of one server share."""

    key_lookup: KeyLookup
    replay_cache: ReplayCache
    random: Random
    realm: str
    service: str | None
    clock_skew: timedelta

    def krb5(self, cb: ChannelBindings | None, required: bool) -> Callable[[str], MechContext]:
        def make(oid: str) -> MechContext:
            acceptor = Krb5Acceptor(
                key_lookup=self.key_lookup, replay_cache=self.replay_cache,
                random=self.random, clock_skew=self.clock_skew, service=self.service,
                channel_bindings=cb, require_bindings=required,
                accepted_oids=KERBEROS_FRAMINGS)
            return Krb5AcceptorMechanism(acceptor, oid)

        return make

    def iakerb(self, cb: ChannelBindings | None, required: bool,
               peer: str) -> Callable[[str], MechContext]:
        def make(oid: str) -> MechContext:
            return IakerbAcceptor(
                key_lookup=self.key_lookup, replay_cache=self.replay_cache,
                random=self.random, realm=self.realm, service=self.service,
                channel_bindings=cb, require_bindings=required,
                clock_skew=self.clock_skew, peer=peer)

        return make

    def for_token(self, token: bytes, cb: ChannelBindings | None, required: bool, peer: str,
                  ntlm: NtlmAuthenticator | None,
                  flow: NtlmFlow | None) -> tuple[MechContext, str]:
        """(the acceptor, its kind: "spnego", "krb5" or "iakerb") for a first token; `flow`
        describes the request to `ntlm` and is needed only with it."""
        oid = framed_mech_oid(token)
        krb5 = self.krb5(cb, required)
        iakerb = self.iakerb(cb, required, peer)
        if oid in (OID_KRB5, OID_KRB5_MS):
            return krb5(oid), "krb5"
        if oid == OID_IAKERB:
            return iakerb(oid), "iakerb"
        factories: dict[str, Callable[[str], MechContext]] = {OID_KRB5: krb5, OID_IAKERB: iakerb}
        gate: NtlmGate = deny_ntlm
        if ntlm is not None:
            if flow is None:
                raise ValueError("an NTLM authenticator needs the request's NtlmFlow")
            factories[OID_NTLMSSP] = ntlm_mechanism_factory(ntlm, flow)
            gate = _allow_ntlm
        return SpnegoAcceptor(factories, ntlm_gate=gate), "spnego"


__all__ = ["KERBEROS_FRAMINGS", "AcceptorFactory"]
