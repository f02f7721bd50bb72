"""The `kerbfirst` command: LocalKDC administration, the KDC server, a kinit, the audit workbench.

Sub-commands are the contracts of issue 2 and 3 (`realm init`, `principal add|list|delete|rekey`,
`keytab export`, `kdc serve`, `kinit`, `audit ...`): users script against these names.
"""

from __future__ import annotations

from typing import Annotated

import typer

from kerbfirst.cli import audit, http, iakerb, kinit, lab, localkdc, policy, principal, trust

app = typer.Typer(
    name="kerbfirst",
    help="Kerberos-first authentication that retires NTLM: LocalKDC, IAKerb, NTLM visibility.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # never print locals: they may hold keys or passwords
)


def _show_version(value: bool) -> None:
    if value:
        from kerbfirst.build_info import version_text

        typer.echo(version_text())
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option(
        "--version", callback=_show_version, is_eager=True,
        help="Print the version and which build runs (compiled or pure Python), then exit.",
    )] = False,
) -> None:
    """Kerberos-first authentication that retires NTLM: LocalKDC, IAKerb, NTLM visibility."""


app.add_typer(localkdc.realm_app, name="realm")
localkdc.realm_app.add_typer(trust.trust_app, name="trust")
app.add_typer(principal.principal_app, name="principal")
app.add_typer(localkdc.keytab_app, name="keytab")
app.add_typer(localkdc.kdc_app, name="kdc")
app.command("kinit")(kinit.kinit)

app.add_typer(iakerb.app, name="iakerb")
app.add_typer(audit.app, name="audit")  # the NTLM visibility workbench (issue 3)
app.add_typer(http.app, name="http")  # Kerberos for web applications
app.add_typer(policy.app, name="policy")  # the NTLM exception register
app.add_typer(lab.app, name="lab")  # the migration rehearsed in network namespaces


def main() -> None:
    app()


if __name__ == "__main__":
    main()
