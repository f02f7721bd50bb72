"""`kerbfirst audit`: the NTLM visibility workbench on the command line.

    kerbfirst audit ingest LOGS...            # EVTX, XML, JSON lines, CSV (.gz too) -> store
    kerbfirst audit map                       # the failure map
    kerbfirst audit readiness                 # share of NTLM flows with a Kerberos remedy
    kerbfirst audit simulate --policy P.toml  # what enforcement would break
    kerbfirst audit report --out DIR          # HTML + JSON + CSV for managers
    kerbfirst audit export-policy --policy P.toml --out DIR   # .reg + PowerShell
"""

from __future__ import annotations

import json
import threading
import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from kerbfirst.policy import PolicyError

# The store, analytics and ingest modules load DuckDB, pyarrow and evtx (a third of a
# second and ~60 MB): imported inside the commands that use them, so that `kerbfirst
# kdc serve`, `kinit` and the other commands, which share this CLI, never load them.
if TYPE_CHECKING:
    from kerbfirst.audit.analytics import ServerReadiness
    from kerbfirst.audit.store import EventStore

app = typer.Typer(
    help="NTLM visibility: ingest Windows logs, find every NTLM use and why it happened, "
    "simulate enforcement, report, and export the policy to Windows settings.",
    no_args_is_help=True,
)

DEFAULT_STORE = Path("kerbfirst-audit")
SHOWN_WARNINGS = 20

StoreOpt = Annotated[
    Path,
    typer.Option(
        "--store",
        envvar="KERBFIRST_AUDIT_STORE",
        help="Event store directory (day-partitioned Parquet). "
        "Default ./kerbfirst-audit, or $KERBFIRST_AUDIT_STORE.",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
LimitOpt = Annotated[
    int, typer.Option("--limit", min=1, help="Show at most this many rows per table.")
]


def _date(value: str | None, what: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{what} must be a date YYYY-MM-DD, not {value!r}") from None


def _console() -> Console:
    return Console(highlight=False)


def _err(message: str) -> None:
    Console(stderr=True, highlight=False).print(Text(message, style="red"))


def _row(table: Table, *cells: object) -> None:
    # Text cells: event data is attacker-chosen and must not be read as Rich markup.
    table.add_row(*(Text(str(c)) for c in cells))


def _open(store_dir: Path) -> EventStore:
    from kerbfirst.audit.store import EventStore

    store = EventStore(store_dir)
    if not store.events_dir.is_dir():  # never ingested into; 0 events is a valid store
        _err(f"there is no event store at {store_dir}: run `kerbfirst audit ingest LOGS...` "
             "first (or pass --store DIR)")
        raise typer.Exit(2)
    return store


@app.command()
def ingest(
    paths: Annotated[
        list[str],
        typer.Argument(help="Log files, folders or globs: EVTX, wevtutil XML, JSON lines "
                       "(NXLog, Winlogbeat, evtx_dump, the kerbfirst KDC's kdc-audit.jsonl "
                       "and its rotated copies), CSV with a header; .gz of each."),
    ],
    store_dir: StoreOpt = DEFAULT_STORE,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="Events per Parquet write batch.")
    ] = 50_000,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    jobs: Annotated[
        int, typer.Option("--jobs", "-j", min=1, max=64,
                          help="Ingest this many ranges of the files at once, each in a "
                          "worker process that reads, classifies and writes its own "
                          "Parquet files (one EVTX parse uses one core); the store ends "
                          "up the same as with 1, and a failed run adds nothing.")
    ] = 1,
) -> None:
    """Read NTLM events, classify why NTLM was used, and add them to the store.

    Ingesting the same files twice adds nothing (deduplicated by source and record id).
    Unreadable records are skipped with a warning; the exit status is non-zero only when
    nothing at all could be read.
    """
    from kerbfirst.audit.ingest import IngestError, IngestStats
    from kerbfirst.audit.pipeline import WorkerError, ingest_to_store
    from kerbfirst.audit.store import AuditStoreError, EventStore

    console = _console()
    stats = IngestStats()
    warnings: list[str] = []  # the first SHOWN_WARNINGS; stats counts them all

    def warn(message: str) -> None:
        # Bounded: a multi-GB export with a corrupt line in every record must not
        # keep millions of messages.
        if len(warnings) < SHOWN_WARNINGS:
            warnings.append(message)

    store = EventStore(store_dir)
    with Progress(
        TextColumn("[bold]ingest"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("files"),
        TextColumn("{task.fields[records]:,} records"),
        TextColumn("{task.fields[rate]:,.0f} rec/s"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=quiet,
        transient=False,
    ) as progress:
        task = progress.add_task("ingest", total=None, records=0, rate=0.0)
        stats.started_monotonic = time.monotonic()
        last = [0.0]

        def tick(force: bool = False) -> None:
            now = time.monotonic()
            if force or now - last[0] > 0.2:
                last[0] = now
                progress.update(
                    task, total=stats.files_total or None, completed=stats.files_done,
                    records=stats.records_read, rate=stats.records_per_second(now),
                )

        # The bar is refreshed from the reader's counters on a timer: most records of a
        # Security log are not NTLM and yield no event.
        done = threading.Event()

        def refresh() -> None:
            while not done.wait(0.25):
                tick(force=True)

        refresher = threading.Thread(target=refresh, name="ingest-progress", daemon=True)
        refresher.start()
        try:
            result = ingest_to_store(paths, store, jobs=jobs, stats=stats, warn=warn,
                                     batch_size=batch_size)
        except IngestError as exc:
            tick(force=True)
            progress.stop()
            _err(str(exc))
            raise typer.Exit(1) from None
        except (AuditStoreError, WorkerError) as exc:
            progress.stop()
            _err(str(exc))
            raise typer.Exit(1) from None
        finally:
            done.set()
            refresher.join(timeout=1)
        tick(force=True)
    for w in warnings:
        _err(f"warning: {w}")
    if stats.warnings_total > len(warnings):
        _err(f"... and {stats.warnings_total - len(warnings)} more warnings")
    console.print(
        f"{stats.files_done} files, {stats.records_read} records read, "
        f"{stats.ntlm_events} NTLM events, {stats.kerberos_failures} Kerberos failures that "
        f"explain a fallback"
        + (f", {stats.explicit_credentials} explicit-credential logons (4648) to an IP "
           "address" if stats.explicit_credentials else "")
        + (f", {stats.kerberos_logons} Kerberos logons at kerbfirst's services"
           if stats.kerberos_logons else "")
        + f": {result.added} added, "
        f"{result.duplicates} duplicates, {stats.records_corrupt} corrupt records skipped "
        f"-> {store_dir}",
        markup=False,
    )


@app.command("map")
def failure_map(
    store_dir: StoreOpt = DEFAULT_STORE,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Last day of the 7-day trend window (YYYY-MM-DD); "
                     "default: the last day in the store."),
    ] = None,
    limit: LimitOpt = 50,
    as_json: JsonOpt = False,
) -> None:
    """The failure map: NTLM per client, server, account, process and cause, with trend;
    failed logons (outcome "failed") are rows of their own, never mixed with NTLM use."""
    from kerbfirst.audit.analytics import Analytics, duckdb_runner

    day = _date(as_of, "--as-of")
    store = _open(store_dir)
    with store.connect() as con:
        rows = Analytics(duckdb_runner(con)).failure_map(as_of=day)
    if as_json:
        out = [dict(r._asdict(), first_seen=r.first_seen.isoformat(),
                    last_seen=r.last_seen.isoformat()) for r in rows[:limit]]
        typer.echo(json.dumps(out, indent=2))
        return
    t = Table(title=f"NTLM failure map ({len(rows)} flows; top {min(limit, len(rows))})")
    for col in ("client", "address", "server", "account", "process", "cause", "remedy",
                "outcome", "events", "last 7d", "prev 7d", "trend", "last seen"):
        t.add_column(col, justify="right" if col in ("events", "last 7d", "prev 7d") else "left")
    for r in rows[:limit]:
        # the address the client came from, when its workstation name is not it
        addr = r.source_ip if r.source_ip.upper() != r.client else ""
        _row(t, r.client, addr, r.server, r.account, r.process, r.cause, r.remedy, r.outcome,
             r.events, r.last_7d, r.prev_7d, r.trend, r.last_seen.strftime("%Y-%m-%d %H:%M"))
    _console().print(t)


@app.command()
def readiness(
    store_dir: StoreOpt = DEFAULT_STORE,
    limit: LimitOpt = 50,
    as_json: JsonOpt = False,
) -> None:
    """Readiness: the share of NTLM flows whose remedy moves them onto Kerberos."""
    from kerbfirst.audit.analytics import Analytics, duckdb_runner

    store = _open(store_dir)
    with store.connect() as con:
        ready = Analytics(duckdb_runner(con)).readiness()

    def as_dict(s: ServerReadiness) -> dict[str, object]:
        return dict(s._asdict(), share=round(s.share, 4), event_share=round(s.event_share, 4))

    if as_json:
        typer.echo(json.dumps({"overall": as_dict(ready.overall),
                               "servers": [as_dict(s) for s in ready.servers]}, indent=2))
        return
    servers = sorted(ready.servers, key=lambda s: (s.share, -s.flows, s.server))
    t = Table(title="Kerberos readiness per server (least ready first)")
    for col in ("server", "flows", "ready flows", "ready %", "events", "ready events %"):
        t.add_column(col, justify="left" if col == "server" else "right")
    for s in [*servers[:limit], ready.overall]:
        _row(t, s.server, s.flows, s.ready_flows, f"{100 * s.share:.1f}", s.events,
             f"{100 * s.event_share:.1f}")
    _console().print(t)


@app.command()
def simulate(
    policy: Annotated[Path, typer.Option("--policy", help="NTLM policy file (TOML; see "
                                         "examples/ntlm-policy.toml).")],
    store_dir: StoreOpt = DEFAULT_STORE,
    at: Annotated[
        str | None,
        typer.Option("--at", help="Date the exceptions are checked at (YYYY-MM-DD); "
                     "default: today."),
    ] = None,
    limit: LimitOpt = 25,
    as_json: JsonOpt = False,
) -> None:
    """What enforcing the policy would break: flows, users and hosts that would fail,
    flows saved by an exception, and exceptions that are unused or expired."""
    from kerbfirst.audit import simulate as sim_mod
    from kerbfirst.audit.analytics import Analytics, duckdb_runner

    day = _date(at, "--at") or date.today()
    try:
        pol = sim_mod.load_policy(policy)
    except PolicyError as exc:
        _err(str(exc))
        raise typer.Exit(2) from None
    store = _open(store_dir)
    with store.connect() as con:
        flows = Analytics(duckdb_runner(con)).flows()
    result = sim_mod.simulate(pol, flows, at=day)
    if as_json:
        typer.echo(json.dumps(sim_mod.to_json(result), indent=2))
    else:
        sim_mod.render(result, _console(), limit=limit)


@app.command()
def report(
    out: Annotated[Path, typer.Option("--out", help="Directory for report.html, "
                                      "report.json and the CSV files (failure_map.csv, "
                                      "readiness.csv, failure_sources.csv, coverage.csv).")],
    store_dir: StoreOpt = DEFAULT_STORE,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Last day of the trend window (YYYY-MM-DD); default: "
                     "the last day in the store."),
    ] = None,
    policy: Annotated[
        Path | None,
        typer.Option("--policy", help="NTLM policy file (TOML): adds the exception "
                     "register and the enforcement simulation to the report."),
    ] = None,
    at: Annotated[
        str | None,
        typer.Option("--at", help="Date the policy's exceptions are checked at "
                     "(YYYY-MM-DD); default: today."),
    ] = None,
) -> None:
    """One self-contained, printable HTML report (no external resources) plus JSON and
    CSV: executive summary, successes vs failures, readiness, causes, failure map,
    exceptions and simulation (with --policy) and a coverage note."""
    from kerbfirst.audit.report import write_report
    from kerbfirst.audit.simulate import load_policy

    day = _date(as_of, "--as-of")
    check_day = _date(at, "--at") or date.today()
    try:
        pol = load_policy(policy) if policy is not None else None
    except PolicyError as exc:
        _err(str(exc))
        raise typer.Exit(2) from None
    store = _open(store_dir)
    paths = write_report(store, out, as_of=day, policy=pol, at=check_day)
    for p in paths:
        _console().print(f"wrote {p}", markup=False)


@app.command("export-policy")
def export_policy(
    policy: Annotated[Path, typer.Option("--policy", help="NTLM policy file (TOML).")],
    out: Annotated[Path, typer.Option("--out", help="Directory for the .reg files and "
                                      "ntlm-policy.ps1.")],
    at: Annotated[
        str | None,
        typer.Option("--at", help="Only exceptions valid on this date (YYYY-MM-DD) are "
                     "exported; default: today."),
    ] = None,
) -> None:
    """The policy as Windows settings: one .reg file per machine group and a PowerShell
    script (RestrictSending/ReceivingNTLMTraffic, ClientAllowedNTLMServers, Netlogon
    RestrictNTLMInDomain, DCAllowedNTLMServers, SMB BlockNTLM and its exception list)."""
    from kerbfirst.audit import export as export_mod
    from kerbfirst.audit.simulate import load_policy

    day = _date(at, "--at") or date.today()
    try:
        pol = load_policy(policy)
        paths = export_mod.write_export(pol, out, at=day)
    except (PolicyError, export_mod.ExportError) as exc:
        _err(str(exc))
        raise typer.Exit(2) from None
    for p in paths:
        _console().print(f"wrote {p}", markup=False)
