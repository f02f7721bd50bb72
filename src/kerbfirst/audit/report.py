"""`kerbfirst audit report`: one self-contained HTML file a manager can read, plus JSON/CSV.

What the report holds (`gather`, which is also report.json): the executive summary (how
much NTLM, how much a Kerberos remedy removes and by which, what blocks enforcement, the
next three actions), successes apart from failed logons (and the addresses failures come
from), readiness, causes, the failure map, the exception register and the enforcement
simulation when a policy is given, and a coverage note (which hosts' logs were seen,
which causes could not be determined and what auditing would tell them). Every table
shows its top rows in the page; the whole of it is a CSV next to report.html.

Every value from the events is attacker-controlled (a host or account name in a log is
whatever the peer sent): report_html escapes it, and the CSV files neutralise
spreadsheet formulas (a cell starting with = + - @ is prefixed with ').
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from kerbfirst.audit import simulate as sim_mod
from kerbfirst.audit.analytics import Analytics, FailureMapRow, duckdb_runner
from kerbfirst.audit.events import KERBEROS_REMEDIES
from kerbfirst.audit.report_html import render_html
from kerbfirst.audit.store import EventStore
from kerbfirst.policy import Policy

__all__ = ["CSV_FILES", "gather", "render_html", "summary", "write_report"]

# A failed-logon source with at least this many failures is shown as a finding.
BURST_MIN_EVENTS = 20
# file name -> (key in report.json, columns)
CSV_FILES: dict[str, tuple[str, tuple[str, ...]]] = {
    "failure_map.csv": ("failure_map", (
        "client", "server", "account", "process", "cause", "remedy", "events", "last_7d",
        "prev_7d", "trend", "first_seen", "last_seen", "blocked", "outcome", "server_name",
        "server_kind", "source_ip", "source_ips")),
    "readiness.csv": ("readiness_servers", (
        "server", "flows", "ready_flows", "share", "events", "ready_events")),
    "failure_sources.csv": ("failure_sources", (
        "source", "events", "accounts", "workstations", "servers", "first_seen",
        "last_seen")),
    "kerberos_logons.csv": ("kerberos_logons", (
        "server", "succeeded", "failed", "accounts", "ntlm", "ntlm_refused")),
    "coverage.csv": ("coverage", (
        "host", "events", "security_events", "unknown_events", "is_dc", "security_only")),
}


def _iso(v: Any) -> Any:
    return v.isoformat() if isinstance(v, datetime | date) else v


def _record(row: Any) -> dict[str, Any]:
    return {k: _iso(v) for k, v in row._asdict().items()}


def gather(analytics: Analytics, *, as_of: date | None, now: datetime,
           policy: Policy | None = None, at: date | None = None) -> dict[str, Any]:
    """Everything the report shows, as plain JSON-able data (this is report.json)."""
    bounds = analytics.bounds()
    fmap = analytics.failure_map(as_of=as_of)
    ready = analytics.readiness()
    servers = sorted(ready.servers, key=lambda s: (s.share, -s.flows, s.server))
    data: dict[str, Any] = {
        "generated": now.isoformat(timespec="seconds"),
        "first_day": bounds.first_day.isoformat() if bounds.first_day else None,
        "last_day": bounds.last_day.isoformat() if bounds.last_day else None,
        "as_of": (as_of or bounds.last_day or now.date()).isoformat(),
        "events": bounds.events,
        "outcomes": [o._asdict() for o in analytics.outcomes()],
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
        "readiness_servers": [dict(s._asdict(), share=round(s.share, 4)) for s in servers],
        "failure_map": [_map_record(r) for r in fmap],
        "failure_sources": [_record(f) for f in
                            analytics.failure_sources(BURST_MIN_EVENTS)],
        "coverage": [dict(c._asdict(), security_only=c.security_only)
                     for c in analytics.coverage()],
        "kerberos_logons": [k._asdict() for k in analytics.kerberos_logons()],
        "simulation": None,
    }
    if policy is not None:
        day = at or now.date()
        data["simulation"] = sim_mod.to_json(sim_mod.simulate(policy, analytics.flows(),
                                                              at=day))
    data["summary"] = summary(data)
    return data


def _map_record(r: FailureMapRow) -> dict[str, Any]:
    d = r._asdict()
    d["first_seen"] = r.first_seen.isoformat()
    d["last_seen"] = r.last_seen.isoformat()
    return d


def _top(names: list[str], n: int = 3) -> str:
    shown = ", ".join(names[:n])
    return shown + (f" and {len(names) - n} more" if len(names) > n else "")


ACTION_TEXT = {
    "register-spn-use-fqdn": "Register the missing SPNs and make clients use DNS names "
                             "(not IP addresses)",
    "localkdc": "Move local-account logons to LocalKDC (Kerberos for local accounts)",
    "iakerb": "Deploy IAKerb where clients have no line of sight to a KDC",
    "switch-to-negotiate": "Switch applications that call NTLM by name to Negotiate",
    "upgrade-or-replace-device": "Upgrade or replace the NTLMv1/LM clients",
    "restrict-null-sessions": "Find what opens anonymous (null) sessions and restrict "
                              "anonymous access",
}


def summary(data: dict[str, Any]) -> dict[str, Any]:
    """The executive summary, computed from the gathered data."""
    ok = [r for r in data["failure_map"] if r["outcome"] == "success"]
    outcomes = {o["outcome"]: o["events"] for o in data["outcomes"]}
    by_remedy: dict[str, dict[str, Any]] = {}
    for r in ok:
        slot = by_remedy.setdefault(r["remedy"] or "owned-exception",
                                    {"flows": 0, "events": 0, "servers": {}, "clients": {}})
        slot["flows"] += 1
        slot["events"] += r["events"]
        slot["servers"][r["server"]] = slot["servers"].get(r["server"], 0) + r["events"]
        slot["clients"][r["client"]] = slot["clients"].get(r["client"], 0) + r["events"]

    def ranked(d: dict[str, int]) -> list[str]:
        return [k for k, _ in sorted(d.items(), key=lambda kv: (-kv[1], kv[0]))]

    kerberos = set(data["readiness"]["kerberos_remedies"])
    removable = [{"remedy": k, "flows": v["flows"], "events": v["events"],
                  "servers": ranked(v["servers"])[:5]}
                 for k, v in sorted(by_remedy.items(), key=lambda kv: -kv[1]["events"])
                 if k in kerberos]
    blocking = [{"remedy": k, "flows": v["flows"], "events": v["events"],
                 "servers": ranked(v["servers"])[:5], "clients": ranked(v["clients"])[:5]}
                for k, v in sorted(by_remedy.items(), key=lambda kv: -kv[1]["events"])
                if k not in kerberos]
    actions: list[tuple[int, str]] = []
    for k, v in by_remedy.items():
        if k in ACTION_TEXT:
            where = [n for n in ranked(v["clients"] if k == "upgrade-or-replace-device"
                                       else v["servers"]) if n != "(UNKNOWN)"]
            actions.append((v["events"], f"{ACTION_TEXT[k]}: {v['flows']:,} flows, "
                                         f"{v['events']:,} events, most on {_top(where)}."))
    blind = [c for c in data["coverage"] if c["security_only"] and c["unknown_events"]]
    if blind:
        n = sum(c["unknown_events"] for c in blind)
        actions.append((n, f"Learn the cause of {n:,} NTLM events on {len(blind)} hosts that "
                           f"send only Security logs ({_top([c['host'] for c in blind])}): "
                           "turn on NTLM auditing there (see Coverage)."))
    for f in data["failure_sources"][:1]:
        actions.append((f["events"], f"Investigate {f['source']}: {f['events']:,} failed NTLM "
                                     f"logons against {f['accounts']:,} accounts from "
                                     f"{f['workstations']:,} workstation names."))
    sim = data.get("simulation")
    would_fail = sim["totals"] if sim else None
    return {
        "ntlm_events": outcomes.get("success", 0),
        "failed_events": outcomes.get("failed", 0),
        "blocked_events": outcomes.get("blocked", 0),
        "flows": len(ok),
        "servers": len({r["server"] for r in ok}),
        "clients": len({r["client"] for r in ok}),
        "removable_events": sum(x["events"] for x in removable),
        "removable_flows": sum(x["flows"] for x in removable),
        "removable": removable,
        "blocking": blocking,
        "would_fail": would_fail,
        "next_actions": [text for _, text in sorted(actions, key=lambda a: -a[0])[:3]],
    }


def _csv_cell(v: object) -> str:
    s = "" if v is None else str(v)
    return "'" + s if s[:1] in ("=", "+", "-", "@", "\t", "\r") else s


def write_csvs(data: dict[str, Any], out: Path) -> list[Path]:
    paths = []
    for name, (key, columns) in CSV_FILES.items():
        path = out / name
        with path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(columns)
            for row in data[key]:
                w.writerow([_csv_cell(row[c]) for c in columns])
        paths.append(path)
    return paths


def write_report(store: EventStore, out: Path, *, as_of: date | None = None,
                 now: datetime | None = None, policy: Policy | None = None,
                 at: date | None = None) -> list[Path]:
    """Write report.html, report.json and the CSV files into `out`; return their paths."""
    now = now or datetime.now(UTC)
    with store.connect() as con:
        data = gather(Analytics(duckdb_runner(con)), as_of=as_of, now=now, policy=policy,
                      at=at)
    out.mkdir(parents=True, exist_ok=True)
    html_path = out / "report.html"
    json_path = out / "report.json"
    html_path.write_text(render_html(data), encoding="utf-8")
    json_path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    return [html_path, json_path, *write_csvs(data, out)]
