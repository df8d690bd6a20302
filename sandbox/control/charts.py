"""Inline SVG charts, drawn on the server: no chart library, no script, nothing loaded from elsewhere."""

from __future__ import annotations

from datetime import datetime
from html import escape


def _fmt(value: float, digits: int = 1) -> str:
    if abs(value) >= 10_000_000:
        return f"{value / 10_000_000:.{digits}f}Cr"
    if abs(value) >= 100_000:
        return f"{value / 100_000:.{digits}f}L"
    if abs(value) >= 1000:
        return f"{value / 1000:.{digits}f}k"
    return f"{value:.{digits - 1}f}"


def _tick_labels(values: list[float]) -> list[str]:
    """Labels for the y ticks, with as many decimals as it takes to tell them apart (a balance that moved
    within 9.90L-9.94L read "9.9L" twice); ticks that still coincide are drawn once."""
    for digits in (1, 2, 3):
        labels = [_fmt(v, digits) for v in values]
        if len(set(labels)) == len(labels):
            return labels
    return labels


def line(series: list[tuple[datetime, float]], *, title: str, width: int = 640, height: int = 220) -> str:
    """A step line of a balance over time."""
    pad_l, pad_r, pad_t, pad_b = 56, 16, 28, 30
    if not series:
        return (
            f'<svg class="chart" role="img" aria-label="{escape(title)}" width="{width}" height="60"><text x="8" '
            f'y="34" fill="#5b6678">No movements yet</text></svg>'
        )
    times = [t.timestamp() for t, _ in series]
    values = [v for _, v in series]
    t0, t1 = min(times), max(times)
    # zoom on the range the balance actually moved in (a flat line at the top says nothing)
    low, high = min(values), max(values)
    margin = (high - low) * 0.08 or max(abs(high) * 0.05, 1.0)
    v0, v1 = max(0.0, low - margin) if low >= 0 else low - margin, high + margin
    span_t = (t1 - t0) or 1.0
    span_v = (v1 - v0) or 1.0

    def x(t: float) -> float:
        return pad_l + (t - t0) / span_t * (width - pad_l - pad_r)

    def y(v: float) -> float:
        return height - pad_b - (v - v0) / span_v * (height - pad_t - pad_b)

    points = []
    for i, (t, v) in enumerate(zip(times, values, strict=True)):
        if i:
            points.append(f"{x(t):.1f},{y(values[i - 1]):.1f}")
        points.append(f"{x(t):.1f},{y(v):.1f}")
    tick_values = [v0, v0 + span_v / 2, v1]
    labels = _tick_labels(tick_values)
    ticks = "".join(
        f'<line x1="{pad_l}" x2="{width - pad_r}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#e3e7ee"/>'
        f'<text x="{pad_l - 6}" y="{y(v) + 4:.1f}" text-anchor="end" font-size="11" fill="#5b6678">{label}</text>'
        for i, (v, label) in enumerate(zip(tick_values, labels, strict=True))
        if label not in labels[:i]
    )
    # movements at a single instant (one movement) are a point, which a polyline does not draw: mark it
    dots = f'<circle cx="{x(t1):.1f}" cy="{y(values[-1]):.1f}" r="4" fill="#3f7fd1"/>' if t1 == t0 else ""
    first, last = series[0][0].strftime("%d %b"), series[-1][0].strftime("%d %b")
    return (
        f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
        f'width="100%">'
        f'<text x="{pad_l}" y="16" font-size="13" font-weight="600" fill="#1b2333">{escape(title)}</text>{ticks}'
        f'<polyline fill="none" stroke="#3f7fd1" stroke-width="2" points="{" ".join(points)}"/>{dots}'
        f'<text x="{pad_l}" y="{height - 8}" font-size="11" fill="#5b6678">{first}</text>'
        f'<text x="{width - pad_r}" y="{height - 8}" font-size="11" fill="#5b6678" text-anchor="end">{last}</text>'
        f"</svg>"
    )


def bars(
    rows: list[dict],
    *,
    title: str,
    keys: tuple[str, str] = ("allocated", "redeemed"),
    colors: tuple[str, str] = ("#3f7fd1", "#e8a33d"),
    width: int = 640,
    height: int = 220,
) -> str:
    """Grouped bars per month (allocations vs redemptions)."""
    pad_l, pad_r, pad_t, pad_b = 56, 16, 40, 30
    if not rows:
        return (
            f'<svg class="chart" role="img" aria-label="{escape(title)}" width="{width}" height="60"><text x="8" '
            f'y="34" fill="#5b6678">No allocations yet</text></svg>'
        )
    top = max(max(r[keys[0]], r[keys[1]]) for r in rows) or 1.0
    group = (width - pad_l - pad_r) / len(rows)
    bar = min(28.0, group / 3)
    body = []
    for i, r in enumerate(rows):
        gx = pad_l + i * group + group / 2
        for j, key in enumerate(keys):
            h = max(0.0, r[key]) / top * (height - pad_t - pad_b)
            bx = gx - bar + j * bar
            body.append(
                f'<rect x="{bx:.1f}" y="{height - pad_b - h:.1f}" width="{bar - 2:.1f}" height="{h:.1f}" '
                f'fill="{colors[j]}"><title>{r["month"]} {key}: {r[key]:,.2f}</title></rect>'
            )
        body.append(
            f'<text x="{gx:.1f}" y="{height - 10}" font-size="11" fill="#5b6678" text-anchor="middle">{escape(r["month"])}</text>'
        )
    legend = "".join(
        f'<rect x="{pad_l + 130 * j}" y="24" width="10" height="10" fill="{colors[j]}"/>'
        f'<text x="{pad_l + 14 + 130 * j}" y="33" font-size="11" fill="#1b2333">{k}</text>'
        for j, k in enumerate(keys)
    )
    return (
        f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
        f'width="100%">'
        f'<text x="{pad_l}" y="16" font-size="13" font-weight="600" fill="#1b2333">{escape(title)}</text>'
        f'{legend}<line x1="{pad_l}" x2="{width - pad_r}" y1="{height - pad_b}" y2="{height - pad_b}" '
        f'stroke="#c9d1dd"/><text x="{pad_l - 6}" y="{pad_t + 4}" text-anchor="end" font-size="11" '
        f'fill="#5b6678">{_fmt(top)}</text>{"".join(body)}</svg>'
    )
