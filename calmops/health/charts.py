"""What the Health page charts: time windows, bucketed series, thresholds and change events.

Charts never read raw history: every trace is SQL time buckets sized so one window holds at most
``MAX_POINTS`` of them (about one per pixel column), so a fortnight charts as fast as an hour.
Nothing here imports Streamlit; the page asks, ``calmops.ui.charts`` draws.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from calmops.detect.rules import Rule
from calmops.health.models import ServiceHealth
from calmops.store import snapshots
from calmops.store.db import Cursor
from calmops.vocabulary import CANONICAL_METRICS, HealthStatus, Severity

# Health charts sit two to a row, well under 1000 px wide each: about one bucket per pixel column
# (Grafana's rule) is all a line can show, and half the points halve what every refresh ships.
MAX_POINTS = 1000
CUSTOM = "custom"
WINDOWS: dict[str, timedelta] = {
    "1h": timedelta(hours=1),
    "6h": timedelta(hours=6),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "14d": timedelta(days=14),
}
WINDOW_LABELS: dict[str, str] = {
    "1h": "1 h",
    "6h": "6 h",
    "24h": "24 h",
    "7d": "7 d",
    "14d": "14 d",
    CUSTOM: "Custom",
}
DEFAULT_WINDOW = "6h"
# snapshots.bucketed cuts buckets on epoch microseconds: they start on multiples of the width.
BUCKET_ORIGIN = datetime(1970, 1, 1, tzinfo=UTC)
EVENT_KINDS = ("deploy", "config_change")


class WindowError(ValueError):
    """A custom range the operator typed that cannot be charted (end before start, …)."""


@dataclass(frozen=True)
class ChartWindow:
    """A chart's time range and bucket width; ``live`` windows end now and refresh themselves."""

    start: datetime
    end: datetime
    bucket_s: int
    live: bool
    label: str

    @property
    def span(self) -> timedelta:
        return self.end - self.start

    @property
    def points(self) -> int:
        """Buckets the window can hold: the most points one trace can have."""
        return math.ceil(self.span.total_seconds() / self.bucket_s)


def _align_up(ts: datetime, step_s: int) -> datetime:
    """The first bucket boundary at or after ``ts``, so no partial bucket leads the chart."""
    offset = (ts - BUCKET_ORIGIN).total_seconds()
    return BUCKET_ORIGIN + timedelta(seconds=math.ceil(offset / step_s) * step_s)


def window(
    choice: str,
    *,
    now: datetime,
    start: datetime | None = None,
    end: datetime | None = None,
    max_points: int = MAX_POINTS,
    min_step_s: int = 60,
) -> ChartWindow:
    """A window choice (``1h`` … ``14d``, or ``custom`` with ``start``/``end``) as a chart range.

    Preset windows end at ``now`` (live); a custom range is fixed. The start is aligned up to a
    bucket boundary so every bucket on the chart is whole and the count stays ≤ ``max_points``.
    """
    if choice == CUSTOM:
        if start is None or end is None:
            raise WindowError("a custom range needs a start and an end")
        if start.tzinfo is None or end.tzinfo is None:
            raise WindowError("custom range times need a time zone")
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        if end <= start:
            raise WindowError("the end of the range must be after its start")
        end = min(end, now)
        if end <= start:
            raise WindowError("the range lies in the future")
        live = False
        label = "custom range"
    else:
        if choice not in WINDOWS:
            raise WindowError(f"unknown window {choice!r}")
        end = now.astimezone(UTC)
        start = end - WINDOWS[choice]
        live = True
        label = f"last {WINDOW_LABELS[choice]}"
    bucket_s = snapshots.choose_bucket(end - start, max_points=max_points, min_step_s=min_step_s)
    return ChartWindow(_align_up(start, bucket_s), end, bucket_s, live, label)


INCIDENT_BEFORE = timedelta(hours=1)  # an incident's charts start this long before it did
INCIDENT_AFTER = timedelta(minutes=30)  # and end this long after it was resolved (or now)


def incident_window(*, started_at: datetime, resolved_at: datetime | None, now: datetime) -> ChartWindow:
    """An incident's charts: from an hour before it started to half an hour after it was resolved
    (or now), the Incident page's rule, shared with the post-incident report so both chart the same
    buckets. Raises WindowError when the start lies in the future by ``now``."""
    end = min((resolved_at or now) + INCIDENT_AFTER, now)
    return window(CUSTOM, now=now, start=started_at - INCIDENT_BEFORE, end=end)


def metrics_series(
    cur: Cursor, *, company: str, metrics: list[str], services: list[str], win: ChartWindow
) -> dict[str, pd.DataFrame]:
    """Each metric's buckets (service, bucket, avg, min, max, samples) for the chosen services,
    from one query for all of them; a metric without data is missing from the answer.

    ``bucket`` is aware UTC. A missing stretch (no bucket for longer than two bucket widths) gets
    a blank row, so the line breaks there instead of drawing a confident straight line across an
    outage in the data.
    """
    frame = snapshots.bucketed(
        cur,
        company=company,
        metrics=metrics,
        services=services,
        start=win.start,
        end=win.end,
        bucket_s=win.bucket_s,
    )
    names = frame.pop("metric").to_numpy()
    cuts = [0, *(np.flatnonzero(names[1:] != names[:-1]) + 1).tolist(), len(names)]
    # Positional slices of the one frame: a groupby with fancy indexing copied every column.
    return {
        names[a]: with_gaps(frame.iloc[a:b], bucket_s=win.bucket_s)
        for a, b in itertools.pairwise(cuts)
        if b > a
    }


def metric_series(
    cur: Cursor, *, company: str, metric: str, services: list[str], win: ChartWindow
) -> pd.DataFrame:
    """One metric's buckets, as ``metrics_series`` gives them (empty when there are none)."""
    found = metrics_series(cur, company=company, metrics=[metric], services=services, win=win)
    return found.get(metric, empty_series())


def empty_series() -> pd.DataFrame:
    """A metric's buckets when the chosen services sent nothing in the window."""
    return pd.DataFrame(columns=[c for c in snapshots.BUCKET_COLUMNS if c != "metric"])


def with_gaps(frame: pd.DataFrame, *, bucket_s: int) -> pd.DataFrame:
    """Insert one blank row into every gap longer than two buckets, per service.

    Expects rows ordered by (service, bucket), as ``bucketed`` returns them; numpy rather than a
    pandas groupby, because this runs for every chart on every refresh.
    """
    if len(frame) < 2:
        return frame
    services = frame["service"].to_numpy()
    buckets = pd.DatetimeIndex(frame["bucket"]).tz_convert(None).to_numpy()
    gap = np.timedelta64(2 * bucket_s, "s")
    jumps = np.flatnonzero((services[1:] == services[:-1]) & (buckets[1:] - buckets[:-1] > gap)) + 1
    if not len(jumps):
        return frame
    columns = {}
    for name in frame.columns:
        values = frame[name].to_numpy()
        if name == "bucket":
            values, fill = buckets, buckets[jumps] - np.timedelta64(bucket_s, "s")
        elif name == "service":
            fill = services[jumps]
        else:
            values = values.astype("float64")
            fill = np.full(len(jumps), np.nan)
        columns[name] = np.insert(values, jumps, fill)
    out = pd.DataFrame(columns)
    out["bucket"] = pd.DatetimeIndex(out["bucket"]).tz_localize("UTC")
    return out


@dataclass(frozen=True)
class ChangeEvent:
    """A deploy or config change, marked on the charts."""

    id: int
    service: str
    kind: str
    ts: datetime
    description: str
    version: str | None


def change_events(
    cur: Cursor,
    *,
    company: str,
    start: datetime,
    end: datetime,
    services: list[str] | None = None,
    kinds: tuple[str, ...] = EVENT_KINDS,
    limit: int = 200,
) -> list[ChangeEvent]:
    """Deploys and config changes of ``company`` in [start, end), oldest first, at most ``limit``."""
    params: list[object] = [company, start, end, *kinds]
    marks = ", ".join("?" for _ in kinds)
    service_filter = ""
    if services is not None:
        if not services:
            return []
        service_filter = f"AND service IN ({', '.join('?' for _ in services)})"
        params.extend(services)
    rows = cur.execute(
        f"""SELECT id, service, kind, ts, description, version FROM (
                SELECT * FROM events
                WHERE company = ? AND ts >= ? AND ts < ? AND kind IN ({marks}) {service_filter}
                ORDER BY ts DESC LIMIT {int(limit)}
            ) ORDER BY ts, id""",
        params,
    ).fetchall()
    return [ChangeEvent(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows]


@dataclass(frozen=True)
class Threshold:
    """A line on a chart: where a rule of some severity starts to breach."""

    value: float
    comparison: str
    severity: Severity


def thresholds(rules: list[Rule], *, metric: str, services: list[str]) -> list[Threshold]:
    """The distinct thresholds of enabled rules on ``metric`` that apply to any chosen service."""
    seen: dict[tuple[float, str], Threshold] = {}
    for rule in rules:
        if rule.metric != metric or not rule.enabled:
            continue
        if services and not any(rule.applies_to(s) for s in services):
            continue
        key = (rule.threshold, rule.comparison)
        current = seen.get(key)
        if current is None or rule.severity.rank > current.severity.rank:
            seen[key] = Threshold(rule.threshold, rule.comparison, rule.severity)
    return sorted(seen.values(), key=lambda t: t.severity.rank)


PROBLEM_ORDER = {HealthStatus.DOWN: 0, HealthStatus.DEGRADED: 1, HealthStatus.UNKNOWN: 2, HealthStatus.OK: 3}


def problems_first(services: list[ServiceHealth]) -> list[ServiceHealth]:
    """Down, then degraded, then unknown, then ok; customer-facing first within each."""
    return sorted(services, key=lambda s: (PROBLEM_ORDER[s.status], not s.customer_facing, s.service))


def default_services(services: list[ServiceHealth], *, limit: int = 4) -> list[str]:
    """What to chart before the operator chooses: the services with problems, else a few important ones."""
    ordered = problems_first(services)
    troubled = [s.service for s in ordered if s.status != HealthStatus.OK]
    return (troubled or [s.service for s in ordered])[:limit]


# Metrics that say most about a service at a glance, in the order an operator reads them.
KEY_METRICS = (
    "error_rate",
    "latency_p95_ms",
    "queue_depth",
    "db_connections_pct",
    "cpu_pct",
    "memory_pct",
    "disk_pct",
    "request_rate",
    "up",
    "probe_latency_ms",
)


def _metric_order(metric: str) -> tuple[int, str]:
    if metric in KEY_METRICS:
        return (KEY_METRICS.index(metric), metric)
    if metric in CANONICAL_METRICS:
        return (len(KEY_METRICS), metric)
    return (len(KEY_METRICS) + 1, metric)


def chartable_metrics(services: list[ServiceHealth], chosen: list[str]) -> list[str]:
    """Metrics the chosen services report, most telling first."""
    names = {m for s in services if s.service in chosen for m in s.metrics}
    return sorted(names, key=_metric_order)


def default_metrics(services: list[ServiceHealth], chosen: list[str], *, limit: int = 4) -> list[str]:
    """Breached metrics of the chosen services first, then the key ones they report."""
    available = chartable_metrics(services, chosen)
    breached = [
        m
        for m in available
        if any(s.service in chosen and m in s.metrics and s.metrics[m].breached for s in services)
    ]
    rest = [m for m in available if m not in breached and m != "probe_latency_ms"]
    return (breached + rest)[:limit]
