"""The pattern catalogue: for each known pattern, the evidence rules that recognise it and its
playbook (safe auto-actions, the recommendation, what customers see, runbook commands).

Each detector reads a `Situation` and either finds its pattern, with a score, the service the
evidence points to (the probable origin) and the evidence in words tied to stored samples, or
finds nothing. The best score wins; `unknown` is what is left when nothing scores well. The rules
are deliberately plain so an operator can check each one against the charts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from calmops.agent.evidence import Sample, SeriesStats, Situation
from calmops.timefmt import clock_time
from calmops.vocabulary import Action, Pattern, ServiceKind, format_value, metric_info

DEPLOY_BEFORE = timedelta(minutes=30)  # an error spike this soon after a deploy points at the deploy
UNKNOWN_SCORE = 0.45  # what `unknown` scores: a detector must beat it to name a pattern
TRAFFIC_SURGE = 1.6  # request rate this many times its usual level is a surge, not "steady"
NEAR = 0.9  # at its worst this close to its mildest threshold: saturation worth naming


@dataclass(frozen=True)
class EvidenceItem:
    """One statement of a brief, with the stored row it rests on (a sample or an event)."""

    text: str
    service: str | None
    metric: str | None
    ts: datetime
    value: float | None


@dataclass(frozen=True)
class Finding:
    pattern: Pattern
    score: float
    origin: str  # the service the evidence points to
    metric: str  # the pattern's key metric on the origin: projected, verified, charted
    evidence: tuple[EvidenceItem, ...] = ()
    lead: str = ""  # the evidence in one clause, for the summary
    contrary: tuple[str, ...] = ()  # what argued against it (kept for the reasons)


@dataclass(frozen=True)
class Playbook:
    pattern: Pattern
    label: str
    key_metric: str
    recommendation: Action
    auto_actions: tuple[Action, ...]
    expected_effect: str  # {origin}, {service}, {dependants}
    risk: str  # what happens if nobody acts
    customers_see: str  # plain words, no causes, no blame
    runbook: tuple[str, ...] = field(default_factory=tuple)


PLAYBOOKS: dict[Pattern, Playbook] = {
    p.pattern: p
    for p in (
        Playbook(
            Pattern.QUEUE_BACKLOG, "Queue backlog", "queue_depth", Action.PAUSE_BATCH_JOBS,
            (Action.SCALE_WORKERS,),
            "Batch jobs stop adding work, so the workers of {origin} catch up and the queue drains.",
            "The queue on {origin} keeps growing and jobs wait longer and longer.",
            "updates may arrive later than usual",
            ("Check the worker pool of {origin} and its consumer lag",
             "Pause the batch imports feeding {origin} until the queue is back under its warning level"),
        ),
        Playbook(
            Pattern.DB_SATURATION, "Database saturation", "db_connections_pct",
            Action.ENABLE_READ_REPLICA_ROUTING, (),
            "Read queries move to the replica, which frees connections on {origin}; latency of "
            "{dependants} should fall within minutes.",
            "When the connection pool of {origin} is exhausted, requests that need it fail.",
            "pages and requests may be slower than usual",
            ("Look at the longest-running queries on {origin}",
             "Route read traffic to the replica (enable_read_replica_routing)"),
        ),
        Playbook(
            Pattern.ERROR_SPIKE_AFTER_DEPLOY, "Error spike after a deploy", "error_rate",
            Action.ROLLBACK_DEPLOY, (),
            "{origin} goes back to the version before the deploy; errors should return to their usual "
            "level within minutes.",
            "Requests to {origin} keep failing at this rate until the change is undone.",
            "some requests may fail",
            ("Compare the deploy's changes with the failing requests of {origin}",
             "Roll {origin} back to the previous version"),
        ),
        Playbook(
            Pattern.MEMORY_LEAK, "Memory climbing", "memory_pct", Action.RESTART_SERVICE, (),
            "A rolling restart of {origin} frees its memory; it climbs again over hours until the "
            "leak is fixed, which buys the team that time.",
            "{origin} runs out of memory and restarts on its own, dropping the work in flight.",
            "some requests may be slower or fail briefly",
            ("Take a heap profile of {origin} before restarting it",
             "Restart {origin} one instance at a time"),
        ),
        Playbook(
            Pattern.DEPENDENCY_OUTAGE, "Outside dependency failing", "error_rate", Action.WAIT_AND_WATCH,
            (Action.OPEN_CIRCUIT_BREAKER,),
            "The circuit breaker keeps {dependants} answering quickly while {origin} is failing; "
            "work resumes when {origin} recovers. Nothing on our side fixes {origin} itself.",
            "Requests from {dependants} keep waiting on {origin} and slow down for everyone.",
            "some bookings and updates may be delayed",
            ("Check {origin}'s status page", "Keep the circuit breaker open until {origin} recovers"),
        ),
        Playbook(
            Pattern.DISK_FILLING, "Disk filling", "disk_pct", Action.EXPAND_VOLUME, (Action.ROTATE_LOGS,),
            "A larger volume gives {origin} room to write again; the growth itself still needs a look.",
            "When the disk of {origin} is full, its writes fail.",
            "some requests may fail",
            ("Find what grows on the volume of {origin} (logs, temp files, WAL)",
             "Expand the volume of {origin}"),
        ),
        Playbook(
            Pattern.SERVICE_DOWN, "Service down", "up", Action.RESTART_SERVICE, (),
            "A restart brings {origin} back in about a minute if the process hung or crashed.",
            "{origin} stays unavailable, and requests from {dependants} keep failing with it.",
            "the service is unavailable",
            ("Check {origin}'s logs and its last restarts", "Restart {origin}"),
        ),
        Playbook(
            Pattern.LATENCY_REGRESSION, "Latency regression", "latency_p95_ms", Action.WAIT_AND_WATCH,
            (Action.SCALE_WORKERS,),
            "Extra capacity on {origin} absorbs the slowdown; watch whether latency settles without "
            "errors.",
            "{origin} keeps answering slowly; if it crosses its higher threshold, customers notice.",
            "pages and requests may be slower than usual",
            ("Compare {origin}'s latency with its traffic and recent changes",),
        ),
        Playbook(
            Pattern.UNKNOWN, "Unrecognised problem", "", Action.WAIT_AND_WATCH, (),
            "Watching for a few minutes shows whether it settles or a clearer pattern appears.",
            "The cause is not clear from the data yet.",
            "some services may not work as expected",
            ("Look at the charts of {origin} and what changed recently", "Escalate if it gets worse"),
        ),
    )
}  # fmt: skip


def _fmt(metric: str, value: float) -> str:
    return format_value(metric, value)


def _shown(stats: SeriesStats) -> Sample:
    """The sample a statement quotes: the current one, or the worst when it has come down since."""
    if stats.metric == "up":
        return stats.peak
    return stats.current if stats.deviation >= stats.peak_deviation * 0.8 else stats.peak


def _item(stats: SeriesStats, text: str, *, at_onset: bool = False) -> EvidenceItem:
    """A statement tied to the very sample it quotes (the onset's, or the one ``_moved`` shows)."""
    sample = stats.onset if at_onset and stats.onset is not None else _shown(stats)
    return EvidenceItem(text, stats.service, stats.metric, sample.ts, sample.value)


def _usual(stats: SeriesStats) -> str:
    return "" if stats.baseline is None else f" (usually {_fmt(stats.metric, stats.baseline)})"


def _moved(stats: SeriesStats) -> str:
    """``queue depth 4,210 jobs (usually 40)``, at its worst when it has come down since."""
    label = metric_info(stats.metric).label.lower()
    if stats.metric == "up":
        return "health check failing" if stats.peak.value < 1 else "health check passing"
    return f"{label} {_fmt(stats.metric, _shown(stats).value)}{_usual(stats)}"


def _candidates(sit: Situation) -> list[str]:
    """Where to look for an origin: the incident's service, then what it depends on, nearest first."""
    return [sit.service, *sit.upstream(sit.service)]


def _steady_traffic(sit: Situation, service: str) -> tuple[bool, SeriesStats | None]:
    rate = sit.get(service, "request_rate")
    if rate is None or not rate.baseline:
        return True, rate
    return 1 / TRAFFIC_SURGE <= rate.ratio() <= TRAFFIC_SURGE, rate


def _origin_bonus(sit: Situation, service: str, metric: str) -> float:
    """A finding on the incident's own service and rule is a little surer than one upstream."""
    bonus = 0.0
    if service == sit.service:
        bonus += 0.03
        if sit.detail.rule_family == metric:
            bonus += 0.03
    return bonus


def service_down(sit: Situation) -> Finding | None:
    for svc in _candidates(sit):
        up = sit.get(svc, "up")
        if up is None or sit.kind(svc) == ServiceKind.EXTERNAL or up.peak.value >= 0.5:
            continue
        since = up.onset or up.peak
        item = EvidenceItem(
            f"{svc} stopped answering its health check at {clock_time(since.ts)}",
            svc,
            "up",
            since.ts,
            since.value,
        )
        score = (0.95 if svc == sit.service else 0.86) + _origin_bonus(sit, svc, "up")
        return Finding(
            Pattern.SERVICE_DOWN, score, svc, "up", (item,), f"{svc} is not answering its health check"
        )
    return None


def dependency_outage(sit: Situation) -> Finding | None:
    for ext in _candidates(sit):
        if sit.kind(ext) != ServiceKind.EXTERNAL:
            continue
        signals = [
            s
            for m in ("error_rate", "up", "latency_p95_ms")
            if (s := sit.get(ext, m)) is not None and (s.rose or sit.breached(ext, m))
        ]
        if not signals:
            continue
        first = min(signals, key=lambda s: (s.onset or s.peak).ts)
        began = (first.onset or first.peak).ts
        items = [_item(s, f"{ext} (outside service): {_moved(s)}", at_onset=False) for s in signals]
        later = []
        for dep in sit.downstream(ext):
            for m in ("error_rate", "latency_p95_ms"):
                s = sit.get(dep, m)
                if s is not None and s.rose and s.onset is not None:
                    later.append((s, (s.onset.ts - began).total_seconds()))
        score = 0.9 if ext == sit.service else 0.82
        if later and all(delay >= -120 for _, delay in later):
            score += 0.06
            for s, delay in later[:3]:
                minutes = max(0, round(delay / 60))
                items.append(
                    _item(s, f"{s.service} {metric_info(s.metric).label.lower()} rose {minutes} min after "
                          f"{ext} began failing", at_onset=True)
                )  # fmt: skip
        elif later:
            score -= 0.2
        metric = first.metric if first.metric != "latency_p95_ms" else "error_rate"
        lead = _moved(first)
        if later:
            lead += f"; {later[0][0].service} degraded {max(0, round(later[0][1] / 60))} min later"
        return Finding(Pattern.DEPENDENCY_OUTAGE, score, ext, metric, tuple(items), lead)
    return None


def error_spike_after_deploy(sit: Situation) -> Finding | None:
    for svc in _candidates(sit):
        if sit.kind(svc) == ServiceKind.EXTERNAL:
            continue
        errors = sit.get(svc, "error_rate")
        if errors is None or not errors.rose or errors.onset is None:
            continue
        began = errors.onset.ts
        deploys = sit.deploys(svc, since=began - DEPLOY_BEFORE, until=began + timedelta(minutes=2))
        if not deploys:
            continue
        ts, _, _, description, version = deploys[-1]
        minutes = max(0, round((began - ts).total_seconds() / 60))
        shipped = f"version {version}" if version else "a deploy"
        told = f" ({description})" if description and (not version or version not in description) else ""
        items = (
            EvidenceItem(f"{svc} deployed {shipped} at {clock_time(ts)}{told}", svc, None, ts, None),
            _item(errors, f"error rate on {svc} rose {minutes} min after the deploy", at_onset=True),
            _item(errors, f"{svc}: {_moved(errors)}"),
        )  # fmt: skip
        score = (0.9 if svc == sit.service else 0.8) + _origin_bonus(sit, svc, "error_rate")
        level = _fmt("error_rate", _shown(errors).value) + _usual(errors)
        lead = f"errors rose to {level} {minutes} min after {shipped} was deployed"
        return Finding(Pattern.ERROR_SPIKE_AFTER_DEPLOY, score, svc, "error_rate", items, lead)
    return None


def db_saturation(sit: Situation) -> Finding | None:
    for db in _candidates(sit):
        pool = sit.get(db, "db_connections_pct")
        if pool is None or not pool.rose or not sit.significant(db, "db_connections_pct"):
            continue
        items = [_item(pool, f"{db}: {_moved(pool)}")]
        score = 0.84 if sit.kind(db) == ServiceKind.DATABASE else 0.74
        slow = [
            s for dep in sit.downstream(db) if (s := sit.get(dep, "latency_p95_ms")) is not None and s.rose
        ]
        if slow:
            score += 0.08
            items += [
                _item(s, f"latency on {s.service}, which depends on {db}: {_moved(s)}") for s in slow[:3]
            ]
        score += _origin_bonus(sit, db, "db_connections_pct")
        lead = f"{_moved(pool)}" + (
            f"; latency up on {', '.join(s.service for s in slow[:3])}" if slow else ""
        )
        return Finding(Pattern.DB_SATURATION, score, db, "db_connections_pct", tuple(items), lead)
    return None


def queue_backlog(sit: Situation) -> Finding | None:
    for svc in _candidates(sit):
        queue = sit.get(svc, "queue_depth")
        if queue is None or not queue.rose or not sit.significant(svc, "queue_depth", 0.5):
            continue
        growing = queue.trend > 0.3 or queue.long_trend > 0.5
        steady, rate = _steady_traffic(sit, svc)
        items = [_item(queue, f"{svc}: {_moved(queue)}" + (", still growing" if queue.trend > 0.3 else ""))]
        score = 0.86 if growing else 0.72
        contrary: tuple[str, ...] = ()
        if rate is not None:
            if steady:
                items.append(
                    _item(
                        rate, f"request rate on {svc} is steady ({_fmt('request_rate', rate.current.value)})"
                    )
                )
            else:
                score -= 0.14
                contrary = (
                    f"request rate on {svc} is {rate.ratio():.1f}x its usual level: part of it is a surge",
                )
                items.append(_item(rate, contrary[0]))
        score += _origin_bonus(sit, svc, "queue_depth")
        lead = (
            _moved(queue)
            + (" and growing" if growing else "")
            + (" while traffic is steady" if steady and rate is not None else "")
        )
        return Finding(Pattern.QUEUE_BACKLOG, score, svc, "queue_depth", tuple(items), lead, contrary)
    return None


def memory_leak(sit: Situation) -> Finding | None:
    for svc in _candidates(sit):
        memory = sit.get(svc, "memory_pct")
        if memory is None:
            continue
        hours = (memory.peak.ts - memory.first.ts).total_seconds() / 3600
        climbed = memory.peak.value - memory.first.value
        if memory.long_slope <= 0 or memory.long_trend < 0.55 or climbed < 8 or hours < 1.5:
            continue
        if not sit.significant(svc, "memory_pct", NEAR):
            continue  # a slow climb contaminates its own baseline, so the trend, not the band, decides
        steady, rate = _steady_traffic(sit, svc)
        per_hour = memory.long_slope * 3600
        items = [
            EvidenceItem(f"memory on {svc} climbed from {_fmt('memory_pct', memory.first.value)} to "
                         f"{_fmt('memory_pct', memory.peak.value)} over {hours:.0f} h (+{per_hour:.1f}/h)",
                         svc, "memory_pct", memory.peak.ts, memory.peak.value),
        ]  # fmt: skip
        score = 0.87
        if rate is not None:
            if steady:
                items.append(
                    _item(
                        rate, f"traffic on {svc} did not change ({_fmt('request_rate', rate.current.value)})"
                    )
                )
            else:  # traffic follows the day; a leak climbs through it, so this only weakens the case
                score -= 0.08
        score += _origin_bonus(sit, svc, "memory_pct")
        lead = f"memory climbed steadily for {hours:.0f} h to {_fmt('memory_pct', memory.peak.value)}"
        return Finding(Pattern.MEMORY_LEAK, score, svc, "memory_pct", tuple(items), lead)
    return None


def disk_filling(sit: Situation) -> Finding | None:
    for svc in _candidates(sit):
        disk = sit.get(svc, "disk_pct")
        if disk is None or not sit.significant(svc, "disk_pct"):
            continue
        if not disk.rose and disk.peak.value - disk.first.value < 5:
            continue
        if max(disk.trend, disk.long_trend) < 0.5 or max(disk.slope, disk.long_slope) <= 0:
            continue
        item = _item(disk, f"{svc}: {_moved(disk)}, still growing")
        score = 0.9 + _origin_bonus(sit, svc, "disk_pct")
        return Finding(Pattern.DISK_FILLING, score, svc, "disk_pct", (item,), f"{_moved(disk)} and growing")
    return None


def latency_regression(sit: Situation) -> Finding | None:
    svc = sit.service
    latency = sit.get(svc, "latency_p95_ms")
    if latency is None or not (latency.rose or sit.breached(svc, "latency_p95_ms")):
        return None
    score = 0.8
    contrary = []
    errors = sit.get(svc, "error_rate")
    if errors is not None and errors.rose:
        contrary.append(f"errors rose on {svc} too")
    began = (latency.onset or latency.peak).ts
    if sit.deploys(svc, since=began - timedelta(hours=1), until=began + timedelta(minutes=2)):
        contrary.append(f"{svc} was deployed shortly before")
    for other in [svc, *sit.upstream(svc)]:
        for m in ("db_connections_pct", "cpu_pct", "memory_pct", "queue_depth"):
            s = sit.get(other, m)
            if s is not None and sit.significant(other, m, NEAR):
                contrary.append(f"{metric_info(m).label.lower()} is high on {other}")
    score -= 0.22 * len(contrary)
    items = [_item(latency, f"{svc}: {_moved(latency)}")]
    if errors is not None and not errors.rose:
        items.append(
            _item(
                errors,
                f"errors on {svc} stay at their usual level ({_fmt('error_rate', errors.current.value)})",
            )
        )
    lead = f"{_moved(latency)} with errors and saturation at their usual levels"
    return Finding(
        Pattern.LATENCY_REGRESSION, score, svc, "latency_p95_ms", tuple(items), lead, tuple(contrary)
    )


DETECTORS: tuple[Callable[[Situation], Finding | None], ...] = (
    service_down,
    dependency_outage,
    error_spike_after_deploy,
    db_saturation,
    queue_backlog,
    memory_leak,
    disk_filling,
    latency_regression,
)


def classify(sit: Situation) -> tuple[Finding, list[Finding]]:
    """The best finding and the runners-up, best first; `unknown` when none beats it."""
    found = sorted(
        (f for detect in DETECTORS if (f := detect(sit)) is not None), key=lambda f: f.score, reverse=True
    )
    if found and found[0].score > UNKNOWN_SCORE:
        return found[0], found[1:]
    items = tuple(
        EvidenceItem(f"{s.service}: {_moved(s)}", s.service, s.metric, s.current.ts, s.current.value)
        for s in sorted(sit.stats.values(), key=lambda s: -s.deviation)[:3]
        if s.deviation >= 4
    )
    family = sit.detail.rule_family or ""
    lead = "no known pattern fits the data well"
    return Finding(Pattern.UNKNOWN, UNKNOWN_SCORE, sit.service, family, items, lead), found
