"""`kerbfirst policy export` (the register for review) and `export-samba` (smb.conf)."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Annotated

import typer

from kerbfirst.cli.policy_common import current_time, fail, load_policy, policy_path
from kerbfirst.policy import ExceptionEntry
from kerbfirst.policy import register as reg
from kerbfirst.store import ntlm_register as history


def export(
    out: Annotated[Path | None, typer.Option(help="Write here instead of stdout.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="json or csv.")] = "json",
) -> None:
    """The register for review: every exception, its state, and the history's head."""
    policy = load_policy()
    try:
        records = history.verify(policy_path())
        head = records[-1]["hash"] if records else None
        verified = "verified"
    except history.HistoryError as exc:
        head, verified = None, f"DOES NOT VERIFY: {exc}"
    today = current_time().date()
    rows = [{**reg.entry_json(e), "state": "expired" if e.expired(today) else "live"}
            for e in policy.exceptions]
    if fmt == "json":
        text = json.dumps({"policy": str(policy_path()), "mode": policy.mode.value,
                           "exported": current_time().isoformat(), "history": verified,
                           "history_head": head, "exceptions": rows}, indent=2,
                          ensure_ascii=False) + "\n"
    elif fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=[*reg.entry_json(ExceptionEntry(
            "", "", "", today, "", "")), "state"])
        writer.writeheader()
        writer.writerows(rows)
        text = buf.getvalue()
    else:
        raise fail(f"--format {fmt!r}: use json or csv")
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {len(rows)} exceptions to {out} (history {verified.split(':')[0]})")


def export_samba(
    server: Annotated[str, typer.Option(help="The Samba server's name, as the policy's "
                                        "targets name it (e.g. FS01).")],
    out: Annotated[Path, typer.Option(help="Directory to write the files into.")],
    install_dir: Annotated[str | None, typer.Option(
        help="Where the files will live on the server (default: --out).")] = None,
) -> None:
    """The policy as smb.conf settings for one Samba server: `ntlm auth` globally and per
    excepted client IP. Include smb-ntlm.conf in the global section; regenerate after every
    change."""
    from kerbfirst.policy.samba import samba_files

    policy = load_policy()
    out.mkdir(parents=True, exist_ok=True)
    where = install_dir or str(out.resolve())
    files = samba_files(policy, server, where, current_time().date(), source=str(policy_path()))
    for stale in out.glob("ntlm-client-*.conf"):  # an exception that ended loses its file
        if stale.name not in files:
            stale.unlink()
    for name, text in files.items():
        tmp = out / f".{name}.tmp"
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, out / name)
    skipped = files["smb-ntlm.conf"].count("# not exported:")
    typer.echo(f"wrote {len(files)} files to {out} for {server}; add to smb.conf's global "
               "section: include = "
               f"{where}/smb-ntlm.conf" + (f" ({skipped} exceptions not expressible in "
                                          "Samba: see the file)" if skipped else ""))
