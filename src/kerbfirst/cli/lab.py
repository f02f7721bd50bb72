"""`kerbfirst lab`: the NTLM migration rehearsed end to end on one machine (root, ip netns).

    kerbfirst lab run --dir DIR        # from nothing to the report; exit 1 on a failed step
    kerbfirst lab up --dir DIR         # the lab, left running to try by hand
    kerbfirst lab report --dir DIR     # rebuild DIR/report from DIR
    kerbfirst lab down --dir DIR       # stop it and remove its namespaces
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="The NTLM migration rehearsed on one machine: network namespaces, "
                  "two realms, the gateway, IAKerb, LocalKDC, the NTLM policy and the "
                  "workbench (root and `ip netns`).", no_args_is_help=True)

DEFAULT_DIR = Path("kerbfirst-lab")
DirOpt = Annotated[Path, typer.Option(
    "--dir", help="Where the lab keeps its realms, logs, workbench stores and report "
    "(default ./kerbfirst-lab).")]


def _say(text: str) -> None:
    typer.echo(text)


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"kerbfirst lab: {message}", err=True)
    return typer.Exit(code)


@app.command()
def run(
    directory: DirOpt = DEFAULT_DIR,
    fault: Annotated[str | None, typer.Option(
        hidden=True, help="Make one step misbehave (tests of the lab's own checks): "
        "keep-branch-exception.")] = None,
) -> None:
    """Make the lab from nothing, run phases 1-3, write the report (phase 4), remove the
    lab. Prints "phase N: ..." per phase; exits 1 naming the step that did not behave."""
    from kerbfirst.lab.context import LabError
    from kerbfirst.lab.netns import NetnsError
    from kerbfirst.lab.run import Interrupted
    from kerbfirst.lab.run import run as run_lab
    from kerbfirst.lab.scenario import FAULTS

    if fault is not None and fault not in FAULTS:
        raise _fail(f"--fault {fault!r}: one of {', '.join(FAULTS)}")
    try:
        passed = run_lab(directory, _say, fault=fault)
    except (LabError, NetnsError) as exc:
        raise _fail(str(exc), 1) from None
    except KeyboardInterrupt:
        raise _fail("interrupted; the lab was removed", 130) from None
    except Interrupted as exc:
        raise _fail(f"stopped by {exc}; the lab was removed", 143) from None
    if not passed:
        raise typer.Exit(1)


@app.command()
def up(directory: DirOpt = DEFAULT_DIR) -> None:
    """Make the lab (namespaces, realms, trust, servers, the audit-mode policy) and leave it
    running; `kerbfirst lab down --dir DIR` removes it."""
    from kerbfirst.lab.context import LabError
    from kerbfirst.lab.netns import NetnsError
    from kerbfirst.lab.run import up as up_lab

    try:
        lab = up_lab(directory, _say)
    except (LabError, NetnsError) as exc:
        raise _fail(str(exc), 1) from None
    except KeyboardInterrupt:
        raise _fail("interrupted; the lab was removed", 130) from None
    _say(f"up: {', '.join(sorted(lab.servers))} running in namespaces {lab.tag_prefix}"
         f"<role>; clients' krb5.conf in {lab.directory / 'clients'}, passwords in "
         f"{lab.directory / 'passwords.env'}, the CA in {lab.directory / 'app/tls/ca.pem'}; "
         f"remove with `kerbfirst lab down --dir {directory}`")


@app.command()
def report(directory: DirOpt = DEFAULT_DIR) -> None:
    """Rebuild DIR/report/lab-report.html and .json from the lab directory's evidence."""
    from kerbfirst.lab.evidence import EVIDENCE_FILE, Evidence
    from kerbfirst.lab.report import summary, write

    if not (directory / EVIDENCE_FILE).exists():
        raise _fail(f"{directory / EVIDENCE_FILE} does not exist: run `kerbfirst lab run "
                    f"--dir {directory}` first")
    json_path, html_path = write(directory)
    s = summary(Evidence.load(directory))
    _say(f"report: {html_path} and {json_path.name}; "
         + ("PASS" if s["passed"] else "FAIL: " + "; ".join(s["failed_steps"])))
    if not s["passed"]:
        raise typer.Exit(1)


@app.command()
def down(
    directory: DirOpt = DEFAULT_DIR,
    all_labs: Annotated[bool, typer.Option(
        "--all", help="Remove every lab's namespaces (leftovers of any --dir).")] = False,
) -> None:
    """Stop everything running in the lab's namespaces and remove them."""
    from kerbfirst.lab.run import down as down_lab

    removed = down_lab(None if all_labs else directory)
    _say(f"down: removed {len(removed)} namespaces" + (f" ({', '.join(removed)})"
                                                        if removed else ""))
