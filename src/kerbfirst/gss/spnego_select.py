"""SPNEGO mechanism selection and its refusals: Kerberos first, NTLM only by explicit policy.

RFC 4178 3.2 lets the acceptor pick any mechanism from the initiator's list it supports; MIT
(negotiate_mech in spnego_mech.c) and Windows pick the initiator's most preferred one. kerbfirst
does the same with two rules of its own, so that SPNEGO cannot be the way back to NTLM:

- NTLM is never chosen while a Kerberos-family mechanism (krb5, Microsoft's krb5 OID, IAKerb)
  is mutually supported, whatever the initiator's order;
- when the initiator preferred a Kerberos mechanism to NTLM but the acceptor can serve only
  NTLM, that is a downgrade and is refused, whatever the NTLM policy says; otherwise NTLM needs
  an explicit yes from the acceptor's `NtlmGate` (default: no).

Microsoft's krb5 OID 1.2.840.48018.1.2.2 is krb5 (MS-SPNG 3.3.5.1); the OID is echoed back as
the initiator spelled it, as MIT does, because Windows matches supportedMech byte for byte.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from kerbfirst.gss.errors import GSS_S_BAD_MECH, GssError
from kerbfirst.wire.gss_framing import OID_IAKERB, OID_KRB5, OID_KRB5_MS, OID_NTLMSSP

KERBEROS_OIDS = frozenset({OID_KRB5, OID_KRB5_MS, OID_IAKERB})


def canonical_oid(oid: str) -> str:
    """Microsoft's krb5 OID is the krb5 mechanism (MS-SPNG 3.3.5.1)."""
    return OID_KRB5 if oid == OID_KRB5_MS else oid


class NegotiationRejected(GssError):
    """No acceptable mechanism, or the peer answered negState reject (RFC 4178 4.2.2)."""

    major = GSS_S_BAD_MECH


class NtlmRefused(NegotiationRejected):
    """NTLM would have been the mechanism and the acceptor's NTLM policy said no."""


class DowngradeRefused(NtlmRefused):
    """The initiator preferred Kerberos or IAKerb, yet only NTLM was left: refused always."""


class NtlmRequest(NamedTuple):
    """What the NTLM gate is asked about: the initiator's list, in its order."""

    offered: tuple[str, ...]


class NtlmVerdict(NamedTuple):
    allowed: bool
    reason: str  # logged and, on refusal, put in the error the caller sees


NtlmGate = Callable[[NtlmRequest], NtlmVerdict]


def deny_ntlm(request: NtlmRequest) -> NtlmVerdict:
    """The default gate: kerbfirst refuses NTLM unless a policy exception allows it."""
    return NtlmVerdict(False, "NTLM is refused by default: register an NTLM policy exception "
                              "for this service, or give the client Kerberos or IAKerb")


class Selection(NamedTuple):
    mech_oid: str  # as the initiator spelled it (echoed in supportedMech)
    position: int  # in the initiator's list; 0 = the initiator's first choice


def select_mechanism(
    offered: Sequence[str], supported: Sequence[str], *, ntlm_gate: NtlmGate = deny_ntlm,
    prefer_acceptor_order: bool = False,
) -> Selection:
    """Pick the mechanism (see the module text); raise a NegotiationRejected family error
    whose message says what was offered, what is supported, and what to change."""
    ours = [canonical_oid(o) for o in supported]
    candidates = [Selection(o, i) for i, o in enumerate(offered) if canonical_oid(o) in ours]
    strong = [c for c in candidates if canonical_oid(c.mech_oid) != OID_NTLMSSP]
    if strong:
        if prefer_acceptor_order:
            return min(strong, key=lambda c: (ours.index(canonical_oid(c.mech_oid)), c.position))
        return strong[0]
    ntlm = [c for c in candidates if c.mech_oid == OID_NTLMSSP]
    if ntlm:
        before = [o for o in offered[: ntlm[0].position] if o in KERBEROS_OIDS]
        if before:
            raise DowngradeRefused(
                f"initiator preferred {', '.join(before)} to NTLM but this acceptor supports "
                "none of its Kerberos mechanisms: refusing the downgrade to NTLM. Give the "
                "service a key (keytab) or enable IAKerb on the acceptor")
        verdict = ntlm_gate(NtlmRequest(tuple(offered)))
        if not verdict.allowed:
            raise NtlmRefused(f"initiator offered only NTLM among this acceptor's mechanisms: "
                              f"{verdict.reason}")
        return ntlm[0]
    if (any(canonical_oid(o) == OID_NTLMSSP for o in offered)
            and not any(o in KERBEROS_OIDS for o in offered)):
        # An initiator with NTLM as its only way in is an NTLM attempt, whether or not
        # this acceptor has NTLM at all: refused as NTLM, so it is counted as one.
        raise NtlmRefused(f"initiator offered only NTLM and this acceptor does not offer it "
                          f"(it supports [{', '.join(supported)}]): give the client Kerberos "
                          "or IAKerb")
    raise NegotiationRejected(
        f"no mechanism in common: initiator offered [{', '.join(offered) or 'none'}], this "
        f"acceptor supports [{', '.join(supported)}]")


__all__ = [
    "KERBEROS_OIDS",
    "DowngradeRefused",
    "NegotiationRejected",
    "NtlmGate",
    "NtlmRefused",
    "NtlmRequest",
    "NtlmVerdict",
    "Selection",
    "canonical_oid",
    "deny_ntlm",
    "select_mechanism",
]
