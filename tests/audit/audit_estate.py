"""A small synthetic estate of classified NTLM events, built from AuthEvent directly.

Deterministic (seeded), spread over days, hosts, users and every cause, so the analytics,
simulation, report and export tests have something real-shaped to chew on.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from kerbfirst.audit.events import (
    AccountScope,
    AuthEvent,
    AuthMechanism,
    Cause,
    Disposition,
    NtlmVersion,
    Remedy,
    Role,
)

REMEDY_OF = {
    Cause.TARGET_IS_IP: Remedy.REGISTER_SPN_USE_FQDN,
    Cause.SPN_MISSING: Remedy.REGISTER_SPN_USE_FQDN,
    Cause.LOCAL_ACCOUNT: Remedy.LOCALKDC,
    Cause.TRUST_PATH: Remedy.IAKERB,
    Cause.APP_EXPLICIT_NTLM: Remedy.SWITCH_TO_NEGOTIATE,
    Cause.NTLMV1_OR_LM: Remedy.UPGRADE_OR_REPLACE_DEVICE,
    Cause.ANONYMOUS: Remedy.RESTRICT_NULL_SESSIONS,
    Cause.UNKNOWN: Remedy.OWNED_EXCEPTION,
}

START = datetime(2025, 3, 1, tzinfo=UTC)
SERVERS = ["FS01.corp.example", "SQL02.corp.example", "10.0.0.7", "PRN03", "APP04.corp.example"]
CLIENTS = ["WS001", "WS002", "WS003", "LAB-PC9", "KIOSK1"]
USERS = ["alice", "bob", "svc_backup", "Administrator"]
PROCESSES = [r"C:\Windows\System32\svchost.exe", r"C:\Apps\legacy.exe", "lsass.exe"]


def event(
    *,
    source: str = "test.evtx",
    record_id: int = 1,
    time: datetime = START,
    host: str = "FS01",
    client: str = "WS001",
    target: str = "cifs/FS01.corp.example",
    role: Role = Role.SERVER_INCOMING,
    user: str = "alice",
    domain: str = "CORP",
    process: str = "svchost.exe",
    cause: Cause | None = Cause.SPN_MISSING,
    mechanism: AuthMechanism = AuthMechanism.NEGOTIATE,
    extra: dict[str, str] | None = None,
) -> AuthEvent:
    return AuthEvent(
        source=source,
        record_id=record_id,
        time=time,
        host=host,
        provider="Microsoft-Windows-NTLM",
        event_id=8002,
        role=role,
        client_host=client,
        target_name=target,
        user=user,
        domain=domain,
        account_scope=AccountScope.LOCAL if cause is Cause.LOCAL_ACCOUNT else AccountScope.DOMAIN,
        process=process,
        ntlm_version=NtlmVersion.NTLMV1 if cause is Cause.NTLMV1_OR_LM else NtlmVersion.NTLMV2,
        mechanism=mechanism,
        disposition=Disposition.AUDIT,
        extra=extra or {},
        cause=cause,
        remedy=REMEDY_OF[cause] if cause is not None else None,
        evidence=f"test rule for {cause}",
    )


def estate(
    n: int = 600, *, seed: int = 7, days: int = 21, source: str = "estate.evtx"
) -> list[AuthEvent]:
    """n events over `days` days starting START; clients reach servers with one cause each."""
    rng = random.Random(seed)
    causes = list(Cause)
    out = []
    for i in range(n):
        server = rng.choice(SERVERS)
        client = rng.choice(CLIENTS)
        cause = Cause.TARGET_IS_IP if server.startswith("10.") else causes[
            (SERVERS.index(server) + CLIENTS.index(client)) % len(causes)
        ]
        outgoing = i % 3 == 0
        out.append(
            event(
                source=source,
                record_id=i + 1,
                time=START + timedelta(days=rng.randrange(days), seconds=rng.randrange(86400)),
                host=client if outgoing else server,
                client=client,
                target=("cifs/" + server) if outgoing else "",
                role=Role.CLIENT_OUTGOING if outgoing else Role.SERVER_INCOMING,
                user=rng.choice(USERS),
                process=rng.choice(PROCESSES),
                cause=cause,
            )
        )
    return out
