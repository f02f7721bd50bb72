"""The governed NTLM acceptor a service runs (`kerbfirst http gateway --policy FILE`,
`kerbfirst iakerb serve --policy FILE`): the NTLM policy file (reloaded on change), the
accounts' NT hashes from a LocalKDC realm (kept only while a live exception names the
account, store/nt_hashes.py) or from Samba's winbind, and the Windows-shaped NTLM event
log. Both services take the same options with the same meaning."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from kerbfirst.gss.ntlm import NtHashVerifier, NtlmAcceptorConfig, NtlmVerifier
from kerbfirst.gss.ntlm_governed import NtlmGovernor, service_host
from kerbfirst.gss.ntlm_mech import NtlmMechanism
from kerbfirst.gss.replay import ReplayCache
from kerbfirst.policy import Policy
from kerbfirst.store.ntlm_policy_file import PolicyFile
from kerbfirst.store.windows_event_log import WindowsEventLog
from kerbfirst.web.ntlm_governed import GovernedNtlm


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class NtlmService:
    """What a service holds for its governed NTLM acceptor; `close` when it stops."""

    mechanism: NtlmMechanism
    policy: PolicyFile
    log: WindowsEventLog

    def close(self) -> None:
        self.log.close()


def _local_verifier(directory: Path, clock: Callable[[], datetime],
                    ) -> tuple[NtlmVerifier, Callable[[Policy], None]]:
    """The verifier over the realm's sealed NT hashes, and the sweep that destroys those
    whose exception ended (NTLM credentials die with the exception)."""
    from kerbfirst.app.realm_config import ConfigError, load_config
    from kerbfirst.store.masterkey import MasterKeyError, load_master_key
    from kerbfirst.store.nt_hashes import NtHashStore

    try:
        cfg = load_config(directory)
        master = load_master_key(cfg.master_key_path)
    except (ConfigError, MasterKeyError) as exc:
        raise ValueError(f"--ntlm-dir {directory}: {exc}") from None
    store = NtHashStore(cfg.directory / "ntlm-credentials.db", master)
    current: list[Policy | None] = [None]

    def sweep(policy: Policy) -> None:
        current[0] = policy
        store.sweep(policy, clock())

    def lookup(user: str, domain: str) -> bytes | None:
        policy = current[0]
        return None if policy is None else store.lookup(user, domain, policy, clock())

    return NtHashVerifier(lookup), sweep


def _sweeping(policy: PolicyFile, sweep: Callable[[Policy], None],
              clock: Callable[[], datetime]) -> Callable[[], Policy | None]:
    """The policy source the governor asks per attempt: on a new policy (a revocation) and
    on the first attempt of each day (an expiry), the hashes of ended exceptions are
    destroyed before the attempt is decided."""
    seen: list[tuple[Policy, date] | None] = [None]  # the policy object itself, not its id

    def current() -> Policy | None:
        p = policy.current()
        if p is not None:
            today = clock().date()
            last = seen[0]
            if last is None or last[0] is not p or last[1] != today:
                seen[0] = (p, today)
                sweep(p)
        return p

    return current


def governed_ntlm_service(
    policy_path: Path, *, service_names: Sequence[str], realm: str, events: Path,
    ntlm_dir: Path | None, legacy_clients: bool, process: str, mechanism_oid: str = "(NULL)",
    clock: Callable[[], datetime] = _utc_now,
    on_error: Callable[[str], None] | None = None,
    verifier: NtlmVerifier | None = None, check_interval: float = 1.0,
) -> NtlmService:
    """The governed acceptor; ValueError names what is wrong with the configuration.
    `legacy_clients`: accept an AUTHENTICATE without MIC and MsvAvTargetName (curl and
    other clients that send neither, MS-NLMP 3.1.5.1.2); channel bindings over TLS stay
    required. `process` names the service in its events (ProcessName)."""
    policy = PolicyFile(policy_path, on_error=on_error, check_interval=check_interval)
    if policy.current() is None:
        raise ValueError(f"--policy {policy_path}: {policy.error or 'not loaded'}")
    source: Callable[[], Policy | None] = policy.current
    if verifier is None:
        if ntlm_dir is not None:
            verifier, sweep = _local_verifier(ntlm_dir, clock)
            source = _sweeping(policy, sweep, clock)
        else:
            from kerbfirst.net.ntlm_winbind import WinbindVerifier
            verifier = WinbindVerifier()
    host = service_host(service_names[0]) if service_names else "localhost"
    config = NtlmAcceptorConfig(
        service_names=tuple(service_names), nb_computer=host.split(".")[0].upper()[:15],
        nb_domain=realm.split(".")[0].upper()[:15], dns_computer=host,
        dns_domain=realm.lower(), require_mic=not legacy_clients,
        require_target_name=not legacy_clients)
    log = WindowsEventLog(events)
    governor = NtlmGovernor(config, verifier, policy=source, replay=ReplayCache(),
                            sink=log.write, host=host, process=process,
                            pid=os.getpid(), mechanism_oid=mechanism_oid)
    return NtlmService(NtlmMechanism(governor, random=os.urandom), policy, log)


def governed_ntlm(
    policy_path: Path, *, service_names: Sequence[str], realm: str, events: Path,
    ntlm_dir: Path | None, legacy_clients: bool,
    clock: Callable[[], datetime] = _utc_now,
    on_error: Callable[[str], None] | None = None,
    verifier: NtlmVerifier | None = None, check_interval: float = 1.0,
) -> tuple[GovernedNtlm, WindowsEventLog]:
    """The web middleware's plug-in (web/ntlm_hook.py) over the governed acceptor."""
    service = governed_ntlm_service(
        policy_path, service_names=service_names, realm=realm, events=events,
        ntlm_dir=ntlm_dir, legacy_clients=legacy_clients, process="kerbfirst-http",
        clock=clock, on_error=on_error, verifier=verifier, check_interval=check_interval)
    return GovernedNtlm(service.mechanism), service.log
