"""The dashboard's SVG charts: a single movement is drawn, and no two y ticks read the same."""

import re
from datetime import datetime, timedelta

from enkash_sandbox.control.charts import line


def tick_labels(svg: str) -> list[str]:
    return re.findall(r'text-anchor="end" font-size="11" fill="#5b6678">([^<]+)</text>', svg)


def test_one_movement_is_a_point():
    svg = line([(datetime(2026, 1, 5), 300.0)], title="Balance")
    assert svg.count("<circle") == 1
    # the dashboard's series repeats the last movement: still one instant, still a point
    again = line([(datetime(2026, 1, 5), 300.0), (datetime(2026, 1, 5), 300.0)], title="Balance")
    assert again.count("<circle") == 1
    many = line([(datetime(2026, 1, 5), 300.0), (datetime(2026, 1, 6), 500.0)], title="Balance")
    assert "<circle" not in many


def test_a_narrow_range_gets_distinct_tick_labels():
    start = datetime(2026, 1, 1)
    svg = line([(start, 990_000.0), (start + timedelta(days=1), 994_000.0)], title="Balance")
    labels = tick_labels(svg)
    assert len(labels) == 3 and len(set(labels)) == 3, labels
    assert all(label.endswith("L") for label in labels)
