"""Why did Kerberos lose? One primary cause and a remedy per event, from a rule table.

The rules are tried in order; the first that matches decides. The order encodes which
remedy is most urgent when several apply: an anonymous (null) session is one whatever
else the event says (Windows reports NTLM V1 for it, KB 4090105); an NTLMv1 device must
be replaced even if it also names its target by IP; a local account needs LocalKDC
however it was addressed.

Each rule's predicate returns the *evidence* -- the Windows field values that decided
it -- or None. Rules read only AuthEvent (filled by ingest from the fields named in each
rule's doc), so kerbfirst's own acceptor events classify the same way.

Choices worth knowing:
- Trust path: an owned exception by default (NTLM across an external trust is usually a
  known, contained flow), but IAKerb when the event also shows the client could not
  reach a KDC (the other forest's KDC is out of sight, which is what IAKerb fixes).
- "No line of sight to a KDC" has no Cause of its own in the event model; such events
  get Cause.UNKNOWN with remedy IAKERB and evidence naming the signal.
- Target-is-IP reads the *target* name only. WorkstationName names the client in
  4624/4776/8004, so an IP there says nothing about how the target was named.
- Correlation (an NTLM flow preceded by a 4769 0x7 for the same client) is not done per
  event: the 4769 itself classifies as spn-missing, and a correlator may put its status
  into extra["KerberosStatus"], which the spn-missing rule reads.
"""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
from collections.abc import Callable

from kerbfirst.audit.events import (
    AccountScope,
    AuthEvent,
    AuthMechanism,
    Cause,
    NtlmVersion,
    Remedy,
    Role,
)
from kerbfirst.audit.names import target_is_ip

__all__ = ["RULES", "Rule", "classify", "target_is_ip"]


@dataclasses.dataclass(frozen=True, slots=True)
class Rule:
    name: str
    doc: str  # which signal, from which Windows field
    predicate: Callable[[AuthEvent], str | None]  # evidence text, or None: no match
    cause: Cause
    remedy: Remedy


# 24H2 NtlmUsageId codes that KB5064479 documents. Other codes seen in
# third-party tools (2 local account, 9 no line of sight to a DC, 11 null session, ...)
# are not confirmed by Microsoft's text, so no rule relies on them; the unknown rule shows
# the code with Windows' own NtlmUsageReason text as evidence.
REASON_APP_DIRECT = 1
REASON_TARGET_MISSING = 5
REASON_TARGET_UNRESOLVED = 6
REASON_TARGET_IS_IP = 7

KDC_ERR_S_PRINCIPAL_UNKNOWN = 0x7  # RFC 4120 7.5.9
# Statuses meaning "no KDC/DC could be reached" (MS-ERREF): STATUS_NO_LOGON_SERVERS,
# SEC_E_NO_AUTHENTICATING_AUTHORITY, SEC_E_NO_KERB_KEY..., KRB_ERR_KDC_UNREACH (MIT).
NO_KDC_STATUSES = frozenset({"0xC000005E", "0x80090311", "0xC00002FD", "0x8009030E"})
ANONYMOUS_SID = "S-1-5-7"  # ANONYMOUS LOGON
NULL_SID = "S-1-0-0"
TRUST_FIELDS = ("TrustName", "TrustedDomainName", "TrustDirection", "TrustType",
                "TrustedDomain", "CrossForest")
KERBEROS_STATUS_FIELDS = ("KerberosStatus", "KerberosError", "KerberosErrorCode")
# Events whose schema carries the authenticating user: an empty one there is a null session.
USER_BEARING_IDS = frozenset({4624, 4625, 4776, 8001, 4001, 8003, 4003, 8004, 8005, 8006,
                              4004, 4005, 4006, 4013, 4015, 4020, 4021, 4022, 4023, 4024,
                              4025, 4030, 4031, 4032, 4033})
# Client events whose schema names the target (TargetName; TargetService/TargetMachine in
# 4020/4021): empty means "no target".
TARGET_BEARING_IDS = frozenset({8001, 4001, 4020, 4021})
# Security-log NTLM events: no target name and no usage reason in their schema.
SECURITY_LOG_IDS = frozenset({4624, 4625, 4776})


def _ntlmv1(e: AuthEvent) -> str | None:
    if e.ntlm_version in (NtlmVersion.NTLMV1, NtlmVersion.LM):
        if e.event_id in (4013, 4024, 4025):
            return f"EventID={e.event_id} (NTLMv1 event)"
        if e.event_id in (4624, 4625):
            raw = "LM" if e.ntlm_version is NtlmVersion.LM else "NTLM V1"
            return f"LmPackageName={raw}"
        return f"NtlmVersion={e.ntlm_version.value}"
    return None


def _anonymous_logon(e: AuthEvent) -> str | None:
    """The explicit null session: ANONYMOUS LOGON by SID or name."""
    sid = e.extra.get("TargetUserSid", "")
    # A failed 4625 always shows the NULL SID (no account was resolved): only a
    # successful 4624 with it is a null session.
    if sid == ANONYMOUS_SID or (sid == NULL_SID and e.event_id != 4625):
        return f"TargetUserSid={sid} TargetUserName={e.user or '(empty)'}"
    if e.user.upper() == "ANONYMOUS LOGON":
        return f"UserName={e.user}"
    return None


def _no_user(e: AuthEvent) -> str | None:
    if not e.user and e.event_id in USER_BEARING_IDS:
        return "UserName=(empty)"
    return None


def _target_ip(e: AuthEvent) -> str | None:
    if e.usage_reason == REASON_TARGET_IS_IP:
        return f"NtlmUsageId={REASON_TARGET_IS_IP} (target is an IP address)"
    if e.target_name and target_is_ip(e.target_name):
        return f"TargetName={e.target_name}"
    return None


def _local_account(e: AuthEvent) -> str | None:
    if e.account_scope is AccountScope.LOCAL:
        if e.domain in ("", "."):
            return f"TargetDomainName={e.domain or '(empty)'} (the local SAM)"
        return f"TargetDomainName/DomainName={e.domain} names a machine, not a domain"
    return None


def _dc_domain_labels(host: str) -> tuple[str, ...]:
    """The labels of the DC's DNS domain, top-level domain left out:
    dc01.ad.contoso.com -> (AD, CONTOSO). A domain's NetBIOS name is often not the first
    of them (ad.contoso.com is commonly CONTOSO), so an account's domain is the DC's own
    when it is any of them."""
    parts = host.upper().split(".")
    return tuple(parts[1:-1]) if len(parts) > 2 else ()


def _trust(e: AuthEvent) -> str | None:
    if e.secure_channel_type in (3, 4):
        return f"SChannelType={e.secure_channel_type} (trusted domain secure channel)"
    for name in TRUST_FIELDS:
        value = e.extra.get(name)
        if value:
            return f"{name}={value}"
    if e.role is Role.DC_PASSTHROUGH and e.domain and e.mechanism is not AuthMechanism.KERBEROS:
        labels = _dc_domain_labels(e.host)
        dom = e.domain.split(".", 1)[0].upper()
        if labels and dom not in labels and e.account_scope is not AccountScope.LOCAL:
            return (f"DomainName={e.domain} differs from the DC's domain "
                    f"{'.'.join(labels)}")
    return None


def _no_kdc(e: AuthEvent) -> str | None:
    if e.status in NO_KDC_STATUSES:
        return f"Status={e.status} (no KDC/DC reachable)"
    for name in KERBEROS_STATUS_FIELDS:
        value = e.extra.get(name, "").upper().replace("0X", "0x")
        if value in NO_KDC_STATUSES:
            return f"{name}={value} (Kerberos could not reach a KDC)"
    if e.client_address and e.role is not Role.CLIENT_OUTGOING and _is_global(
            e.client_address):
        return f"IpAddress={e.client_address} (client outside the network)"
    return None


@functools.lru_cache(maxsize=4096)
def _is_global(address: str) -> bool:
    """Whether `address` is a public IP address (not one: False). Cached: an estate's
    events come from a few thousand client addresses, each worth parsing once."""
    try:
        return ipaddress.ip_address(address).is_global
    except ValueError:
        return False


def _trust_no_kdc(e: AuthEvent) -> str | None:
    trust = _trust(e)
    if trust is None:
        return None
    no_kdc = _no_kdc(e)
    return f"{trust}; {no_kdc}" if no_kdc else None


def _spn_missing(e: AuthEvent) -> str | None:
    if e.usage_reason in (REASON_TARGET_MISSING, REASON_TARGET_UNRESOLVED):
        what = "missing" if e.usage_reason == REASON_TARGET_MISSING else "not resolvable"
        return f"NtlmUsageId={e.usage_reason} (target name {what})"
    if e.mechanism is AuthMechanism.KERBEROS and e.status in ("0x7", "0x07"):
        return f"Status={e.status} (KDC_ERR_S_PRINCIPAL_UNKNOWN) ServiceName={e.target_name}"
    for name in KERBEROS_STATUS_FIELDS:
        value = e.extra.get(name, "")
        if value in ("0x7", "0x07", "7"):
            return f"{name}={value} (KDC_ERR_S_PRINCIPAL_UNKNOWN)"
    if e.event_id in TARGET_BEARING_IDS and not e.target_name:
        return "TargetName=(empty)"
    return None


def _app_explicit(e: AuthEvent) -> str | None:
    if e.usage_reason == REASON_APP_DIRECT:
        return f"NtlmUsageId={REASON_APP_DIRECT} (application called NTLM directly)"
    if e.event_id == 4015:
        return "EventID=4015 (application blocked from NTLM)"
    if e.mechanism is AuthMechanism.NTLM:
        return f"MechanismOID=(NULL): NTLM package called by name; ProcessName={e.process}"
    return None


def _unknown(e: AuthEvent) -> str | None:
    if e.usage_reason is not None:
        text = e.extra.get("NtlmUsageReason", "")
        shown = f" ({text})" if text else ""
        return f"no rule matched (EventID={e.event_id}, NtlmUsageId={e.usage_reason}{shown})"
    if e.event_id in SECURITY_LOG_IDS:
        return (f"no rule matched (EventID={e.event_id}); not determinable from the Security "
                "log, which names no target and no reason: turn on NTLM auditing "
                "(NTLM/Operational 8001-8004, 24H2 events 4020-4033) on "
                f"{e.host or 'this host'} to learn it")
    return f"no rule matched (EventID={e.event_id})"


RULES: tuple[Rule, ...] = (
    Rule("anonymous",
         "TargetUserSid S-1-5-7 (S-1-0-0 on a successful logon) or TargetUserName/UserName "
         "'ANONYMOUS LOGON'; before NTLMv1: Windows logs LmPackageName 'NTLM V1' for "
         "every anonymous session (KB 4090105), which says nothing about the client",
         _anonymous_logon, Cause.ANONYMOUS, Remedy.RESTRICT_NULL_SESSIONS),
    Rule("ntlmv1-or-lm",
         "LmPackageName 'NTLM V1'/'LM' (4624/4625), NtlmVersion 'NTLMv1' (24H2), or the "
         "event itself: 4013 NTLMv1 failed, 4024/4025 NTLMv1-derived SSO",
         _ntlmv1, Cause.NTLMV1_OR_LM, Remedy.UPGRADE_OR_REPLACE_DEVICE),
    Rule("anonymous-no-user",
         "an empty user in an event whose schema has one (after NTLMv1: an NTLMv1 client "
         "that sent no user is still an NTLMv1 client)",
         _no_user, Cause.ANONYMOUS, Remedy.RESTRICT_NULL_SESSIONS),
    Rule("target-is-ip",
         "TargetName (8001/4001), TargetService/TargetMachine (4020/4021) or SChannelName "
         "(DCs) parses as IPv4/IPv6, or 24H2 NtlmUsageId 7",
         _target_ip, Cause.TARGET_IS_IP, Remedy.REGISTER_SPN_USE_FQDN),
    Rule("local-account",
         "TargetDomainName (4624/4625) or DomainName (AccountDomain on 4030-4033) is '.', "
         "the reporting host's NetBIOS name or the client workstation's",
         _local_account, Cause.LOCAL_ACCOUNT, Remedy.LOCALKDC),
    Rule("trust-path-no-kdc",
         "a trust signal (below) and a no-KDC signal (Status 0xC000005E, KerberosStatus, "
         "client outside): IAKerb lets the server proxy to the other forest's KDC",
         _trust_no_kdc, Cause.TRUST_PATH, Remedy.IAKERB),
    Rule("trust-path",
         "Netlogon SChannelType 3/4 (8004-8006), trust fields if an exporter adds them "
         "(TrustName, TrustedDomainName, ...), or DomainName (8004-8006) / AccountDomain "
         "(4030-4033) differs from the DC's own domain",
         _trust, Cause.TRUST_PATH, Remedy.OWNED_EXCEPTION),
    Rule("spn-missing",
         "24H2 NtlmUsageId 5 (no target) or 6 (not resolvable by Kerberos), 4769 Status "
         "0x7 KDC_ERR_S_PRINCIPAL_UNKNOWN, extra KerberosStatus 0x7, or no target name in a "
         "client event (8001/4001 TargetName, 4020/4021 TargetService and TargetMachine)",
         _spn_missing, Cause.SPN_MISSING, Remedy.REGISTER_SPN_USE_FQDN),
    Rule("no-kdc-line-of-sight",
         "Status 0xC000005E STATUS_NO_LOGON_SERVERS / 0x80090311 "
         "SEC_E_NO_AUTHENTICATING_AUTHORITY (Status of 4625/4022/4023/4030-4033), "
         "KerberosStatus of that kind, or a public IpAddress/ClientIP (client outside the "
         "network)",
         _no_kdc, Cause.UNKNOWN, Remedy.IAKERB),
    Rule("app-explicit-ntlm",
         "24H2 NtlmUsageId 1, event 4015, or MechanismOID '(NULL)' in an NTLM/Operational "
         "event (the NTLM package was called by name, not through Negotiate)",
         _app_explicit, Cause.APP_EXPLICIT_NTLM, Remedy.SWITCH_TO_NEGOTIATE),
    Rule("unknown", "nothing above matched", _unknown, Cause.UNKNOWN,
         Remedy.OWNED_EXCEPTION),
)


def classify(event: AuthEvent) -> AuthEvent:
    """Set cause, remedy and evidence (in place) from the first matching rule; return it."""
    for rule in RULES:
        evidence = rule.predicate(event)
        if evidence is not None:
            event.cause = rule.cause
            event.remedy = rule.remedy
            event.evidence = f"{rule.name}: {evidence}"
            return event
    raise AssertionError("unreachable: the last rule always matches")  # pragma: no cover
