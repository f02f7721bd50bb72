"""The `kerbfirst` command: LocalKDC administration, the KDC server, a kinit, the audit workbench.

Sub-commands are the contracts of issue 2 and 3 (`realm init`, `principal add|list|delete|rekey`,
`keytab export`, `kdc serve`, `kinit`, `audit ...`): users script against these names.
"""

from __future__ import annotations

import typer

from kerbfirst.cli import audit, iakerb, kinit, localkdc, principal

app = typer.Typer(
    name="kerbfirst",
    help="Kerberos-first authentication that retires NTLM: LocalKDC, IAKerb, NTLM visibility.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # never print locals: they may hold keys or passwords
)
app.add_typer(localkdc.realm_app, name="realm")
app.add_typer(principal.principal_app, name="principal")
app.add_typer(localkdc.keytab_app, name="keytab")
app.add_typer(localkdc.kdc_app, name="kdc")
app.command("kinit")(kinit.kinit)

app.add_typer(iakerb.app, name="iakerb")
app.add_typer(audit.app, name="audit")  # the NTLM visibility workbench (issue 3)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
