"""`kerbfirst audit report`: one self-contained HTML file a manager can read, plus JSON/CSV.

report.html has no external reference at all: CSS and the small sorting script are inlined
from report_assets/, charts are SVG drawn in Python (report_charts.py). A Content Security
Policy allows only those two inline blocks (by hash) and nothing from the network, so even
a value that slipped past escaping could neither run script nor fetch anything.

Every value from the events is attacker-controlled (a host or account name in a log is
whatever the peer sent) and is escaped with html.escape(quote=True); failure_map.csv
neutralises spreadsheet formulas (a cell starting with = + - @ is prefixed with ').
"""

from __future__ import annotations

import base64
import csv
import hashlib
import json
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from kerbfirst.audit import report_charts as charts
from kerbfirst.audit.analytics import Analytics, DailyCount, FailureMapRow, duckdb_runner
from kerbfirst.audit.events import KERBEROS_REMEDIES
from kerbfirst.audit.report_charts import esc
from kerbfirst.audit.store import EventStore

REMEDY_LABELS = {
    "register-spn-use-fqdn": "register the SPN / use the FQDN",
    "iakerb": "IAKerb (no line of sight to a KDC)",
    "localkdc": "LocalKDC (local accounts)",
    "switch-to-negotiate": "switch the application to Negotiate",
    "upgrade-or-replace-device": "upgrade or replace the device",
    "owned-exception": "owned exception",
    "restrict-null-sessions": "restrict anonymous (null) sessions",
    "": "(not classified)",
}

MAP_COLUMNS: list[tuple[str, str, str]] = [  # key, header, type
    ("client", "Client", "text"),
    ("server", "Server", "text"),
    ("account", "Account", "text"),
    ("process", "Process", "text"),
    ("cause", "Cause", "text"),
    ("remedy", "Remedy", "text"),
    ("events", "Events", "number"),
    ("last_7d", "Last 7 d", "number"),
    ("prev_7d", "Prev 7 d", "number"),
    ("trend", "Trend", "text"),
    ("first_seen", "First seen", "text"),
    ("last_seen", "Last seen", "text"),
]


def _asset(name: str) -> str:
    return resources.files("kerbfirst.audit").joinpath("report_assets", name).read_text("utf-8")


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def gather(analytics: Analytics, *, as_of: date | None, now: datetime) -> dict[str, Any]:
    """Everything the report shows, as plain JSON-able data (this is report.json)."""
    bounds = analytics.bounds()
    fmap = analytics.failure_map(as_of=as_of)
    ready = analytics.readiness()
    return {
        "generated": now.isoformat(timespec="seconds"),
        "first_day": bounds.first_day.isoformat() if bounds.first_day else None,
        "last_day": bounds.last_day.isoformat() if bounds.last_day else None,
        "as_of": (as_of or bounds.last_day or now.date()).isoformat(),
        "events": bounds.events,
        "daily_by_cause": [d._asdict() for d in analytics.daily_by_cause()],
        "top_servers": [t._asdict() for t in analytics.top_servers(10)],
        "top_clients": [t._asdict() for t in analytics.top_clients(10)],
        "causes": [c._asdict() for c in analytics.cause_breakdown()],
        "readiness": {
            "overall": dict(ready.overall._asdict(), share=ready.overall.share,
                            event_share=ready.overall.event_share),
            "servers": [dict(s._asdict(), share=s.share, event_share=s.event_share)
                        for s in ready.servers],
            "kerberos_remedies": sorted(r.value for r in KERBEROS_REMEDIES),
        },
        "failure_map": [_map_record(r) for r in fmap],
    }


def _map_record(r: FailureMapRow) -> dict[str, Any]:
    d = r._asdict()
    d["first_seen"] = r.first_seen.isoformat()
    d["last_seen"] = r.last_seen.isoformat()
    return d


def _csv_cell(v: object) -> str:
    s = str(v)
    return "'" + s if s[:1] in ("=", "+", "-", "@", "\t", "\r") else s


def write_csv(data: dict[str, Any], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow([k for k, _, _ in MAP_COLUMNS] + ["blocked"])
        for row in data["failure_map"]:
            w.writerow([_csv_cell(row[k]) for k, _, _ in MAP_COLUMNS] + [row["blocked"]])


def _kpi(value: str, label: str) -> str:
    return (f'<div class="kpi"><div class="v">{esc(value)}</div>'
            f'<div class="l">{esc(label)}</div></div>')


_NUM = ' class="n"'


def _table(table_id: str, columns: list[tuple[str, str, str]], rows: list[list[Any]],
           *, sortable: bool = True, cell_classes: dict[int, str] | None = None) -> str:
    cls = ' class="sortable"' if sortable else ""
    head = "".join(
        f'<th data-key="{esc(k)}" data-type="{t}"{_NUM if t == "number" else ""}>{esc(h)}</th>'
        for k, h, t in columns
    )
    body = []
    for row in rows:
        cells = []
        for i, v in enumerate(row):
            kind = columns[i][2]
            extra = ""
            if kind == "number":
                extra = ' class="n share"' if isinstance(v, tuple) else ' class="n"'
            elif cell_classes and i in cell_classes:
                extra = f' class="{esc(cell_classes[i])}-{esc(v)}"'
            if isinstance(v, tuple):  # (display html, sort key): display is already escaped
                cells.append(f'<td{extra} data-sort="{esc(v[1])}">{v[0]}</td>')
            else:
                cells.append(f"<td{extra}>{esc(v)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<table id="{esc(table_id)}"{cls}><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>")


def render_html(data: dict[str, Any]) -> str:
    css, js = _asset("report.css"), _asset("report.js")
    ready = data["readiness"]
    overall = ready["overall"]
    fmap = data["failure_map"]
    period = f"{data['first_day']} to {data['last_day']}" if data["first_day"] else "no data"
    kpis = "".join([
        _kpi(f"{data['events']:,}", "NTLM events"),
        _kpi(f"{overall['flows']:,}", "distinct NTLM flows"),
        _kpi(f"{len(ready['servers']):,}", "servers receiving NTLM"),
        _kpi(f"{len({r['client'] for r in fmap}):,}", "clients sending NTLM"),
        _kpi(f"{100 * overall['share']:.0f}%", "flows with a Kerberos remedy"),
    ])
    causes = data["causes"]
    cause_rows = [(charts.label(c["cause"]), c["events"], charts.colour(c["cause"]))
                  for c in causes]
    servers = [(t["name"], t["events"], "#0072B2") for t in data["top_servers"]]
    clients = [(t["name"], t["events"], "#56B4E9") for t in data["top_clients"]]
    ready_rows = [
        [s["server"], s["flows"], s["ready_flows"],
         (charts.share_bar(s["share"]) + f" {100 * s['share']:.0f}%", f"{s['share']:.4f}"),
         s["events"]]
        for s in sorted(ready["servers"], key=lambda s: (s["share"], -s["flows"], s["server"]))
    ]
    ready_cols = [("server", "Server", "text"), ("flows", "NTLM flows", "number"),
                  ("ready_flows", "With Kerberos remedy", "number"),
                  ("share", "Readiness", "number"), ("events", "Events", "number")]
    cause_table = _table(
        "causes-table",
        [("cause", "Cause", "text"), ("events", "Events", "number"),
         ("servers", "Servers", "number"), ("clients", "Clients", "number"),
         ("accounts", "Accounts", "number")],
        [[charts.label(c["cause"]), c["events"], c["servers"], c["clients"], c["accounts"]]
         for c in causes],
    )
    map_rows = [
        [r["client"], r["server"], r["account"], r["process"], charts.label(r["cause"]),
         REMEDY_LABELS.get(r["remedy"], r["remedy"]), r["events"], r["last_7d"],
         r["prev_7d"], r["trend"], r["first_seen"][:16].replace("T", " "),
         r["last_seen"][:16].replace("T", " ")]
        for r in fmap
    ]
    csp = (f"default-src 'none'; style-src {_csp_hash(css)}; script-src {_csp_hash(js)}; "
           "img-src data:; base-uri 'none'; form-action 'none'")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>NTLM usage report ({esc(period)})</title>
<style>{css}</style>
</head>
<body>
<header>
<h1>Where NTLM is still used, why, and what removes it</h1>
<p>Period {esc(period)} &middot; trend window ends {esc(data['as_of'])} &middot;
generated {esc(data['generated'])} by kerbfirst</p>
</header>
<main>
<div class="kpis">{kpis}</div>
<section id="over-time">
<h2>NTLM over time, by cause</h2>
<p class="why">Events per day. Each colour is the reason Kerberos was not used.</p>
{charts.stacked_daily([_daily(d) for d in data['daily_by_cause']])}
</section>
<section id="readiness">
<h2>Readiness: {100 * overall['share']:.0f}% of NTLM flows have a Kerberos remedy</h2>
<p class="why">A flow is one client, server, account, process and cause. It is ready when
its remedy moves it onto Kerberos (SPN/FQDN, IAKerb, LocalKDC, Negotiate); the rest need a
device upgrade or an owned exception. {overall['ready_flows']:,} of {overall['flows']:,} flows
({100 * overall['event_share']:.0f}% of events). Least ready servers first.</p>
<div class="scroll">{_table('readiness-table', ready_cols, ready_rows)}</div>
</section>
<div class="grid2">
<section id="top-servers"><h2>Top servers receiving NTLM</h2>
{charts.hbars('chart-servers', servers)}</section>
<section id="top-clients"><h2>Top clients sending NTLM</h2>
{charts.hbars('chart-clients', clients)}</section>
</div>
<section id="causes">
<h2>Why NTLM was used</h2>
{charts.hbars('chart-causes', cause_rows, width=1100)}
{cause_table}
</section>
<section id="failure-map-section">
<h2>Failure map</h2>
<p class="why">Every flow, with its cause and remedy. Click a column header to sort.
Trend compares the last 7 days with the 7 before.</p>
<div class="scroll">{_table('failure-map', MAP_COLUMNS, map_rows, cell_classes={9: 'trend'})}</div>
</section>
<footer>kerbfirst audit report &middot; data also in report.json and failure_map.csv</footer>
</main>
<script>{js}</script>
</body>
</html>
"""


def _daily(d: dict[str, Any]) -> DailyCount:
    return DailyCount(d["day"], d["cause"], d["events"])


def write_report(store: EventStore, out: Path, *, as_of: date | None = None,
                 now: datetime | None = None) -> list[Path]:
    """Write report.html, report.json and failure_map.csv into `out`; return their paths."""
    now = now or datetime.now(UTC)
    with store.connect() as con:
        data = gather(Analytics(duckdb_runner(con)), as_of=as_of, now=now)
    out.mkdir(parents=True, exist_ok=True)
    html_path = out / "report.html"
    json_path = out / "report.json"
    csv_path = out / "failure_map.csv"
    html_path.write_text(render_html(data), encoding="utf-8")
    json_path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    write_csv(data, csv_path)
    return [html_path, json_path, csv_path]
