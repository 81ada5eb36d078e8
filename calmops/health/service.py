"""Judge each service's newest metrics against the company's threshold rules.

A service is `down` when its `up` rule is breached, `degraded` when any other rule is, `unknown`
when it has reported nothing for three collection intervals (a blind dashboard must never look
green), and `ok` otherwise. A company is as bad as its worst service.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from calmops import clock, companies
from calmops.detect.rules import Rule, list_rules
from calmops.health.models import CollectorState, CompanyHealth, MetricState, ServiceHealth
from calmops.store.db import Cursor
from calmops.vocabulary import HealthStatus

STALE_INTERVALS = 3


def judge_metric(metric: str, value: float, ts: datetime, rules: list[Rule]) -> MetricState:
    """The metric against every rule that watches it: worst breach and the first threshold."""
    watching = sorted(rules, key=lambda r: r.severity.rank)
    worst = None
    for rule in watching:
        if rule.breached(value) and (worst is None or rule.severity.rank > worst.rank):
            worst = rule.severity
    first = watching[0] if watching else None
    return MetricState(
        metric=metric,
        value=value,
        ts=ts,
        threshold=first.threshold if first else None,
        comparison=first.comparison if first else None,
        breached_severity=worst,
    )


def expected_interval(cur: Cursor, *, company: str, collect_s: float) -> float:
    """How often fresh data should arrive: every collector round, or every target's own interval
    when all of them ask for a slower one (a target probed each minute is not stale at 90 s)."""
    slowest = cur.execute(
        "SELECT min(interval_s) FROM targets WHERE company = ? AND enabled", [company]
    ).fetchall()[0][0]
    return max(collect_s, slowest or 0.0)


def company_status(statuses: list[HealthStatus], *, stale: bool) -> HealthStatus:
    """`down` if a service is down; `degraded` if one is degraded or unseen, or data is stale."""
    if HealthStatus.DOWN in statuses:
        return HealthStatus.DOWN
    if stale or not statuses or any(s != HealthStatus.OK for s in statuses):
        return HealthStatus.DEGRADED
    return HealthStatus.OK


def company_health(
    cur: Cursor,
    *,
    company: str,
    interval_s: float,
    now: datetime | None = None,
    collector: CollectorState | None = None,
) -> CompanyHealth:
    """Every service of ``company`` with its status, newest metrics and the reasons for it."""
    info = companies.get_company(cur, company=company)
    now = now or clock.now()
    rules = list_rules(cur, company=company, enabled_only=True)
    stale_after = timedelta(
        seconds=STALE_INTERVALS * expected_interval(cur, company=company, collect_s=interval_s)
    )
    known = {s.service: s for s in companies.list_services(cur, company=company)}
    newest_by_service: dict[str, list[tuple[str, datetime, float]]] = {name: [] for name in known}
    newest: datetime | None = None
    for service, metric, labels, ts, value in cur.execute(
        "SELECT service, metric, labels, ts, value FROM latest WHERE company = ?", [company]
    ).fetchall():
        newest = ts if newest is None or ts > newest else newest
        if labels == "":  # the canonical view; labelled series count for freshness only
            newest_by_service.setdefault(service, []).append((metric, ts, value))

    services = []
    for name in sorted(newest_by_service):
        metrics: dict[str, MetricState] = {}
        for metric, ts, value in sorted(newest_by_service[name]):
            watching = [r for r in rules if r.metric == metric and r.applies_to(name)]
            metrics[metric] = judge_metric(metric, float(value), ts, watching)
        last_seen = max((m.ts for m in metrics.values()), default=None)
        reasons = tuple(
            f"{m.metric} {m.value:g} breaches its {m.breached_severity.value} threshold"
            for m in metrics.values()
            if m.breached and m.metric != "up"
        )
        if last_seen is None:
            status, reasons = HealthStatus.UNKNOWN, ("no health data yet",)
        elif now - last_seen > stale_after:
            status, reasons = HealthStatus.UNKNOWN, (f"no data since {last_seen:%Y-%m-%d %H:%M} UTC",)
        elif "up" in metrics and metrics["up"].breached:
            status, reasons = HealthStatus.DOWN, ("not answering its health check", *reasons)
        elif reasons:
            status = HealthStatus.DEGRADED
        else:
            status = HealthStatus.OK
        svc = known.get(name)
        services.append(
            ServiceHealth(
                service=name,
                kind=svc.kind.value if svc else "other",
                customer_facing=svc.customer_facing if svc else False,
                status=status,
                last_seen=last_seen,
                metrics=metrics,
                reasons=reasons,
            )
        )

    stale = newest is None or now - newest > stale_after or (collector is not None and not collector.running)
    open_incidents = cur.execute(
        "SELECT count(*) FROM incidents WHERE company = ? AND status <> 'resolved'", [company]
    ).fetchall()[0][0]
    status = company_status([s.status for s in services], stale=stale)
    return CompanyHealth(
        company=company,
        name=info.name,
        status=status,
        checked_at=now,
        newest_snapshot=newest,
        stale=stale,
        open_incidents=open_incidents,
        services=services,
        collector=collector,
    )
