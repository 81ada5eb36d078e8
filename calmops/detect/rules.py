"""Threshold rules: the defaults every company starts with, and how a value is judged."""

from __future__ import annotations

import operator
from dataclasses import dataclass
from datetime import datetime

from calmops import clock
from calmops.store.db import Cursor
from calmops.vocabulary import Severity

_COMPARE = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}


@dataclass(frozen=True)
class Rule:
    id: int | None
    company: str
    family: str
    name: str
    metric: str
    service: str | None
    comparison: str
    threshold: float
    clear_threshold: float | None
    for_s: int
    recovery_count: int
    severity: Severity
    enabled: bool = True
    version: int = 1

    def breached(self, value: float | None) -> bool:
        """True when ``value`` is on the wrong side of the threshold (NaN/None never breach)."""
        if value is None or value != value:
            return False
        return _COMPARE[self.comparison](value, self.threshold)

    def cleared(self, value: float | None) -> bool:
        """True when ``value`` is back beyond the clear threshold (hysteresis)."""
        if value is None or value != value:
            return False
        limit = self.threshold if self.clear_threshold is None else self.clear_threshold
        return not _COMPARE[self.comparison](value, limit)

    def applies_to(self, service: str) -> bool:
        return self.enabled and (self.service is None or self.service == service)

    def describe(self) -> str:
        """The condition as people say it: ``error_rate > 0.05 for 5m``."""
        text = f"{self.metric} {self.comparison} {self.threshold:g}"
        return f"{text} for {self.for_s // 60}m" if self.for_s >= 60 else f"{text} for {self.for_s}s"


# (metric, comparison, threshold, clear, for_s, severity): two tiers per metric share a family,
# so a worsening warning becomes the same incident at a higher severity.
DEFAULT_RULES: tuple[tuple[str, str, float, float | None, int, Severity], ...] = (
    ("up", "<", 1, 1, 60, Severity.CRITICAL),
    ("error_rate", ">", 0.02, 0.01, 300, Severity.WARNING),
    ("error_rate", ">", 0.10, 0.05, 120, Severity.CRITICAL),
    ("latency_p95_ms", ">", 800, 600, 300, Severity.WARNING),
    ("latency_p95_ms", ">", 2000, 1500, 300, Severity.HIGH),
    ("cpu_pct", ">", 85, 75, 600, Severity.WARNING),
    ("cpu_pct", ">", 95, 90, 300, Severity.HIGH),
    ("memory_pct", ">", 85, 80, 600, Severity.WARNING),
    ("memory_pct", ">", 95, 90, 120, Severity.CRITICAL),
    ("queue_depth", ">", 2000, 1000, 300, Severity.WARNING),
    ("queue_depth", ">", 10000, 5000, 120, Severity.CRITICAL),
    ("db_connections_pct", ">", 80, 70, 300, Severity.WARNING),
    ("db_connections_pct", ">", 95, 85, 120, Severity.CRITICAL),
    ("disk_pct", ">", 85, 80, 600, Severity.WARNING),
    ("disk_pct", ">", 95, 90, 60, Severity.CRITICAL),
    ("probe_latency_ms", ">", 2000, 1000, 300, Severity.WARNING),
)


def seed_default_rules(cur: Cursor, *, company: str, now: datetime | None = None) -> int:
    """Give a company the default rule set (in the caller's transaction)."""
    now = now or clock.now()
    for metric, comparison, threshold, clear, for_s, severity in DEFAULT_RULES:
        cur.execute(
            """INSERT INTO rules (company, family, name, metric, service, comparison, threshold,
                   clear_threshold, for_s, recovery_count, severity, created_at, updated_at)
               VALUES (?, ?, ?, ?, NULL, ?, ?, ?, ?, 2, ?, ?, ?)""",
            [
                company,
                metric,
                f"{metric} {severity.value}",
                metric,
                comparison,
                threshold,
                clear,
                for_s,
                severity.value,
                now,
                now,
            ],
        )
    return len(DEFAULT_RULES)


def list_rules(cur: Cursor, *, company: str, enabled_only: bool = False) -> list[Rule]:
    rows = cur.execute(
        f"""SELECT id, company, family, name, metric, service, comparison, threshold, clear_threshold,
                   for_s, recovery_count, severity, enabled, version
            FROM rules WHERE company = ? {"AND enabled" if enabled_only else ""}""",
        [company],
    ).fetchall()
    rows.sort(key=lambda r: (r[4], r[7], r[0]))  # metric, threshold (sorting a few rows here is cheaper)
    return [
        Rule(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], Severity(r[11]), r[12], r[13])
        for r in rows
    ]
