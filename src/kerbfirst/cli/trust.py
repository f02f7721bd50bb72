"""`kerbfirst realm trust add|list`: cross-realm trust with another realm's KDC.

A trust is what an MIT administrator makes with `addprinc krbtgt/B@A` on both KDCs with
the same password: tickets from realm A to realm B are sealed in krbtgt/B@A. From our
realm OURS, `outgoing` is krbtgt/OTHER@OURS (our clients reach OTHER's services),
`incoming` is krbtgt/OURS@OTHER (OTHER's clients reach ours). With a password the keys
are MIT's string-to-key of it with the principal's default salt, so both sides derive
the same keys; `principal add krbtgt/B@A` does exactly the same, one direction at a time.
"""

from __future__ import annotations

import enum
from typing import Annotated

import typer

from kerbfirst.app.realm_config import render_config, render_krb5_conf
from kerbfirst.cli.common import (
    DEFAULT_DIR,
    DirOption,
    fail,
    load_realm,
    open_store,
    out,
    parse_etypes,
    read_password,
    utc_now,
)
from kerbfirst.krb.names import PrincipalNameError, parse_name
from kerbfirst.net.kdc_address import parse_kdc_address
from kerbfirst.store.principals import StoreError

trust_app = typer.Typer(help="Cross-realm trust with another realm.", no_args_is_help=True)


class Direction(enum.StrEnum):
    BOTH = "both"
    INCOMING = "incoming"
    OUTGOING = "outgoing"


@trust_app.command("add")
def trust_add(
    other: Annotated[str, typer.Argument(help="The other realm, e.g. MIT.TEST.")],
    directory: DirOption = DEFAULT_DIR,
    direction: Annotated[
        Direction,
        typer.Option(
            help="outgoing: krbtgt/OTHER@OURS (our users reach OTHER); incoming: "
            "krbtgt/OURS@OTHER (OTHER's users reach us); both."
        ),
    ] = Direction.BOTH,
    random_key: Annotated[
        bool,
        typer.Option(
            "--random",
            help="Random keys instead of a password: only for another KDC that can load "
            "keys (kerbfirst keytab export krbtgt/B@A); MIT's kadmin cannot, so with MIT "
            "use a password.",
        ),
    ] = False,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the trust password from stdin.")
    ] = False,
    enctypes: Annotated[
        list[str] | None,
        typer.Option(
            "--enctype", "-e", help="AES enctype (repeatable); default all four. Use the "
            "enctypes the other KDC's krbtgt/B@A has."
        ),
    ] = None,
    kdc: Annotated[
        list[str] | None,
        typer.Option(help="host:port of the other realm's KDC (repeatable), for krb5.conf."),
    ] = None,
    domain: Annotated[
        list[str] | None,
        typer.Option(
            help="Host name or .domain of the other realm (repeatable): requests for "
            "host-based services there get a referral (RFC 6806)."
        ),
    ] = None,
) -> None:
    """Create the inter-realm krbtgt keys with OTHER (the other KDC needs the same
    principals with the same password: MIT `addprinc krbtgt/B@A`)."""
    cfg = load_realm(directory)
    try:
        other_realm = parse_name(f"x@{other}").realm
    except PrincipalNameError as exc:
        raise fail(f"{other!r} is not a realm name: {exc}") from None
    if other_realm == cfg.realm:
        raise fail(f"{other_realm} is this realm; a trust is with another realm")
    for address in kdc or []:
        try:
            parse_kdc_address(address)
        except ValueError as exc:
            raise fail(f"--kdc {address!r}: {exc}") from None
    names = []
    if direction in (Direction.BOTH, Direction.OUTGOING):
        names.append(f"krbtgt/{other_realm}@{cfg.realm}")
    if direction in (Direction.BOTH, Direction.INCOMING):
        names.append(f"krbtgt/{cfg.realm}@{other_realm}")
    password = None if random_key else read_password(password_stdin, confirm=True)
    etypes = parse_etypes(enctypes)
    store = open_store(cfg)
    try:
        for name in names:
            store.add_principal(name, password=password, etypes=etypes, now=utc_now())
            out.print(f"added {name}")
    except StoreError as exc:
        raise fail(str(exc)) from None
    if kdc:
        cfg.cross_realm.realms[other_realm] = list(kdc)
    for host in domain or []:
        cfg.cross_realm.domain_realm[host.lower()] = other_realm
    if kdc or domain:
        (cfg.directory / "kerbfirst.toml").write_text(render_config(cfg), encoding="utf-8")
        cfg.krb5_conf_path.write_text(render_krb5_conf(cfg), encoding="utf-8")
        out.print(f"recorded {other_realm}'s KDCs and domains in kerbfirst.toml and krb5.conf")


@trust_app.command("list")
def trust_list(directory: DirOption = DEFAULT_DIR) -> None:
    """The realms this realm trusts (incoming) and is trusted by (outgoing)."""
    cfg = load_realm(directory)
    store = open_store(cfg)
    ours = cfg.realm
    for info in store.list_principals():
        parsed = parse_name(info.name)
        if parsed.components[:1] != ("krbtgt",) or len(parsed.components) != 2:
            continue
        if parsed.realm == ours and parsed.components[1] != ours:
            out.print(f"outgoing {parsed.components[1]}: {info.name} kvno {info.kvno}")
        elif parsed.realm != ours:
            out.print(f"incoming {parsed.realm}: {info.name} kvno {info.kvno}")
    for realm, kdcs in cfg.cross_realm.realms.items():
        out.print(f"kdc {realm}: {', '.join(kdcs)}")
    for host, realm in cfg.cross_realm.domain_realm.items():
        out.print(f"domain {host} -> {realm}")
