"""What the agent reads about an incident, and the robust numbers it draws from the raw samples.

One `Situation` per brief: the incident, the services around it (its upstreams and dependants),
every canonical metric of those services over the hours before it and since, the deploy and config
events, and the company's rules. `SeriesStats` condenses one series into what the pattern rules
ask: where it usually sits (median and MAD before the incident), where it is now, when it left its
usual band, and how steadily it trends. Every number keeps the raw sample it came from, so each
statement in a brief can be traced to a stored row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

from calmops import companies, incidents
from calmops.detect.rules import Rule, list_rules
from calmops.store.db import Cursor
from calmops.vocabulary import CANONICAL_METRICS, ServiceKind

LOOKBACK = timedelta(hours=6)  # a memory leak climbs for hours before it breaches
BASELINE_END = timedelta(minutes=20)  # the usual band ends this long before the breach began
RECENT = timedelta(minutes=30)  # the window the short trend is read over
BAND = 4.0  # robust deviations that count as "left its usual band"
# The smallest spread that counts per metric: a flat healthy series would make any wobble "huge".
SPREAD_FLOOR = {
    "up": 0.1,
    "error_rate": 0.003,
    "latency_p95_ms": 15.0,
    "cpu_pct": 3.0,
    "memory_pct": 1.5,
    "queue_depth": 10.0,
    "db_connections_pct": 3.0,
    "disk_pct": 0.5,
    "request_rate": 1.0,
    "probe_latency_ms": 20.0,
}


def worse_when_lower(metric: str) -> bool:
    """`up` hurts when it drops; every other canonical metric hurts when it rises."""
    return metric == "up"


@dataclass(frozen=True)
class Sample:
    ts: datetime
    value: float


@dataclass(frozen=True)
class SeriesStats:
    service: str
    metric: str
    baseline: float | None  # median before the incident, None when the series is that young
    spread: float  # robust scale (1.4826 × MAD), floored per metric
    current: Sample
    peak: Sample  # the worst sample since the baseline ended
    onset: Sample | None  # the first sample that left the usual band and stayed out
    slope: float  # Theil–Sen slope over the recent window, units per second
    trend: float  # Kendall's tau of the recent window: 1 steadily up, -1 steadily down
    long_slope: float  # the same over the whole lookback
    long_trend: float
    first: Sample  # the oldest sample read

    @property
    def deviation(self) -> float:
        """How far the current value sits from the usual, in spreads, positive when worse."""
        if self.baseline is None:
            return 0.0
        sign = -1.0 if worse_when_lower(self.metric) else 1.0
        return sign * (self.current.value - self.baseline) / self.spread

    @property
    def peak_deviation(self) -> float:
        if self.baseline is None:
            return 0.0
        sign = -1.0 if worse_when_lower(self.metric) else 1.0
        return sign * (self.peak.value - self.baseline) / self.spread

    @property
    def rose(self) -> bool:
        """Out of its usual band in the bad direction, now or at its worst since the incident began."""
        return self.onset is not None and max(self.deviation, self.peak_deviation) >= BAND

    def ratio(self) -> float:
        """Current over baseline (1.0 when unknown or zero)."""
        if not self.baseline:
            return 1.0
        return self.current.value / self.baseline


@dataclass
class Situation:
    """Everything one brief is written from, read in a few queries."""

    company: str
    detail: incidents.IncidentDetail
    now: datetime
    services: dict[str, companies.Service]
    stats: dict[tuple[str, str], SeriesStats]
    events: list[tuple[datetime, str, str, str, str | None]]  # ts, service, kind, description, version
    rules: list[Rule]
    dependants: dict[str, set[str]] = field(default_factory=dict)

    @property
    def service(self) -> str:
        return self.detail.summary.service

    def get(self, service: str, metric: str) -> SeriesStats | None:
        return self.stats.get((service, metric))

    def kind(self, service: str) -> ServiceKind | None:
        spec = self.services.get(service)
        return spec.kind if spec else None

    def upstream(self, service: str, depth: int = 3) -> list[str]:
        """What ``service`` depends on, nearest first."""
        seen: list[str] = []
        frontier = [service]
        for _ in range(depth):
            nxt = []
            for s in frontier:
                spec = self.services.get(s)
                for up in spec.depends_on if spec else ():
                    if up not in seen and up != service:
                        seen.append(up)
                        nxt.append(up)
            frontier = nxt
        return seen

    def downstream(self, service: str) -> list[str]:
        """The services that depend on ``service``, directly or through others."""
        out: list[str] = []
        frontier = [service]
        while frontier:
            nxt = []
            for s in frontier:
                for d in sorted(self.dependants.get(s, ())):
                    if d not in out and d != service:
                        out.append(d)
                        nxt.append(d)
            frontier = nxt
        return out

    def thresholds(self, service: str, metric: str) -> list[Rule]:
        """The enabled rules that judge this series, mildest first."""
        found = [r for r in self.rules if r.metric == metric and r.applies_to(service)]
        return sorted(found, key=lambda r: r.severity.rank)

    def significant(self, service: str, metric: str, share: float = 0.75) -> bool:
        """Beyond a rule now, or at its worst within ``share`` of the mildest threshold: a series can
        leave its usual band on a quiet day without meaning trouble."""
        stats = self.get(service, metric)
        if stats is None:
            return False
        if self.breached(service, metric) is not None:
            return True
        rules = [r for r in self.thresholds(service, metric) if r.comparison in (">", ">=")]
        return bool(rules) and stats.peak.value >= share * rules[0].threshold

    def breached(self, service: str, metric: str) -> Rule | None:
        """The most severe rule the current value is beyond (ignoring for-durations)."""
        stats = self.get(service, metric)
        if stats is None:
            return None
        worst = None
        for rule in self.thresholds(service, metric):
            if rule.breached(stats.current.value):
                worst = rule
        return worst

    def deploys(self, service: str, *, since: datetime, until: datetime) -> list[tuple]:
        return [e for e in self.events if e[1] == service and e[2] == "deploy" and since <= e[0] <= until]


def read_situation(cur: Cursor, *, detail: incidents.IncidentDetail, now: datetime) -> Situation:
    """Read what a brief needs: services around the incident, their series, events and rules."""
    company = detail.summary.company
    services = {s.service: s for s in companies.list_services(cur, company=company)}
    dependants: dict[str, set[str]] = {}
    for spec in services.values():
        for up in spec.depends_on:
            dependants.setdefault(up, set()).add(spec.service)
    situation = Situation(
        company, detail, now, services, {}, [], list_rules(cur, company=company), dependants
    )
    involved = {detail.summary.service, *detail.affected}
    for s in list(involved):
        involved.update(situation.upstream(s))
        involved.update(situation.downstream(s))
    involved &= set(services) | {detail.summary.service}
    start = detail.summary.started_at - LOOKBACK
    situation.stats = _read_stats(
        cur,
        company=company,
        services=sorted(involved),
        start=start,
        now=now,
        breach=detail.summary.started_at,
    )
    rows = cur.execute(
        """SELECT ts, service, kind, description, version FROM events
           WHERE company = ? AND ts >= ? AND ts <= ?""",
        [company, start, now],
    ).fetchall()
    situation.events = sorted(rows, key=lambda r: r[0])
    return situation


def _read_stats(
    cur: Cursor, *, company: str, services: list[str], start: datetime, now: datetime, breach: datetime
) -> dict[tuple[str, str], SeriesStats]:
    if not services:
        return {}
    marks = ", ".join("?" for _ in services)
    metric_marks = ", ".join("?" for _ in CANONICAL_METRICS)
    columns = cur.execute(
        f"""SELECT service, metric, epoch_us(ts) AS ts, value FROM health_snapshots
            WHERE company = ? AND labels = '' AND service IN ({marks}) AND metric IN ({metric_marks})
              AND ts >= ? AND ts <= ?""",
        [company, *services, *CANONICAL_METRICS, start, now],
    ).fetchnumpy()
    if not len(columns["ts"]):
        return {}
    service, metric = columns["service"], columns["metric"]
    ts = np.asarray(columns["ts"], dtype=np.int64)
    values = np.asarray(columns["value"], dtype=np.float64)
    keys = np.char.add(np.char.add(service.astype(str), "\x1f"), metric.astype(str))
    order = np.lexsort((ts, keys))
    keys, ts, values = keys[order], ts[order], values[order]
    cuts = np.flatnonzero(keys[1:] != keys[:-1]) + 1
    baseline_end = int((breach - BASELINE_END).timestamp() * 1e6)
    recent_start = int((now - RECENT).timestamp() * 1e6)
    out: dict[tuple[str, str], SeriesStats] = {}
    for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(keys)], strict=True):
        svc, met = str(keys[a]).split("\x1f", 1)
        ok = np.isfinite(values[a:b])
        if not ok.any():
            continue
        out[(svc, met)] = series_stats(svc, met, ts[a:b][ok], values[a:b][ok], baseline_end, recent_start)
    return out


def _at(ts_us: int) -> datetime:
    return datetime.fromtimestamp(ts_us / 1e6, UTC)


def theil_sen(t_s: np.ndarray, v: np.ndarray, max_points: int = 60) -> tuple[float, float]:
    """The median pairwise slope (units per second) and Kendall's tau, on at most ``max_points``
    evenly picked samples: robust to spikes, and cheap enough to run per series per brief."""
    if len(t_s) < 3:
        return 0.0, 0.0
    if len(t_s) > max_points:
        pick = np.linspace(0, len(t_s) - 1, max_points).round().astype(int)
        t_s, v = t_s[pick], v[pick]
    i, j = np.triu_indices(len(t_s), k=1)
    dt = t_s[j] - t_s[i]
    dv = v[j] - v[i]
    keep = dt > 0
    if not keep.any():
        return 0.0, 0.0
    slopes = dv[keep] / dt[keep]
    tau = float(np.sign(dv[keep]).mean())
    return float(np.median(slopes)), tau


def series_stats(
    service: str,
    metric: str,
    ts_us: np.ndarray,
    values: np.ndarray,
    baseline_end_us: int,
    recent_start_us: int,
) -> SeriesStats:
    """Condense one series (ascending, finite) into the numbers the pattern rules read."""
    before = values[ts_us < baseline_end_us]
    baseline = float(np.median(before)) if len(before) >= 5 else None
    floor = SPREAD_FLOOR.get(metric, 0.0)
    spread = floor
    if baseline is not None:
        mad = float(np.median(np.abs(before - baseline))) * 1.4826
        spread = max(mad, floor, abs(baseline) * 0.02, 1e-9)
    else:
        spread = max(floor, 1e-9)
    current = Sample(_at(int(ts_us[-1])), float(values[-1]))
    after = ts_us >= baseline_end_us
    sign = -1.0 if worse_when_lower(metric) else 1.0
    if after.any():
        idx = np.flatnonzero(after)
        worst = idx[int(np.argmax(sign * values[idx]))]
        peak = Sample(_at(int(ts_us[worst])), float(values[worst]))
    else:
        peak = current
    onset = None
    if baseline is not None and after.any():
        idx = np.flatnonzero(after)
        out_of_band = sign * (values[idx] - baseline) / spread >= BAND
        onset = _first_sustained(out_of_band)
        if onset is not None:
            onset = Sample(_at(int(ts_us[idx[onset]])), float(values[idx[onset]]))
    t_s = ts_us / 1e6
    recent = ts_us >= recent_start_us
    slope, trend = theil_sen(t_s[recent], values[recent])
    # The long trend is the climb that led to the worst point: a restart or a cleanup after it
    # (an incident read at its resolution) must not hide how it got there.
    climb = ts_us <= int(peak.ts.timestamp() * 1e6) if after.any() else slice(None)
    long_slope, long_trend = theil_sen(t_s[climb], values[climb])
    first = Sample(_at(int(ts_us[0])), float(values[0]))
    return SeriesStats(
        service, metric, baseline, spread, current, peak, onset, slope, trend, long_slope, long_trend, first
    )


def _first_sustained(flags: np.ndarray) -> int | None:
    """The first index that is out of band with at least two of the next three out too (or the
    last samples, when the series only just left its band)."""
    for i in np.flatnonzero(flags):
        ahead = flags[i + 1 : i + 4]
        if len(ahead) == 0 or ahead.sum() >= min(2, len(ahead)):
            return int(i)
    return None
