"""Synthetic incidents for the Incident Response Agent: a seeded generator and its replay over the API.

A *scenario* is one small TMS-like company (web, api, dispatch-worker, tracking, postgres,
carrier-gateway, and by the seed some of redis, billing, notifications) with a few hours of one-minute
health series for every canonical metric its services report, ending a minute or two before now, and
at most one injected problem:

- ``make_scenario(pattern, seed)``: one episode of a known pattern on a root service, with its side
  effects on the services that depend on it (see ``PATTERNS`` and the mapping in ``EXPECTED``);
- ``healthy_scenario(seed)``: bursty, noisy, never breaching a default rule for its ``for_s``;
- ``ambiguous_scenario(seed, variant)``: something opens an incident that no pattern explains
  (cpu high alone, a metric outside the catalogue with an Alertmanager alert, an incident opened by
  hand over healthy data); the agent should say ``unknown`` with low confidence.

Everything is a deterministic function of (kind, pattern or variant, seed) and the end time: numpy's
``default_rng`` seeded with them draws the topology extras, baselines, noise level, daily phase,
episode shape (step, ramp, exponential, sawtooth, step-then-ramp), amplitude (mild … severe), onset
and duration, lags of the side effects, and distractor deploys. Each scenario is checked against the
default threshold rules before it is returned (``first_firings``, the detector's own semantics): the
root breaches for longer than ``for_s``, dependants breach only after the root's incident exists (so
they join it), and a healthy company never fires.

``replay(url, scenario)`` pushes a scenario through the public API like a live company would: the
company and its services first (upstreams before dependants), then the snapshots in time-ordered
30-minute chunks (detection judges each push after answering), each chunk preceded by the events that
happened by its end, and finally any alerts or hand-made incidents. It returns what was injected.
``settle`` and ``brief_of`` wait for detection and for the brief.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import requests

from calmops.detect.rules import DEFAULT_RULES

STEP_S = 60
CHUNK_S = 1800  # a real service pushes once a minute; 30 minutes per push keeps a replay quick
MINUTE, HOUR = 60, 3600

PATTERNS: tuple[str, ...] = (
    "queue_backlog",
    "db_saturation",
    "error_spike_after_deploy",
    "memory_leak",
    "dependency_outage",
    "disk_filling",
    "service_down",
    "latency_regression",
)
# pattern → (recommended action, its risk), as the agent's playbooks should answer
EXPECTED: dict[str, tuple[str, str]] = {
    "queue_backlog": ("pause_batch_jobs", "low"),
    "db_saturation": ("enable_read_replica_routing", "low"),
    "error_spike_after_deploy": ("rollback_deploy", "medium"),
    "memory_leak": ("restart_service", "low"),
    "dependency_outage": ("wait_and_watch", "safe"),
    "disk_filling": ("expand_volume", "medium"),
    "service_down": ("restart_service", "low"),
    "latency_regression": ("wait_and_watch", "safe"),
    "unknown": ("wait_and_watch", "safe"),  # or escalate_to_lead [safe] when critical
}
UNKNOWN_ACTIONS = ("wait_and_watch", "escalate_to_lead")
GROWING = ("queue_backlog", "disk_filling", "memory_leak")  # the brief should project when it fills
AMBIGUOUS = ("cpu_alone", "custom_metric", "manual")
# The metrics whose default rules an episode breaches first on its root service.
ROOT_METRICS: dict[str, tuple[str, ...]] = {
    "queue_backlog": ("queue_depth",),
    "db_saturation": ("db_connections_pct",),
    "error_spike_after_deploy": ("error_rate",),
    "memory_leak": ("memory_pct",),
    "dependency_outage": ("error_rate", "latency_p95_ms", "up"),  # errors, timeouts, unreachable
    "disk_filling": ("disk_pct",),
    "service_down": ("up",),
    "latency_regression": ("latency_p95_ms",),
}

COMMON = ("up", "request_rate", "error_rate", "latency_p95_ms", "cpu_pct", "memory_pct", "probe_latency_ms")
KIND_METRICS = {
    "web": COMMON,
    "api": COMMON,
    "worker": (*COMMON, "queue_depth", "disk_pct"),
    "database": (*COMMON, "db_connections_pct", "disk_pct"),
    "cache": (*COMMON, "disk_pct"),
    "external": ("up", "request_rate", "error_rate", "latency_p95_ms", "probe_latency_ms"),
}


# ---------------------------------------------------------------- the rules, as the detector judges


@dataclass(frozen=True)
class Rule:
    metric: str
    comparison: str
    threshold: float
    for_s: int
    severity: str


RULES: tuple[Rule, ...] = tuple(
    Rule(metric, comparison, threshold, for_s, str(getattr(severity, "value", severity)))
    for metric, comparison, threshold, _clear, for_s, severity in DEFAULT_RULES
)
_OPS: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
    ">": np.greater,
    ">=": np.greater_equal,
    "<": np.less,
    "<=": np.less_equal,
}


def rules_for(metric: str) -> list[Rule]:
    return [r for r in RULES if r.metric == metric]


def fire_time(times: np.ndarray, values: np.ndarray, rule: Rule) -> int | None:
    """When ``rule`` first fires on a series (epoch s), as ``calmops.detect.machine`` judges it: a
    breach that holds, sample after sample, for ``for_s``; a missing value (NaN) is skipped."""
    keep = ~np.isnan(values)
    t, v = times[keep], values[keep]
    breach = _OPS[rule.comparison](v, rule.threshold)
    since = None
    for i in range(len(t)):
        if not breach[i]:
            since = None
            continue
        if since is None:
            since = int(t[i])
        if t[i] - since >= rule.for_s:
            return int(t[i])
    return None


def longest_breach_s(times: np.ndarray, values: np.ndarray, rule: Rule) -> int:
    """The longest span a breach of ``rule`` holds (seconds between its first and last sample)."""
    keep = ~np.isnan(values)
    t, breach = times[keep], _OPS[rule.comparison](values[keep], rule.threshold)
    best, since = 0, None
    for i in range(len(t)):
        if not breach[i]:
            since = None
            continue
        since = int(t[i]) if since is None else since
        best = max(best, int(t[i]) - since)
    return best


# ---------------------------------------------------------------- scenario


@dataclass(frozen=True)
class Service:
    name: str
    kind: str
    depends_on: tuple[str, ...]
    customer_facing: bool

    @property
    def metrics(self) -> tuple[str, ...]:
        return KIND_METRICS[self.kind]


@dataclass(frozen=True)
class Event:
    service: str
    kind: str  # deploy | config_change
    ts: int  # epoch s
    description: str
    version: str | None = None


@dataclass
class Scenario:
    """One company's services, series and events, with the ground truth of what was injected."""

    company: str
    kind: str  # pattern | healthy | ambiguous
    pattern: str | None  # what the agent should say (None for a healthy company)
    seed: int
    root: str | None
    start: int | None  # the episode's onset (epoch s)
    services: tuple[Service, ...]
    times: np.ndarray  # epoch s, every STEP_S
    series: dict[tuple[str, str], np.ndarray]  # (service, metric) → values (NaN: not reported)
    events: list[Event] = field(default_factory=list)
    alerts: list[dict] = field(default_factory=list)  # Alertmanager v4 bodies, posted after the data
    manual: list[dict] = field(default_factory=list)  # incidents opened by hand, after the data
    shape: str = ""
    severity: float = 0.0  # 0 mild … 1 severe
    variant: str = ""
    noise: float = 1.0
    details: dict = field(default_factory=dict)  # amplitudes, lags, … (for a miss report)
    dependants: tuple[str, ...] = ()  # services that breach because of the root (should join it)

    @property
    def expected(self) -> tuple[str, str] | None:
        return EXPECTED[self.pattern] if self.pattern else None

    def service(self, name: str) -> Service:
        return next(s for s in self.services if s.name == name)

    def direct_dependants(self, name: str) -> list[str]:
        return [s.name for s in self.services if name in s.depends_on]

    def describe(self) -> str:
        what = self.pattern if self.kind == "pattern" else f"{self.kind}:{self.variant or '-'}"
        bits = [f"{what} seed={self.seed}"]
        if self.root:
            bits.append(f"root={self.root}")
        if self.kind == "pattern" and self.variant:
            bits.append(f"variant={self.variant}")
        if self.shape:
            bits.append(f"shape={self.shape}")
        if self.kind == "pattern":
            bits.append(f"severity={self.severity:.2f}")
        bits.append(f"noise={self.noise:.2f}")
        return " ".join(bits)


@dataclass(frozen=True)
class Injected:
    """What a replay put into the server: the truth a brief is judged against."""

    company: str
    kind: str
    pattern: str | None
    root: str | None
    start: datetime | None
    seed: int
    description: str
    dependants: tuple[str, ...]


# ---------------------------------------------------------------- healthy world


def end_of_data(now: datetime | None = None) -> int:
    """The last sample's time: the whole minute at least 90 s before now (never in the future)."""
    now = now or datetime.now(UTC)
    return (int(now.timestamp()) - 90) // 60 * 60


def topology(rng: np.random.Generator) -> tuple[Service, ...]:
    """The core services plus some optional ones, upstreams first (the order they are registered)."""
    redis = rng.random() < 0.5
    billing = rng.random() < 0.5
    notifications = rng.random() < 0.35
    cache = ("redis",) if redis else ()
    out = [Service("postgres", "database", (), False)]
    if redis:
        out.append(Service("redis", "cache", (), False))
    out += [
        Service("carrier-gateway", "external", (), False),
        Service("api", "api", ("postgres", *cache), True),
        Service("web", "web", ("api",), True),
        Service("dispatch-worker", "worker", ("postgres", "carrier-gateway", *cache), False),
        Service("tracking", "worker", ("carrier-gateway", "postgres"), True),
    ]
    if billing:
        out.append(Service("billing", "worker", ("postgres",), False))
    if notifications:
        out.append(Service("notifications", "worker", ("postgres", *cache), True))
    return tuple(out)


# kind → (rps, error, latency ms, cpu idle %, cpu at peak add, memory %, probe ms, queue, db conn %, disk %)
BASE = {
    "web": (220, 0.003, 210, 12, 25, 42, 14, 0, 0, 0),
    "api": (900, 0.002, 130, 14, 28, 46, 9, 0, 0, 0),
    "worker": (110, 0.002, 240, 10, 22, 40, 10, 250, 0, 48),
    "database": (2500, 0.0005, 9, 16, 26, 62, 4, 0, 32, 55),
    "cache": (9000, 0.0002, 1.4, 6, 16, 48, 2, 0, 0, 30),
    "external": (80, 0.003, 320, 0, 0, 0, 60, 0, 0, 0),
}


def _wander(rng: np.random.Generator, n: int, phi: float = 0.96) -> np.ndarray:
    """Slow, smooth noise of unit spread (AR(1))."""
    shocks = rng.standard_normal(n)
    out = np.empty(n)
    acc = shocks[0]
    for i in range(n):
        acc = phi * acc + np.sqrt(1 - phi * phi) * shocks[i]
        out[i] = acc
    return out


def _healthy(
    rng: np.random.Generator, services: tuple[Service, ...], times: np.ndarray, noise: float
) -> dict[tuple[str, str], np.ndarray]:
    """Every series of every service: daily-ish traffic, noise, well inside the default rules."""
    n = len(times)
    amp = rng.uniform(0.05, 0.18)
    phase = rng.uniform(0, 2 * np.pi)
    day = 2 * np.pi * times / 86_400
    load = 1 + amp * np.sin(day + phase) + 0.3 * amp * np.sin(4 * day + 2 * phase)  # ≈ 0.75 … 1.25
    out: dict[tuple[str, str], np.ndarray] = {}
    for svc in services:
        rps, err, lat, cpu0, cpu_add, mem, probe, queue, dbc, disk = BASE[svc.kind]
        scale = rng.uniform(0.6, 1.5)

        def jitter(rel: float) -> np.ndarray:
            return rel * noise * rng.standard_normal(n)

        def drift(rel: float) -> np.ndarray:
            return rel * noise * _wander(rng, n)

        values = {
            "up": np.ones(n),
            "request_rate": rps * scale * load * (1 + drift(0.03) + jitter(0.02)),
            "error_rate": err * rng.uniform(0.6, 1.6) * (1 + np.abs(jitter(0.5)) + drift(0.2)),
            "latency_p95_ms": lat
            * rng.uniform(0.8, 1.3)
            * (0.7 + 0.3 * load)
            * (1 + drift(0.05) + jitter(0.04)),
            "cpu_pct": cpu0 + cpu_add * (load - 0.75) + drift(2.0) + jitter(1.5),
            "memory_pct": mem + rng.uniform(-6, 6) + drift(1.2) + jitter(0.4),
            "probe_latency_ms": probe * (1 + np.abs(jitter(0.25)) + drift(0.1)),
            "queue_depth": queue * scale * load * (1 + drift(0.15) + jitter(0.12)),
            "db_connections_pct": dbc + 14 * (load - 0.75) + drift(2.0) + jitter(1.2),
            "disk_pct": disk
            + rng.uniform(-8, 8)
            + rng.uniform(0.02, 0.2) * (times - times[0]) / HOUR
            + 0.1 * noise * rng.standard_normal(n),
        }
        for metric in svc.metrics:
            out[(svc.name, metric)] = values[metric]
    return out


def _bursts(
    rng: np.random.Generator,
    scenario: Scenario,
    count: int,
    *,
    exclude: tuple[str, ...] = (),
    before: int | None = None,
) -> list[str]:
    """Short spikes that cross a threshold but end before any rule's ``for_s``: a healthy company's
    noise (a failed probe, a GC pause, a slow batch). Spikes are at least 20 minutes apart per series."""
    choices = [
        ("cpu_pct", (86, 99)),
        ("latency_p95_ms", (850, 4000)),
        ("error_rate", (0.025, 0.3)),
        ("queue_depth", (2200, 14000)),
        ("memory_pct", (86, 94)),
        ("db_connections_pct", (82, 99)),
        ("probe_latency_ms", (2100, 6000)),
        ("up", (0, 0)),
    ]
    times, n = scenario.times, len(scenario.times)
    last = n if before is None else int(np.searchsorted(times, before))
    used: dict[tuple[str, str], list[int]] = {}
    made: list[str] = []
    for _ in range(count * 3):
        if len(made) >= count or last < 30:
            break
        metric, (lo, hi) = choices[int(rng.integers(len(choices)))]
        candidates = [s.name for s in scenario.services if metric in s.metrics and s.name not in exclude]
        if not candidates:
            continue
        service = candidates[int(rng.integers(len(candidates)))]
        key = (service, metric)
        peak = float(rng.uniform(lo, hi))
        breached = [r for r in rules_for(metric) if _OPS[r.comparison](np.array([peak]), r.threshold)[0]]
        if not breached:
            continue
        longest = max(1, min(r.for_s for r in breached) // STEP_S - 1)  # spans (k-1) min < for_s
        length = int(rng.integers(1, longest + 1))
        at = int(rng.integers(10, max(11, last - length - 2)))
        if any(abs(at - other) < 20 for other in used.get(key, [])):
            continue
        used.setdefault(key, []).append(at)
        values = scenario.series[key]
        shape = peak * rng.uniform(0.97, 1.03, size=length) if metric != "up" else np.zeros(length)
        if metric != "up":  # stays on the breaching side of every tier the peak crossed
            shape = np.maximum(shape, max(r.threshold for r in breached) * 1.005)
        values[at : at + length] = shape
        made.append(f"{service}/{metric}@{at}x{length}")
    return made


# ---------------------------------------------------------------- shapes


SHAPES_GROWING = ("ramp", "exp", "sawtooth", "step_ramp")
SHAPES_ANY = ("step", "ramp", "exp", "sawtooth", "step_ramp")


def shape_curve(shape: str, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """0 before the onset, rising to 1 at the end of the data (x = elapsed / duration, 0 … 1)."""
    x = np.clip(x, 0.0, 1.0)
    if shape == "step":
        rise = rng.uniform(0.01, 0.06)
        return np.clip(x / rise, 0.0, 1.0) * (x > 0)
    if shape == "ramp":
        return x
    if shape == "exp":
        k = rng.uniform(1.5, 4.0)
        return (np.exp(k * x) - 1) / (np.exp(k) - 1)
    if shape == "sawtooth":  # rising envelope with periodic partial drops (GC, log rotation, retries)
        teeth = int(rng.integers(3, 7))
        drop = rng.uniform(0.25, 0.6)
        frac = (x * teeth - 1e-9) % 1.0  # the last sample tops a tooth: still rising at the end
        return np.clip(x - drop * (1 - frac) / teeth * (x > 0), 0.0, 1.0)
    if shape == "step_ramp":
        jump = rng.uniform(0.3, 0.6)
        return np.where(x > 0, jump + (1 - jump) * x, 0.0)
    raise ValueError(f"unknown shape {shape!r}")


def _pick(rng: np.random.Generator, options: tuple[str, ...] | list[str]) -> str:
    return options[int(rng.integers(len(options)))]


def _seeded(*parts: object) -> np.random.Generator:
    """A generator fixed by the parts (strings hashed stably, not with Python's salted hash)."""
    words = []
    for part in parts:
        if isinstance(part, int):
            words.append(part & 0xFFFFFFFF)
        else:
            words.append(int.from_bytes(str(part).encode()[:8].ljust(8, b"\0"), "little") & 0xFFFFFFFF)
            words.append(sum((i + 1) * b for i, b in enumerate(str(part).encode())) & 0xFFFFFFFF)
    return np.random.default_rng(words)


def _slug(prefix: str, seed: int, unique: bool) -> str:
    tail = f"-{uuid.uuid4().hex[:6]}" if unique else ""
    return f"syn-{prefix}-{seed}{tail}"[:63]


_ABBREV = {
    "queue_backlog": "queue",
    "db_saturation": "dbsat",
    "error_spike_after_deploy": "deploy",
    "memory_leak": "memleak",
    "dependency_outage": "depout",
    "disk_filling": "disk",
    "service_down": "down",
    "latency_regression": "latency",
}


def _base_scenario(
    rng: np.random.Generator, *, kind: str, pattern: str | None, seed: int, company: str, hours: float,
    end: int,
) -> Scenario:  # fmt: skip
    services = topology(rng)
    n = int(hours * HOUR // STEP_S)
    times = end - STEP_S * np.arange(n - 1, -1, -1, dtype=np.int64)
    noise = float(rng.uniform(0.5, 2.0))
    series = _healthy(rng, services, times, noise)
    return Scenario(
        company=company, kind=kind, pattern=pattern, seed=seed, root=None, start=None,
        services=services, times=times, series=series, noise=noise,
    )  # fmt: skip


def _distractor_events(rng: np.random.Generator, sc: Scenario, avoid: set[str], latest: int) -> None:
    """Deploys and config changes of services that have nothing to do with the episode."""
    quiet = [s.name for s in sc.services if s.kind != "external" and s.name not in avoid]
    for _ in range(int(rng.integers(0, 3))):
        if not quiet or latest - int(sc.times[0]) < 20 * MINUTE:
            return
        service = _pick(rng, quiet)
        ts = int(rng.integers(int(sc.times[0]) + 5 * MINUTE, latest))
        if rng.random() < 0.7:
            version = f"v{rng.integers(1, 4)}.{rng.integers(0, 40)}.{rng.integers(0, 10)}"
            sc.events.append(Event(service, "deploy", ts, f"Deploy {service} {version}", version))
        else:
            sc.events.append(Event(service, "config_change", ts, f"Config change on {service}: pool sizes"))


# ---------------------------------------------------------------- episodes


def make_scenario(
    pattern: str,
    seed: int,
    *,
    now: datetime | None = None,
    company: str | None = None,
    severity: float | None = None,
    shape: str | None = None,
    unique: bool = True,
) -> Scenario:
    """One company with one episode of ``pattern`` (deterministic for the seed and ``now``'s minute).

    ``severity`` (0 mild … 1 severe) and ``shape`` pin what the seed would otherwise draw.
    """
    if pattern not in PATTERNS:
        raise ValueError(f"pattern must be one of {PATTERNS}")
    rng = _seeded("pattern", pattern, seed)
    end = end_of_data(now)
    hours = {"memory_leak": 8.0, "disk_filling": 6.0}.get(pattern, 4.0)
    company = company or _slug(_ABBREV[pattern], seed, unique)
    sc = _base_scenario(
        rng, kind="pattern", pattern=pattern, seed=seed, company=company, hours=hours, end=end
    )
    drawn = float(rng.uniform(0, 1)) if severity is None else float(severity)
    episode = _EPISODES[pattern]
    for attempt in range(16):  # redraw what would not open the incident the pattern stands for
        trial = _copy(sc)
        # a mild episode may end before it held long enough: later draws are a little worse
        trial.severity = min(1.0, drawn + 0.06 * (attempt // 2))
        episode(_seeded("episode", pattern, seed, attempt), trial, shape)
        if _episode_ok(trial):
            trial.details["attempt"] = attempt
            return trial
    raise RuntimeError(f"could not draw a detectable {pattern} episode for seed {seed}")


def _copy(sc: Scenario) -> Scenario:
    clone = Scenario(**{**sc.__dict__})
    clone.series = {k: v.copy() for k, v in sc.series.items()}
    clone.events, clone.alerts, clone.manual, clone.details = [], [], [], {}
    return clone


def first_firings(sc: Scenario) -> dict[str, tuple[int, str, str]]:
    """Per service, the first rule firing in the data: (epoch s, metric, severity)."""
    out: dict[str, tuple[int, str, str]] = {}
    for (service, metric), values in sc.series.items():
        for rule in rules_for(metric):
            at = fire_time(sc.times, values, rule)
            if at is not None and (service not in out or at < out[service][0]):
                out[service] = (at, metric, rule.severity)
    return out


def _episode_ok(sc: Scenario) -> bool:
    """The root fires on its pattern's metric, with margin; every other service that fires does so
    after the root (it joins the root's incident) and depends on it; nothing fires in the last 3 min
    only (so the last push's detection sees a settled state)."""
    fired = first_firings(sc)
    root = fired.get(sc.root or "")
    if root is None or root[1] not in ROOT_METRICS[sc.pattern or ""]:
        return False
    end = int(sc.times[-1])
    if root[0] > end - 3 * MINUTE:
        return False
    upstream_of = {s.name: set(s.depends_on) for s in sc.services}

    def depends(service: str) -> bool:
        seen, frontier = set(), set(upstream_of[service])
        while frontier:
            if sc.root in frontier:
                return True
            seen |= frontier
            frontier = {u for f in frontier for u in upstream_of[f]} - seen
        return False

    joined = []
    for service, (at, _metric, _sev) in fired.items():
        if service == sc.root:
            continue
        if not depends(service) or at <= root[0] + STEP_S:
            return False
        joined.append(service)
    sc.dependants = tuple(sorted(joined))
    sc.details["root_fires_at"] = root[0]
    return True


def _x(sc: Scenario, onset: int) -> np.ndarray:
    """Elapsed share of the episode at each sample: 0 at the onset, 1 at the last sample."""
    return (sc.times - onset) / max(STEP_S, int(sc.times[-1]) - onset)


def _onset(rng: np.random.Generator, sc: Scenario, lo_min: float, hi_min: float) -> int:
    end = int(sc.times[-1])
    span = (int(sc.times[-1]) - int(sc.times[0])) / MINUTE - 30  # at least 30 min of calm first
    minutes = float(rng.uniform(lo_min, min(hi_min, span)))
    return end - int(minutes * MINUTE) // STEP_S * STEP_S


def _crossing(sc: Scenario, service: str, metric: str) -> int:
    """Start of the breach that fires the first rule of ``metric`` (or the last sample's time)."""
    values = sc.series[(service, metric)]
    best = int(sc.times[-1])
    for rule in rules_for(metric):
        at = fire_time(sc.times, values, rule)
        if at is not None:
            best = min(best, at - rule.for_s)
    return best


def _grow(
    rng: np.random.Generator, sc: Scenario, service: str, metric: str, onset: int, level: float, shape: str
) -> None:
    """Bend a series from its healthy value at the onset to ``level`` at the end, by ``shape``."""
    values = sc.series[(service, metric)]
    i = int(np.searchsorted(sc.times, onset))
    start_level = float(np.median(values[max(0, i - 15) : i + 1]))
    curve = shape_curve(shape, _x(sc, onset), rng)
    bent = start_level + (level - start_level) * curve
    jitter = 1 + 0.012 * sc.noise * rng.standard_normal(len(values))
    values[:] = np.where(sc.times >= onset, bent * jitter, values)


def _dependants_effect(
    rng: np.random.Generator,
    sc: Scenario,
    services: list[str],
    metric: str,
    onset: int,
    factor: tuple[float, float],
    *,
    add: tuple[float, float] | None = None,
    cap: float | None = None,
) -> dict[str, dict]:
    """Dependants degrade a little after the root: ``metric`` multiplied (or raised by ``add``)."""
    made = {}
    for name in services:
        lag = int(rng.integers(1, 5)) * STEP_S
        start = onset + lag
        rise = float(rng.uniform(1, 4)) * MINUTE
        k = np.clip((sc.times - start) / rise, 0.0, 1.0)
        values = sc.series[(name, metric)]
        if add is not None:
            amount = float(rng.uniform(*add))
            values += amount * k * (1 + 0.1 * rng.standard_normal(len(values)))
            made[name] = {"metric": metric, "add": round(amount, 4), "lag_s": lag}
        else:
            mult = float(rng.uniform(*factor))
            values *= 1 + (mult - 1) * k
            made[name] = {"metric": metric, "x": round(mult, 2), "lag_s": lag}
        if cap is not None:
            np.minimum(values, cap, out=values)
    return made


def _queue_backlog(rng: np.random.Generator, sc: Scenario, shape: str | None) -> None:
    workers = [s.name for s in sc.services if s.kind == "worker"]
    sc.root = _pick(rng, workers)
    sc.shape = shape or _pick(rng, SHAPES_GROWING)
    level = 2600 * (12.0**sc.severity)  # mild 2.6k (warning) … severe 31k (critical)
    onset = _onset(rng, sc, 40, 150)
    _grow(rng, sc, sc.root, "queue_depth", onset, level, sc.shape)
    sc.series[(sc.root, "queue_depth")] = np.maximum(0, np.round(sc.series[(sc.root, "queue_depth")]))
    sc.start = onset
    # the consumers stall: the worker does less, request_rate (what arrives) stays as it was
    cpu = sc.series[(sc.root, "cpu_pct")]
    cpu[sc.times >= onset] *= float(rng.uniform(0.7, 1.0))
    sc.details.update(level=round(level), onset_min=(int(sc.times[-1]) - onset) // 60)
    _distractor_events(rng, sc, {sc.root}, onset - HOUR)


def _db_saturation(rng: np.random.Generator, sc: Scenario, shape: str | None) -> None:
    sc.root = "postgres"
    sc.shape = shape or _pick(rng, SHAPES_ANY)
    level = 84 + 16 * sc.severity  # 84 % … 100 % of the pool
    onset = _onset(rng, sc, 25, 90)
    _grow(rng, sc, sc.root, "db_connections_pct", onset, level, sc.shape)
    pool = sc.series[(sc.root, "db_connections_pct")]
    np.clip(pool, 0, 100, out=pool)
    sc.start = onset
    cross = _crossing(sc, sc.root, "db_connections_pct")
    # waits for a connection: postgres's own p95 and every dependant's latency go up after it
    _dependants_effect(rng, sc, [sc.root], "latency_p95_ms", cross, (4, 20))
    direct = sc.direct_dependants(sc.root)
    hit = [d for d in direct if rng.random() < 0.75] or [_pick(rng, direct)]
    slower = (700 + 1500 * sc.severity, 1200 + 3000 * sc.severity)
    sc.details["latency"] = _dependants_effect(
        rng, sc, hit, "latency_p95_ms", cross + STEP_S, (1, 1), add=slower
    )
    sc.details["errors"] = _dependants_effect(rng, sc, hit, "error_rate", cross + STEP_S, (1.5, 3.0))
    if "api" in hit:  # the web front end waits on the api, a little
        _dependants_effect(rng, sc, ["web"], "latency_p95_ms", cross + 2 * STEP_S, (1.3, 2.0))
    sc.series[(sc.root, "cpu_pct")][sc.times >= cross] += float(rng.uniform(5, 20))
    sc.details.update(level=round(level, 1), onset_min=(int(sc.times[-1]) - onset) // 60)
    _distractor_events(rng, sc, {sc.root, *direct, "web"}, onset - HOUR)


def _error_spike_after_deploy(rng: np.random.Generator, sc: Scenario, shape: str | None) -> None:
    sc.root = _pick(rng, ["api", "web", "api", "dispatch-worker"])
    sc.shape = shape or _pick(rng, ("step", "step", "ramp", "exp", "step_ramp"))
    end = int(sc.times[-1])
    spike = end - int(rng.integers(12, 45)) * MINUTE
    gap = int(rng.integers(2, 26)) * MINUTE  # the errors start 2-25 min after the deploy
    deploy = spike - gap
    version = f"v{rng.integers(2, 5)}.{rng.integers(0, 60)}.{rng.integers(0, 10)}"
    level = 0.03 * (15.0**sc.severity)  # 3 % … 45 % of requests failing
    _grow(rng, sc, sc.root, "error_rate", spike, level, sc.shape)
    np.clip(sc.series[(sc.root, "error_rate")], 0, 1, out=sc.series[(sc.root, "error_rate")])
    sc.start = spike
    sc.events.append(Event(sc.root, "deploy", deploy, f"Deploy {sc.root} {version}", version))
    # a rolling deploy's blip: a little cpu and latency while pods restart
    blip = (sc.times >= deploy) & (sc.times < deploy + 3 * MINUTE)
    sc.series[(sc.root, "cpu_pct")][blip] += 8
    sc.series[(sc.root, "latency_p95_ms")][sc.times >= spike] *= float(rng.uniform(1.0, 1.4))
    cross = _crossing(sc, sc.root, "error_rate")
    direct = sc.direct_dependants(sc.root)
    if direct:  # the callers see some of those errors
        sc.details["callers"] = _dependants_effect(
            rng, sc, direct, "error_rate", cross, (1, 1), add=(0.2 * level, 0.6 * level)
        )
    sc.details.update(level=round(level, 4), deploy_gap_min=gap // 60, version=version)
    _distractor_events(rng, sc, {sc.root, *direct}, deploy - HOUR)


def _memory_leak(rng: np.random.Generator, sc: Scenario, shape: str | None) -> None:
    sc.root = _pick(rng, ["api", "tracking", "dispatch-worker", "web"])
    sc.shape = shape or _pick(rng, ("ramp", "ramp", "sawtooth", "exp"))
    level = 86.5 + 11 * sc.severity  # 86.5 % … 97.5 %
    onset = _onset(rng, sc, 180, 390)  # climbs for 3-6.5 hours
    # a steady leak: memory starts from its own level, traffic stays flat
    _grow(rng, sc, sc.root, "memory_pct", onset, level, sc.shape)
    np.clip(sc.series[(sc.root, "memory_pct")], 0, 99.5, out=sc.series[(sc.root, "memory_pct")])
    gc = sc.times >= int(sc.times[-1]) - 40 * MINUTE  # garbage collection works harder near the top
    sc.series[(sc.root, "cpu_pct")][gc] += float(rng.uniform(0, 8))
    sc.start = onset
    sc.details.update(level=round(level, 1), onset_min=(int(sc.times[-1]) - onset) // 60)
    _distractor_events(rng, sc, {sc.root}, onset - 30 * MINUTE)


def _dependency_outage(rng: np.random.Generator, sc: Scenario, shape: str | None) -> None:
    sc.root = "carrier-gateway"
    sc.variant = _pick(rng, ("errors", "timeouts", "unreachable"))
    sc.shape = shape or _pick(rng, ("step", "step", "ramp", "exp"))
    onset = _onset(rng, sc, 15, 60)
    level = 0.12 + 0.8 * sc.severity
    root = sc.root
    if sc.variant == "unreachable":  # its probes fail: up 0, nothing else reported by it
        down = sc.times >= onset
        sc.series[(root, "up")][down] = 0
        for metric in ("request_rate", "error_rate", "latency_p95_ms", "probe_latency_ms"):
            sc.series[(root, metric)][down] = np.nan
        sc.shape = "step"
        cross = onset
    else:
        _grow(rng, sc, root, "error_rate", onset, level, sc.shape)
        np.clip(sc.series[(root, "error_rate")], 0, 1, out=sc.series[(root, "error_rate")])
        if sc.variant == "timeouts":  # calls hang until the client's timeout
            timeout = float(rng.choice([5000.0, 10000.0, 30000.0]))
            k = shape_curve(sc.shape, _x(sc, onset), rng)
            lat = sc.series[(root, "latency_p95_ms")]
            lat[:] = lat + (timeout - lat) * k
        cross = _crossing(sc, root, "error_rate")
    first = first_firings(sc).get(root)
    fired = first[0] if first else cross + 120
    direct = sc.direct_dependants(root)
    # dependants' errors rise a little after the external's; they never fire before its incident
    dep_onset = max(cross + STEP_S, fired - 60)
    errors = (0.03 + 0.05 * sc.severity, 0.08 + 0.2 * sc.severity)
    sc.details["errors"] = _dependants_effect(rng, sc, direct, "error_rate", dep_onset, (1, 1), add=errors)
    sc.details["latency"] = _dependants_effect(rng, sc, direct, "latency_p95_ms", dep_onset, (1.3, 2.5))
    sc.start = onset
    sc.details.update(level=round(level, 3), onset_min=(int(sc.times[-1]) - onset) // 60)
    _distractor_events(rng, sc, {root, *direct}, onset - HOUR)


def _disk_filling(rng: np.random.Generator, sc: Scenario, shape: str | None) -> None:
    disks = [s.name for s in sc.services if "disk_pct" in s.metrics]
    sc.root = "postgres" if rng.random() < 0.5 else _pick(rng, disks)
    sc.shape = shape or _pick(rng, SHAPES_GROWING)
    level = 86.5 + 11.5 * sc.severity  # 86.5 % … 98 %: never full yet
    onset = _onset(rng, sc, 60, 300)
    _grow(rng, sc, sc.root, "disk_pct", onset, level, sc.shape)
    np.clip(sc.series[(sc.root, "disk_pct")], 0, 99.0, out=sc.series[(sc.root, "disk_pct")])
    sc.start = onset
    sc.details.update(level=round(level, 1), onset_min=(int(sc.times[-1]) - onset) // 60)
    _distractor_events(rng, sc, {sc.root}, onset - 30 * MINUTE)


def _service_down(rng: np.random.Generator, sc: Scenario, shape: str | None) -> None:
    candidates = [s.name for s in sc.services if s.kind in ("worker", "api", "web")]
    sc.root = _pick(rng, candidates)
    sc.variant = _pick(rng, ("hard", "hard", "flaky"))
    sc.shape = "step"
    end = int(sc.times[-1])
    onset = end - int(rng.integers(4, 31)) * MINUTE
    down = sc.times >= onset
    up = sc.series[(sc.root, "up")]
    up[down] = 0
    if sc.variant == "flaky":  # a probe gets through now and then
        idx = np.flatnonzero(down)
        lucky = idx[3 :: int(rng.integers(5, 9))]
        up[lucky[lucky < len(up) - 3]] = 1
    for metric in sc.service(sc.root).metrics:  # a service that is down reports nothing else
        if metric != "up":
            sc.series[(sc.root, metric)][down & (up == 0)] = np.nan
    sc.start = onset
    direct = [d for d in sc.direct_dependants(sc.root)]
    if direct:
        sc.details["callers"] = _dependants_effect(
            rng, sc, direct, "error_rate", onset + STEP_S, (1, 1), add=(0.03, 0.25)
        )
    sc.details.update(onset_min=(end - onset) // 60)
    _distractor_events(rng, sc, {sc.root}, onset - HOUR)


def _latency_regression(rng: np.random.Generator, sc: Scenario, shape: str | None) -> None:
    sc.root = _pick(rng, ["api", "web", "web"])
    sc.shape = shape or _pick(rng, SHAPES_ANY)
    level = 900 * (5.5**sc.severity)  # 0.9 s … 5 s p95
    onset = _onset(rng, sc, 20, 100)
    _grow(rng, sc, sc.root, "latency_p95_ms", onset, level, sc.shape)
    sc.start = onset
    cross = _crossing(sc, sc.root, "latency_p95_ms")
    if sc.root == "api":  # the web front end waits for the api: part of its p95
        sc.details["callers"] = _dependants_effect(
            rng, sc, ["web"], "latency_p95_ms", cross, (1, 1), add=(0.5 * level, 0.9 * level)
        )
    sc.details.update(level=round(level), onset_min=(int(sc.times[-1]) - onset) // 60)
    _distractor_events(rng, sc, {sc.root, "web", "api"}, onset - 2 * HOUR)


_EPISODES: dict[str, Callable[[np.random.Generator, Scenario, str | None], None]] = {
    "queue_backlog": _queue_backlog,
    "db_saturation": _db_saturation,
    "error_spike_after_deploy": _error_spike_after_deploy,
    "memory_leak": _memory_leak,
    "dependency_outage": _dependency_outage,
    "disk_filling": _disk_filling,
    "service_down": _service_down,
    "latency_regression": _latency_regression,
}


# ---------------------------------------------------------------- healthy and ambiguous companies


def healthy_scenario(
    seed: int, *, now: datetime | None = None, company: str | None = None, unique: bool = True
) -> Scenario:
    """A noisy, bursty company that never breaches a default rule for its ``for_s``."""
    rng = _seeded("healthy", seed)
    base = _base_scenario(
        rng, kind="healthy", pattern=None, seed=seed, company=company or _slug("healthy", seed, unique),
        hours=4.0, end=end_of_data(now),
    )  # fmt: skip
    for attempt in range(16):
        sc = _copy(base)
        draw = _seeded("healthy-bursts", seed, attempt)
        sc.details["bursts"] = _bursts(draw, sc, int(draw.integers(6, 14)))
        _distractor_events(draw, sc, set(), int(sc.times[-1]))
        if not first_firings(sc):
            sc.details["attempt"] = attempt
            return sc
    raise RuntimeError(f"healthy scenario {seed} fires whatever the bursts: {first_firings(base)}")


def ambiguous_scenario(
    seed: int,
    variant: str | None = None,
    *,
    now: datetime | None = None,
    company: str | None = None,
    unique: bool = True,
) -> Scenario:
    """An incident no pattern explains; the agent should answer ``unknown`` with low confidence.

    ``cpu_alone``: cpu_pct high on one service for a while, every other metric of it and of the
    company as usual. ``custom_metric``: a metric outside the catalogue (``kafka_consumer_lag``)
    climbing on a worker, and an Alertmanager alert on it. ``manual``: an operator opens an incident
    by hand ("customers report slow label printing") while every series is healthy.
    """
    rng = _seeded("ambiguous", seed)
    variant = variant or _pick(rng, AMBIGUOUS)
    if variant not in AMBIGUOUS:
        raise ValueError(f"variant must be one of {AMBIGUOUS}")
    base = _base_scenario(
        rng, kind="ambiguous", pattern="unknown", seed=seed,
        company=company or _slug(f"amb-{variant.replace('_', '')}", seed, unique), hours=3.0,
        end=end_of_data(now),
    )  # fmt: skip
    base.variant = variant
    fired: dict = {}
    for attempt in range(16):
        sc = _copy(base)
        _AMBIGUOUS_EPISODES[variant](_seeded("ambiguous-episode", variant, seed, attempt), sc)
        fired = first_firings(sc)
        if variant == "cpu_alone":
            ok = set(fired) == {sc.root} and fired[sc.root][1] == "cpu_pct"
        else:
            ok = not fired
        if ok:
            sc.details["attempt"] = attempt
            return sc
    raise RuntimeError(f"ambiguous scenario {variant} {seed} fires unexpectedly: {fired}")


def _cpu_alone(rng: np.random.Generator, sc: Scenario) -> None:
    end = int(sc.times[-1])
    sc.root = _pick(rng, ["api", "web", "dispatch-worker", "tracking"])
    sc.shape = _pick(rng, ("step", "step", "step_ramp"))
    onset = end - int(rng.integers(25, 70)) * MINUTE
    level = float(rng.uniform(89, 94))
    _grow(rng, sc, sc.root, "cpu_pct", onset, level, sc.shape)
    np.clip(sc.series[(sc.root, "cpu_pct")], 0, 94.5, out=sc.series[(sc.root, "cpu_pct")])
    sc.start = onset
    sc.details.update(level=round(level, 1), onset_min=(end - onset) // 60)
    sc.details["bursts"] = _bursts(rng, sc, int(rng.integers(0, 4)), exclude=(sc.root,), before=onset)


def _custom_metric(rng: np.random.Generator, sc: Scenario) -> None:
    end = int(sc.times[-1])
    sc.root = _pick(rng, ["tracking", "dispatch-worker"])
    onset = end - int(rng.integers(20, 50)) * MINUTE
    lag = np.abs(200 + 80 * rng.standard_normal(len(sc.times)))
    lag += np.clip((sc.times - onset) / (end - onset), 0, 1) * float(rng.uniform(20_000, 90_000))
    sc.series[(sc.root, "kafka_consumer_lag")] = np.round(lag)
    sc.start = onset
    fingerprint = f"{int(rng.integers(0, 2**62)):016x}"[:16]
    labels = {"alertname": "KafkaConsumerLagHigh", "severity": "warning", "service": sc.root}
    sc.alerts.append(
        {
            "version": "4",
            "groupKey": f'{{}}:{{alertname="KafkaConsumerLagHigh",service="{sc.root}"}}',
            "truncatedAlerts": 0,
            "status": "firing",
            "receiver": "calmops",
            "groupLabels": {"alertname": "KafkaConsumerLagHigh"},
            "commonLabels": {"alertname": "KafkaConsumerLagHigh", "severity": "warning"},
            "commonAnnotations": {},
            "externalURL": "http://alertmanager.invalid:9093",
            "alerts": [
                {
                    "status": "firing",
                    "labels": labels,
                    "annotations": {
                        "summary": f"Kafka consumer lag high on {sc.root}",
                        "description": "kafka_consumer_lag above 10,000 messages for 10m",
                    },
                    "startsAt": _iso(onset + 10 * MINUTE),
                    "endsAt": "0001-01-01T00:00:00Z",
                    "fingerprint": fingerprint,
                }
            ],
        }
    )
    sc.details["bursts"] = _bursts(rng, sc, int(rng.integers(0, 3)), exclude=(sc.root,))


def _manual(rng: np.random.Generator, sc: Scenario) -> None:
    end = int(sc.times[-1])
    sc.root = _pick(rng, ["web", "api", "tracking"])
    sc.start = end - int(rng.integers(5, 30)) * MINUTE
    sc.manual.append(
        {
            "title": "Customers report slow label printing",
            "service": sc.root,
            "severity": _pick(rng, ("warning", "high")),
            "description": "Two support tickets in the last half hour; nothing obvious on the dashboards",
            "customer_impact": bool(rng.random() < 0.5),
            "actor": "synthetic-oncall",
        }
    )
    sc.details["bursts"] = _bursts(rng, sc, int(rng.integers(0, 4)))


_AMBIGUOUS_EPISODES: dict[str, Callable[[np.random.Generator, Scenario], None]] = {
    "cpu_alone": _cpu_alone,
    "custom_metric": _custom_metric,
    "manual": _manual,
}


# ---------------------------------------------------------------- replay over the API


def _iso(epoch_s: int) -> str:
    return datetime.fromtimestamp(int(epoch_s), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check(answer: requests.Response, what: str, ok: tuple[int, ...] = (200, 201)) -> dict:
    if answer.status_code not in ok:
        raise RuntimeError(f"{what}: HTTP {answer.status_code} {answer.text[:500]}")
    return answer.json() if answer.content else {}


def replay(
    url: str, sc: Scenario, *, session: requests.Session | None = None, chunk_s: int = CHUNK_S
) -> Injected:
    """Push ``sc`` through the public API of the server at ``url``; return what was injected.

    Company and services first (upstreams before dependants); then the snapshots in time order,
    ``chunk_s`` seconds per push, each push preceded by the events that happened by its end (a
    deploy is on record before the errors it causes are judged); then alerts and hand-made incidents.
    Detection judges each push after answering; call ``settle`` to wait for it.
    """
    http = session or requests.Session()
    api = f"{url}/api/ops"
    company = {"company": sc.company, "name": f"Synthetic {sc.company}"}
    _check(http.post(f"{api}/companies", json=company, timeout=30), "company")
    for svc in sc.services:
        body = {
            "company": sc.company, "service": svc.name, "kind": svc.kind,
            "depends_on": list(svc.depends_on), "customer_facing": svc.customer_facing,
        }  # fmt: skip
        _check(http.post(f"{api}/services", json=body, timeout=30), f"service {svc.name}")
    stamps = [_iso(t) for t in sc.times]
    keys = list(sc.series)
    events = sorted(sc.events, key=lambda e: e.ts)
    start = int(sc.times[0])
    end = int(sc.times[-1])
    while start <= end:
        stop = start + chunk_s
        while events and events[0].ts < stop:
            event = events.pop(0)
            body = {
                "company": sc.company, "service": event.service, "kind": event.kind,
                "ts": _iso(event.ts), "description": event.description,
            }  # fmt: skip
            if event.version:
                body["version"] = event.version
            _check(http.post(f"{api}/events", json=body, timeout=30), "event")
        lo, hi = np.searchsorted(sc.times, [start, stop])
        items = [
            {"service": service, "metric": metric, "ts": stamps[i], "value": float(value)}
            for i in range(lo, hi)
            for (service, metric) in keys
            if (value := _rounded(metric, sc.series[(service, metric)][i])) is not None
        ]
        if items:
            body = {"company": sc.company, "snapshots": items}
            answer = _check(http.post(f"{api}/snapshots", json=body, timeout=60), "snapshots")
            if answer.get("accepted") != len(items):
                raise RuntimeError(f"push not accepted whole: {answer}")
        start = stop
    for alert in sc.alerts:
        _check(http.post(f"{api}/alerts", params={"company": sc.company}, json=alert, timeout=30), "alert")
    for manual in sc.manual:
        _check(http.post(f"{api}/incidents", json={"company": sc.company, **manual}, timeout=30), "incident")
    return Injected(
        company=sc.company,
        kind=sc.kind,
        pattern=sc.pattern,
        root=sc.root,
        start=datetime.fromtimestamp(sc.start, UTC) if sc.start is not None else None,
        seed=sc.seed,
        description=sc.describe(),
        dependants=sc.dependants,
    )


def _rounded(metric: str, value: float) -> float | None:
    if value != value:  # NaN: not reported
        return None
    if metric in ("up", "queue_depth"):
        return float(round(value))
    return round(float(value), 4 if metric == "error_rate" else 2)


def incidents_of(url: str, company: str, session: requests.Session | None = None) -> list[dict]:
    http = session or requests
    answer = http.get(f"{url}/api/ops/incidents", params={"company": company, "limit": 1000}, timeout=30)
    return _check(answer, "incidents")["incidents"]


def settle(
    url: str,
    company: str,
    *,
    session: requests.Session | None = None,
    quiet_s: float = 2.0,
    timeout_s: float = 60.0,
    at_least: int = 0,
) -> list[dict]:
    """Wait until detection is done with the company: its incident list (ids, statuses, severities,
    affected services aside) unchanged for ``quiet_s`` and at least ``at_least`` incidents."""
    deadline = time.monotonic() + timeout_s
    last, since = None, time.monotonic()
    while True:
        found = incidents_of(url, company, session)
        key = json.dumps(
            [(i["id"], i["status"], i["severity"], i.get("version")) for i in found], sort_keys=True
        )
        now = time.monotonic()
        if key != last:
            last, since = key, now
        elif now - since >= quiet_s and len(found) >= at_least:
            return found
        if now > deadline:
            return found
        time.sleep(0.25)


def incident(url: str, company: str, incident_id: int, session: requests.Session | None = None) -> dict:
    http = session or requests
    answer = http.get(f"{url}/api/ops/incidents/{incident_id}", params={"company": company}, timeout=30)
    return _check(answer, f"incident {incident_id}")


def brief_of(
    url: str,
    company: str,
    incident_id: int,
    *,
    session: requests.Session | None = None,
    timeout_s: float = 20.0,
    quiet_s: float = 1.0,
) -> dict:
    """The incident once its brief is written and stable for ``quiet_s`` (or as it is at the timeout)."""
    deadline = time.monotonic() + timeout_s
    last, since = None, time.monotonic()
    while True:
        body = incident(url, company, incident_id, session)
        brief = body.get("brief")
        key = json.dumps(brief, sort_keys=True, default=str)
        now = time.monotonic()
        if brief and key == last and now - since >= quiet_s:
            return body
        if key != last:
            last, since = key, now
        if now > deadline:
            return body
        time.sleep(0.25)


def primary_incident(
    url: str,
    injected: Injected,
    found: list[dict],
    *,
    session: requests.Session | None = None,
    brief_timeout_s: float = 20.0,
) -> dict | None:
    """The incident a replay is about, with its brief: of the root service's incidents, the one the
    most services joined, then the earliest started (a dependency outage with timeouts can open a
    latency incident and an error incident on the root; its dependants join one of them)."""
    mine = [i for i in found if i["service"] == injected.root]
    if not mine:
        return None
    details = [incident(url, injected.company, i["id"], session) for i in mine]
    best = min(details, key=lambda d: (-len(d.get("services") or []), d["started_at"], d["id"]))
    return brief_of(url, injected.company, best["id"], session=session, timeout_s=brief_timeout_s)


def brief_text(brief: dict | None) -> str:
    """Everything a brief says, as one string (to look for a service's name in it)."""
    return json.dumps(brief or {}, sort_keys=True, default=str)
