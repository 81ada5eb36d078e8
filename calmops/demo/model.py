"""The healthy value model: what every (service, metric) of the demo world reports at a time ``t``.

Values are pure functions of (seed, company, service, metric, t): the noise is a counter-based
hash of the time, not a stateful random stream, so the history builder, the live simulation and
a backfill after downtime all compute exactly the same value for the same instant, whatever
chunks they work in. Healthy values stay clearly below the default thresholds in
``calmops.detect.rules.DEFAULT_RULES``; only injected episodes cross them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from calmops.demo.world import CompanyProfile, ServiceSpec, stable_hash
from calmops.vocabulary import ServiceKind

DAY_S = 86_400
WEEK_S = 7 * DAY_S
DEPLOY_BLIP_S = 180  # a rolling deploy disturbs cpu, latency and errors for about three minutes
RESTART_MEMORY_S = 7_200  # after a restart memory starts lower and grows back over two hours

# Decimals per metric when stored: 2 by default (compresses well in DuckDB), error_rate 4.
DECIMALS: dict[str, int] = {"up": 0, "queue_depth": 0, "error_rate": 4}


@dataclass(frozen=True)
class ServiceModel:
    """The healthy behaviour of one service, for a tenant of scale 1 at peak business hours."""

    rps: float  # requests (queries, jobs, events) per second at peak
    error: float  # error fraction at peak
    latency_ms: float  # p95 when idle
    latency_load: float  # relative p95 growth at peak (0.6 = +60 %)
    cpu: tuple[float, float]  # idle %, added at peak
    memory: tuple[float, float]  # idle %, added at peak
    probe_ms: float = 12.0
    queue: float = 0.0  # jobs waiting at peak
    batch_hour: float | None = None  # local hour of a nightly batch (queue and cpu bump)
    batch_jobs: float = 0.0
    deploys_per_day: float = 0.0  # on weekdays


MODELS: dict[str, ServiceModel] = {
    "web": ServiceModel(220, 0.003, 210, 0.6, (10, 35), (38, 12), 14, deploys_per_day=0.5),
    "api": ServiceModel(900, 0.002, 130, 0.7, (12, 40), (42, 14), 9, deploys_per_day=0.7),
    "dispatch-worker": ServiceModel(120, 0.002, 260, 0.5, (10, 38), (40, 12), 10, 350, deploys_per_day=0.3),
    "tracking-ingest": ServiceModel(1500, 0.001, 85, 0.5, (14, 35), (44, 10), 8, 500, deploys_per_day=0.3),
    "carrier-gateway": ServiceModel(80, 0.003, 320, 0.3, (6, 18), (30, 8), 60, deploys_per_day=0.1),
    "billing": ServiceModel(15, 0.002, 240, 0.4, (5, 20), (35, 8), 10, 40, 2.0, 900, 0.2),
    "postgres": ServiceModel(2500, 0.0005, 9, 0.8, (15, 42), (62, 10), 4),
    "redis": ServiceModel(9000, 0.0002, 1.4, 0.4, (6, 22), (48, 18), 2),
    "notifications": ServiceModel(60, 0.003, 400, 0.4, (6, 20), (36, 8), 12, 200, deploys_per_day=0.2),
    "routing-engine": ServiceModel(200, 0.001, 260, 0.6, (15, 40), (45, 12), 12, deploys_per_day=0.2),
    "webhooks-out": ServiceModel(90, 0.004, 350, 0.4, (6, 18), (34, 8), 12, 250, deploys_per_day=0.15),
    "reporting": ServiceModel(3, 0.001, 420, 0.3, (4, 10), (30, 10), 12, 20, 3.0, 300, 0.1),
}
KIND_MODELS: dict[ServiceKind, ServiceModel] = {
    ServiceKind.WEB: MODELS["web"],
    ServiceKind.API: MODELS["api"],
    ServiceKind.WORKER: ServiceModel(30, 0.002, 200, 0.4, (6, 22), (35, 10), 10, 150, deploys_per_day=0.1),
    ServiceKind.DATABASE: MODELS["postgres"],
    ServiceKind.CACHE: MODELS["redis"],
    ServiceKind.QUEUE: MODELS["redis"],
    ServiceKind.EXTERNAL: MODELS["carrier-gateway"],
    ServiceKind.OTHER: ServiceModel(30, 0.002, 200, 0.4, (6, 22), (35, 10), 10, deploys_per_day=0.1),
}


def model_for(service: ServiceSpec) -> ServiceModel:
    return MODELS.get(service.name) or KIND_MODELS[service.kind]


# ---------------------------------------------------------------- counter-based noise


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a well-spread 64-bit hash of every element."""
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def uniform(key: int, counter: np.ndarray) -> np.ndarray:
    """Uniform [0, 1) values, one per counter, fixed by ``key``."""
    z = _mix64(counter.astype(np.uint64) ^ np.uint64(key & 0xFFFFFFFFFFFFFFFF))
    return (z >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def white(key: int, t: np.ndarray) -> np.ndarray:
    """Zero-mean triangular noise in [-1, 1], independent per timestamp."""
    z = _mix64(t.astype(np.uint64) ^ np.uint64(key & 0xFFFFFFFFFFFFFFFF))
    high = (z >> np.uint64(32)).astype(np.float64)
    low = (z & np.uint64(0xFFFFFFFF)).astype(np.float64)
    return (high + low) / float(1 << 32) - 1.0


def smooth(key: int, t: np.ndarray, period_s: int) -> np.ndarray:
    """Value noise in [-1, 1]: random knots every ``period_s``, eased in between (no jumps)."""
    knot = t // period_s
    first = int(knot.min())
    knots = 2.0 * uniform(key, np.arange(first, int(knot.max()) + 2, dtype=np.int64)) - 1.0
    index = knot - first
    frac = (t - knot * period_s) / period_s
    ease = 0.5 - 0.5 * np.cos(np.pi * frac)
    return knots[index] + (knots[index + 1] - knots[index]) * ease


@dataclass(frozen=True)
class Noise:
    """The two noise components of one series: slow wander and sample-to-sample jitter."""

    drift: np.ndarray  # smooth, [-1, 1]
    jitter: np.ndarray  # white, [-1, 1]


def series_noise(seed: int, company: str, service: str, metric: str, t: np.ndarray) -> Noise:
    key = stable_hash(seed, company, service, metric)
    drift = 0.6 * smooth(key ^ 0x51, t, 1_200) + 0.4 * smooth(key ^ 0xA7, t, 7_200)
    return Noise(drift, white(key ^ 0x3C, t))


# ---------------------------------------------------------------- seasonality


def _rise(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(x))


def load(profile: CompanyProfile, t: np.ndarray) -> np.ndarray:
    """Traffic as a share of the weekday peak (0.16 at night … 1.0), in the tenant's local time."""
    local = t + int(profile.utc_offset_h * 3600)
    hour = (local % DAY_S) / 3600.0
    weekday = ((local // DAY_S) + 3) % 7  # 0 = Monday; 1970-01-01 was a Thursday
    business = _rise((hour - 7.5) / 0.9) * _rise((18.5 - hour) / 1.3)
    business *= 1.0 - 0.08 * np.exp(-(((hour - 12.5) / 0.8) ** 2))  # lunch dip
    return np.where(weekday >= 5, 0.16 + 0.30 * business, 0.16 + 0.84 * business)


def _batch(profile: CompanyProfile, model: ServiceModel, t: np.ndarray) -> np.ndarray:
    """A nightly batch: jobs arrive at ``batch_hour`` local and drain within the hour (0 … 1)."""
    if model.batch_hour is None:
        return np.zeros(t.shape)
    local = t + int(profile.utc_offset_h * 3600)
    since_h = ((local - int(model.batch_hour * 3600)) % DAY_S) / 3600.0
    x = since_h / 0.2
    return np.where(since_h < 2.0, x * np.exp(1.0 - x), 0.0)


def _disk_base(profile: CompanyProfile) -> float:
    return 52.0 + 14.0 * ((stable_hash("disk", profile.slug) & 0xFFFF) / 0xFFFF)


def baseline(
    profile: CompanyProfile,
    service: ServiceSpec,
    metric: str,
    t: np.ndarray,
    seed: int,
    traffic: np.ndarray | None = None,
) -> np.ndarray:
    """The healthy value of one series at every time in ``t`` (epoch seconds), unrounded.

    ``traffic`` is ``load(profile, t)`` when the caller already has it (it is the same for every series).
    """
    m = model_for(service)
    lo = load(profile, t) if traffic is None else traffic
    noise = series_noise(seed, profile.slug, service.name, metric, t)
    drift, jitter = noise.drift, noise.jitter
    if metric == "up":
        return np.ones(t.shape)
    if metric == "request_rate":
        return m.rps * profile.scale * lo * (1.0 + 0.06 * drift + 0.03 * jitter)
    if metric == "error_rate":
        amplitude = min(0.9, 0.3 + 3.0 / np.sqrt(m.rps * profile.scale + 1.0))
        return m.error * (0.6 + 0.8 * lo) * np.maximum(0.0, 1.0 + amplitude * (0.5 * drift + 0.5 * jitter))
    if metric == "latency_p95_ms":
        return m.latency_ms * (1.0 + m.latency_load * lo) * (1.0 + 0.08 * drift + 0.05 * jitter)
    if metric == "cpu_pct":
        return m.cpu[0] + m.cpu[1] * lo + 15.0 * _batch(profile, m, t) + 3.0 * drift + 1.5 * jitter
    if metric == "memory_pct":
        return m.memory[0] + m.memory[1] * lo + 1.5 * drift + 0.5 * jitter
    if metric == "queue_depth":
        size = 0.3 + 0.7 * profile.scale
        steady = max(m.queue, 20.0) * size * lo**2 * (1.0 + 0.3 * drift + 0.15 * jitter)
        return steady + m.batch_jobs * size * _batch(profile, m, t)
    if metric == "db_connections_pct":
        return 20.0 + 38.0 * lo + 3.0 * drift + 1.0 * jitter
    if metric == "disk_pct":
        # Grows through the week; the Sunday 03:00 (local) archive job frees it again.
        local = t + int(profile.utc_offset_h * 3600)
        week = ((local - (3 * DAY_S + 3 * 3600)) % WEEK_S) / WEEK_S
        return _disk_base(profile) + 8.0 * week + 0.4 * drift + 0.05 * jitter
    if metric == "probe_latency_ms":
        return m.probe_ms * (1.0 + 0.4 * lo) * (1.0 + 0.15 * drift + 0.1 * jitter)
    # A metric the model does not know (pushed by someone else): a calm wander around 50.
    return 50.0 + 5.0 * drift + jitter


def apply_deploys(values: dict[str, np.ndarray], t: np.ndarray, deploys: np.ndarray) -> None:
    """Rolling-deploy blips: a short cpu/latency/error bump, and memory restarting lower."""
    for at in deploys.tolist():
        since = t - at
        blip = (since >= 0) & (since < DEPLOY_BLIP_S)
        if blip.any():
            f = 1.0 - since[blip] / DEPLOY_BLIP_S
            if "cpu_pct" in values:
                values["cpu_pct"][blip] += 18.0 * f
            if "latency_p95_ms" in values:
                values["latency_p95_ms"][blip] *= 1.0 + 0.25 * f
            if "error_rate" in values:
                values["error_rate"][blip] += 0.003 * f
            if "probe_latency_ms" in values:
                values["probe_latency_ms"][blip] *= 1.0 + f
        restart = (since >= 0) & (since < RESTART_MEMORY_S)
        if "memory_pct" in values and restart.any():
            values["memory_pct"][restart] -= 8.0 * np.exp(-since[restart] / 1_800.0)


def finish(metric: str, values: np.ndarray) -> np.ndarray:
    """Clip to the metric's range and round as stored; NaN (no sample) stays NaN."""
    if metric == "error_rate":
        values = np.clip(values, 0.0, 1.0)
    elif metric.endswith("_pct"):
        values = np.clip(values, 0.0, 100.0)
    elif metric == "up":
        values = np.clip(values, 0.0, 1.0)
    else:
        values = np.maximum(values, 0.0)
    return np.round(values, DECIMALS.get(metric, 2))
