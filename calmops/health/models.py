"""The current state of services and companies, as the Health page and `/api/ops/health` show it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from calmops.vocabulary import HealthStatus, Severity


@dataclass(frozen=True)
class MetricState:
    """One metric's newest value, judged against the rules that watch it."""

    metric: str
    value: float
    ts: datetime
    threshold: float | None  # the lowest-tier threshold that applies, for display
    comparison: str | None
    breached_severity: Severity | None  # the worst rule breached right now, if any

    @property
    def breached(self) -> bool:
        return self.breached_severity is not None


@dataclass(frozen=True)
class ServiceHealth:
    service: str
    kind: str
    customer_facing: bool
    status: HealthStatus
    last_seen: datetime | None
    metrics: dict[str, MetricState] = field(default_factory=dict)
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class CollectorState:
    """How the process that feeds snapshots (collector or demo simulation) is doing."""

    last_round_at: datetime | None
    ok: bool
    running: bool
    error: str | None = None


@dataclass(frozen=True)
class CompanyHealth:
    company: str
    name: str
    status: HealthStatus
    checked_at: datetime
    newest_snapshot: datetime | None
    stale: bool
    open_incidents: int
    services: list[ServiceHealth]
    collector: CollectorState | None = None
