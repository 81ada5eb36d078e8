"""Anomaly episodes: the eight known patterns, where they strike, how they bend the metrics.

An episode is (company, root service, pattern, started_at, ended_at or None while ongoing). Its
effect on every series is a pure function of the episode and the time, with magnitudes hashed
from the episode itself, so history, live rounds and backfills agree, and a live scenario started
by an operator behaves exactly like one in the history. ``demo_episodes`` records them as the
ground truth that detection is measured against (detection itself never reads it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from calmops.demo.model import uniform, white
from calmops.demo.world import CompanyWorld, ServiceSpec, stable_hash
from calmops.vocabulary import Pattern, ServiceKind

Values = dict[str, np.ndarray]
BaseAt = Callable[[str, int], float]  # the healthy value of one of the service's metrics at a time

HOUR = 3_600
MINUTE = 60
# How long after its end an episode still shows (draining queues, restarts); live rounds look back this far.
AFTERMATH_S = 2 * HOUR


@dataclass(frozen=True)
class Mitigation:
    """An action the demo's executor applied to an episode (``demo_mitigations``): the effects
    honour it from ``at`` on. ``scope``: the one dependant a circuit breaker shields (None: all)."""

    action: str
    at: datetime
    scope: str | None = None

    @property
    def at_s(self) -> int:
        return int(self.at.timestamp())


MITIGATION_RAMP_S = 120.0  # an action takes a couple of minutes to show (pods start, caches warm)


@dataclass(frozen=True)
class Episode:
    company: str
    service: str
    pattern: Pattern
    started_at: datetime
    ended_at: datetime | None
    note: str = ""
    mitigations: tuple[Mitigation, ...] = ()

    @property
    def start_s(self) -> int:
        return int(self.started_at.timestamp())

    @property
    def end_s(self) -> int | None:
        return None if self.ended_at is None else int(self.ended_at.timestamp())

    def params(self, seed: int) -> np.ndarray:
        """Eight uniforms in [0, 1) that fix this episode's magnitudes."""
        key = stable_hash(seed, self.company, self.service, self.pattern.value, self.start_s)
        return uniform(key, np.arange(8, dtype=np.int64))

    def wiggle(self, seed: int, t: np.ndarray, salt: str = "") -> np.ndarray:
        """Jitter in [-1, 1] for values an episode sets or shifts (``salt``: another series)."""
        return white(stable_hash(seed, self.company, self.service, self.pattern.value, "wiggle", salt), t)

    def mitigated_at(self, action: str, scope: str | None = None) -> int | None:
        """When ``action`` was first applied to this episode (for ``scope``, or for all), if ever."""
        times = [
            m.at_s for m in self.mitigations if m.action == action and (m.scope is None or m.scope == scope)
        ]
        return min(times) if times else None

    def relief(self, action: str, t: np.ndarray, scope: str | None = None) -> np.ndarray | float:
        """0 … 1: how far ``action`` has taken hold at ``t`` (0 before it was applied, or never)."""
        at = self.mitigated_at(action, scope)
        if at is None:
            return 0.0
        return _ramp(np.asarray(t) - at, MITIGATION_RAMP_S)


@dataclass(frozen=True)
class PatternPlan:
    """Where a pattern strikes by default and how long a history episode of it lasts (seconds)."""

    service: str
    fits: Callable[[ServiceKind, tuple[str, ...]], bool]  # picks a fallback when ``service`` is absent
    duration: tuple[int, int]
    min_duration: int


def _has(metric: str) -> Callable[[ServiceKind, tuple[str, ...]], bool]:
    return lambda _kind, metrics: metric in metrics


def _kind(*kinds: ServiceKind) -> Callable[[ServiceKind, tuple[str, ...]], bool]:
    return lambda kind, _metrics: kind in kinds


PLANS: dict[Pattern, PatternPlan] = {
    Pattern.QUEUE_BACKLOG: PatternPlan(
        "dispatch-worker", _has("queue_depth"), (45 * MINUTE, 80 * MINUTE), 40 * MINUTE
    ),
    Pattern.DB_SATURATION: PatternPlan(
        "postgres", _has("db_connections_pct"), (25 * MINUTE, 50 * MINUTE), 15 * MINUTE
    ),
    Pattern.ERROR_SPIKE_AFTER_DEPLOY: PatternPlan(
        "api", _kind(ServiceKind.API, ServiceKind.WEB), (30 * MINUTE, 50 * MINUTE), 30 * MINUTE
    ),
    Pattern.MEMORY_LEAK: PatternPlan(
        "tracking-ingest", _kind(ServiceKind.WORKER, ServiceKind.API), (270 * MINUTE, 420 * MINUTE), 2 * HOUR
    ),
    Pattern.DEPENDENCY_OUTAGE: PatternPlan(
        "carrier-gateway", _kind(ServiceKind.EXTERNAL), (20 * MINUTE, 40 * MINUTE), 12 * MINUTE
    ),
    Pattern.DISK_FILLING: PatternPlan("postgres", _has("disk_pct"), (2 * HOUR, 210 * MINUTE), HOUR),
    Pattern.SERVICE_DOWN: PatternPlan(
        "billing", _kind(ServiceKind.WORKER), (10 * MINUTE, 20 * MINUTE), 8 * MINUTE
    ),
    Pattern.LATENCY_REGRESSION: PatternPlan(
        "web", _kind(ServiceKind.WEB, ServiceKind.API), (40 * MINUTE, 90 * MINUTE), 20 * MINUTE
    ),
}
PATTERNS: tuple[Pattern, ...] = tuple(PLANS)


@dataclass(frozen=True)
class Signal:
    """A default rule an episode must breach for longer than its for-duration (the ground truth)."""

    metric: str
    comparison: str
    threshold: float
    service: str | None = None  # None: the episode's own service; else the dependant that degrades


# What each pattern shows in the default rules' terms (calmops.detect.rules.DEFAULT_RULES).
SIGNATURES: dict[Pattern, tuple[Signal, ...]] = {
    Pattern.QUEUE_BACKLOG: (Signal("queue_depth", ">", 10_000),),
    Pattern.DB_SATURATION: (Signal("db_connections_pct", ">", 95), Signal("latency_p95_ms", ">", 800, "api")),
    Pattern.ERROR_SPIKE_AFTER_DEPLOY: (Signal("error_rate", ">", 0.10),),
    Pattern.MEMORY_LEAK: (Signal("memory_pct", ">", 85), Signal("memory_pct", ">", 95)),
    Pattern.DEPENDENCY_OUTAGE: (
        Signal("up", "<", 1),
        Signal("error_rate", ">", 0.02, "dispatch-worker"),
        Signal("latency_p95_ms", ">", 800, "dispatch-worker"),
    ),
    Pattern.DISK_FILLING: (Signal("disk_pct", ">", 85), Signal("disk_pct", ">", 95)),
    Pattern.SERVICE_DOWN: (Signal("up", "<", 1),),
    Pattern.LATENCY_REGRESSION: (Signal("latency_p95_ms", ">", 2_000),),
}


def root_service(company: CompanyWorld, pattern: Pattern) -> str | None:
    """The service a pattern strikes in this tenant: its usual one, else the first that fits."""
    plan = PLANS[pattern]
    if company.service(plan.service) is not None:
        return plan.service
    return next((s.name for s in company.services if plan.fits(s.kind, s.metrics)), None)


# ---------------------------------------------------------------- shapes


@dataclass(frozen=True)
class Target:
    """The series an effect bends: one service's metrics at times ``t``."""

    service: ServiceSpec
    root: bool  # the episode's own service, or a dependant of it
    t: np.ndarray
    seed: int
    base_at: BaseAt


def _ramp(since: np.ndarray | float, seconds: float) -> np.ndarray:
    return np.clip(np.asarray(since, dtype=np.float64) / seconds, 0.0, 1.0)


def _intensity(
    t: np.ndarray, start: int, end: int | None, *, onset: float = 0.0, rise: float = 60.0, fall: float = 120.0
) -> np.ndarray:
    """0 … 1: rises over ``rise`` s once ``onset`` s have passed; falls over ``fall`` s after the end."""
    k = np.where(t >= start, _ramp(t - start - onset, rise), 0.0)
    if end is None:
        return k
    reached = float(_ramp(end - start - onset, rise))
    return np.where(t >= end, reached * np.clip(1.0 - (t - end) / fall, 0.0, 1.0), k)


def _active(t: np.ndarray, start: int, end: int | None) -> np.ndarray:
    return (t >= start) & (t < end) if end is not None else t >= start


def _add(values: Values, metric: str, amount: np.ndarray | float) -> None:
    if metric in values:
        values[metric] = values[metric] + amount


def _scale(values: Values, metric: str, factor: np.ndarray | float) -> None:
    if metric in values:
        values[metric] = values[metric] * factor


def _blend(values: Values, metric: str, target: np.ndarray | float, k: np.ndarray) -> None:
    """Move a metric towards ``target`` by ``k`` (0: its healthy value, 1: the target)."""
    if metric in values:
        values[metric] = values[metric] * (1.0 - k) + target * k


def _set(values: Values, metric: str, mask: np.ndarray, value: np.ndarray | float) -> None:
    if metric in values:
        values[metric] = np.where(mask, value, values[metric])


# ---------------------------------------------------------------- magnitudes (shared by effects and notes)


def queue_growth(ep: Episode, seed: int) -> float:
    """Jobs per minute piling up while the consumers are stalled."""
    return 350.0 + 300.0 * ep.params(seed)[0]


def backlog(elapsed_s: np.ndarray | float, growth: float) -> np.ndarray:
    """Jobs queued after ``elapsed_s`` of stall, bounded by the broker's queue limit."""
    cap = 60_000.0
    return cap * (1.0 - np.exp(-growth * np.asarray(elapsed_s, dtype=np.float64) / 60.0 / cap))


def error_spike_onset(ep: Episode, seed: int) -> float:
    """Seconds from the bad deploy to the first errors (4–14 minutes)."""
    return (4.0 + 10.0 * ep.params(seed)[0]) * 60.0


def error_spike_level(ep: Episode, seed: int) -> float:
    return 0.12 + 0.15 * ep.params(seed)[1]


# ---------------------------------------------------------------- effects per pattern


PAUSED_GROWTH = 0.35  # share of a backlog's growth left once the batch jobs feeding it are paused


def _queued(ep: Episode, t: np.ndarray | float, growth: float) -> np.ndarray:
    """The backlog while consumers are stalled; paused batch jobs slow its growth from then on."""
    elapsed = np.maximum(np.asarray(t, dtype=np.float64) - ep.start_s, 0.0)
    queued = backlog(elapsed, growth)
    paused = ep.mitigated_at("pause_batch_jobs")
    if paused is None:
        return queued
    at_pause = backlog(max(paused - ep.start_s, 0), growth)
    return np.where(elapsed > paused - ep.start_s, at_pause + PAUSED_GROWTH * (queued - at_pause), queued)


def _queue_backlog(ep: Episode, x: Target, v: Values) -> None:
    if not x.root:
        return
    t, start, end = x.t, ep.start_s, ep.end_s
    growth = queue_growth(ep, x.seed)
    extra = np.where(_active(t, start, end), _queued(ep, t, growth), 0.0)
    if end is not None:  # workers scaled out: the backlog drains at 2.5x the rate it grew
        peak = float(_queued(ep, end, growth))
        extra = np.where(t >= end, np.maximum(0.0, peak - 2.5 * growth * (t - end) / 60.0), extra)
    _add(v, "queue_depth", extra)


EASED = 0.7  # how much of a problem an easing action takes away (read replicas, more workers)


def _db_saturation(ep: Episode, x: Target, v: Values) -> None:
    p = ep.params(x.seed)
    k = _intensity(x.t, ep.start_s, ep.end_s, rise=240, fall=180)
    k = k * (1.0 - EASED * ep.relief("enable_read_replica_routing", x.t))  # reads leave the primary
    if x.root:
        _blend(v, "db_connections_pct", 96.5 + 2.5 * p[0] + 0.5 * ep.wiggle(x.seed, x.t), k)
        _scale(v, "latency_p95_ms", 1.0 + 3.0 * k)
        _add(v, "cpu_pct", 15.0 * k)
    elif x.service.kind in (ServiceKind.API, ServiceKind.WEB):  # requests wait for a connection
        _add(
            v,
            "latency_p95_ms",
            (900.0 + 600.0 * p[1]) * k * (1.0 + 0.08 * ep.wiggle(x.seed, x.t, x.service.name)),
        )
        _add(v, "error_rate", 0.006 * k)
    else:
        _add(v, "latency_p95_ms", 120.0 * k)


def _error_spike(ep: Episode, x: Target, v: Values) -> None:
    level = error_spike_level(ep, x.seed)
    k = _intensity(x.t, ep.start_s, ep.end_s, onset=error_spike_onset(ep, x.seed), rise=120, fall=150)
    if x.root:
        _blend(v, "error_rate", level * (1.0 + 0.1 * ep.wiggle(x.seed, x.t)), k)
        _scale(v, "latency_p95_ms", 1.0 + 0.3 * k)
    else:  # callers pass the failures on
        _add(v, "error_rate", 0.3 * level * k * (1.0 + 0.1 * ep.wiggle(x.seed, x.t, x.service.name)))


def _memory_leak(ep: Episode, x: Target, v: Values) -> None:
    if not x.root or "memory_pct" not in v:
        return
    p = ep.params(x.seed)
    t, start, end = x.t, ep.start_s, ep.end_s
    begin = x.base_at("memory_pct", start)
    rate = (97.3 + 1.2 * p[0] - begin) / max(end - start, 1) if end is not None else (7.0 + 2.0 * p[1]) / HOUR
    active = _active(t, start, end)
    climbed = np.minimum(99.6, begin + rate * np.maximum(t - start, 0)) + 0.25 * ep.wiggle(x.seed, t)
    memory = np.where(active, np.maximum(v["memory_pct"], climbed), v["memory_pct"])
    if end is not None:  # the restart that ended it: memory starts low and grows back
        after = (t >= end) & (t < end + AFTERMATH_S)
        memory = np.where(after, memory - 8.0 * np.exp(-np.maximum(t - end, 0) / 1_800.0), memory)
    v["memory_pct"] = memory
    pressure = np.where(active, np.clip((memory - 85.0) / 15.0, 0.0, 1.0), 0.0)  # GC pauses
    _scale(v, "latency_p95_ms", 1.0 + 2.0 * pressure)
    _add(v, "queue_depth", np.where(active, 40.0 * np.maximum(0.0, memory - 88.0), 0.0))


def _dependency_outage(ep: Episode, x: Target, v: Values) -> None:
    p = ep.params(x.seed)
    t, start, end = x.t, ep.start_s, ep.end_s
    if x.root:
        down = _active(t, start, end)
        wiggle = ep.wiggle(x.seed, t)
        _set(v, "up", down, 0.0)
        _set(v, "error_rate", down, 0.65 + 0.3 * p[0] + 0.03 * wiggle)
        _set(v, "latency_p95_ms", down, 9_500.0 + 300.0 * wiggle)  # client timeouts
        _scale(v, "request_rate", np.where(down, 0.7, 1.0))
        return
    k = _intensity(t, start, end, onset=60.0 + 60.0 * p[1], rise=60, fall=120)
    k = k * (1.0 - ep.relief("open_circuit_breaker", t, x.service.name))  # calls fail fast to a fallback
    wiggle = ep.wiggle(x.seed, t, x.service.name)
    _add(v, "error_rate", (0.08 + 0.1 * p[2]) * k * (1.0 + 0.1 * wiggle))
    _add(v, "latency_p95_ms", (1_500.0 + 1_500.0 * p[3]) * k * (1.0 + 0.08 * wiggle))
    _add(v, "queue_depth", np.minimum(800.0, 15.0 * np.maximum(t - start, 0) / 60.0) * k)  # retries


ROTATED_PCT = 8.0  # disk a log rotation frees (only the first: later ones find little to remove)


def _disk_filling(ep: Episode, x: Target, v: Values) -> None:
    if not x.root or "disk_pct" not in v:
        return
    p = ep.params(x.seed)
    t, start, end = x.t, ep.start_s, ep.end_s
    begin = x.base_at("disk_pct", start)
    elapsed = np.maximum(t - start, 0).astype(np.float64)
    if end is not None:
        filled = begin + (96.3 + 1.5 * p[0] - begin) * (elapsed / max(end - start, 1)) ** 1.3
    else:
        filled = np.minimum(99.5, begin + (10.0 + 4.0 * p[1]) * elapsed / HOUR)
    filled = filled - ROTATED_PCT * ep.relief("rotate_logs", t)  # old logs compressed and removed
    active = _active(t, start, end)
    disk = np.where(active, np.maximum(v["disk_pct"], filled + 0.05 * ep.wiggle(x.seed, t)), v["disk_pct"])
    if end is not None:  # the cleanup freed a little more than the runaway log took
        after = (t >= end) & (t < end + AFTERMATH_S)
        disk = np.where(after, disk - 3.0 * np.exp(-(t - end) / HOUR), disk)
    v["disk_pct"] = disk


def _service_down(ep: Episode, x: Target, v: Values) -> None:
    if not x.root:
        return
    p = ep.params(x.seed)
    t, start, end = x.t, ep.start_s, ep.end_s
    down = _active(t, start, end)
    _set(v, "up", down, 0.0)
    for metric in ("request_rate", "error_rate", "latency_p95_ms", "cpu_pct", "memory_pct"):
        _set(v, metric, down, np.nan)  # the process is gone: nothing to scrape
    _set(v, "probe_latency_ms", down, 3.0 + 3.0 * p[1] + ep.wiggle(x.seed, t))  # connection refused is fast
    growth = 15.0 + 25.0 * p[0]  # jobs per minute the broker keeps queueing
    piled = np.where(down, growth * np.maximum(t - start, 0) / 60.0, 0.0)
    if end is not None:
        peak = growth * (end - start) / 60.0
        piled = np.where(t >= end, np.maximum(0.0, peak - 3.0 * growth * (t - end) / 60.0), piled)
        _add(v, "cpu_pct", np.where(t >= end, 20.0 * np.exp(-np.maximum(t - end, 0) / 300.0), 0.0))
    _add(v, "queue_depth", piled)


def _latency_regression(ep: Episode, x: Target, v: Values) -> None:
    if not x.root:
        return
    level = 2_300.0 + 1_200.0 * ep.params(x.seed)[0]
    k = _intensity(x.t, ep.start_s, ep.end_s, rise=480, fall=300)
    k = k * (1.0 - EASED * ep.relief("scale_workers", x.t))  # more instances wait on the provider in parallel
    _blend(v, "latency_p95_ms", level * (1.0 + 0.05 * ep.wiggle(x.seed, x.t)), k)


EFFECTS: dict[Pattern, Callable[[Episode, Target, Values], None]] = {
    Pattern.QUEUE_BACKLOG: _queue_backlog,
    Pattern.DB_SATURATION: _db_saturation,
    Pattern.ERROR_SPIKE_AFTER_DEPLOY: _error_spike,
    Pattern.MEMORY_LEAK: _memory_leak,
    Pattern.DEPENDENCY_OUTAGE: _dependency_outage,
    Pattern.DISK_FILLING: _disk_filling,
    Pattern.SERVICE_DOWN: _service_down,
    Pattern.LATENCY_REGRESSION: _latency_regression,
}


def apply_episodes(
    episodes: list[Episode],
    service: ServiceSpec,
    values: Values,
    t: np.ndarray,
    seed: int,
    base_at: BaseAt,
) -> None:
    """Bend one service's healthy values by every episode on it or on a service it calls."""
    for ep in episodes:
        root = ep.service == service.name
        if not root and ep.service not in service.depends_on:
            continue
        end = ep.end_s
        if t[-1] < ep.start_s or (end is not None and t[0] >= end + AFTERMATH_S):
            continue
        effect = EFFECTS.get(ep.pattern)
        if effect is not None:
            effect(ep, Target(service, root, t, seed, base_at), values)


# ---------------------------------------------------------------- notes


def describe(ep: Episode, seed: int) -> str:
    """What happened, in the words of the post-incident review (magnitudes from the model)."""
    p = ep.params(seed)
    minutes = None if ep.end_s is None else round((ep.end_s - ep.start_s) / 60)
    ongoing = " Still ongoing." if ep.end_s is None else ""
    s = ep.service
    match ep.pattern:
        case Pattern.QUEUE_BACKLOG:
            growth = queue_growth(ep, seed)
            if ep.end_s is None:
                return f"{s} consumers stalled on a poison message; the queue grows ~{growth:.0f} jobs/min."
            peak = float(backlog(ep.end_s - ep.start_s, growth))
            return (
                f"{s} consumers stalled on a poison message; the queue grew ~{growth:.0f} jobs/min to "
                f"~{peak:,.0f} jobs while requests stayed steady; workers were scaled out and it drained."
            )
        case Pattern.DB_SATURATION:
            return (
                f"A long-running report query held {s}'s connection pool at ~{96.5 + 2.5 * p[0]:.0f}%; "
                f"api p95 rose by ~{900 + 600 * p[1]:,.0f} ms.{ongoing}"
            )
        case Pattern.ERROR_SPIKE_AFTER_DEPLOY:
            return (
                f"A deploy of {s} raised errors to ~{error_spike_level(ep, seed):.0%} "
                f"{error_spike_onset(ep, seed) / 60:.0f} min after it went out"
                + (f"; rolled back after {minutes} min." if minutes is not None else f".{ongoing}")
            )
        case Pattern.MEMORY_LEAK:
            return (
                f"{s} leaks memory (tracking parser cache never evicted): heap climbing steadily for hours"
                + (f"; restarted after {minutes / 60:.1f} h." if minutes is not None else f".{ongoing}")
            )
        case Pattern.DEPENDENCY_OUTAGE:
            return (
                f"Carriers' API unreachable through {s} (TLS handshake timeouts): ~{0.65 + 0.3 * p[0]:.0%} "
                f"errors; dispatch jobs failing ~{0.08 + 0.1 * p[2]:.0%} with slow retries.{ongoing}"
            )
        case Pattern.DISK_FILLING:
            return f"{s} disk filling with WAL after a failed archive job, to ~{96.3 + 1.5 * p[0]:.1f}%" + (
                "; cleaned up at the end." if minutes is not None else f".{ongoing}"
            )
        case Pattern.SERVICE_DOWN:
            return f"{s} crashed and did not come back" + (
                f" for {minutes} min; jobs queued meanwhile." if minutes is not None else f".{ongoing}"
            )
        case Pattern.LATENCY_REGRESSION:
            return (
                f"{s} p95 rose to ~{2300 + 1200 * p[0]:,.0f} ms with no errors, no deploy and no saturation "
                f"(slow map-tile provider).{ongoing}"
            )
    return ongoing.strip()


# ---------------------------------------------------------------- planning the history


RECENT: tuple[Pattern | None, ...] = (Pattern.QUEUE_BACKLOG, Pattern.ERROR_SPIKE_AFTER_DEPLOY, None)
GAP_S = 2 * HOUR  # between episodes, so aftermaths and quiet margins never overlap


def _at(ts: float) -> datetime:
    return datetime.fromtimestamp(int(ts) - int(ts) % 60, UTC)


def plan_history(company: CompanyWorld, index: int, seed: int, start_s: int, end_s: int) -> list[Episode]:
    """Episodes for one tenant's history: every pattern in the past, and maybe one at ``end_s``.

    Tenant ``index`` decides the recent one (a growing queue backlog that is still ongoing, an error
    spike rolled back minutes ago, or none), so a fresh demo shows something happening.
    """
    rng = np.random.default_rng([seed, stable_hash("plan", company.slug) & 0xFFFFFFFF])
    episodes: list[Episode] = []
    recent_pattern = RECENT[index % len(RECENT)]
    recent_service = root_service(company, recent_pattern) if recent_pattern else None
    past_end = end_s
    if recent_pattern is not None and recent_service is not None:
        if recent_pattern == Pattern.QUEUE_BACKLOG:
            started, ended = end_s - rng.uniform(36, 42) * 60, None  # past 10 000 jobs for minutes
        else:
            started, ended = end_s - rng.uniform(42, 50) * 60, end_s - rng.uniform(8, 12) * 60
        if started > start_s + HOUR:
            ep = Episode(company.slug, recent_service, recent_pattern, _at(started), ended and _at(ended))
            episodes.append(ep)
            past_end = ep.start_s - GAP_S
    days = (end_s - start_s) / 86_400
    rounds = max(1, int(days // 7))
    span = (past_end - (start_s + HOUR)) / rounds
    for r in range(rounds):
        w0 = start_s + HOUR + r * span
        episodes.extend(_place(company, rng, w0, w0 + span))
    episodes.sort(key=lambda e: e.started_at)
    return [
        Episode(e.company, e.service, e.pattern, e.started_at, e.ended_at, describe(e, seed))
        for e in episodes
    ]


def _place(company: CompanyWorld, rng: np.random.Generator, w0: float, w1: float) -> list[Episode]:
    """Every pattern once, in random order and gaps, shrunk (or dropped) to fit a short window."""
    order = [PATTERNS[i] for i in rng.permutation(len(PATTERNS))]
    durations = [float(rng.uniform(*PLANS[p].duration)) for p in order]
    chosen = [(p, d, root_service(company, p)) for p, d in zip(order, durations, strict=True)]
    chosen = [c for c in chosen if c[2] is not None]
    while chosen:
        room = (w1 - w0) - GAP_S * (len(chosen) + 1)
        total = sum(d for _, d, _ in chosen)
        if total > room:
            shrink = max(room, 0) / total
            chosen = [(p, max(PLANS[p].min_duration, d * shrink), s) for p, d, s in chosen]
            total = sum(d for _, d, _ in chosen)
        if total <= room:
            break
        chosen.pop()
    if not chosen:
        return []
    slack = (w1 - w0) - GAP_S * (len(chosen) + 1) - sum(d for _, d, _ in chosen)
    gaps = GAP_S + slack * rng.dirichlet(np.ones(len(chosen) + 1))
    out, at = [], w0
    for (pattern, duration, service), gap in zip(chosen, gaps[:-1], strict=True):
        at += gap
        out.append(Episode(company.slug, str(service), pattern, _at(at), _at(at + duration)))
        at += duration
    return out
