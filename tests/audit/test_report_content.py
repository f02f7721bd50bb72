"""What the report says (no browser): a calendar time axis with gaps, the executive
summary, failures apart, the exception register, the coverage note."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from audit_estate import event

from kerbfirst.audit.events import Cause, Disposition
from kerbfirst.audit.report import write_report
from kerbfirst.audit.report_charts import time_bins
from kerbfirst.audit.store import EventStore
from kerbfirst.policy import Policy


def _rects(html: str) -> list[tuple[str, float]]:
    return [(m.group(1), float(m.group(2))) for m in re.finditer(
        r'<rect class="mark" data-day="([0-9-]+)"[^>]* x="([0-9.]+)"', html)]


def test_time_axis_is_a_calendar_with_gaps(tmp_path: Path) -> None:
    t2015 = datetime(2015, 1, 5, tzinfo=UTC)
    t2025 = datetime(2025, 6, 1, tzinfo=UTC)
    evs = [event(record_id=1, time=t2015), event(record_id=2, time=t2025),
           event(record_id=3, time=t2025 + timedelta(days=3))]
    store = EventStore(tmp_path / "s")
    store.append(evs)
    write_report(store, tmp_path / "out", now=datetime(2025, 7, 1, tzinfo=UTC))
    html = (tmp_path / "out" / "report.html").read_text()
    assert 'data-unit="month"' in html and time_bins(t2015.date(), t2025.date())[0] == "month"
    rects = dict(_rects(html))
    assert set(rects) == {"2015-01-01", "2025-06-01"}  # the two June events share a month
    # 2015-01 .. 2025-06 is 126 months on a 1042-px plot: the bars are ~1034 px apart,
    # not one slot apart as on a categorical axis
    assert rects["2025-06-01"] - rects["2015-01-01"] > 1000
    assert ">2015<" in html and ">2025<" in html


def test_summary_failures_exceptions_and_coverage(tmp_path: Path) -> None:
    start = datetime(2025, 3, 3, tzinfo=UTC)
    evs = [event(record_id=i, time=start + timedelta(minutes=i), host="FS01",
                 client=f"RND{i:04d}", user=f"guess{i % 7}", cause=Cause.UNKNOWN,
                 extra={"x": "1"}) for i in range(40)]
    for e in evs:
        e.disposition = Disposition.FAILED
        e.client_address = "198.51.100.9"
        e.source = "FS01/Security"
    evs += [event(record_id=100 + i, time=start + timedelta(hours=i), host="FS01",
                  cause=Cause.SPN_MISSING) for i in range(10)]
    evs += [event(record_id=200 + i, time=start + timedelta(hours=i), host="PRN03",
                  cause=Cause.NTLMV1_OR_LM) for i in range(4)]
    for e in evs[-14:]:
        e.source = f"{e.host}/Security"
    store = EventStore(tmp_path / "s")
    store.append(evs)
    policy = Policy.from_dict({"mode": "enforce", "scope": {"estate": True}, "exception": [
        {"id": "EX-P", "target": "PRN03", "owner": "o", "reason": "r",
         "compensating_control": "c", "expires": date(2030, 1, 1)},
        {"id": "EX-OLD", "target": "FS01", "owner": "o", "reason": "r",
         "compensating_control": "c", "expires": date(2024, 1, 1)}]})
    write_report(store, tmp_path / "out", now=datetime(2025, 4, 1, tzinfo=UTC),
                 policy=policy, at=date(2025, 4, 1))
    html = (tmp_path / "out" / "report.html").read_text()
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    s = data["summary"]
    assert (s["ntlm_events"], s["failed_events"]) == (14, 40)
    assert s["removable_events"] == 10 and s["removable"][0]["remedy"] == "register-spn-use-fqdn"
    assert s["blocking"][0]["remedy"] == "upgrade-or-replace-device"
    assert len(s["next_actions"]) == 3
    assert any("198.51.100.9" in a for a in s["next_actions"])
    # the failed logons' unknown cause needs no auditing: they are not NTLM use
    assert not any("send only Security logs" in a for a in s["next_actions"])
    (src,) = data["failure_sources"]
    assert (src["source"], src["events"], src["accounts"], src["workstations"]) == (
        "198.51.100.9", 40, 7, 40)
    for needle in ("id=\"summary\"", "Next three actions", "id=\"failure-sources\"",
                   "id=\"exception-register\"", "EX-P", "EX-OLD", "id=\"coverage\"",
                   "Enforcing the policy now would break"):
        assert needle in html, needle
    # FS01's 10, and PRN03's NTLMv1 despite EX-P (refuse_ntlmv1); failures are not counted
    assert data["simulation"]["totals"]["would_fail_events"] == 14
