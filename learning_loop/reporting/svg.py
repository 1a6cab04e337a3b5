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


def _empty(name: str, title: str, message: str) -> str:
    body = (
        f'<text class="mark empty" x="{WIDTH / 2}" y="60" text-anchor="middle" '
        f'fill="#777">{escape(message)}</text>'
    )
    return _frame(name, 110, body, title)


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    if high <= low:
        return [low]
    step = (high - low) / count
    return [low + i * step for i in range(count + 1)]


def line_chart(
    name: str,
    title: str,
    labels: Sequence[str],
    series: dict[str, Sequence[float | None]],
    y_range: tuple[float, float] = (0.0, 1.0),
) -> str:
    """One line per series over shared x labels (None leaves a gap)."""
    if not labels or not any(v is not None for vals in series.values() for v in vals):
        return _empty(name, title, "No rewarded videos yet.")
    height, left, right, top, bottom = 300, 50, 20, 20, 50
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    low, high = y_range

    def x(i: int) -> float:
        return left + (plot_w * i / max(1, len(labels) - 1))

    def y(v: float) -> float:
        return top + plot_h * (1 - (v - low) / (high - low))

    parts = []
    for t in _ticks(low, high):
        parts.append(
            f'<line x1="{left}" x2="{WIDTH - right}" y1="{y(t):.1f}" y2="{y(t):.1f}" '
            f'stroke="#e5e5e5"/><text x="{left - 6}" y="{y(t) + 4:.1f}" text-anchor="end" '
            f'font-size="11" fill="#555">{t:.2f}</text>'
        )
    every = max(1, math.ceil(len(labels) / 10))
    for i, label in enumerate(labels):
        if i % every == 0:
            parts.append(
                f'<text x="{x(i):.1f}" y="{height - bottom + 16}" text-anchor="middle" '
                f'font-size="10" fill="#555">{escape(label)}</text>'
            )
    for k, (series_name, values) in enumerate(series.items()):
        color = PALETTE.get(series_name, PALETTE["default"])
        points = [(x(i), y(v)) for i, v in enumerate(values) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
            parts.append(
                f'<polyline class="mark" points="{path}" fill="none" stroke="{color}" '
                f'stroke-width="2"/>'
            )
        for px, py in points:
            parts.append(f'<circle class="mark" cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{color}"/>')
        lx = left + 10 + 120 * k
        parts.append(
            f'<rect x="{lx}" y="{height - 18}" width="12" height="12" fill="{color}"/>'
            f'<text x="{lx + 16}" y="{height - 8}" font-size="12">{escape(series_name)}</text>'
        )
    return _frame(name, height, "".join(parts), title)


def interval_chart(
    name: str,
    title: str,
    rows: Sequence[tuple[str, float, float, float]],
    x_range: tuple[float, float] | None = None,
    zero_line: bool = False,
    empty: str = "Nothing to show yet.",
) -> str:
    """Horizontal rows of (label, estimate, low, high): a dot with its interval bar."""
    if not rows:
        return _empty(name, title, empty)
    label_w, right, top, row_h = 340, 30, 20, 26
    height = top + row_h * len(rows) + 40
    lows = [r[2] for r in rows] + ([0.0] if zero_line else [])
    highs = [r[3] for r in rows] + ([0.0] if zero_line else [])
    low, high = x_range or (min(lows), max(highs))
    if high - low < 1e-9:
        low, high = low - 0.5, high + 0.5
    plot_w = WIDTH - label_w - right

    def x(v: float) -> float:
        return label_w + plot_w * (min(max(v, low), high) - low) / (high - low)

    parts = []
    for t in _ticks(low, high, 4):
        parts.append(
            f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{top - 5}" y2="{height - 30}" '
            f'stroke="#eee"/><text x="{x(t):.1f}" y="{height - 14}" text-anchor="middle" '
            f'font-size="11" fill="#555">{t:.2f}</text>'
        )
    if zero_line:
        parts.append(
            f'<line x1="{x(0):.1f}" x2="{x(0):.1f}" y1="{top - 5}" y2="{height - 30}" '
            f'stroke="#999" stroke-dasharray="4 3"/>'
        )
    for i, (label, est, lo, hi) in enumerate(rows):
        cy = top + row_h * i + row_h / 2
        color = PALETTE["exploit"]
        if zero_line and lo > 0:
            color = PALETTE["explore"]  # the variant won
        elif zero_line and hi < 0:
            color = PALETTE["baseline"]  # the baseline won
        parts.append(
            f'<text x="{label_w - 8}" y="{cy + 4:.1f}" text-anchor="end" font-size="11">'
            f"{escape(label)}</text>"
            f'<line class="mark" x1="{x(lo):.1f}" x2="{x(hi):.1f}" y1="{cy:.1f}" y2="{cy:.1f}" '
            f'stroke="{color}" stroke-width="3"/>'
            f'<circle class="mark" cx="{x(est):.1f}" cy="{cy:.1f}" r="5" fill="{color}"/>'
        )
    return _frame(name, height, "".join(parts), title)


def stacked_bars(
    name: str, title: str, labels: Sequence[str], stacks: dict[str, Sequence[int]]
) -> str:
    """Vertical bars per label, one colour per stack (e.g. exploit and explore per batch)."""
    if not labels:
        return _empty(name, title, "No batch planned yet.")
    height, left, right, top, bottom = 260, 50, 20, 20, 50
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    totals = [sum(vals[i] for vals in stacks.values()) for i in range(len(labels))]
    high = max(1, max(totals))
    bar_w = plot_w / len(labels)
    parts = []
    for t in _ticks(0, high, min(5, high)):
        py = top + plot_h * (1 - t / high)
        parts.append(
            f'<line x1="{left}" x2="{WIDTH - right}" y1="{py:.1f}" y2="{py:.1f}" stroke="#eee"/>'
            f'<text x="{left - 6}" y="{py + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="#555">{t:.0f}</text>'
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
                f'<text x="{left + (i + 0.5) * bar_w:.1f}" y="{height - bottom + 16}" '
                f'text-anchor="middle" font-size="10" fill="#555">{escape(label)}</text>'
            )
    for k, stack_name in enumerate(stacks):
        lx = left + 10 + 120 * k
        parts.append(
            f'<rect x="{lx}" y="{height - 18}" width="12" height="12" '
            f'fill="{PALETTE.get(stack_name, PALETTE["default"])}"/>'
            f'<text x="{lx + 16}" y="{height - 8}" font-size="12">{escape(stack_name)}</text>'
        )
    return _frame(name, height, "".join(parts), title)
