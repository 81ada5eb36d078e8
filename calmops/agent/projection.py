"""Risk if no action, in time: a robust trend projected to the next threshold that matters.

The recent Theil–Sen slope is used when the recent window trends steadily (Kendall's tau), else the
slope over the whole lookback when that one does (a memory leak, a filling disk). A flat, noisy or
improving series gets no projection: better no number than an invented one.
"""

from __future__ import annotations

from dataclasses import dataclass

from calmops.agent.evidence import SeriesStats, Situation, worse_when_lower
from calmops.timefmt import duration
from calmops.vocabulary import format_value, metric_info

STEADY_RECENT = 0.5  # tau of the recent window that counts as a steady trend
STEADY_LONG = 0.6
HORIZON_S = 7 * 86_400  # beyond a week, a projection says nothing useful
PERCENT_METRICS = {"cpu_pct", "memory_pct", "disk_pct", "db_connections_pct"}


@dataclass(frozen=True)
class Projection:
    service: str
    metric: str
    threshold: float
    eta_s: int

    def to_json(self) -> dict:
        return {
            "service": self.service,
            "metric": self.metric,
            "threshold": self.threshold,
            "eta_s": self.eta_s,
        }

    def text(self) -> str:
        label = metric_info(self.metric).label.lower()
        return (
            f"{label} on {self.service} reaches {format_value(self.metric, self.threshold)} "
            f"in ~{duration(self.eta_s)}"
        )


def _slope(stats: SeriesStats) -> float | None:
    """Units per second in the bad direction, or None when no steady worsening trend shows."""
    sign = -1.0 if worse_when_lower(stats.metric) else 1.0
    if stats.trend * sign >= STEADY_RECENT and stats.slope * sign > 0:
        return stats.slope * sign
    if stats.long_trend * sign >= STEADY_LONG and stats.long_slope * sign > 0:
        return stats.long_slope * sign
    return None


def target(sit: Situation, stats: SeriesStats) -> float | None:
    """The next threshold ahead of the current value: a rule's, else "full" for a percentage."""
    value = stats.current.value
    ahead = sorted(
        r.threshold
        for r in sit.thresholds(stats.service, stats.metric)
        if r.comparison in (">", ">=") and r.threshold > value
    )
    if ahead:
        return ahead[0]
    if stats.metric in PERCENT_METRICS and value < 100:
        return 100.0
    return None


def project(sit: Situation, stats: SeriesStats | None) -> Projection | None:
    if stats is None or worse_when_lower(stats.metric):
        return None
    slope = _slope(stats)
    goal = target(sit, stats)
    if slope is None or goal is None:
        return None
    eta = (goal - stats.current.value) / slope
    if not 0 < eta <= HORIZON_S:
        return None
    return Projection(stats.service, stats.metric, goal, round(eta))


def growth(stats: SeriesStats) -> str | None:
    """``queue depth on worker grows by ~120 jobs a minute``: the trend in words when no threshold
    is left to project to (a queue has no ceiling once past its critical level)."""
    slope = _slope(stats)
    if slope is None:
        return None
    label = metric_info(stats.metric).label.lower()
    return f"{label} on {stats.service} grows by ~{format_value(stats.metric, slope * 60)} a minute"
