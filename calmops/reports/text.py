"""Words and numbers the report formats share: times in UTC, durations, metric values, chart
statistics, review items. Plain text only; each renderer escapes it for its own format."""

from __future__ import annotations

import math
from datetime import datetime

from calmops import timefmt
from calmops.vocabulary import format_value

SEVERITY_WORDS = {"critical": "Critical", "high": "High", "warning": "Warning", "info": "Info"}


def when(iso: str | None) -> str:
    """``2026-11-25 12:01 UTC`` (a report travels: no guess at the reader's zone); ``—`` for none."""
    if not iso:
        return "—"
    return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M UTC")


def took(seconds: float | None) -> str:
    return "—" if seconds is None else timefmt.duration(seconds)


def value(metric: str | None, number: float | None) -> str:
    """A metric value with its unit; ``up`` averages stay numbers (0.5 means half the time)."""
    if number is None or (isinstance(number, float) and not math.isfinite(number)):
        return "—"
    if not metric:
        return f"{number:,.4g}"
    if metric == "up":
        return f"{number:.2f}"
    return format_value(metric, number)


def chart_stats(chart: dict) -> list[dict]:
    """Per service: the lowest, mean and highest value over the chart's window (buckets' min, avg, max)."""
    out = []
    for series in chart["series"]:
        points = [p for p in series["points"] if p[1] is not None]
        if not points:
            continue
        out.append(
            {
                "service": series["service"],
                "min": min(p[2] if p[2] is not None else p[1] for p in points),
                "avg": sum(p[1] for p in points) / len(points),
                "max": max(p[3] if p[3] is not None else p[1] for p in points),
                "buckets": len(points),
            }
        )
    return out


def item_text(item: object) -> str:
    """A review list item: saved ones may be plain text, proposals carry their ``text``."""
    if isinstance(item, str):
        return item
    if isinstance(item, dict):
        return str(item.get("text") or item.get("action") or "")
    return str(item)


def review_sections(review: dict) -> list[tuple[str, list[str]]]:
    """The review's lists, titled, in the order the review page shows them."""
    return [
        ("Prevention steps", [item_text(i) for i in review.get("prevention") or []]),
        ("Alert improvements", [item_text(i) for i in review.get("alert_improvements") or []]),
        ("Automation suggestions", [item_text(i) for i in review.get("automation") or []]),
    ]


def root_cause(review: dict) -> str:
    cause = review.get("root_cause")
    if isinstance(cause, dict):
        return str(cause.get("text") or "")
    return str(cause or "")
