"""The lab report: lab-report.json and a self-contained lab-report.html under DIR/report,
written from the recorded evidence (lab-evidence.json), so `kerbfirst lab report` rebuilds
it from the lab directory alone. It shows the estate going from N NTLM flows to one governed
exception to none, and each step's commands, exit codes, event counts and checks."""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kerbfirst.lab.evidence import Evidence

STAGES = (("phase1_ntlm_flows", "baseline (audit mode)"),
          ("phase2_ntlm_flows", "after IAKerb and LocalKDC"),
          ("phase3_ntlm_flows", "enforced, one exception"),
          ("phase3_expired_ntlm_flows", "the exception expired"))


PHASES = (1, 2, 3)


def summary(ev: Evidence) -> dict[str, Any]:
    failed = ev.failed_steps()
    missing = [n for n in PHASES if not any(s.phase == n for s in ev.steps)]
    return {
        "passed": not failed and not missing,
        "estate": [{"stage": label, "ntlm_flows": ev.facts.get(key)} for key, label in STAGES],
        "failed_steps": [f"phase {s.phase}: {s.name}" for s in failed]
        + [f"phase {n}: did not run" for n in missing],
        "checks": sum(len(s.checks) for s in ev.steps),
        "checks_failed": sum(1 for s in ev.steps for c in s.checks if not c.passed),
        "commands": sum(len(s.commands) for s in ev.steps),
        "seconds": ev.facts.get("seconds"),
    }


def write(directory: Path) -> tuple[Path, Path]:
    ev = Evidence.load(directory)
    out = directory / "report"
    out.mkdir(parents=True, exist_ok=True)
    data = {"generated": datetime.now(UTC).isoformat(timespec="seconds"),
            "summary": summary(ev), **ev.to_json()}
    json_path = out / "lab-report.json"
    json_path.write_text(json.dumps(data, indent=1))
    html_path = out / "lab-report.html"
    html_path.write_text(_html(data))
    return json_path, html_path


def _e(value: object) -> str:
    return html.escape(str(value))


def _html(data: dict[str, Any]) -> str:
    s = data["summary"]
    verdict = "PASS" if s["passed"] else "FAIL: " + "; ".join(s["failed_steps"])
    estate = " &rarr; ".join(
        f"<b>{_e(x['ntlm_flows'] if x['ntlm_flows'] is not None else '?')}</b> "
        f"<small>{_e(x['stage'])}</small>" for x in s["estate"])
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>kerbfirst lab report"
        "</title><style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}"
        "table{border-collapse:collapse;width:100%;margin:.5em 0}td,th{border:1px solid #ccc;"
        "padding:3px 6px;text-align:left;vertical-align:top;font-size:13px}"
        ".ok{color:#070}.bad{color:#b00;font-weight:bold}pre{white-space:pre-wrap;"
        "margin:0;font-size:12px;max-height:12em;overflow:auto}</style></head><body>",
        "<h1>kerbfirst lab: the NTLM migration rehearsed</h1>",
        f"<p class='{'ok' if s['passed'] else 'bad'}'>{_e(verdict)}</p>",
        f"<p>NTLM flows (client accounts that authenticated with NTLM): {estate}</p>",
        f"<p>{s['checks']} checks ({s['checks_failed']} failed), {s['commands']} commands"
        f"{', ' + _e(s['seconds']) + ' s' if s.get('seconds') else ''}; generated "
        f"{_e(data['generated'])}; lab directory {_e(data['directory'])}</p>",
    ]
    for step in data["steps"]:
        cls = "ok" if step["passed"] else "bad"
        parts.append(f"<h2 class='{cls}'>phase {_e(step['phase'])}: {_e(step['name'])}</h2>")
        parts.append("<table><tr><th>check</th><th>expected</th><th>observed</th>"
                     "<th></th></tr>")
        for c in step["checks"]:
            mark = "<span class='ok'>ok</span>" if c["passed"] else "<span class='bad'>FAIL"
            parts.append(f"<tr><td>{_e(c['what'])}</td><td>{_e(c['expected'])}</td>"
                         f"<td>{_e(c['observed'])}</td><td>{mark}</td></tr>")
        parts.append("</table>")
        if step["counts"]:
            parts.append("<details><summary>events</summary><pre>"
                         f"{_e(json.dumps(step['counts'], indent=1))}</pre></details>")
        parts.append("<details><summary>commands</summary><table><tr><th>where</th>"
                     "<th>command</th><th>exit</th><th>s</th><th>output</th></tr>")
        for c in step["commands"]:
            parts.append(f"<tr><td>{_e(c['where'])}</td><td>{_e(' '.join(c['argv']))}</td>"
                         f"<td>{_e(c['exit_code'])}</td><td>{_e(c['seconds'])}</td>"
                         f"<td><pre>{_e(c['output'][-600:])}</pre></td></tr>")
        parts.append("</table></details>")
    parts.append("</body></html>")
    return "\n".join(parts)
