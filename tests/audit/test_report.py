"""The HTML report rendered by a real browser (Debian's chromium), plus its JSON and CSV."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from audit_estate import START, estate, event

from kerbfirst.audit.report import write_report
from kerbfirst.audit.store import EventStore
from kerbfirst.policy import Policy

CHROMIUM = os.environ.get("KERBFIRST_CHROMIUM", "/usr/bin/chromium")
XSS_HOST = "<script>document.title='pwned'</script>"
XSS_CLIENT = '"><img src=x onerror="document.title=1">'
FORMULA_USER = "=HYPERLINK(\"evil\")"


class Dom(HTMLParser):
    """Elements with their attributes, and the text of every table row."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.stack: list[str] = []
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._in_body = False
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.elements.append((tag, a))
        if tag == "table":
            self._table = a.get("id", "")
            self.tables[self._table] = []
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self._row = []
        elif tag == "td" and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._row is not None and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "tbody":
            self._in_body = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _chromium(args: list[str], profile: Path) -> str:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.fail("headless Chromium is needed for the report test: apt-get install chromium")
    cmd = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", f"--user-data-dir={profile}", *args,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=90, check=False)
    if done.returncode != 0:
        pytest.fail(f"chromium failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("report")
    store = EventStore(root / "store")
    evs = estate(700, days=20)
    # 60 events: the hostile flow is among the top rows the page shows
    evs += [event(record_id=50_000 + i, host=XSS_HOST, client=XSS_CLIENT, user=FORMULA_USER,
                  time=START + timedelta(hours=i)) for i in range(60)]
    store.append(evs)
    policy = Policy.from_dict({"mode": "enforce", "scope": {"estate": True}, "exception": [
        {"id": "EX-A", "target": "PRN03", "owner": "print-team@corp.example",
         "expires": date(2026, 1, 1), "reason": "firmware", "compensating_control": "VLAN"},
        {"id": "EX-B", "target": "SQL02*", "client": "WS00*", "user": "CORP\\svc_backup",
         "owner": "dba", "expires": date(2026, 1, 1), "reason": "agent",
         "compensating_control": "account"},
        {"id": "EX-C", "target": "OLD01", "owner": "nobody", "expires": date(2024, 1, 1),
         "reason": "gone", "compensating_control": "none"}]})
    write_report(store, root / "out", now=datetime(2025, 4, 1, tzinfo=UTC), policy=policy,
                 at=date(2025, 4, 1))
    return root / "out"


@pytest.mark.peer
def test_browser_renders_charts_tables_and_sorts(report_dir: Path, tmp_path: Path) -> None:
    url = (report_dir / "report.html").as_uri() + "#sort=failure-map:client:asc"
    dom = Dom()
    dom.feed(_chromium(["--dump-dom", url], tmp_path / "profile"))
    data = json.loads((report_dir / "report.json").read_text())

    marks = [a for t, a in dom.elements if t == "rect" and "mark" in a.get("class", "")]
    daily = [a for a in marks if "data-day" in a]
    assert sum(int(a["data-value"]) for a in daily) == data["events"] == 760
    assert len({a["data-cause"] for a in daily}) >= 6
    assert len({a["data-day"] for a in daily}) == 20
    bars = {a["data-label"]: int(a["data-value"]) for a in marks if "data-label" in a}
    assert {t["name"]: t["events"] for t in data["top_servers"]}.items() <= bars.items()

    # tables rendered with data rows; the failure map was sorted by the script at load
    fmap = dom.tables["failure-map"]
    assert len(data["failure_map"]) > 50 and len(fmap) == 50  # the rest: failure_map.csv
    clients = [r[0].lower() for r in fmap]
    assert clients == sorted(clients)
    assert clients != [r["client"].lower() for r in data["failure_map"][:50]]  # it did move
    sorted_attr = [a for t, a in dom.elements if t == "table" and a.get("id") == "failure-map"]
    assert sorted_attr[0].get("data-sorted") == "0:asc"
    assert len(dom.tables["readiness-table"]) == min(25, len(data["readiness"]["servers"]))
    assert len(dom.tables["causes-table"]) == len(data["causes"])

    # attacker-controlled names stayed text
    assert [t for t, _ in dom.elements if t == "script"] == ["script"]
    assert not [a for t, a in dom.elements if t == "img"]
    # (host names are upper-cased by the analytics, so compare without case)
    cells = [cell.lower() for row in fmap for cell in row]
    assert XSS_HOST.lower() in cells and XSS_CLIENT.lower() in cells


@pytest.mark.peer
def test_screenshot_is_drawn(report_dir: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    _chromium(["--window-size=1280,2000", f"--screenshot={shot}",
               (report_dir / "report.html").as_uri()], tmp_path / "profile")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 50_000  # a blank page compresses to a few kB


def test_html_is_self_contained(report_dir: Path) -> None:
    text = (report_dir / "report.html").read_text()
    lowered = text.lower()
    for needle in ("http://", "https://", "//cdn", "src=\"", "@import", "url("):
        assert needle not in lowered, needle
    assert "Content-Security-Policy" in text and "default-src 'none'" in text
    assert "<script>document" not in lowered and "&lt;script&gt;document" in lowered


def test_csv_and_json(report_dir: Path) -> None:
    data = json.loads((report_dir / "report.json").read_text())
    with (report_dir / "failure_map.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(data["failure_map"]) > 50
    assert sum(int(r["events"]) for r in rows) == data["events"]
    hostile = [r for r in rows if "HYPERLINK" in r["account"]]
    assert hostile and not hostile[0]["account"].startswith("=")
    assert 0 < data["readiness"]["overall"]["share"] < 1


# Measures the page it is appended to: elements outside the viewport or past the page
# width, boxes that clip their content (scroll boxes lose it on paper), and text hidden
# with display:none / visibility:hidden. SVG <title> tooltips, <script> and <style> are
# not content.
MEASURE = """<script>(function () {
  var vw = document.documentElement.clientWidth, bad = [];
  function name(el) { return el.tagName + (el.id ? "#" + el.id : "") +
    (el.className && el.className.baseVal === undefined && el.className ?
     "." + el.className : ""); }
  var all = document.querySelectorAll("main *, header *");
  for (var i = 0; i < all.length; i++) {
    var el = all[i], tag = el.tagName.toLowerCase();
    if (tag === "title" || tag === "script" || tag === "style" || el.closest("svg title")) {
      continue;
    }
    var r = el.getBoundingClientRect(), cs = getComputedStyle(el);
    if (r.width > 0 && (r.right > vw + 0.5 || r.left < -0.5)) {
      bad.push(["outside", name(el), Math.round(r.left), Math.round(r.right)]);
    }
    if (!(el instanceof SVGElement) && (cs.overflowX !== "visible" ||
        cs.overflowY !== "visible") && (el.scrollWidth > el.clientWidth + 1 ||
        el.scrollHeight > el.clientHeight + 1)) {
      bad.push(["clipped", name(el), el.scrollWidth, el.clientWidth]);
    }
    if ((cs.display === "none" || cs.visibility === "hidden") &&
        el.textContent.trim() !== "" && !el.closest("svg")) {
      bad.push(["hidden", name(el)]);
    }
  }
  var out = document.createElement("pre");
  out.id = "measured";
  out.textContent = JSON.stringify({vw: vw, page: document.documentElement.scrollWidth,
                                    checked: all.length, bad: bad.slice(0, 30)});
  document.body.appendChild(out);
})();</script>"""


def _measure(html: str, width: int, tmp_path: Path, name: str) -> dict[str, object]:
    """Load `html` (its CSP meta removed so the measuring script may run) in headless
    Chromium at `width` px and return what MEASURE found."""
    import re

    page = tmp_path / f"{name}.html"
    page.write_text(re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html)
                    .replace("</body>", MEASURE + "</body>"))
    dom = _chromium([f"--window-size={width},1000", "--dump-dom", page.as_uri()],
                    tmp_path / f"profile-{name}")
    found = re.search(r'<pre id="measured">(.*?)</pre>', dom, re.S)
    assert found, "the measuring script did not run"
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))


@pytest.mark.peer
def test_nothing_overflows_at_1280_and_print_hides_nothing(report_dir: Path,
                                                            tmp_path: Path) -> None:
    html = (report_dir / "report.html").read_text()
    screen = _measure(html, 1280, tmp_path, "screen")
    assert screen["checked"] > 500 and 'id="exception-register"' in html
    assert screen["bad"] == [] and screen["page"] <= screen["vw"], screen
    # The print stylesheet applied to the screen, at the width of an A4 page's text
    # (210 mm - 2 x 12.7 mm margins at 96 px/in ~ 698 px).
    assert "@media print" in html
    printed = _measure(html.replace("@media print", "@media all"), 698, tmp_path, "print")
    assert printed["bad"] == [] and printed["page"] <= printed["vw"], printed


def test_the_layout_check_can_fail(tmp_path: Path) -> None:
    """The measurement finds a scroll box, a too-wide element and hidden text."""
    html = ("<html><body><main><div style='width:2000px'>wide</div>"
            "<div style='height:20px;overflow:auto'>a<br>b<br>c<br>d</div>"
            "<p style='display:none'>gone</p></main></body></html>")
    found = _measure(html, 1280, tmp_path, "bad")
    kinds = sorted({b[0] for b in found["bad"]})
    assert kinds == ["clipped", "hidden", "outside"]
