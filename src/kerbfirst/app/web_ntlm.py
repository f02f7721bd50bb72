"""The governed NTLM acceptor `kerbfirst http gateway --policy FILE` runs: the NTLM policy
file (reloaded on change), the accounts' NT hashes from a LocalKDC realm (kept only while
a live exception names the account, store/nt_hashes.py) or from Samba's winbind, and the
Windows-shaped NTLM event log."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from kerbfirst.gss.ntlm import NtHashVerifier, NtlmAcceptorConfig, NtlmVerifier
from kerbfirst.gss.ntlm_governed import NtlmGovernor, service_host
from kerbfirst.gss.ntlm_mech import NtlmMechanism
from kerbfirst.gss.replay import ReplayCache
from kerbfirst.store.ntlm_policy_file import PolicyFile
from kerbfirst.store.windows_event_log import WindowsEventLog
from kerbfirst.web.ntlm_governed import GovernedNtlm


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _local_verifier(directory: Path, policy: PolicyFile,
                    clock: Callable[[], datetime]) -> NtlmVerifier:
    from kerbfirst.app.realm_config import ConfigError, load_config
    from kerbfirst.store.masterkey import MasterKeyError, load_master_key
    from kerbfirst.store.nt_hashes import NtHashStore

    try:
        cfg = load_config(directory)
        master = load_master_key(cfg.master_key_path)
    except (ConfigError, MasterKeyError) as exc:
        raise ValueError(f"--ntlm-dir {directory}: {exc}") from None
    store = NtHashStore(cfg.directory / "ntlm-credentials.db", master)

    def lookup(user: str, domain: str) -> bytes | None:
        current = policy.current()
        return None if current is None else store.lookup(user, domain, current, clock())

    return NtHashVerifier(lookup)


def governed_ntlm(
    policy_path: Path, *, service_names: Sequence[str], realm: str, events: Path,
    ntlm_dir: Path | None, legacy_clients: bool,
    clock: Callable[[], datetime] = _utc_now,
    on_error: Callable[[str], None] | None = None,
    verifier: NtlmVerifier | None = None, check_interval: float = 1.0,
) -> tuple[GovernedNtlm, WindowsEventLog]:
    """The web plug-in; ValueError names what is wrong with the configuration.
    `legacy_clients`: accept an AUTHENTICATE without MIC and MsvAvTargetName (curl and
    other clients that send neither, MS-NLMP 3.1.5.1.2); channel bindings over TLS stay
    required."""
    policy = PolicyFile(policy_path, on_error=on_error, check_interval=check_interval)
    if policy.current() is None:
        raise ValueError(f"--policy {policy_path}: {policy.error or 'not loaded'}")
    if verifier is None:
        if ntlm_dir is not None:
            verifier = _local_verifier(ntlm_dir, policy, clock)
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
    governor = NtlmGovernor(config, verifier, policy=policy.current, replay=ReplayCache(),
                            sink=log.write, host=host, process="kerbfirst-http",
                            pid=os.getpid(), mechanism_oid="(NULL)")
    return GovernedNtlm(NtlmMechanism(governor, random=os.urandom)), log
