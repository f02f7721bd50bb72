"""The IAKerb server assembled from its options: the service's keys from its keytab, the
routes to the KDCs it may forward to (a LocalKDC realm served in-process, and/or KDC
addresses), the replay cache, the audit sink and the acceptor each connection gets. What
`kerbfirst iakerb serve` runs; it only parses options, prints and listens."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from kerbfirst.app.kdc import StoreUnavailable, build_kdc
from kerbfirst.app.ntlm_service import NtlmService, governed_ntlm_service
from kerbfirst.app.realm_config import ConfigError, load_config
from kerbfirst.gss.acceptor_logons import conversation_event
from kerbfirst.gss.errors import GssError
from kerbfirst.gss.iakerb import IakerbAcceptor, IakerbAuditEvent
from kerbfirst.gss.iakerb_negotiate import IakerbServiceAcceptor, NewNtlm
from kerbfirst.gss.logon_events import split_peer
from kerbfirst.gss.mechanism import MechContext
from kerbfirst.gss.ntlm_governed import service_host
from kerbfirst.gss.spnego_acceptor import krb5_factory
from kerbfirst.net.iakerb_proxy import KdcForwarder, RouteSpec
from kerbfirst.net.iakerb_rcache import (
    DEFAULT_SLOTS,
    FileReplayCache,
    ReplayFileError,
    default_replay_cache_path,
)
from kerbfirst.net.iakerb_server import OnEstablished
from kerbfirst.net.kdc_address import parse_realm_routes
from kerbfirst.store.audit_log import JsonLinesAuditLog
from kerbfirst.store.binary import FileFormatError
from kerbfirst.store.keytab import keytab_key_lookup, read_keytab
from kerbfirst.store.windows_event_log import WindowsEventLog
from kerbfirst.wire.gss_framing import OID_NTLMSSP

AuditSink = Callable[[IakerbAuditEvent], None]
PROCESS = "kerbfirst-iakerb"  # the ProcessName and KerbfirstAcceptor of its events


class IakerbSetupError(Exception):
    """The IAKerb server cannot be assembled; the message says what was wrong and what to do."""


@dataclass(frozen=True)
class IakerbService:
    """What the server runs: a new acceptor for each connection (given the peer's address)
    and the forwarder that answers the acceptors' KDC exchanges."""

    new_acceptor: Callable[[str], IakerbServiceAcceptor]
    forwarder: KdcForwarder
    on_established: OnEstablished | None = None  # writes each logon's Windows-shaped event
    ntlm: NtlmService | None = None
    logons: WindowsEventLog | None = None

    def close(self) -> None:
        self.forwarder.close()
        if self.ntlm is not None:
            self.ntlm.close()
        if self.logons is not None:
            self.logons.close()


@dataclass(frozen=True)
class NtlmOptions:
    """`--policy`, `--ntlm-dir`, `--ntlm-events`, `--ntlm-legacy-clients`: as the gateway's."""

    policy: Path
    ntlm_dir: Path | None = None
    events: Path | None = None  # default: ntlm-events.jsonl beside the policy
    legacy_clients: bool = False
    on_error: Callable[[str], None] | None = None


def parse_routes(realm_kdc: Sequence[str]) -> dict[str, list[str]]:
    """--realm-kdc REALM=ADDRESS routes (repeatable per realm) as realm -> addresses."""
    try:
        return parse_realm_routes(realm_kdc, option="--realm-kdc", example="CORP.EXAMPLE=dc1:88")
    except ValueError as exc:
        raise IakerbSetupError(str(exc)) from None


def discovery_realm(keytab_realms: set[str], routes: dict[str, RouteSpec],
                    local: str | None = None) -> str | None:
    """The answer to realm discovery when --realm is not given, as MIT's acceptor takes its
    credential's realm: the keytab's one realm, else the --dir realm, else the only route's."""
    if len(keytab_realms) == 1:
        return next(iter(keytab_realms))
    if local is not None:
        return local
    if len(routes) == 1:
        return next(iter(routes))
    return None  # realm discovery is answered with KRB-ERROR 85


def build_iakerb_service(
    *,
    keytab: Path,
    realm_kdc: Sequence[str] = (),
    directory: Path | None = None,
    realm: str | None = None,
    replay_cache: Path | None = None,
    replay_cache_slots: int = DEFAULT_SLOTS,
    audit: Path | None = None,
    timeout: float,
    on_event: AuditSink | None = None,
    logon_events: Path | None = None,
    ntlm: NtlmOptions | None = None,
) -> IakerbService:
    """The IAKerb server `iakerb serve` runs. `on_event` sees each conversation's audit event
    before it is written to the audit file (`audit`, by default with `directory` the KDC's).
    Each context establishment (Kerberos accepted or refused, NTLM refused unread) is a
    Windows-shaped event in `logon_events` (default with `directory`:
    REALMDIR/logon-events.jsonl). `ntlm`: serve NTLM through the governed acceptor
    (refused without). Raises IakerbSetupError naming what cannot be used."""
    try:
        lookup = keytab_key_lookup(keytab)
        keytab_realms = {e.principal.realm for e in read_keytab(keytab)}
    except (OSError, FileFormatError) as exc:
        raise IakerbSetupError(f"cannot read keytab {keytab}: {exc}") from None
    routes: dict[str, RouteSpec] = dict(parse_routes(realm_kdc))
    audit_path = audit
    local_realm: str | None = None
    if directory is not None:
        try:
            cfg = load_config(directory)
        except ConfigError as exc:
            raise IakerbSetupError(str(exc)) from None
        local_realm = cfg.realm
        try:
            routes[cfg.realm] = build_kdc(cfg)
        except StoreUnavailable as exc:
            raise IakerbSetupError(str(exc)) from None
        audit_path = audit_path or cfg.audit_path
        replay_cache = replay_cache or directory / "iakerb.rcache"
        logon_events = logon_events or directory / "logon-events.jsonl"
    if not routes:
        raise IakerbSetupError(
            "no realm to forward to: give --dir and/or --realm-kdc REALM=ADDRESS"
        )
    answer = realm or discovery_realm(keytab_realms, routes, local_realm)
    sink = JsonLinesAuditLog(audit_path).write if audit_path else None
    try:
        # One for all connections and processes, kept across restarts: a replayed AP-REQ
        # is refused (error 34), as by MIT's file rcache.
        cache = FileReplayCache(replay_cache or default_replay_cache_path(),
                                slots=replay_cache_slots)
    except (ReplayFileError, OSError, ValueError) as exc:
        raise IakerbSetupError(f"replay cache: {exc}") from None
    krb5 = krb5_factory(key_lookup=lookup, replay_cache=cache, random=os.urandom)
    emit = _audit(on_event, sink)
    names = sorted({"/".join(e.principal.components) for e in read_keytab(keytab)})
    host = service_host(names[0]) if names else "localhost"
    service_ntlm = _ntlm_service(ntlm, names, answer or local_realm or host)
    logons = WindowsEventLog(logon_events) if logon_events is not None else None

    def new_acceptor(peer: str) -> IakerbServiceAcceptor:
        def iakerb() -> IakerbAcceptor:
            return IakerbAcceptor(key_lookup=lookup, replay_cache=cache, random=os.urandom,
                                  realm=answer, peer=peer, audit=emit)

        new_ntlm: NewNtlm | None = None
        if service_ntlm is not None:
            mechanism = service_ntlm.mechanism
            address = split_peer(peer)[0]

            def new_ntlm(in_spnego: bool) -> MechContext:
                return mechanism.conversation(client_address=address, spnego=in_spnego)

        return IakerbServiceAcceptor(iakerb, krb5=krb5, ntlm=new_ntlm)

    def on_established(peer: str, acceptor: MechContext, error: GssError | None) -> None:
        doc = conversation_event(acceptor, error, now=datetime.now(UTC), peer=peer,
                                 host=host, acceptor_name=PROCESS, pid=os.getpid())
        if doc is not None and logons is not None:
            logons.write(doc)

    return IakerbService(new_acceptor, KdcForwarder(routes, timeout=timeout),
                         on_established if logons is not None else None, service_ntlm, logons)


def _ntlm_service(options: NtlmOptions | None, names: list[str],
                  realm: str) -> NtlmService | None:
    if options is None:
        return None
    try:
        return governed_ntlm_service(
            options.policy, service_names=names, realm=realm,
            events=options.events or options.policy.with_name("ntlm-events.jsonl"),
            ntlm_dir=options.ntlm_dir, legacy_clients=options.legacy_clients,
            process=PROCESS, mechanism_oid=OID_NTLMSSP,
            on_error=options.on_error)
    except (ValueError, OSError) as exc:
        raise IakerbSetupError(f"NTLM: {exc}") from None


def _audit(on_event: AuditSink | None, sink: AuditSink | None) -> AuditSink:
    def emit(event: IakerbAuditEvent) -> None:
        if on_event is not None:
            on_event(event)
        if sink is not None:
            sink(event)

    return emit
