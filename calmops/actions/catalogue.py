"""The action catalogue's guard rails and verify-after-act settings, in one place.

DESIGN.md: only ``safe`` actions run by themselves, at most a few times an hour per service with
a cooldown between attempts, and an action that did not help an incident is not tried on it
again. Every number here can be overridden per call (tests pass their own ``GuardRails``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from calmops.config import settings
from calmops.vocabulary import Action, metric_info


@dataclass(frozen=True)
class GuardRails:
    """Limits on automatic actions, per (company, service, action)."""

    max_per_hour: int = 3
    cooldown: timedelta = timedelta(minutes=10)
    settle: timedelta = timedelta(minutes=5)  # how long an action gets before it is judged


DEFAULT_RAILS = GuardRails(settle=timedelta(seconds=settings().settle_s))  # CALMOPS_SETTLE_S

# Safe by risk, but a person's call: waiting is not an action, and escalating is the workflow's.
RECOMMEND_ONLY: frozenset[Action] = frozenset({Action.WAIT_AND_WATCH, Action.ESCALATE_TO_LEAD})

# Verify-after-act reads the median of the samples in this window before the action and at the
# end of the settle time; a series that went quiet still counts its newest value this far back.
RECENT_WINDOW = timedelta(minutes=3)
STALE_AFTER = timedelta(minutes=15)
# After the settle time, how long a verification waits for late samples before giving up.
VERIFY_GRACE = timedelta(minutes=10)
# An attempt still pending this long after it was planned was never carried out (its dispatcher
# stopped, or was never called): it is failed, so it no longer holds its incident "settling".
# Longer than the slowest webhook delivery (60 s timeout, 5 retries, backoff).
ABANDONED_AFTER = timedelta(minutes=15)

# Higher is worse for every canonical metric except these.
LOWER_IS_WORSE: frozenset[str] = frozenset({"up"})

# A clear margin: at least ``floor`` (in the metric's unit) and at least ``share`` of the value
# before. Percent metrics are bounded, so a smaller share of them is already a clear move.
DEFAULT_MARGIN = (0.0, 0.10)
MARGINS: dict[str, tuple[float, float]] = {
    "up": (0.5, 0.0),
    "error_rate": (0.01, 0.10),
    "latency_p95_ms": (100.0, 0.10),
    "probe_latency_ms": (100.0, 0.10),
    "queue_depth": (100.0, 0.10),
    "request_rate": (1.0, 0.10),
    "cpu_pct": (2.0, 0.05),
    "memory_pct": (2.0, 0.05),
    "db_connections_pct": (2.0, 0.05),
    "disk_pct": (2.0, 0.05),
}

# The metrics an action is meant to move, most telling first: an approved action is verified on
# the incident's own metric when it is one of these, else on the first its service reports.
ACTION_METRICS: dict[Action, tuple[str, ...]] = {
    Action.SCALE_WORKERS: ("queue_depth", "latency_p95_ms"),
    Action.OPEN_CIRCUIT_BREAKER: ("error_rate", "latency_p95_ms"),
    Action.ROTATE_LOGS: ("disk_pct",),
    Action.WAIT_AND_WATCH: (),
    Action.RESTART_SERVICE: ("up", "memory_pct", "error_rate"),
    Action.PAUSE_BATCH_JOBS: ("queue_depth", "db_connections_pct"),
    Action.ENABLE_READ_REPLICA_ROUTING: ("db_connections_pct", "latency_p95_ms"),
    Action.ROLLBACK_DEPLOY: ("error_rate", "latency_p95_ms"),
    Action.EXPAND_VOLUME: ("disk_pct",),
    Action.ESCALATE_TO_LEAD: (),
}

# A circuit breaker protects the callers, not the failing service: it is judged on them.
JUDGED_ON_CALLERS: frozenset[Action] = frozenset({Action.OPEN_CIRCUIT_BREAKER})


def label(action: Action | str) -> str:
    """``scale_workers`` → ``scale workers``, for timeline messages."""
    return str(Action(action).value).replace("_", " ")


def margin(metric: str, before: float) -> float:
    floor, share = MARGINS.get(metric, DEFAULT_MARGIN)
    return max(floor, share * abs(before))


def higher_is_worse(metric: str) -> bool:
    return metric not in LOWER_IS_WORSE


def metric_label(metric: str) -> str:
    return metric_info(metric).label.lower() if metric else "the metric"
