"""One event model for NTLM authentications and the Kerberos events that explain them.

Fed by Windows logs (EVTX, NXLog/Winlogbeat JSON lines, CSV exports) and by kerbfirst's
own acceptors. Field names follow what an administrator sees in Event Viewer where one
exists; Windows fields are read *by name* during ingest (the 24H2 schema is still
moving between builds), and anything not mapped is kept in `extra`.

Enumerations are closed sets of *our* vocabulary; raw Windows values (event ids, usage
reason codes, status codes) are kept as integers/strings so unknown values survive.
"""

from __future__ import annotations

import dataclasses
import enum
from datetime import datetime
from typing import Any

from kerbfirst.wire.ntlm import NtlmVersion as NtlmVersion


class Role(enum.StrEnum):
    """Which side of the authentication reported it."""

    CLIENT_OUTGOING = "client-outgoing"  # 8001/4001, 4020/4021: this host sent NTLM
    SERVER_INCOMING = "server-incoming"  # 8002/4002, 4022/4023, 4624/4625: this host accepted it
    DC_PASSTHROUGH = "dc-passthrough"  # 8004-8006, 4004-4006, 4776, 4030-4033: a DC validated it
    UNKNOWN = "unknown"


class AccountScope(enum.StrEnum):
    LOCAL = "local"  # TargetDomainName == host name (Security 4624), or a LocalKDC realm
    DOMAIN = "domain"
    UNKNOWN = "unknown"


class AuthMechanism(enum.StrEnum):
    """How a logged authentication chose its protocol (the record's `mechanism` field)."""

    NTLM = "ntlm"  # the application asked for NTLM by name
    NEGOTIATE = "negotiate"  # reached through SPNEGO/Negotiate: Kerberos lost
    KERBEROS = "kerberos"  # a Kerberos event kept because it explains an NTLM one
    # Security 4648 (a logon with explicit credentials) to an IP address, kept because it
    # explains an NTLM logon the target logs: not an NTLM authentication itself.
    EXPLICIT_CREDENTIALS = "explicit-credentials"
    UNKNOWN = "unknown"


class Disposition(enum.StrEnum):
    ALLOWED = "allowed"  # it happened (4624, 4776 success, 4020/4022...)
    AUDIT = "audit"  # 8xxx: "would be blocked" under the configured restriction
    BLOCKED = "blocked"  # 4xxx blocked events, 4625 STATUS_NTLM_BLOCKED
    FAILED = "failed"  # failed for another reason (bad password, ...)


class Cause(enum.StrEnum):
    """Why Kerberos was not used: one primary cause per NTLM event."""

    TARGET_IS_IP = "target-is-ip"
    SPN_MISSING = "spn-missing"  # target name missing or not resolvable by Kerberos
    LOCAL_ACCOUNT = "local-account"
    TRUST_PATH = "trust-path"  # cross-forest / external trust, no Kerberos path
    APP_EXPLICIT_NTLM = "app-explicit-ntlm"
    NTLMV1_OR_LM = "ntlmv1-or-lm"
    ANONYMOUS = "anonymous"
    UNKNOWN = "unknown"


class Remedy(enum.StrEnum):
    REGISTER_SPN_USE_FQDN = "register-spn-use-fqdn"
    IAKERB = "iakerb"  # no line of sight to a KDC
    LOCALKDC = "localkdc"  # local accounts
    SWITCH_TO_NEGOTIATE = "switch-to-negotiate"
    UPGRADE_OR_REPLACE_DEVICE = "upgrade-or-replace-device"
    OWNED_EXCEPTION = "owned-exception"
    # Null sessions (ANONYMOUS LOGON): restrict anonymous access (RestrictAnonymous,
    # RestrictNullSessAccess) and find what enumerates anonymously; no device to replace.
    RESTRICT_NULL_SESSIONS = "restrict-null-sessions"


# Remedies that move the flow onto Kerberos; readiness counts these.
KERBEROS_REMEDIES = frozenset(
    {Remedy.REGISTER_SPN_USE_FQDN, Remedy.IAKERB, Remedy.LOCALKDC, Remedy.SWITCH_TO_NEGOTIATE}
)


# The value ranges of the store's integer columns (audit/store.SCHEMA): readers turn a
# value outside them into a corrupt record or an `extra` field, never a failed batch.
RECORD_ID_MAX = 2**63 - 1  # EventRecordID is a UInt64; the column is a signed int64
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1  # event_id, usage_reason, secure_channel_type


@dataclasses.dataclass(slots=True)
class AuthEvent:
    """One authentication as reported by one host. Classification fills the last block."""

    # identity of the record: (source, record_id) is the deduplication key
    source: str  # file path or stream name the record came from
    record_id: int
    time: datetime  # UTC, timezone-aware
    host: str  # reporting computer (Event/System/Computer)
    provider: str  # e.g. Microsoft-Windows-NTLM, Microsoft-Windows-Security-Auditing
    event_id: int
    role: Role = Role.UNKNOWN
    client_host: str = ""  # workstation name
    client_address: str = ""  # IP address, if reported
    target_name: str = ""  # SPN / server name the client asked for
    user: str = ""
    domain: str = ""
    account_scope: AccountScope = AccountScope.UNKNOWN
    process: str = ""  # ProcessName / LogonProcessName, with CallerPID if any
    ntlm_version: NtlmVersion = NtlmVersion.UNKNOWN
    mechanism: AuthMechanism = AuthMechanism.UNKNOWN
    usage_reason: int | None = None  # Windows 24H2 usage reason code, kept raw
    disposition: Disposition = Disposition.ALLOWED
    status: str = ""  # NTSTATUS or error code as text, e.g. "0xC0000418"
    secure_channel_type: int | None = None  # Netlogon SChannelType (3/4: over a trust)
    extra: dict[str, str] = dataclasses.field(default_factory=dict)
    # classification (audit/classify.py)
    cause: Cause | None = None
    remedy: Remedy | None = None
    evidence: str = ""  # the rule and the field values that decided it

    def to_record(self) -> dict[str, Any]:
        """A flat dict of plain types, for Parquet/JSON (enums as their values)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            out[f.name] = v.value if isinstance(v, enum.Enum) else v
        return out
