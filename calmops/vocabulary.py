"""The shared vocabulary of store, API, UI and reports (DESIGN.md, "Vocabulary")."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is worse, for sorting and "worst of" decisions."""
        return {"critical": 3, "high": 2, "warning": 1, "info": 0}[self.value]


class IncidentStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    MITIGATING = "mitigating"
    MONITORING = "monitoring"
    RESOLVED = "resolved"


class HealthStatus(StrEnum):
    """A service's or a company's state right now, judged against the threshold rules."""

    OK = "ok"
    DEGRADED = "degraded"
    DOWN = "down"
    UNKNOWN = "unknown"


class Risk(StrEnum):
    SAFE = "safe"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class RecommendationStatus(StrEnum):
    PROPOSED = "proposed"
    APPROVED = "approved"
    DECLINED = "declined"
    EXECUTING = "executing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SUPERSEDED = "superseded"


class Confidence(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class Pattern(StrEnum):
    QUEUE_BACKLOG = "queue_backlog"
    DB_SATURATION = "db_saturation"
    ERROR_SPIKE_AFTER_DEPLOY = "error_spike_after_deploy"
    MEMORY_LEAK = "memory_leak"
    DEPENDENCY_OUTAGE = "dependency_outage"
    DISK_FILLING = "disk_filling"
    SERVICE_DOWN = "service_down"
    LATENCY_REGRESSION = "latency_regression"
    UNKNOWN = "unknown"


class Action(StrEnum):
    SCALE_WORKERS = "scale_workers"
    OPEN_CIRCUIT_BREAKER = "open_circuit_breaker"
    ROTATE_LOGS = "rotate_logs"
    WAIT_AND_WATCH = "wait_and_watch"
    RESTART_SERVICE = "restart_service"
    PAUSE_BATCH_JOBS = "pause_batch_jobs"
    ENABLE_READ_REPLICA_ROUTING = "enable_read_replica_routing"
    ROLLBACK_DEPLOY = "rollback_deploy"
    EXPAND_VOLUME = "expand_volume"
    ESCALATE_TO_LEAD = "escalate_to_lead"


ACTION_RISK: dict[Action, Risk] = {
    Action.SCALE_WORKERS: Risk.SAFE,
    Action.OPEN_CIRCUIT_BREAKER: Risk.SAFE,
    Action.ROTATE_LOGS: Risk.SAFE,
    Action.WAIT_AND_WATCH: Risk.SAFE,
    Action.RESTART_SERVICE: Risk.LOW,
    Action.PAUSE_BATCH_JOBS: Risk.LOW,
    Action.ENABLE_READ_REPLICA_ROUTING: Risk.LOW,
    Action.ROLLBACK_DEPLOY: Risk.MEDIUM,
    Action.EXPAND_VOLUME: Risk.MEDIUM,
    Action.ESCALATE_TO_LEAD: Risk.SAFE,
}


class ServiceKind(StrEnum):
    WEB = "web"
    API = "api"
    WORKER = "worker"
    DATABASE = "database"
    CACHE = "cache"
    QUEUE = "queue"
    EXTERNAL = "external"
    OTHER = "other"


class EventKind(StrEnum):
    """Deploy and config-change events, which the agent reads as evidence."""

    DEPLOY = "deploy"
    CONFIG_CHANGE = "config_change"


@dataclass(frozen=True)
class MetricInfo:
    name: str
    unit: str
    label: str
    description: str
    decimals: int = 1


METRICS: dict[str, MetricInfo] = {
    m.name: m
    for m in (
        MetricInfo("up", "", "Up", "1 when the service answers its health check, 0 when not", 0),
        MetricInfo("request_rate", "req/s", "Request rate", "requests served per second", 1),
        MetricInfo("error_rate", "", "Error rate", "fraction of requests that failed (0–1)", 3),
        MetricInfo("latency_p95_ms", "ms", "Latency p95", "95th percentile response time", 0),
        MetricInfo("cpu_pct", "%", "CPU", "CPU utilisation", 0),
        MetricInfo("memory_pct", "%", "Memory", "memory utilisation", 0),
        MetricInfo("queue_depth", "jobs", "Queue depth", "jobs waiting in the queue", 0),
        MetricInfo("db_connections_pct", "%", "DB connections", "share of the pool in use", 0),
        MetricInfo("disk_pct", "%", "Disk", "disk space used", 0),
        MetricInfo("probe_latency_ms", "ms", "Probe latency", "time the health check took", 0),
    )
}
CANONICAL_METRICS: tuple[str, ...] = tuple(METRICS)


def metric_info(name: str) -> MetricInfo:
    """Info for a canonical metric, or a plain description for any other Prometheus-style name."""
    return METRICS.get(name) or MetricInfo(name, "", name, "reported by the service", 2)


def format_value(metric: str, value: float | None) -> str:
    """A metric value as an operator reads it: units, sensible decimals, error rate as a percent."""
    if value is None or value != value:  # None or NaN
        return "—"
    if metric == "up":
        return "up" if value >= 1 else "down"
    if metric == "error_rate":
        return f"{value * 100:.1f}%"
    info = metric_info(metric)
    text = f"{value:,.{info.decimals}f}"
    if info.unit == "%":
        return f"{text}%"
    return f"{text} {info.unit}".strip()
