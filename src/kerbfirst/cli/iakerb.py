"""`kerbfirst iakerb serve`: an IAKerb acceptor that proxies clients' Kerberos to their KDC.

It speaks the TCP protocol of MIT's GSS sample programs (krb5-gss-samples), so
`gss-client -iakerb` (and plain `gss-client`, krb5) can authenticate to it: a way to try
IAKerb end to end, and the acceptor a service embeds through the Python API otherwise.
KDC messages are forwarded only to the realms given here (never an open proxy): a LocalKDC
realm directory served in-process (`--dir`: the Windows model, a LocalKDC reached only
through IAKerb) and/or `--realm-kdc REALM=ADDRESS` routes (host:port, tcp/host:port,
unix:/path). IAKerb is taken bare (`gss-client -iakerb`) or inside SPNEGO (as Windows
offers it), a plain krb5 AP-REQ too. Each conversation yields one audit event in the
JSON-lines stream. Realm discovery is answered with --realm, by default the realm of the
keytab's service principal (or of the only route), as MIT's acceptor answers it.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Annotated

import typer

from kerbfirst.app.iakerb import (
    IakerbService,
    IakerbSetupError,
    NtlmOptions,
    build_iakerb_service,
)
from kerbfirst.cli.common import console, fail, out
from kerbfirst.cli.fields import kv
from kerbfirst.gss.iakerb import IakerbAuditEvent
from kerbfirst.net.gss_stream import DEFAULT_MAX_CONNECTIONS, ReceivedMessage
from kerbfirst.net.iakerb_rcache import DEFAULT_SLOTS, MAX_SLOTS, MIN_SLOTS
from kerbfirst.net.iakerb_server import start_mechanism_server

app = typer.Typer(
    help="IAKerb: Kerberos for clients that cannot reach a KDC.", no_args_is_help=True
)


@app.command("serve")
def serve(
    keytab: Annotated[Path, typer.Option(help="Keytab with the service's keys (MIT format).")],
    listen: Annotated[str, typer.Option(help="host:port to listen on.")] = "127.0.0.1:4444",
    directory: Annotated[
        Path | None,
        typer.Option("--dir", envvar="KERBFIRST_REALM_DIR",
                     help="A LocalKDC realm directory to serve in-process."),
    ] = None,
    realm_kdc: Annotated[
        list[str] | None,
        typer.Option(help="REALM=ADDRESS route to a KDC (repeatable; only these realms)."),
    ] = None,
    realm: Annotated[
        str | None,
        typer.Option(help="This acceptor's realm, the answer to realm discovery (default: "
                     "the keytab's realm if it has one, else the only route's)."),
    ] = None,
    max_connections: Annotated[
        int, typer.Option(min=1, help="Connections served at once; more are closed at once.")
    ] = DEFAULT_MAX_CONNECTIONS,
    replay_cache: Annotated[
        Path | None,
        typer.Option(help="Replay cache file, shared by processes and kept across restarts "
                     "(default: <dir>/iakerb.rcache with --dir, else "
                     "$KRB5RCACHEDIR or /var/tmp, kerbfirst_iakerb_<uid>.rcache)."),
    ] = None,
    replay_cache_slots: Annotated[
        int,
        typer.Option(min=MIN_SLOTS, max=MAX_SLOTS,
                     help="Slots of a new replay cache file (32 octets each, about one live "
                     "authenticator each; an existing file keeps its size). An entry lives "
                     "for the clock skew, so the default holds about 200 new contexts a "
                     "second sustained; beyond that new ones are refused (fail closed)."),
    ] = DEFAULT_SLOTS,
    audit: Annotated[
        Path | None,
        typer.Option(help="JSON-lines audit file (default with --dir: the KDC's kdc-audit.jsonl)."),
    ] = None,
    timeout: Annotated[
        float, typer.Option(help="Seconds for each KDC call and client read; a client must "
                            "establish its context within 6 times this.")
    ] = 5.0,
    logon_events: Annotated[
        Path | None,
        typer.Option(help="Windows-shaped logon events (Security 4624/4625, package Kerberos; "
                     "NTLM/Operational 4002 for NTLM refused unread), one JSON line each, for "
                     "`kerbfirst audit ingest` (default with --dir: "
                     "<dir>/logon-events.jsonl)."),
    ] = None,
    policy: Annotated[
        Path | None,
        typer.Option(help="NTLM policy file (TOML, `kerbfirst policy`): serve NTLM (bare or "
                     "in SPNEGO) through the governed acceptor, which allows an attempt only "
                     "as the policy does (reloaded on change). Without it NTLM is refused."),
    ] = None,
    ntlm_dir: Annotated[
        Path | None,
        typer.Option(help="LocalKDC realm directory whose accounts' NT hashes verify NTLM; "
                     "default: Samba's winbind (ntlm_auth)."),
    ] = None,
    ntlm_events: Annotated[
        Path | None,
        typer.Option(help="NTLM event log (Windows-shaped JSON lines); default: "
                     "ntlm-events.jsonl beside --policy."),
    ] = None,
    ntlm_legacy_clients: Annotated[
        bool,
        typer.Option("--ntlm-legacy-clients",
                     help="Accept NTLMv2 without MIC and target name (older clients)."),
    ] = False,
) -> None:
    """Accept IAKerb (bare or inside SPNEGO) and krb5 contexts from MIT's gss-client,
    proxying KDC messages."""
    if policy is None and (ntlm_dir or ntlm_events or ntlm_legacy_clients):
        raise fail("--ntlm-dir, --ntlm-events and --ntlm-legacy-clients need --policy")
    ntlm = None if policy is None else NtlmOptions(
        policy, ntlm_dir=ntlm_dir, events=ntlm_events, legacy_clients=ntlm_legacy_clients,
        on_error=_policy_error)
    try:
        service = build_iakerb_service(
            keytab=keytab, realm_kdc=realm_kdc or [], directory=directory, realm=realm,
            replay_cache=replay_cache, replay_cache_slots=replay_cache_slots, audit=audit,
            timeout=timeout, on_event=_print_event,
            logon_events=logon_events, ntlm=ntlm,
        )
    except IakerbSetupError as exc:
        raise fail(str(exc)) from None
    host, _, port = listen.rpartition(":")
    try:
        asyncio.run(
            _serve(
                host.strip("[]") or "127.0.0.1",
                int(port),
                service,
                timeout,
                max_connections,
            )
        )
    except OSError as exc:
        raise fail(f"cannot listen on {listen}: {exc}") from None
    finally:
        service.close()


def _policy_error(message: str) -> None:
    console.print(f"iakerb: NTLM policy: {message}", markup=False)


def _print_event(event: IakerbAuditEvent) -> None:
    failed = event.result_code != 0
    console.print(
        f"iakerb: {event.outcome.value} "
        + kv(client=event.client, realm=event.target_realm, kdc=event.kdc, hops=event.hops,
             code=event.result_code if failed else None,
             reason=event.reason if failed else None),
        markup=False,
    )


async def _serve(
    host: str,
    port: int,
    service: IakerbService,
    timeout: float,
    max_connections: int,
) -> None:
    forwarder = service.forwarder

    def on_message(msg: ReceivedMessage) -> None:
        out.print(f"{msg.client}: {msg.data.decode(errors='replace')!r}")

    # Handlers first: a SIGTERM that arrives once the port is open (a supervisor that
    # saw it listening) is a clean stop, not death by the default action.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    server = await start_mechanism_server(
        host,
        port,
        new_acceptor=service.new_acceptor,
        forwarder=forwarder,
        on_message=on_message,
        timeout=timeout,
        max_connections=max_connections,
        on_established=service.on_established,
    )
    bound = server.sockets[0].getsockname()
    console.print(
        f"kerbfirst IAKerb acceptor listening on {bound[0]}:{bound[1]}; "
        f"realms: {', '.join(sorted(forwarder.routes))}; NTLM "
        f"{'by policy ' + str(service.ntlm.policy.path) if service.ntlm else 'refused'}"
    )
    try:
        await stop.wait()
    finally:
        server.close()
        await server.wait_closed()
