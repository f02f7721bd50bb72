"""Inline SVG charts for the HTML report, drawn in Python (no script, no external library).

Every text that came from events goes through `esc` (html.escape with quotes): an account
or host name is attacker-chosen and ends up inside SVG markup. Each data-bearing mark
carries `class="mark"` and `data-*` attributes with its value, so the report can be
checked in a browser (tests/audit/test_report.py) and read by assistive tools (<title>).
"""

from __future__ import annotations

import html
from collections.abc import Sequence

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


def stacked_daily(daily: Sequence[DailyCount], *, width: int = 1100, height: int = 300) -> str:
    """NTLM events per day, stacked by cause."""
    days = sorted({d.day for d in daily})
    causes = sorted({d.cause for d in daily}, key=lambda c: list(CAUSE_COLOURS).index(c)
                    if c in CAUSE_COLOURS else 99)
    if not days:
        return '<p class="why">No NTLM events in the store.</p>'
    per_day: dict[str, dict[str, int]] = {day: {} for day in days}
    for d in daily:
        per_day[d.day][d.cause] = d.events
    top = _nice_max(max(sum(v.values()) for v in per_day.values()))
    left, bottom, right, top_pad = 48, 40, 10, 10
    plot_w, plot_h = width - left - right, height - bottom - top_pad
    slot = plot_w / len(days)
    bar_w = max(1.0, slot * 0.8)
    out = [
        f'<svg id="chart-daily" class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="NTLM events per day by cause" width="{width}" height="{height}">'
    ]
    for i in range(5):  # horizontal grid and y labels
        v = top * i / 4
        y = top_pad + plot_h - plot_h * i / 4
        out.append(f'<line class="axis" x1="{left}" x2="{width - right}" y1="{y:.1f}" '
                   f'y2="{y:.1f}"/>')
        out.append(f'<text class="muted" x="{left - 6}" y="{y + 4:.1f}" '
                   f'text-anchor="end">{v:,.0f}</text>')
    every = max(1, len(days) // 12)
    # Month-day labels are ambiguous when the period spans years: then show the whole date.
    cut = 5 if len({d[:4] for d in days}) == 1 else 0
    for i, day in enumerate(days):
        x = left + i * slot + (slot - bar_w) / 2
        y = top_pad + plot_h
        for cause in causes:
            n = per_day[day].get(cause, 0)
            if not n:
                continue
            h = plot_h * n / top
            y -= h
            out.append(
                f'<rect class="mark" data-day="{esc(day)}" data-cause="{esc(cause)}" '
                f'data-value="{n}" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" '
                f'height="{h:.1f}" fill="{colour(cause)}"><title>{esc(day)}: {n:,} '
                f'{esc(label(cause))}</title></rect>'
            )
        if i % every == 0:
            out.append(f'<text class="muted" x="{x + bar_w / 2:.1f}" y="{height - bottom + 16}" '
                       f'text-anchor="middle">{esc(day[cut:])}</text>')
    out.append("</svg>")
    return "".join(out) + legend(causes)


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
        short = name if len(name) <= 30 else name[:29] + "\u2026"
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
