"""`kerbfirst kinit`: a TGT with pre-authentication, and service tickets, into an MIT ccache.

The exchanges are the sans-I/O client (client/); this module only reads the password,
finds the KDCs (--kdc, or the kdc lines of a krb5.conf: the realm directory's when --dir or
$KERBFIRST_REALM_DIR names one, else $KRB5_CONFIG or /etc/krb5.conf as MIT reads), carries the bytes
with net/kdc_transport (UDP, then TCP on KRB_ERR_RESPONSE_TOO_BIG) and writes the cache
(store/ccache, mode 0600) that MIT's klist, kvno and gss-client read.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from kerbfirst.app.realm_config import ConfigError, parse_duration
from kerbfirst.cli.common import etype_name, fail, out, parse_etypes, read_password, utc_now
from kerbfirst.client import AsExchange, Credential, KerberosClientError, ServiceTicketChase
from kerbfirst.krb.names import Principal, PrincipalNameError, parse_name
from kerbfirst.net.kdc_address import KdcAddress, parse_kdc_address
from kerbfirst.net.kdc_transport import KdcUnreachable, send_to_kdc_sync
from kerbfirst.store.ccache import CcacheCredential, write_ccache
from kerbfirst.wire.krb5 import EncryptionKey


def _ccache_credential(cred: Credential) -> CcacheCredential:
    return CcacheCredential(
        client=Principal(tuple(cred.client.name_string), cred.crealm, cred.client.name_type),
        server=Principal(tuple(cred.server.name_string), cred.srealm, cred.server.name_type),
        key=EncryptionKey(cred.session_key.etype, cred.session_key.contents),
        authtime=cred.authtime,
        starttime=cred.starttime,
        endtime=cred.endtime,
        renew_till=cred.renew_till,
        ticket=cred.ticket_bytes,
        ticket_flags=cred.flags,
    )


def _exchange(kdcs: list[KdcAddress], request: bytes, timeout: float, used: str) -> bytes:
    try:
        return send_to_kdc_sync(request, kdcs, timeout=timeout)
    except KdcUnreachable as exc:
        raise fail(f"{exc} ({used})") from None


def kinit(
    principal: Annotated[str, typer.Argument(help="Client principal, e.g. alice or alice@REALM.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    ccache: Annotated[
        Path | None,
        typer.Option(help="Credential cache file (default: $KRB5CCNAME or /tmp/krb5cc_UID)."),
    ] = None,
    service: Annotated[
        list[str] | None,
        typer.Option(
            help="Also get a service ticket for this principal (repeatable); a service of "
            "another realm (svc/host@OTHER, or svc/host without a realm and a KDC that "
            "refers) is reached through the cross-realm trust."
        ),
    ] = None,
    kdc: Annotated[
        list[str] | None,
        typer.Option(
            help="KDC address (repeatable): host[:port], tcp/host:port, unix:/path. "
            "Default: the realm's krb5.conf ($KRB5_CONFIG)."
        ),
    ] = None,
    realm: Annotated[
        str | None, typer.Option(help="Realm (default: from the name or krb5.conf).")
    ] = None,
    enctype: Annotated[
        list[str] | None, typer.Option("--enctype", "-e", help="Enctype (repeatable).")
    ] = None,
    lifetime: Annotated[str, typer.Option(help="Ticket lifetime, e.g. 10h.")] = "10h",
    renewable: Annotated[str | None, typer.Option(help="Renewable lifetime, e.g. 7d.")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for each KDC.")] = 3.0,
    directory: Annotated[
        Path | None,
        typer.Option(
            "--dir", "-d", envvar="KERBFIRST_REALM_DIR",
            help="A LocalKDC realm directory: use its krb5.conf (realm and KDCs). Without "
            "it: $KRB5_CONFIG, else /etc/krb5.conf.",
        ),
    ] = None,
) -> None:
    """Get a TGT (AS exchange with pre-authentication) and optionally service tickets."""
    conf_path = _krb5_conf_path(directory)
    conf_realm, conf_kdcs = _krb5_conf_defaults(conf_path)
    try:
        parsed = parse_name(principal, default_realm=realm or conf_realm or "")
    except PrincipalNameError as exc:
        raise fail(f"{principal!r} is not a principal name: {exc}") from None
    if not parsed.realm:
        raise fail(f"no realm: write alice@REALM, pass --realm or --dir, or set KRB5_CONFIG "
                    f"(krb5.conf read: {conf_path}, which names no default_realm)")
    kdcs = [parse_kdc_address(k) for k in (kdc or conf_kdcs.get(parsed.realm, []))]
    source = "--kdc" if kdc else str(conf_path)
    if not kdcs:
        raise fail(f"no KDC known for realm {parsed.realm} in {source}: pass --kdc or --dir, "
                    "or list the realm's kdc in that krb5.conf")
    used = f"realm {parsed.realm}, KDCs from {source}"
    password = read_password(password_stdin, confirm=False)
    try:
        exchange = AsExchange(
            parsed.unparse(),
            parsed.realm,
            random=os.urandom,
            password=password,
            etypes=parse_etypes(enctype),
            lifetime=parse_duration(lifetime, field="--lifetime"),
            renew_lifetime=parse_duration(renewable, field="--renewable") if renewable else None,
        )
        message: bytes | Credential = exchange.first_request(utc_now())
        while isinstance(message, bytes):
            message = exchange.receive(_exchange(kdcs, message, timeout, used), utc_now())
        tgt = message
        creds = [tgt]
        for spn in service or []:
            # A service of another realm is reached through the trust (RFC 6806 referrals
            # or the named realm's krbtgt); each realm's KDCs come from krb5.conf.
            chase = ServiceTicketChase(tgt, spn, random=os.urandom)
            step: tuple[str, bytes] | Credential = chase.first_request(utc_now())
            while isinstance(step, tuple):
                hop_realm, request = step
                hop_kdcs = kdcs if hop_realm == parsed.realm else [
                    parse_kdc_address(k) for k in conf_kdcs.get(hop_realm, [])
                ]
                if not hop_kdcs:
                    raise fail(
                        f"no KDC known for realm {hop_realm} (on the way to {spn}): list it "
                        "in krb5.conf [realms]"
                    )
                step = chase.receive(_exchange(hop_kdcs, request, timeout, used), utc_now())
            creds.extend(chase.credentials)
    except KerberosClientError as exc:
        raise fail(f"{exc} ({used})") from None
    except ConfigError as exc:
        raise fail(str(exc)) from None
    path = ccache or _default_ccache()
    primary = Principal(tuple(tgt.client.name_string), tgt.crealm, tgt.client.name_type)
    write_ccache(path, primary, [_ccache_credential(c) for c in creds])
    for cred in creds:
        out.print(
            f"{cred.server_principal}  valid until {cred.endtime.isoformat()}  "
            f"etype {etype_name(cred.session_key.etype)}"
        )
    out.print(f"credentials for {tgt.client_principal} in {path}")


def _default_ccache() -> Path:
    env = os.environ.get("KRB5CCNAME", "")
    if env.startswith("FILE:"):
        return Path(env[5:])
    if env and ":" not in env:
        return Path(env)
    # MIT's default file ccache name, FILE:/tmp/krb5cc_%{uid} (krb5.conf(5) default_ccache_name)
    return Path(tempfile.gettempdir()) / f"krb5cc_{os.getuid()}"


def _krb5_conf_path(directory: Path | None) -> Path:
    """The krb5.conf kinit reads: the realm directory's (written by `realm init`) when one is
    named, else MIT's choice: the first file of $KRB5_CONFIG, else /etc/krb5.conf."""
    if directory is not None:
        path = directory / "krb5.conf"
        if not path.is_file():
            raise fail(f"{directory} holds no krb5.conf: is it a realm directory "
                        "(kerbfirst realm init --dir ...)?")
        return path
    return Path(os.environ.get("KRB5_CONFIG", "/etc/krb5.conf").split(":")[0])


def _krb5_conf_defaults(path: Path) -> tuple[str | None, dict[str, list[str]]]:
    """default_realm and the kdc lines of a krb5.conf (a small reader of MIT's profile
    format)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return None, {}
    default: str | None = None
    kdcs: dict[str, list[str]] = {}
    section, current = "", None
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith("[") and line.endswith("]"):
            section, current = line[1:-1].strip(), None
        elif section == "libdefaults" and line.startswith("default_realm"):
            default = line.partition("=")[2].strip()
        elif section == "realms" and line.endswith("{"):
            current = line.partition("=")[0].strip()
        elif section == "realms" and line.startswith("}"):
            current = None
        elif section == "realms" and current and line.startswith("kdc"):
            key, _, value = line.partition("=")
            if key.strip() == "kdc":
                kdcs.setdefault(current, []).append(value.strip())
    return default, kdcs
