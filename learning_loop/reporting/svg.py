"""Small SVG chart builders: every drawn element has class `mark` so a browser test can count."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

WIDTH = 760
PALETTE = {"exploit": "#2f6db3", "explore": "#e07b24", "baseline": "#b8322a", "default": "#4b8b3b"}


def _frame(name: str, height: int, body: str, title: str) -> str:
    return (
        f'<svg class="chart" data-chart="{escape(name)}" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>{body}</svg>"
    )


def _x_title(x: float, y: float, text: str) -> str:
    return (
        f'<text class="axis-title" x="{x:.1f}" y="{y:.1f}" text-anchor="middle" '
        f'font-size="12" fill="#333">{escape(text)}</text>'
    )


def _y_title(x: float, y: float, text: str) -> str:
    return (
        f'<text class="axis-title" x="{x:.1f}" y="{y:.1f}" text-anchor="middle" '
        f'transform="rotate(-90 {x:.1f} {y:.1f})" font-size="12" fill="#333">{escape(text)}</text>'
    )


def _legend(names: Sequence[str], left: float, y: float) -> str:
    parts = []
    for k, series_name in enumerate(names):
        color = PALETTE.get(series_name, PALETTE["default"])
        lx = left + 10 + 120 * k
        parts.append(
            f'<rect x="{lx}" y="{y - 10}" width="12" height="12" fill="{color}"/>'
            f'<text x="{lx + 16}" y="{y}" font-size="12">{escape(series_name)}</text>'
        )
    return "".join(parts)


LABEL_CHARS = 50  # about what the label column holds at font size 11


def wrap_label(label: str, width: int = LABEL_CHARS) -> list[str]:
    """A label cut into lines of at most `width` characters at spaces (a longer word keeps its
    own line), so no label runs off the chart's left edge."""
    lines: list[str] = []
    for word in label.split(" "):
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def _empty(name: str, title: str, message: str) -> str:
    body = (
        f'<text class="mark empty" x="{WIDTH / 2}" y="60" text-anchor="middle" '
        f'fill="#777">{escape(message)}</text>'
    )
    return _frame(name, 110, body, title)


def nice_step(span: float, target: int = 5) -> float:
    """A round step (1, 2 or 5 times a power of ten) cutting `span` into about `target` parts."""
    if not (math.isfinite(span) and span > 0) or target < 1:
        raise ValueError(f"nice_step needs a positive finite span and target; got {span}, {target}")
    raw = span / target
    power = math.floor(math.log10(raw))
    fraction = raw / 10.0**power
    if fraction < 1.5:
        nice = 1.0
    elif fraction < 3.0:
        nice = 2.0
    elif fraction < 7.0:
        nice = 5.0
    else:
        nice = 10.0
    return nice * 10.0**power


def _decimals(step: float) -> int:
    return max(0, -math.floor(math.log10(step) + 1e-9))


def nice_ticks(low: float, high: float, target: int = 5, integer: bool = False) -> list[float]:
    """Round ticks covering [low, high]: multiples of a nice step, the first <= low and the last
    >= high, so they also give the axis its range. `integer` keeps the step at least 1."""
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"nice_ticks needs finite bounds; got {low}, {high}")
    if high < low:
        low, high = high, low
    if high - low < 1e-12:
        pad = max(abs(low) * 0.1, 1.0 if integer else 0.5)
        low, high = low - pad, high + pad
    step = nice_step(high - low, target)
    if integer:
        step = max(1.0, step)
    digits = _decimals(step)
    first = math.floor(low / step + 1e-9)
    last = math.ceil(high / step - 1e-9)
    return [round(k * step, digits) + 0.0 for k in range(first, last + 1)]


def tick_label(value: float, ticks: Sequence[float]) -> str:
    """A tick printed with as many decimals as its step needs (0.2 -> "0.2", 5 -> "5")."""
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    digits = _decimals(step)
    text = f"{value:.{digits}f}"
    return f"{0.0:.{digits}f}" if float(text) == 0 else text  # never "-0.0"


def line_chart(
    name: str,
    title: str,
    labels: Sequence[str],
    series: dict[str, Sequence[float | None]],
    y_range: tuple[float, float] = (0.0, 1.0),
    *,
    x_title: str,
    y_title: str,
    points: dict[str, Sequence[float | None]] | None = None,
) -> str:
    """One line per series over shared x labels (None leaves a gap); `points` (same keys)
    adds faint dots, e.g. the daily values a smoothed line runs through. The y axis spans
    `y_range` and any value outside it, rounded out to nice ticks."""
    dots = points or {}
    known = [v for vals in (*series.values(), *dots.values()) for v in vals if v is not None]
    if not labels or not known:
        return _empty(name, title, "No rewarded videos yet.")
    height, left, right, top, bottom = 320, 62, 36, 20, 70  # room for the last date
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    ticks = nice_ticks(min(y_range[0], *known), max(y_range[1], *known))
    low, high = ticks[0], ticks[-1]

    def x(i: int) -> float:
        return left + (plot_w * i / max(1, len(labels) - 1))

    def y(v: float) -> float:
        return top + plot_h * (1 - (v - low) / (high - low))

    parts = []
    for t in ticks:
        parts.append(
            f'<line x1="{left}" x2="{WIDTH - right}" y1="{y(t):.1f}" y2="{y(t):.1f}" '
            f'stroke="#e5e5e5"/><text class="tick" x="{left - 6}" y="{y(t) + 4:.1f}" '
            f'text-anchor="end" font-size="11" fill="#555">{tick_label(t, ticks)}</text>'
        )
    every = max(1, math.ceil(len(labels) / 10))
    for i, label in enumerate(labels):
        if i % every == 0:
            parts.append(
                f'<text x="{x(i):.1f}" y="{top + plot_h + 16}" text-anchor="middle" '
                f'font-size="10" fill="#555">{escape(label)}</text>'
            )
    for series_name, values in dots.items():
        color = PALETTE.get(series_name, PALETTE["default"])
        for i, v in enumerate(values):
            if v is not None:
                parts.append(
                    f'<circle class="mark dot" cx="{x(i):.1f}" cy="{y(v):.1f}" r="2.5" '
                    f'fill="{color}" fill-opacity="0.3"/>'
                )
    for series_name, values in series.items():
        color = PALETTE.get(series_name, PALETTE["default"])
        line = [(x(i), y(v)) for i, v in enumerate(values) if v is not None]
        if len(line) > 1:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py in line)
            parts.append(
                f'<polyline class="mark" points="{path}" fill="none" stroke="{color}" '
                f'stroke-width="2"/>'
            )
        elif line:
            px, py = line[0]
            parts.append(f'<circle class="mark" cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{color}"/>')
    parts.append(_x_title(left + plot_w / 2, top + plot_h + 34, x_title))
    parts.append(_y_title(14, top + plot_h / 2, y_title))
    parts.append(_legend(list(series), left, height - 8))
    return _frame(name, height, "".join(parts), title)


def interval_chart(
    name: str,
    title: str,
    rows: Sequence[tuple[str, float, float | None, float | None]],
    x_range: tuple[float, float] | None = None,
    zero_line: bool = False,
    empty: str = "Nothing to show yet.",
    *,
    x_title: str,
) -> str:
    """Horizontal rows of (label, estimate, low, high): a dot with its interval bar (no bar when
    low or high is None). With `x_range` the axis is fixed and longer bars are clipped to it;
    otherwise it covers every row (and zero with `zero_line`). Either way it ends on nice ticks.
    A long label is wrapped onto more lines, its row made taller.
    """
    if not rows:
        return _empty(name, title, empty)
    label_w, right, top, line_h, pad = 340, 30, 20, 14, 12
    wrapped = [wrap_label(r[0]) for r in rows]
    heights = [line_h * len(lines) + pad for lines in wrapped]
    plot_bottom = top + sum(heights)
    height = plot_bottom + 48
    if x_range is not None:
        ticks = nice_ticks(*x_range)
    else:
        values = [v for r in rows for v in (r[1], r[2], r[3]) if v is not None]
        if zero_line:
            values.append(0.0)
        ticks = nice_ticks(min(values), max(values))
    low, high = ticks[0], ticks[-1]
    plot_w = WIDTH - label_w - right

    def x(v: float) -> float:
        return label_w + plot_w * (min(max(v, low), high) - low) / (high - low)

    parts = []
    for t in ticks:
        parts.append(
            f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{top - 5}" y2="{plot_bottom + 5}" '
            f'stroke="#eee"/><text class="tick" x="{x(t):.1f}" y="{plot_bottom + 20}" '
            f'text-anchor="middle" font-size="11" fill="#555">{tick_label(t, ticks)}</text>'
        )
    if zero_line:
        parts.append(
            f'<line x1="{x(0):.1f}" x2="{x(0):.1f}" y1="{top - 5}" y2="{plot_bottom + 5}" '
            f'stroke="#999" stroke-dasharray="4 3"/>'
        )
    row_top = float(top)
    for (_, est, lo, hi), lines, row_h in zip(rows, wrapped, heights, strict=True):
        cy = row_top + row_h / 2
        color = PALETTE["exploit"]
        if zero_line and lo is not None and lo > 0:
            color = PALETTE["explore"]  # the variant won
        elif zero_line and hi is not None and hi < 0:
            color = PALETTE["baseline"]  # the baseline won
        first = cy + 4 - line_h * (len(lines) - 1) / 2
        spans = "".join(
            f'<tspan x="{label_w - 8}" y="{first + line_h * k:.1f}">{escape(line)}</tspan>'
            for k, line in enumerate(lines)
        )
        parts.append(f'<text class="label" text-anchor="end" font-size="11">{spans}</text>')
        if lo is not None and hi is not None:
            parts.append(
                f'<line class="mark interval" x1="{x(lo):.1f}" x2="{x(hi):.1f}" y1="{cy:.1f}" '
                f'y2="{cy:.1f}" stroke="{color}" stroke-width="3"/>'
            )
        parts.append(f'<circle class="mark" cx="{x(est):.1f}" cy="{cy:.1f}" r="5" fill="{color}"/>')
        row_top += row_h
    parts.append(_x_title(label_w + plot_w / 2, plot_bottom + 40, x_title))
    return _frame(name, height, "".join(parts), title)


def stacked_bars(
    name: str,
    title: str,
    labels: Sequence[str],
    stacks: dict[str, Sequence[int]],
    *,
    x_title: str,
    y_title: str,
) -> str:
    """Vertical bars per label, one colour per stack (e.g. exploit and explore per batch)."""
    if not labels:
        return _empty(name, title, "No batch planned yet.")
    height, left, right, top, bottom = 280, 62, 20, 20, 70
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    totals = [sum(vals[i] for vals in stacks.values()) for i in range(len(labels))]
    ticks = nice_ticks(0, max(1, max(totals)), integer=True)
    high = ticks[-1]
    bar_w = plot_w / len(labels)
    parts = []
    for t in ticks:
        py = top + plot_h * (1 - t / high)
        parts.append(
            f'<line x1="{left}" x2="{WIDTH - right}" y1="{py:.1f}" y2="{py:.1f}" stroke="#eee"/>'
            f'<text class="tick" x="{left - 6}" y="{py + 4:.1f}" text-anchor="end" '
            f'font-size="11" fill="#555">{tick_label(t, ticks)}</text>'
        )
    every = max(1, math.ceil(len(labels) / 10))
    for i, label in enumerate(labels):
        base = 0
        for stack_name, values in stacks.items():
            v = values[i]
            if v:
                h = plot_h * v / high
                py = top + plot_h * (1 - (base + v) / high)
                parts.append(
                    f'<rect class="mark" x="{left + i * bar_w + 1:.1f}" y="{py:.1f}" '
                    f'width="{max(1.0, bar_w - 2):.1f}" height="{h:.1f}" '
                    f'fill="{PALETTE.get(stack_name, PALETTE["default"])}"/>'
                )
            base += v
        if i % every == 0:
            parts.append(
                f'<text x="{left + (i + 0.5) * bar_w:.1f}" y="{top + plot_h + 16}" '
                f'text-anchor="middle" font-size="10" fill="#555">{escape(label)}</text>'
            )
    parts.append(_x_title(left + plot_w / 2, top + plot_h + 34, x_title))
    parts.append(_y_title(14, top + plot_h / 2, y_title))
    parts.append(_legend(list(stacks), left, height - 8))
    return _frame(name, height, "".join(parts), title)
