"""Inline SVG charts for the HTML report, drawn in Python (no script, no external library).

Every text that came from events goes through `esc` (html.escape with quotes): an account
or host name is attacker-chosen and ends up inside SVG markup. Each data-bearing mark
carries `class="mark"` and `data-*` attributes with its value, so the report can be
checked in a browser (tests/audit/test_report.py) and read by assistive tools (<title>).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import date, timedelta

from kerbfirst.audit.analytics import DailyCount
from kerbfirst.audit.events import Cause

# One colour per cause, fixed so the same cause has the same colour in every chart;
# chosen to stay distinguishable for the common colour-vision deficiencies (Okabe-Ito).
CAUSE_COLOURS: dict[str, str] = {
    Cause.TARGET_IS_IP.value: "#E69F00",
    Cause.SPN_MISSING.value: "#56B4E9",
    Cause.LOCAL_ACCOUNT.value: "#009E73",
    Cause.TRUST_PATH.value: "#0072B2",
    Cause.APP_EXPLICIT_NTLM.value: "#D55E00",
    Cause.NTLMV1_OR_LM.value: "#CC79A7",
    Cause.ANONYMOUS.value: "#F0E442",
    Cause.UNKNOWN.value: "#999999",
    "(failed)": "#6b1d1d",
    "(blocked)": "#3d3d3d",
}
CAUSE_LABELS: dict[str, str] = {
    Cause.TARGET_IS_IP.value: "target named by IP address",
    Cause.SPN_MISSING.value: "SPN missing / name not resolvable",
    Cause.LOCAL_ACCOUNT.value: "local account",
    Cause.TRUST_PATH.value: "trust / cross-forest path",
    Cause.APP_EXPLICIT_NTLM.value: "application asks for NTLM",
    Cause.NTLMV1_OR_LM.value: "NTLMv1 or LM",
    Cause.ANONYMOUS.value: "anonymous / null session",
    Cause.UNKNOWN.value: "unknown",
    "(failed)": "failed logons (not NTLM use)",
    "(blocked)": "already blocked",
}


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def colour(cause: str) -> str:
    return CAUSE_COLOURS.get(cause, "#999999")


def label(cause: str) -> str:
    return CAUSE_LABELS.get(cause, cause)


def _nice_max(v: int) -> int:
    """A round axis maximum >= v (1, 2, 5 x 10^n)."""
    if v <= 0:
        return 1
    step = 1
    while True:
        for m in (1, 2, 5):
            if step * m >= v:
                return step * m
        step *= 10


def legend(causes: Sequence[str]) -> str:
    items = "".join(
        f'<li><svg width="12" height="12" aria-hidden="true"><rect width="12" height="12" '
        f'fill="{colour(c)}"/></svg>{esc(label(c))}</li>'
        for c in causes
    )
    return f'<ul class="legend">{items}</ul>'


def time_bins(first: date, last: date) -> tuple[str, int]:
    """The bin for a period: days up to 120 days, weeks (Mondays) up to three years,
    months beyond; and how many bins the period spans."""
    span = (last - first).days + 1
    if span <= 120:
        return "day", span
    if span <= 3 * 366:
        return "week", (bin_start(last, "week") - bin_start(first, "week")).days // 7 + 1
    return "month", (last.year - first.year) * 12 + last.month - first.month + 1


def bin_start(d: date, unit: str) -> date:
    if unit == "week":
        return d - timedelta(days=d.weekday())
    if unit == "month":
        return d.replace(day=1)
    return d


def _bin_index(d: date, first: date, unit: str) -> int:
    if unit == "day":
        return (d - first).days
    if unit == "week":
        return (bin_start(d, "week") - bin_start(first, "week")).days // 7
    return (d.year - first.year) * 12 + d.month - first.month


def _ticks(first: date, last: date, unit: str) -> list[tuple[date, str]]:
    """Axis labels on calendar boundaries: months (or every few), or years."""
    span = (last - first).days + 1
    if span <= 45:
        step = max(1, span // 10)
        return [(first + timedelta(days=i), (first + timedelta(days=i)).isoformat())
                for i in range(0, span, step)]
    months = (last.year - first.year) * 12 + last.month - first.month + 1
    if months <= 36:
        every = max(1, months // 12)
        out = []
        y, m = first.year, first.month
        for i in range(months):
            if i % every == 0:
                out.append((date(y, m, 1), f"{y}-{m:02d}"))
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return out
    years = last.year - first.year + 1
    every = max(1, years // 12)
    return [(date(y, 1, 1), str(y)) for y in range(first.year, last.year + 1, every)]


def stacked_daily(daily: Sequence[DailyCount], *, width: int = 1100, height: int = 300) -> str:
    """NTLM events over a real time axis (gaps stay gaps), stacked by cause; binned by
    day, week or month as the period needs (time_bins)."""
    if not daily:
        return '<p class="why">No NTLM events in the store.</p>'
    days = sorted({date.fromisoformat(d.day) for d in daily})
    first, last = days[0], days[-1]
    unit, nbins = time_bins(first, last)
    order = list(CAUSE_COLOURS)
    causes = sorted({d.cause for d in daily},
                    key=lambda c: (order.index(c) if c in order else 99, c))
    per_bin: dict[int, dict[str, int]] = {}
    for d in daily:
        i = _bin_index(date.fromisoformat(d.day), first, unit)
        cell = per_bin.setdefault(i, {})
        cell[d.cause] = cell.get(d.cause, 0) + d.events
    top = _nice_max(max(sum(v.values()) for v in per_bin.values()))
    left, bottom, right, top_pad = 48, 40, 10, 10
    plot_w, plot_h = width - left - right, height - bottom - top_pad
    slot = plot_w / nbins
    bar_w = max(1.0, slot * 0.8)
    origin = bin_start(first, unit)
    out = [
        f'<svg id="chart-daily" class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="NTLM events per {unit} by cause" width="{width}" height="{height}" '
        f'data-unit="{unit}">'
    ]
    for i in range(5):  # horizontal grid and y labels
        v = top * i / 4
        y = top_pad + plot_h - plot_h * i / 4
        out.append(f'<line class="axis" x1="{left}" x2="{width - right}" y1="{y:.1f}" '
                   f'y2="{y:.1f}"/>')
        out.append(f'<text class="muted" x="{left - 6}" y="{y + 4:.1f}" '
                   f'text-anchor="end">{v:,.0f}</text>')
    for i in sorted(per_bin):
        start = _bin_date(origin, i, unit)
        x = left + i * slot + (slot - bar_w) / 2
        y = top_pad + plot_h
        for cause in causes:
            n = per_bin[i].get(cause, 0)
            if not n:
                continue
            h = plot_h * n / top
            y -= h
            out.append(
                f'<rect class="mark" data-day="{start.isoformat()}" data-cause="{esc(cause)}" '
                f'data-value="{n}" x="{x:.2f}" y="{y:.1f}" width="{bar_w:.2f}" '
                f'height="{h:.1f}" fill="{colour(cause)}"><title>{unit} of '
                f'{start.isoformat()}: {n:,} {esc(label(cause))}</title></rect>'
            )
    for when, text in _ticks(first, last, unit):
        i = _bin_index(max(when, first), first, unit)
        x = left + i * slot + slot / 2
        out.append(f'<line class="axis" x1="{x:.1f}" x2="{x:.1f}" y1="{top_pad + plot_h}" '
                   f'y2="{top_pad + plot_h + 4}"/>')
        out.append(f'<text class="muted" x="{x:.1f}" y="{height - bottom + 16}" '
                   f'text-anchor="middle">{esc(text)}</text>')
    out.append("</svg>")
    return "".join(out) + legend(causes)


def _bin_date(origin: date, i: int, unit: str) -> date:
    if unit == "day":
        return origin + timedelta(days=i)
    if unit == "week":
        return origin + timedelta(days=7 * i)
    month = origin.month - 1 + i
    return date(origin.year + month // 12, month % 12 + 1, 1)


def hbars(
    chart_id: str,
    rows: Sequence[tuple[str, int, str]],
    *,
    width: int = 520,
    unit: str = "events",
) -> str:
    """Horizontal bars: (label, value, fill colour) per row, largest first as given."""
    if not rows:
        return '<p class="why">Nothing to show.</p>'
    row_h, label_w, pad = 24, 190, 60
    height = row_h * len(rows) + 8
    top = max(v for _, v, _ in rows) or 1
    out = [f'<svg id="{esc(chart_id)}" class="chart" viewBox="0 0 {width} {height}" '
           f'role="img" width="{width}" height="{height}">']
    for i, (name, value, fill) in enumerate(rows):
        y = 4 + i * row_h
        w = (width - label_w - pad) * value / top
        short = name if len(name) <= 24 else name[:23] + "\u2026"  # fits label_w at 11px
        out.append(f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end">{esc(short)}'
                   f'<title>{esc(name)}</title></text>')
        out.append(
            f'<rect class="mark" data-label="{esc(name)}" data-value="{value}" '
            f'x="{label_w}" y="{y + 3}" width="{max(w, 1):.1f}" height="{row_h - 8}" '
            f'fill="{esc(fill)}"><title>{esc(name)}: {value:,} {esc(unit)}</title></rect>'
        )
        out.append(f'<text class="muted" x="{label_w + max(w, 1) + 6:.1f}" y="{y + 15}">'
                   f'{value:,}</text>')
    out.append("</svg>")
    return "".join(out)


def share_bar(share: float, *, width: int = 120) -> str:
    """A small bar for a share in 0..1 (readiness), green when most flows have a remedy."""
    w = max(0.0, min(1.0, share)) * width
    fill = "#067647" if share >= 0.8 else "#E69F00" if share >= 0.5 else "#b42318"
    return (
        f'<svg class="share" width="{width}" height="10" viewBox="0 0 {width} 10" '
        f'aria-hidden="true"><rect width="{width}" height="10" fill="#e6e9ef"/>'
        f'<rect class="mark" data-value="{share:.4f}" width="{w:.1f}" height="10" '
        f'fill="{fill}"/></svg>'
    )
