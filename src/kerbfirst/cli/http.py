"""`kerbfirst http gateway`: an authenticating reverse proxy (HTTP Negotiate in front of an
application that cannot embed the middleware), with an optional MS-KKDCP KDC proxy.

    kerbfirst http gateway --listen 0.0.0.0:443 --upstream http://127.0.0.1:8000 \\
        --keytab /etc/http.keytab --tls-cert cert.pem --tls-key key.pem --epa required \\
        --kkdcp-realm CORP.EXAMPLE=dc1.corp.example:88

The realms given with --kkdcp-realm are the only ones the KDC proxy (/KdcProxy) and
IAKerb forward to, each only to its ADDRESS (repeat the option for more KDCs).
"""

from __future__ import annotations

import re
import ssl
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from kerbfirst.app.ntlm_service import governed_ntlm
from kerbfirst.net.kdc_address import parse_realm_routes
from kerbfirst.policy.ntlm import Policy, PolicyError
from kerbfirst.store.binary import FileFormatError
from kerbfirst.store.keytab import keytab_key_lookup, read_keytab
from kerbfirst.web.asgi import ASGIApp, NegotiateMiddleware
from kerbfirst.web.audit import json_lines_sink
from kerbfirst.web.channel_binding import EpaMode
from kerbfirst.web.gateway import (
    DEFAULT_PRINCIPAL_HEADER,
    DEFAULT_USER_HEADER,
    ReverseProxy,
    build_gateway,
)
from kerbfirst.web.http_server import (
    DEFAULT_HEADER_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS,
    guarded_protocol,
    open_file_room,
)
from kerbfirst.web.kkdcp import KdcProxyApp
from kerbfirst.web.local_names import RuleError
from kerbfirst.web.negotiate import NegotiateConfig, NegotiateServer
from kerbfirst.web.ntlm_governed import GovernedNtlm

app = typer.Typer(help="Kerberos for web applications: the authenticating gateway.",
                  no_args_is_help=True)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"kerbfirst http: {message}", err=True)
    return typer.Exit(2)


def _routes(items: list[str]) -> dict[str, list[str]]:
    try:
        return parse_realm_routes(items, option="--kkdcp-realm",
                                  example="CORP.EXAMPLE=dc1.corp.example:88")
    except ValueError as exc:
        raise _fail(str(exc)) from None


def _policy_error(message: str) -> None:
    typer.echo(f"kerbfirst http: NTLM policy: {message} (the last good policy stays)",
               err=True)


def _clock_offset(value: str | None) -> timedelta | None:
    if value is None:
        return None
    found = re.fullmatch(r"(\d{1,4})([dhm])", value.strip())
    if found is None:
        raise _fail(f"--testing-clock-offset {value!r}: write a number and d, h or m, e.g. 2d")
    unit = {"d": "days", "h": "hours", "m": "minutes"}[found.group(2)]
    return timedelta(**{unit: int(found.group(1))})


def _listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise _fail(f"--listen {value!r}: write host:port, e.g. 0.0.0.0:8443")
    return host.strip("[]") or "127.0.0.1", int(port)


@app.command("gateway")
def gateway(
    upstream: Annotated[str, typer.Option(help="URL of the application to protect.")],
    keytab: Annotated[Path, typer.Option(help="Keytab with the HTTP/host service key.")],
    upstream_ca: Annotated[Path | None, typer.Option(
        help="CA certificates (PEM) an https --upstream's certificate must chain to "
             "(default: the system's).")] = None,
    listen: Annotated[str, typer.Option(help="host:port to listen on.")] = "127.0.0.1:8080",
    tls_cert: Annotated[Path | None, typer.Option(help="TLS certificate (PEM).")] = None,
    tls_key: Annotated[Path | None, typer.Option(help="TLS private key (PEM).")] = None,
    epa: Annotated[EpaMode, typer.Option(
        help="Channel binding (Extended Protection) as IIS: off, when-supported, "
             "required (required needs --tls-cert).")] = EpaMode.OFF,
    kkdcp_realm: Annotated[list[str] | None, typer.Option(
        help="REALM=ADDRESS (repeatable): serve /KdcProxy (MS-KKDCP) and IAKerb for "
             "this realm, forwarding only to ADDRESS (host:port, tcp/host:port).")] = None,
    policy: Annotated[Path | None, typer.Option(
        help="NTLM policy file (TOML, examples/ntlm-policy.toml, `kerbfirst policy`): "
             "enables the governed NTLM acceptor, which allows an NTLM attempt only as the "
             "policy does (reloaded on change). Without it NTLM is refused.")] = None,
    ntlm_dir: Annotated[Path | None, typer.Option(
        help="LocalKDC realm directory whose accounts' NT hashes (`kerbfirst policy "
             "credential set`) verify NTLM; default: Samba's winbind (ntlm_auth).")] = None,
    ntlm_events: Annotated[Path | None, typer.Option(
        help="NTLM event log (Windows-shaped JSON lines, for `kerbfirst audit ingest`); "
             "default: ntlm-events.jsonl beside --policy.")] = None,
    ntlm_legacy_clients: Annotated[bool, typer.Option(
        "--ntlm-legacy-clients",
        help="Accept NTLMv2 without MIC and target name (curl, older clients).")] = False,
    realm: Annotated[str | None, typer.Option(
        help="Default realm (auth_to_local DEFAULT); default: the keytab's.")] = None,
    service: Annotated[str | None, typer.Option(
        help="Accept tickets only for this principal, e.g. HTTP/web.example.com@REALM; "
             "default: any key in the keytab.")] = None,
    allowed_realm: Annotated[list[str] | None, typer.Option(
        help="Only users of this realm (repeatable); default: any.")] = None,
    auth_to_local: Annotated[list[str] | None, typer.Option(
        help="MIT auth_to_local rule (repeatable, in order): DEFAULT or "
             "RULE:[n:fmt](regex)s/re/rep/g.")] = None,
    user_header: Annotated[str, typer.Option(
        help="Header carrying the local user name upstream.")] = DEFAULT_USER_HEADER,
    principal_header: Annotated[str, typer.Option(
        help="Header carrying the principal upstream.")] = DEFAULT_PRINCIPAL_HEADER,
    audit_log: Annotated[Path | None, typer.Option(
        help="Append each decision as a Windows-shaped event (Security 4624/4625 with "
             "package Kerberos or NTLM, NTLM/Operational 4002), one JSON line each, for "
             "`kerbfirst audit ingest`; with --policy, NTLM decisions go to --ntlm-events."
    )] = None,
    header_timeout: Annotated[float, typer.Option(
        help="Seconds a client has to send a request's head (request line and headers); "
             "then 408 and the connection closes (slowloris).")] = DEFAULT_HEADER_TIMEOUT,
    max_connections: Annotated[int, typer.Option(
        min=1, help="Client connections served at once; a request on a connection past it "
        "gets 503 (uvicorn's limit_concurrency). The soft open-file limit is raised to fit, "
        "up to the hard limit.")] = DEFAULT_MAX_CONNECTIONS,
    testing_clock_offset: Annotated[str | None, typer.Option(
        help="For rehearsals only (`kerbfirst lab`): run the gateway's clock this far ahead "
             "(e.g. 2d, 36h, 90m), for Kerberos, NTLM and the NTLM policy alike, so that an "
             "exception's expiry can be seen before it happens. Off by default; never set it "
             "on a production gateway.")] = None,
) -> None:
    """Authenticate every request with Negotiate and forward it to --upstream."""
    host, port = _listen(listen)
    offset = _clock_offset(testing_clock_offset)

    def clock() -> datetime:
        now = datetime.now(UTC)
        return now + offset if offset is not None else now

    if (tls_cert is None) != (tls_key is None):
        raise _fail("give both --tls-cert and --tls-key, or neither")
    if epa is EpaMode.REQUIRED and tls_cert is None:
        raise _fail("--epa required needs TLS on the gateway (--tls-cert, --tls-key)")
    try:
        entries = read_keytab(keytab)
    except (OSError, FileFormatError) as exc:
        raise _fail(f"cannot read keytab {keytab}: {exc}") from None
    if not entries:
        raise _fail(f"keytab {keytab} holds no keys")
    ntlm: GovernedNtlm | None = None
    if policy is not None:
        try:
            Policy.from_dict(tomllib.loads(policy.read_text()))
            names = sorted({"/".join(e.principal.components) for e in entries})
            ntlm, _ = governed_ntlm(
                policy, service_names=names, realm=realm or entries[0].principal.realm,
                events=ntlm_events or policy.with_name("ntlm-events.jsonl"),
                ntlm_dir=ntlm_dir, legacy_clients=ntlm_legacy_clients,
                on_error=_policy_error, clock=clock)
        except (OSError, tomllib.TOMLDecodeError, PolicyError, ValueError) as exc:
            raise _fail(f"policy {policy}: {exc}") from None
    routes = _routes(kkdcp_realm or [])
    try:
        config = NegotiateConfig(
            key_lookup=keytab_key_lookup(keytab), realm=realm or entries[0].principal.realm,
            service=service, epa=epa, allowed_realms=allowed_realm or None,
            auth_to_local=auth_to_local or ("DEFAULT",), kdc_routes=routes,
            audit=json_lines_sink(audit_log, ntlm_logged_by_acceptor=ntlm is not None)
            if audit_log else None, ntlm=ntlm)
        server = NegotiateServer(config, clock=clock)
        proxy = ReverseProxy(upstream, user_header=user_header,
                             principal_header=principal_header, upstream_ca=upstream_ca)
    except (RuleError, ValueError) as exc:
        raise _fail(str(exc)) from None
    except (OSError, ssl.SSLError) as exc:
        raise _fail(f"--upstream-ca {upstream_ca}: {exc}") from None
    try:
        protocol = guarded_protocol(header_timeout=header_timeout)
    except ValueError as exc:
        raise _fail(f"--header-timeout {header_timeout}: {exc}") from None
    certificate = tls_cert.read_bytes() if tls_cert else None

    def middleware(inner: ASGIApp) -> NegotiateMiddleware:
        return NegotiateMiddleware(inner, server, certificate=certificate)

    asgi = build_gateway(proxy, middleware, KdcProxyApp(routes) if routes else None)
    if offset is not None:
        typer.echo(f"kerbfirst http gateway: TESTING CLOCK, {offset} ahead of real time "
                   f"(now {clock().isoformat(timespec='seconds')})", err=True)
    typer.echo(f"kerbfirst http gateway: {'https' if tls_cert else 'http'}://{host}:{port}/"
               f" -> {upstream} (EPA {epa.value}"
               f"{', KdcProxy for ' + ', '.join(routes) if routes else ''})", err=True)
    # proxy_headers off: the gateway is the edge, and uvicorn would otherwise take a
    # loopback client's X-Forwarded-For/-Proto as its address and scheme.
    room = open_file_room(max_connections)
    if room < max_connections:
        typer.echo(f"kerbfirst http gateway: warning: the open-file limit ({room}) is below "
                   f"--max-connections {max_connections}; raise the hard limit (ulimit -Hn, "
                   "systemd LimitNOFILE=)", err=True)
    uvicorn.run(asgi, host=host, port=port, log_level="warning", lifespan="off",
                proxy_headers=False, http=protocol, limit_concurrency=max_connections,
                ssl_certfile=str(tls_cert) if tls_cert else None,
                ssl_keyfile=str(tls_key) if tls_key else None)
