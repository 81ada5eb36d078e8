"""Deploys and config changes of the demo world: when they happen and what they are called.

The schedule is a pure function of (seed, company, service, local day), so history and the live
simulation agree on it. Nothing routine is scheduled within an hour of an anomaly episode, so an
episode's evidence is exactly what the episode put there (a latency regression has no deploy).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from calmops.demo.model import DAY_S, model_for, uniform
from calmops.demo.world import CompanyWorld, stable_hash
from calmops.vocabulary import EventKind

QUIET_MARGIN_S = 3_600

CONFIG_CHANGES: dict[str, tuple[str, ...]] = {
    "postgres": (
        "max_connections raised from 200 to 250",
        "work_mem raised to 64MB",
        "autovacuum_vacuum_scale_factor set to 0.05",
    ),
    "redis": ("maxmemory-policy set to allkeys-lru", "maxmemory raised to 6gb"),
    "api": (
        "rate limit for /v1/quotes raised to 50 req/s per key",
        "feature flag eta-v2 enabled for 10% of shippers",
    ),
    "carrier-gateway": ("carrier API timeout raised from 5 s to 8 s", "retry budget lowered to 2 attempts"),
    "dispatch-worker": ("worker concurrency raised from 8 to 12", "load batch size lowered to 50"),
}

ROLE_SCHEDULED = "scheduled"
ROLE_BAD = "bad"  # the deploy that starts an error_spike_after_deploy episode
ROLE_ROLLBACK = "rollback"  # the deploy that ends it


@dataclass(frozen=True)
class DemoEvent:
    ts: int  # epoch seconds
    service: str
    kind: EventKind
    role: str = ROLE_SCHEDULED
    text: str = ""  # config changes: what changed


def _local_days(offset_s: int, t0: int, t1: int) -> np.ndarray:
    return np.arange((t0 + offset_s) // DAY_S, (t1 + offset_s) // DAY_S + 1, dtype=np.int64)


def _quiet(ts: np.ndarray, windows: list[tuple[int, int]]) -> np.ndarray:
    keep = np.ones(ts.shape, dtype=bool)
    for start, end in windows:
        keep &= ~((ts >= start - QUIET_MARGIN_S) & (ts < end + QUIET_MARGIN_S))
    return keep


def scheduled_deploys(
    company: CompanyWorld, service: str, seed: int, t0: int, t1: int, quiet: list[tuple[int, int]]
) -> np.ndarray:
    """Routine deploys of ``service`` in [t0, t1): weekdays in office hours, a rare weekend one."""
    spec = company.service(service)
    rate = model_for(spec).deploys_per_day if spec is not None else 0.0
    if rate <= 0 or t1 <= t0:
        return np.zeros(0, dtype=np.int64)
    offset = int(company.profile.utc_offset_h * 3600)
    days = _local_days(offset, t0, t1)
    u = uniform(
        stable_hash(seed, company.slug, service, "deploys"), (days[:, None] * 4 + np.arange(4))
    ).reshape(len(days), 4)
    weekend = (days + 3) % 7 >= 5
    first = np.where(weekend, u[:, 0] < rate * 0.08, u[:, 0] < rate)
    second = ~weekend & (u[:, 1] < rate * 0.35)
    start = days * DAY_S - offset + int(9.5 * 3600)
    times = np.concatenate([(start + u[:, 2] * 7.5 * 3600)[first], (start + u[:, 3] * 7.5 * 3600)[second]])
    times = np.sort(times.astype(np.int64))
    times = times[(times >= t0) & (times < t1)]
    return times[_quiet(times, quiet)]


def scheduled_config_changes(
    company: CompanyWorld, seed: int, t0: int, t1: int, quiet: list[tuple[int, int]]
) -> list[DemoEvent]:
    """A config change on about two weekdays in five per tenant, in office hours."""
    present = [s for s in CONFIG_CHANGES if company.service(s) is not None]
    if not present or t1 <= t0:
        return []
    offset = int(company.profile.utc_offset_h * 3600)
    days = _local_days(offset, t0, t1)
    u = uniform(stable_hash(seed, company.slug, "config"), days[:, None] * 4 + np.arange(4)).reshape(
        len(days), 4
    )
    events = []
    for day, (chance, hour, which, what) in zip(days.tolist(), u.tolist(), strict=True):
        if (day + 3) % 7 >= 5 or chance >= 0.4:
            continue
        ts = int(day * DAY_S - offset + (10 + 6 * hour) * 3600)
        if not (t0 <= ts < t1) or not _quiet(np.array([ts]), quiet)[0]:
            continue
        service = present[int(which * len(present))]
        options = CONFIG_CHANGES[service]
        events.append(DemoEvent(ts, service, EventKind.CONFIG_CHANGE, text=options[int(what * len(options))]))
    return events


_VERSION = re.compile(r"^(?P<service>.+) (?P<year>\d{4})\.(?P<month>\d{1,2})\.(?P<n>\d+)$")


@dataclass
class Versions:
    """Names deploys like ``api 2026.11.3`` (the month's third build) and finds rollback targets."""

    history: dict[str, list[tuple[int, str]]] = field(default_factory=dict)

    def record(self, service: str, ts: int, version: str) -> None:
        self.history.setdefault(service, []).append((ts, version))

    def deploy(self, service: str, ts: int) -> str:
        when = datetime.fromtimestamp(ts, UTC)
        highest = 0
        for _, version in self.history.get(service, []):
            match = _VERSION.match(version)
            if match and (int(match["year"]), int(match["month"])) == (when.year, when.month):
                highest = max(highest, int(match["n"]))
        version = f"{service} {when.year}.{when.month}.{highest + 1}"
        self.record(service, ts, version)
        return version

    def rollback(self, service: str, bad_ts: int, ts: int) -> str:
        """The version that ran before the deploy at ``bad_ts``."""
        earlier = [v for at, v in self.history.get(service, []) if at < bad_ts]
        if earlier:
            version = earlier[-1]
        else:
            when = datetime.fromtimestamp(bad_ts - 31 * DAY_S, UTC)
            version = f"{service} {when.year}.{when.month}.1"
        self.record(service, ts, version)
        return version


def describe(event: DemoEvent, version: str | None) -> str:
    if event.kind == EventKind.CONFIG_CHANGE:
        return f"{event.service}: {event.text}"
    number = (version or "").removeprefix(f"{event.service} ")
    if event.role == ROLE_ROLLBACK:
        return f"Rolled back {event.service} to {number} after its error spike"
    return f"Deployed {event.service} {number} (rolling deploy from CI)"
