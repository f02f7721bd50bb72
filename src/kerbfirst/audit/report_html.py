"""The report's HTML: one self-contained page (CSS and the sorting script inlined, charts
as SVG), printable -- nothing in scroll boxes: each table shows its top rows and links
the CSV holding all of them.

report.html has no external reference at all. A Content Security Policy allows only the
two inline blocks (by hash) and nothing from the network, so even a value that slipped
past escaping could neither run script nor fetch anything. Every value from the events
goes through `esc`.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import date
from importlib import resources
from typing import Any

from kerbfirst.audit import report_charts as charts
from kerbfirst.audit.analytics import DailyCount
from kerbfirst.audit.report_charts import esc

TOP_ROWS = 25  # rows of a table shown in the page; the CSV beside it has all of them
MAP_TOP_ROWS = 50

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
    ("client", "Client (address)", "text"),
    ("server", "Server", "text"),
    ("account", "Account", "text"),
    ("process", "Process", "text"),
    ("cause", "Cause", "text"),
    ("remedy", "Remedy", "text"),
    ("outcome", "Outcome", "text"),
    ("events", "Events", "number"),
    ("last_7d", "Last 7 d", "number"),
    ("prev_7d", "Prev 7 d", "number"),
    ("trend", "Trend", "text"),
    ("last_seen", "Last seen", "text"),
]


def _asset(name: str) -> str:
    return resources.files("kerbfirst.audit").joinpath("report_assets", name).read_text("utf-8")


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


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


def _more(shown: int, total: int, csv_name: str, what: str) -> str:
    if total <= shown:
        return f'<p class="why">All {total:,} {esc(what)}; also in <a href="{csv_name}">' \
               f"{csv_name}</a>.</p>"
    return (f'<p class="why">Top {shown:,} of {total:,} {esc(what)}; all of them in '
            f'<a href="{csv_name}">{csv_name}</a>.</p>')


def _client(r: dict[str, Any]) -> str:
    ip = r.get("source_ip") or ""
    if ip and ip.upper() != r["client"]:
        more = f", +{r['source_ips'] - 1}" if r.get("source_ips", 0) > 1 else ""
        return f"{r['client']} ({ip}{more})"
    return str(r["client"])


def _summary_html(data: dict[str, Any]) -> str:
    s = data["summary"]
    total = s["ntlm_events"] or 1
    removable = "".join(
        f"<li><b>{esc(REMEDY_LABELS.get(x['remedy'], x['remedy']))}</b>: {x['flows']:,} flows, "
        f"{x['events']:,} events ({100 * x['events'] / total:.0f}%)</li>"
        for x in s["removable"]) or "<li>nothing yet</li>"
    blocking = "".join(
        f"<li><b>{esc(REMEDY_LABELS.get(x['remedy'], x['remedy']))}</b>: {x['flows']:,} flows, "
        f"{x['events']:,} events; servers {esc(', '.join(x['servers'][:3]))}</li>"
        for x in s["blocking"]) or "<li>nothing</li>"
    actions = "".join(f"<li>{esc(a)}</li>" for a in s["next_actions"]) or "<li>none</li>"
    sim = ""
    if s["would_fail"]:
        t = s["would_fail"]
        sim = (f"<p>Enforcing the policy now would break <b>{t['would_fail_flows']:,}</b> "
               f"flows ({t['would_fail_events']:,} events); exceptions keep "
               f"{t['saved_flows']:,} flows working (see Exceptions).</p>")
    return f"""<section id="summary">
<h2>Summary</h2>
<p><b>{s['ntlm_events']:,}</b> NTLM authentications worked in the period, in
<b>{s['flows']:,}</b> flows to {s['servers']:,} servers from {s['clients']:,} clients.
<b>{s['removable_events']:,}</b> of them ({100 * s['removable_events'] / total:.0f}%,
{s['removable_flows']:,} flows) have a remedy that moves them onto Kerberos.
Failed NTLM logons, kept apart (they are not NTLM use): <b>{s['failed_events']:,}</b>;
already blocked: {s['blocked_events']:,}.</p>
{sim}
<div class="grid2">
<div><h3>Removable by</h3><ul>{removable}</ul></div>
<div><h3>What blocks enforcement</h3><ul>{blocking}</ul></div>
</div>
<h3>Next three actions</h3><ol>{actions}</ol>
</section>"""


def _outcomes_html(data: dict[str, Any]) -> str:
    rows = [[o["outcome"], o["events"], o["servers"], o["clients"], o["accounts"]]
            for o in data["outcomes"]]
    table = _table("outcomes-table", [("outcome", "Outcome", "text"),
                                      ("events", "Events", "number"),
                                      ("servers", "Servers", "number"),
                                      ("clients", "Clients", "number"),
                                      ("accounts", "Accounts", "number")], rows)
    srcs = data["failure_sources"]
    src_rows = [[f["source"], f["events"], f["accounts"], f["workstations"], f["servers"],
                 f["first_seen"][:16].replace("T", " "), f["last_seen"][:16].replace("T", " ")]
                for f in srcs[:TOP_ROWS]]
    src_table = _table("failure-sources", [
        ("source", "Source address", "text"), ("events", "Failed logons", "number"),
        ("accounts", "Accounts tried", "number"),
        ("workstations", "Workstation names", "number"), ("servers", "Servers", "number"),
        ("first_seen", "From", "text"), ("last_seen", "To", "text")], src_rows)
    return f"""<section id="outcomes">
<h2>Successes and failures</h2>
<p class="why">A failed logon (bad password, unknown account) is not NTLM in use and
enforcement cannot break it; readiness, the simulation and the flows above count
successful (or only audited) authentications.</p>
{table}
<h3>Where failed logons come from</h3>
<p class="why">Addresses with at least 20 failed NTLM logons. Many accounts or random
workstation names from one address is password guessing: a finding for the security
team, not a migration task.</p>
{src_table if srcs else '<p class="why">None.</p>'}
{_more(len(src_rows), len(srcs), 'failure_sources.csv', 'sources') if srcs else ''}
</section>"""


def _exceptions_html(data: dict[str, Any]) -> str:
    sim = data.get("simulation")
    if not sim:
        return ('<section id="exceptions"><h2>Exceptions and enforcement simulation</h2>'
                '<p class="why">No policy given: run <code>kerbfirst audit report --policy '
                'ntlm-policy.toml</code> to include the exception register and what '
                'enforcement would break.</p></section>')
    rows = []
    for key, status in (("exceptions_used", "live"), ("exceptions_unused", "unused"),
                        ("exceptions_expired", "expired")):
        for e in sim[key]:
            narrowed = "yes" if e.get("client") or e.get("user") else ""
            rows.append([e["id"], e["target"], e["owner"], e["expires"], status,
                         e.get("flows", 0), e.get("events", 0), narrowed])
    table = _table("exception-register", [
        ("id", "Exception", "text"), ("target", "Target", "text"), ("owner", "Owner", "text"),
        ("expires", "Expires", "text"), ("status", "Status", "text"),
        ("flows", "Flows", "number"), ("events", "Events", "number"),
        ("narrowed", "Narrowed to client/user", "text")], rows)
    fail = sim["would_fail"]
    fail_rows = [[f"{o['client']}", o["server"], o["account"], o["cause"], o["events"],
                  o["reason"]] for o in fail[:TOP_ROWS]]
    fail_table = _table("would-fail", [
        ("client", "Client", "text"), ("server", "Server", "text"),
        ("account", "Account", "text"), ("cause", "Cause", "text"),
        ("events", "Events", "number"), ("reason", "Why", "text")], fail_rows)
    t = sim["totals"]
    return f"""<section id="exceptions">
<h2>Exceptions and enforcement simulation ({esc(sim['mode'])}, at {esc(sim['at'])})</h2>
<p class="why">{t['would_fail_flows']:,} of {t['flows']:,} flows ({t['would_fail_events']:,}
events) would fail; {t['saved_flows']:,} flows are kept by a live exception. Windows
settings name servers only: an exception narrowed to clients or users is exported for
every client (see export-policy).</p>
{table}
<h3>Flows enforcement would break</h3>
{fail_table}
<p class="why">Top {len(fail_rows):,} of {len(fail):,}; all in report.json.</p>
</section>"""


def _kerberos_html(data: dict[str, Any]) -> str:
    """Kerberos beside NTLM at kerbfirst's own services (their 4624/4625 events)."""
    own = data.get("kerberos_logons") or []
    if not own:
        return ""
    rows = [[k["server"], k["succeeded"], k["failed"], k["accounts"], k["ntlm"],
             k["ntlm_refused"]] for k in own[:TOP_ROWS]]
    table = _table("kerberos-logons", [
        ("server", "Service host", "text"), ("succeeded", "Kerberos logons", "number"),
        ("failed", "Kerberos failures", "number"), ("accounts", "Accounts", "number"),
        ("ntlm", "NTLM events", "number"), ("refused", "NTLM failed or blocked", "number")],
        rows)
    return f"""<section id="kerberos-logons-section">
<h2>kerbfirst's own services</h2>
<p class="why">{sum(k['succeeded'] for k in own):,} Kerberos logons and
{sum(k['failed'] for k in own):,} failed ones at {len(own):,} kerbfirst services, beside the
NTLM events the same hosts logged.</p>
{table}
{_more(len(rows), len(own), 'kerberos_logons.csv', 'services')}
</section>"""


def _coverage_html(data: dict[str, Any]) -> str:
    cover = data["coverage"]
    blind = [c for c in cover if c["security_only"] and c["unknown_events"]]
    unknown = sum(c["unknown_events"] for c in cover)
    rows = [[c["host"], "yes" if c["is_dc"] else "", c["events"], c["security_events"],
             c["unknown_events"]] for c in (blind or cover)[:TOP_ROWS]]
    table = _table("coverage-table", [
        ("host", "Host", "text"), ("dc", "DC", "text"), ("events", "NTLM events", "number"),
        ("security", "From the Security log", "number"),
        ("unknown", "Cause unknown", "number")], rows)
    what = "hosts that send only Security events" if blind else "hosts"
    return f"""<section id="coverage">
<h2>Coverage</h2>
<p class="why">Logs were seen from {len(cover):,} hosts ({sum(c['is_dc'] for c in cover):,}
domain controllers). The cause of {unknown:,} NTLM events could not be determined.
{len(blind):,} hosts sent only Security events: 4624/4625/4776 name no target and no
reason, so the cause is not determinable from these logs. To learn it, {_ADVICE}.</p>
{table}
{_more(len(rows), len(blind or cover), 'coverage.csv', what)}
</section>"""


_ADVICE = (
    "turn on NTLM auditing there: &ldquo;Network security: Restrict NTLM: Audit incoming "
    "NTLM traffic&rdquo; and &ldquo;Outgoing NTLM traffic to remote servers: Audit "
    "all&rdquo; (on DCs &ldquo;Audit NTLM authentication in this domain&rdquo;) give the "
    "NTLM/Operational events 8001-8004; Windows 11 24H2 / Server 2025 add the enhanced "
    "NTLM auditing events 4020-4033, whose usage reason names the cause"
)


def render_html(data: dict[str, Any]) -> str:
    css, js = _asset("report.css"), _asset("report.js")
    ready = data["readiness"]
    overall = ready["overall"]
    fmap = data["failure_map"]
    s = data["summary"]
    period = f"{data['first_day']} to {data['last_day']}" if data["first_day"] else "no data"
    kpis = "".join([
        _kpi(f"{s['ntlm_events']:,}", "NTLM authentications"),
        _kpi(f"{100 * overall['event_share']:.0f}%", "removable by a Kerberos remedy"),
        _kpi(f"{s['servers']:,}", "servers receiving NTLM"),
        _kpi(f"{s['clients']:,}", "clients sending NTLM"),
        _kpi(f"{s['failed_events']:,}", "failed NTLM logons"),
    ])
    causes = data["causes"]
    cause_rows = [(charts.label(c["cause"]), c["events"], charts.colour(c["cause"]))
                  for c in causes]
    servers = [(t["name"], t["events"], "#0072B2") for t in data["top_servers"]]
    clients = [(t["name"], t["events"], "#56B4E9") for t in data["top_clients"]]
    rs = data["readiness_servers"]
    ready_rows = [
        [r["server"], r["flows"], r["ready_flows"],
         (charts.share_bar(r["share"]) + f" {100 * r['share']:.0f}%", f"{r['share']:.4f}"),
         r["events"]]
        for r in rs[:TOP_ROWS]
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
        [_client(r), r["server"], r["account"], r["process"], charts.label(r["cause"]),
         REMEDY_LABELS.get(r["remedy"], r["remedy"]), r["outcome"], r["events"],
         r["last_7d"], r["prev_7d"], r["trend"], r["last_seen"][:16].replace("T", " ")]
        for r in fmap[:MAP_TOP_ROWS]
    ]
    csp = (f"default-src 'none'; style-src {_csp_hash(css)}; script-src {_csp_hash(js)}; "
           "img-src data:; base-uri 'none'; form-action 'none'")
    daily = [DailyCount(d["day"], d["cause"], d["events"]) for d in data["daily_by_cause"]]
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
{_summary_html(data)}
<section id="over-time">
<h2>NTLM over time, by cause</h2>
<p class="why">Events per {esc(charts.time_bins(*_period(data))[0])} on a calendar axis
(empty stretches are periods without events). Each colour is the reason Kerberos was
not used; failed logons are shown apart.</p>
{charts.stacked_daily(daily)}
</section>
{_outcomes_html(data)}
<section id="readiness">
<h2>Readiness: {100 * overall['share']:.0f}% of NTLM flows have a Kerberos remedy</h2>
<p class="why">A flow is one client, server, account, process and cause. It is ready when
its remedy moves it onto Kerberos (SPN/FQDN, IAKerb, LocalKDC, Negotiate); the rest need a
device upgrade, a null-session fix or an owned exception. {overall['ready_flows']:,} of
{overall['flows']:,} flows ({100 * overall['event_share']:.0f}% of events). Least ready
servers first.</p>
{_table('readiness-table', ready_cols, ready_rows)}
{_more(len(ready_rows), len(rs), 'readiness.csv', 'servers')}
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
<p class="why">Flows with their cause and remedy, most events first; the client's address
is shown when it differs from the name it gave. Click a column header to sort. Trend
compares the last 7 days with the 7 before.</p>
{_table('failure-map', MAP_COLUMNS, map_rows, cell_classes={10: 'trend'})}
{_more(len(map_rows), len(fmap), 'failure_map.csv', 'flows')}
</section>
{_exceptions_html(data)}
{_kerberos_html(data)}
{_coverage_html(data)}
<footer>kerbfirst audit report &middot; all data in report.json and the CSV files</footer>
</main>
<script>{js}</script>
</body>
</html>
"""


def _period(data: dict[str, Any]) -> tuple[date, date]:
    if not data["first_day"]:
        today = date.fromisoformat(data["as_of"])
        return today, today
    return date.fromisoformat(data["first_day"]), date.fromisoformat(data["last_day"])
