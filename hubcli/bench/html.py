"""`hubcli bench --html FILE`: the report as one self-contained page.

No scripts, no stylesheets or fonts from elsewhere: the charts are SVG written
here, so the file opens anywhere, offline, and can be attached to a CI run. Made
from the --json report alone (its histogram included), so a kept report can be
drawn again.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

from .metrics import Latencies, summary_lines

_WIDTH: Final = 640
_HEIGHT: Final = 260
_LEFT: Final = 64
_BOTTOM: Final = 40
_TOP: Final = 28
_RIGHT: Final = 40
_BAR: Final = "#3b6ea5"
_LINE: Final = "#c0392b"

# The percentiles the latency curve goes through: HdrHistogram's plot puts them
# at equal steps of 1/(1-p), so the tail gets the room it deserves.
_CURVE_PERCENTILES: Final = (0.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.5, 99.9, 99.95, 99.99, 99.999)


def _escape(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _number(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 1:
        return f"{value:.1f}"
    return f"{value:.3g}"


def _frame(title: str, x_label: str, y_label: str, top: float, body: list[str]) -> str:
    plot_w = _WIDTH - _LEFT - _RIGHT
    plot_h = _HEIGHT - _TOP - _BOTTOM
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" height="{_HEIGHT}" '
        f'viewBox="0 0 {_WIDTH} {_HEIGHT}" role="img" aria-label="{_escape(title)}">',
        f'<text x="{_WIDTH / 2}" y="18" text-anchor="middle" font-size="14" '
        f'font-weight="bold">{_escape(title)}</text>',
        f'<line x1="{_LEFT}" y1="{_TOP}" x2="{_LEFT}" y2="{_TOP + plot_h}" stroke="#333"/>',
        f'<line x1="{_LEFT}" y1="{_TOP + plot_h}" x2="{_LEFT + plot_w}" y2="{_TOP + plot_h}" '
        'stroke="#333"/>',
    ]
    for step in range(5):
        value = top * step / 4
        y = _TOP + plot_h - plot_h * step / 4
        parts.append(
            f'<line x1="{_LEFT}" y1="{y:.1f}" x2="{_LEFT + plot_w}" y2="{y:.1f}" stroke="#ddd"/>'
        )
        parts.append(
            f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">'
            f"{_number(value)}</text>"
        )
    parts += body
    parts += [
        f'<text x="{_LEFT + plot_w / 2}" y="{_HEIGHT - 6}" text-anchor="middle" '
        f'font-size="12">{_escape(x_label)}</text>',
        f'<text x="14" y="{_TOP + plot_h / 2}" text-anchor="middle" font-size="12" '
        f'transform="rotate(-90 14 {_TOP + plot_h / 2})">{_escape(y_label)}</text>',
        "</svg>",
    ]
    return "\n".join(parts)


def bar_chart(
    title: str, x_label: str, y_label: str, labels: Sequence[str], values: Sequence[float]
) -> str:
    """Bars of `values`, every few labelled below."""
    plot_w = _WIDTH - _LEFT - _RIGHT
    plot_h = _HEIGHT - _TOP - _BOTTOM
    top = max(values, default=0) or 1
    width = plot_w / max(len(values), 1)
    label_every = max(math.ceil(len(values) / 10), 1)
    body = []
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        height = plot_h * value / top
        x = _LEFT + index * width
        body.append(
            f'<rect class="bar" x="{x + 1:.1f}" y="{_TOP + plot_h - height:.1f}" '
            f'width="{max(width - 2, 1):.1f}" height="{height:.1f}" fill="{_BAR}">'
            f"<title>{_escape(label)}: {_number(value)}</title></rect>"
        )
        if index % label_every == 0:
            body.append(
                f'<text x="{x + width / 2:.1f}" y="{_TOP + plot_h + 14}" text-anchor="middle" '
                f'font-size="10">{_escape(label)}</text>'
            )
    return _frame(title, x_label, y_label, top, body)


def percentile_curve(title: str, latencies: Latencies) -> str:
    """Latency against percentile, the tail spread out (x: 1/(1-p) on a log scale)."""
    plot_w = _WIDTH - _LEFT - _RIGHT
    plot_h = _HEIGHT - _TOP - _BOTTOM
    points = [(p, latencies.percentile(p) if p > 0 else latencies.min) for p in _CURVE_PERCENTILES]
    points.append((100.0, latencies.max))
    top = max((value for _, value in points), default=0) or 1
    far = math.log10(1 / (1 - 99.999 / 100))

    def x_of(percent: float) -> float:
        position = math.log10(1 / (1 - min(percent, 99.999) / 100)) / far
        return _LEFT + plot_w * position

    coordinates = " ".join(
        f"{x_of(p):.1f},{_TOP + plot_h - plot_h * value / top:.1f}" for p, value in points
    )
    body = [
        f'<polyline class="curve" points="{coordinates}" fill="none" stroke="{_LINE}" '
        'stroke-width="2"/>'
    ]
    for percent in (0.0, 90.0, 99.0, 99.9, 99.99, 99.999):
        label = "min" if percent == 0 else f"{percent:g}"
        body.append(
            f'<text x="{x_of(percent):.1f}" y="{_TOP + plot_h + 14}" text-anchor="middle" '
            f'font-size="10">{label}</text>'
        )
    for percent, value in points:
        body.append(
            f'<circle cx="{x_of(percent):.1f}" cy="{_TOP + plot_h - plot_h * value / top:.1f}" '
            f'r="3" fill="{_LINE}"><title>p{percent:g}: {_number(value)} ms</title></circle>'
        )
    return _frame(title, "percentile", "latency (ms)", top, body)


def page(record: Mapping[str, Any]) -> str:
    """The whole page for a --json report."""
    latencies = Latencies.decode(record["hubcli/latency/histogram"])
    buckets = latencies.distribution(30)
    distribution = bar_chart(
        "Latency distribution",
        "latency (ms, upper bound of each bucket)",
        "calls",
        [_number(bound) for bound, _ in buckets],
        [count for _, count in buckets],
    )
    per_second = list(record.get("hubcli/rps/by-second") or [])
    rate = bar_chart(
        "Rate over time",
        "second of the measured window",
        "answers a second",
        [str(second + 1) for second in range(len(per_second))],
        per_second,
    )
    curve = percentile_curve("Latency by percentile", latencies)
    summary = "\n".join(summary_lines(record))
    scenario = _escape(record.get("hubcli/scenario", ""))
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>hubcli bench: {scenario}</title>
<style>
body {{ font-family: sans-serif; margin: 24px; color: #222; }}
figure {{ margin: 16px 0; }}
pre {{ background: #f6f6f6; padding: 12px; }}
</style>
</head>
<body>
<h1>hubcli bench: {scenario}</h1>
<figure id="latency-curve">{curve}</figure>
<figure id="latency-distribution">{distribution}</figure>
<figure id="rate">{rate}</figure>
<h2>Summary</h2>
<pre>{_escape(summary)}</pre>
</body>
</html>
"""
