"""The dashboard's trend charts, drawn on the server as inline SVG.

No script runs in the console (its Content-Security-Policy allows none) and
nothing is fetched from another origin, so the charts are plain SVG in the
page, styled by static/dashboard.css through class names (no inline
styles either). Every piece of text is XML-escaped: a unit's name is typed
by people and must stay text inside the drawing. The numbers are also in a
table under each chart, for screen readers and for the CSV export.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 28, 36


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]
    css: str  # class of its marks in static/dashboard.css


def nice_top(value: float) -> float:
    """The smallest 1, 2 or 5 × 10ⁿ at or above ``value`` (at least 1), for the y axis.

    >>> [nice_top(v) for v in (0, 3, 7, 10, 42, 180, 1234)]
    [1, 5, 10, 10, 50, 200, 2000]
    """
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power  # pragma: no cover - the loop ends at 10 × power


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"


def _frame(title: str, labels: Sequence[str], top: float, *, percent: bool) -> list[str]:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = [f'<text class="chart-title" x="{LEFT}" y="18">{escape(title)}</text>']
    for i in range(5):
        value = top * i / 4
        y = TOP + plot_h - plot_h * i / 4
        text = f"{value * 100:.0f}%" if percent else _number(value)
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" '
                     f'text-anchor="end">{escape(text)}</text>')
    slot = plot_w / max(len(labels), 1)
    # At most 13 labels along the axis: 52 weeks would overlap.
    stride = max(1, math.ceil(len(labels) / 13))
    for i, label in enumerate(labels):
        if i % stride:
            continue
        x = LEFT + slot * (i + 0.5)
        parts.append(f'<text class="axis" x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" '
                     f'text-anchor="middle">{escape(label)}</text>')
    return parts


def _svg(title: str, summary: str, parts: list[str], legend: Sequence[Series]) -> Markup:
    keys, x = [], WIDTH - RIGHT
    for series in reversed(legend):
        x -= 14 + 14 * len(series.name) + 12
        keys.append(f'<rect class="{escape(series.css)}" x="{x}" y="8" width="12" height="12"/>'
                    f'<text class="legend" x="{x + 16}" y="18">{escape(series.name)}</text>')
    body = "".join(parts + keys)
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title><desc>{escape(summary)}</desc>{body}</svg>"
    )


def bar_chart(title: str, summary: str, labels: Sequence[str], series: Sequence[Series]) -> Markup:
    """Grouped bars, one group per label (a week), one bar per series."""
    values = [v for s in series for v in s.values if v is not None]
    top = nice_top(max(values, default=0))
    parts = _frame(title, labels, top, percent=False)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(labels), 1)
    bar = slot * 0.8 / max(len(series), 1)
    for i in range(len(labels)):
        for k, s in enumerate(series):
            value = s.values[i] or 0
            h = plot_h * value / top
            x = LEFT + slot * i + slot * 0.1 + bar * k
            parts.append(f'<rect class="{escape(s.css)}" x="{x:.1f}" y="{TOP + plot_h - h:.1f}" '
                         f'width="{bar:.1f}" height="{h:.1f}"><title>{escape(labels[i])} '
                         f"{escape(s.name)}：{escape(_number(value))}</title></rect>")
    return _svg(title, summary, parts, series)


def rate_chart(title: str, summary: str, labels: Sequence[str], series: Series) -> Markup:
    """A line of rates between 0 and 1; a missing value (too small a sample) breaks the line."""
    parts = _frame(title, labels, 1.0, percent=True)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(labels), 1)
    runs: list[list[tuple[float, float]]] = [[]]
    for i, value in enumerate(series.values):
        if value is None:
            runs.append([])
            continue
        x, y = LEFT + slot * (i + 0.5), TOP + plot_h * (1 - value)
        runs[-1].append((x, y))
        parts.append(f'<circle class="{escape(series.css)}" cx="{x:.1f}" cy="{y:.1f}" r="4">'
                     f"<title>{escape(labels[i])} {escape(series.name)}：{value * 100:.1f}%</title></circle>")
    for run in runs:
        if len(run) > 1:
            points = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
            parts.insert(0, f'<polyline class="{escape(series.css)} line" points="{points}"/>')
    return _svg(title, summary, parts, [series])
