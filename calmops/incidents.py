"""Incidents: reading them for lists and counts, and the writes every part of CalmOps shares.

Reads are always scoped by company and never scan more than the rows they return. The writes at
the end (open, update, timeline events, audit rows) are the ones detection, webhooks and the
operator's workflow share.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from calmops.auth.models import Identity, Permission, require
from calmops.store.db import Cursor
from calmops.vocabulary import IncidentStatus, Severity

SYSTEM = "system"  # the actor of what CalmOps does by itself
ACTIVE_STATUSES: tuple[str, ...] = tuple(s.value for s in IncidentStatus if s != IncidentStatus.RESOLVED)


@dataclass(frozen=True)
class IncidentSummary:
    """One row of an incident list."""

    id: int
    company: str
    title: str
    service: str
    severity: Severity
    status: IncidentStatus
    flags: tuple[str, ...]
    started_at: datetime
    detected_at: datetime
    resolved_at: datetime | None
    escalated_at: datetime | None
    assignee: str | None
    updated_at: datetime
    version: int

    @property
    def active(self) -> bool:
        return self.status != IncidentStatus.RESOLVED


@dataclass(frozen=True)
class IncidentCounts:
    """How many incidents a company has, by status, and the active ones by severity."""

    by_status: dict[str, int] = field(default_factory=dict)
    active_by_severity: dict[str, int] = field(default_factory=dict)

    @property
    def active(self) -> int:
        return sum(n for s, n in self.by_status.items() if s != IncidentStatus.RESOLVED.value)

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


def _values(items: Iterable[str] | str | None, allowed: type[IncidentStatus] | type[Severity]) -> list[str]:
    if items is None:
        return []
    items = [items] if isinstance(items, str) else list(items)
    return [allowed(i).value for i in items]


def list_incidents(
    cur: Cursor,
    *,
    company: str,
    status: Iterable[str] | str | None = None,
    severity: Iterable[str] | str | None = None,
    service: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    active_only: bool = False,
    limit: int = 100,
    before_id: int | None = None,
) -> list[IncidentSummary]:
    """Incidents of ``company``, newest first; filters combine with AND.

    ``since``/``until`` bound ``started_at``; ``before_id`` pages backwards (ids only grow).
    """
    where = ["company = ?"]
    params: list[object] = [company]
    statuses = _values(status, IncidentStatus)
    if active_only:
        statuses = [s for s in statuses or ACTIVE_STATUSES if s in ACTIVE_STATUSES]
        if not statuses:
            return []
    if statuses:
        where.append(f"status IN ({', '.join('?' for _ in statuses)})")
        params.extend(statuses)
    severities = _values(severity, Severity)
    if severities:
        where.append(f"severity IN ({', '.join('?' for _ in severities)})")
        params.extend(severities)
    if service:
        where.append("service = ?")
        params.append(service)
    if since is not None:
        where.append("started_at >= ?")
        params.append(since)
    if until is not None:
        where.append("started_at < ?")
        params.append(until)
    if before_id is not None:
        where.append("id < ?")
        params.append(before_id)
    limit = max(1, min(int(limit), 1000))
    rows = cur.execute(
        f"""SELECT id, company, title, service, severity, status, flags, started_at, detected_at,
                   resolved_at, escalated_at, assignee, updated_at, version
            FROM incidents WHERE {" AND ".join(where)}
            ORDER BY started_at DESC, id DESC LIMIT {limit}""",
        params,
    ).fetchall()
    return [
        IncidentSummary(
            id=r[0],
            company=r[1],
            title=r[2],
            service=r[3],
            severity=Severity(r[4]),
            status=IncidentStatus(r[5]),
            flags=tuple(r[6] or ()),
            started_at=r[7],
            detected_at=r[8],
            resolved_at=r[9],
            escalated_at=r[10],
            assignee=r[11],
            updated_at=r[12],
            version=r[13],
        )
        for r in rows
    ]


def incident_counts(cur: Cursor, *, company: str) -> IncidentCounts:
    """Counts by status (every status present, zeros included) and active ones by severity."""
    by_status = {s.value: 0 for s in IncidentStatus}
    by_severity = {s.value: 0 for s in sorted(Severity, key=lambda s: -s.rank)}
    rows = cur.execute(
        """SELECT status, severity, count(*) FROM incidents WHERE company = ?
           GROUP BY status, severity""",
        [company],
    ).fetchall()
    for status, severity, n in rows:
        by_status[status] = by_status.get(status, 0) + n
        if status != IncidentStatus.RESOLVED.value:
            by_severity[severity] = by_severity.get(severity, 0) + n
    return IncidentCounts(by_status=by_status, active_by_severity=by_severity)


# --- Writes. Each runs in the caller's unit of work; every change leaves a timeline event and an
# --- audit row, so the incident's story and who changed what can both be read back.


def audit(
    cur: Cursor,
    *,
    company: str,
    ts: datetime,
    actor: str,
    action: str,
    entity: str,
    entity_id: object,
    before: dict | None = None,
    after: dict | None = None,
) -> None:
    """Append one row to the audit log (never updated, never deleted)."""
    cur.execute(
        "INSERT INTO audit_log (company, ts, actor, action, entity, entity_id, before, after) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            company,
            ts,
            actor,
            action,
            entity,
            str(entity_id),
            None if before is None else json.dumps(before, default=str),
            None if after is None else json.dumps(after, default=str),
        ],
    )


def add_event(
    cur: Cursor,
    *,
    company: str,
    incident_id: int,
    ts: datetime,
    kind: str,
    message: str,
    actor: str = SYSTEM,
    outcome: str | None = None,
    data: dict | None = None,
) -> int:
    """Add one entry to an incident's timeline."""
    rows = cur.execute(
        "INSERT INTO incident_events (company, incident_id, ts, kind, actor, message, outcome, data) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        [company, incident_id, ts, kind, actor, message, outcome, None if data is None else json.dumps(data)],
    ).fetchall()
    return rows[0][0]


def open_incident(
    cur: Cursor,
    *,
    company: str,
    title: str,
    service: str,
    severity: Severity,
    started_at: datetime,
    detected_at: datetime,
    source: str,
    message: str,
    rule_family: str | None = None,
    description: str = "",
    flags: tuple[str, ...] = (),
    previous_incident_id: int | None = None,
    actor: str = SYSTEM,
    data: dict | None = None,
) -> int:
    """Create an open incident with its first timeline event (``detected``) and an audit row."""
    rows = cur.execute(
        """INSERT INTO incidents (company, title, service, severity, status, source, rule_family,
               description, flags, started_at, detected_at, previous_incident_id, updated_at)
           VALUES (?, ?, ?, ?, 'open', ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id""",
        [
            company,
            title,
            service,
            Severity(severity).value,
            source,
            rule_family,
            description,
            list(flags),
            started_at,
            detected_at,
            previous_incident_id,
            detected_at,
        ],
    ).fetchall()
    incident_id = rows[0][0]
    add_event(
        cur,
        company=company,
        incident_id=incident_id,
        ts=detected_at,
        kind="detected",
        message=message,
        actor=actor,
        data=data,
    )
    audit(
        cur,
        company=company,
        ts=detected_at,
        actor=actor,
        action="open",
        entity="incident",
        entity_id=incident_id,
        after={"title": title, "service": service, "severity": Severity(severity).value, "source": source},
    )
    return incident_id


def update_incident(
    cur: Cursor,
    *,
    company: str,
    incident_id: int,
    ts: datetime,
    actor: str = SYSTEM,
    status: IncidentStatus | None = None,
    severity: Severity | None = None,
    add_flags: tuple[str, ...] = (),
    resolved_at: datetime | None = None,
) -> None:
    """Change status, severity or flags, bump the version, and audit the before and after."""
    before = cur.execute(
        "SELECT status, severity, flags FROM incidents WHERE id = ? AND company = ?", [incident_id, company]
    ).fetchall()
    if not before:
        raise LookupError(f"no incident {incident_id} for {company}")
    old_status, old_severity, old_flags = before[0]
    new_flags = list(dict.fromkeys([*(old_flags or []), *add_flags]))
    new_status = IncidentStatus(status).value if status else old_status
    new_severity = Severity(severity).value if severity else old_severity
    cur.execute(
        """UPDATE incidents SET status = ?, severity = ?, flags = ?, version = version + 1, updated_at = ?,
               resolved_at = CASE WHEN ? = 'resolved' THEN coalesce(?, resolved_at) ELSE NULL END
           WHERE id = ? AND company = ?""",
        [new_status, new_severity, new_flags, ts, new_status, resolved_at, incident_id, company],
    )
    audit(
        cur,
        company=company,
        ts=ts,
        actor=actor,
        action="update",
        entity="incident",
        entity_id=incident_id,
        before={"status": old_status, "severity": old_severity, "flags": list(old_flags or [])},
        after={"status": new_status, "severity": new_severity, "flags": new_flags},
    )


@dataclass(frozen=True)
class TimelineEntry:
    id: int
    ts: datetime
    kind: str
    actor: str
    message: str
    outcome: str | None
    data: dict | None


@dataclass(frozen=True)
class IncidentDetail:
    """One incident with everything the Incident page and ``GET /incidents/{id}`` show."""

    summary: IncidentSummary
    description: str
    source: str
    rule_family: str | None
    pattern: str | None
    acknowledged_at: datetime | None
    previous_incident_id: int | None
    affected: tuple[str, ...]
    timeline: tuple[TimelineEntry, ...]


def get_incident(cur: Cursor, *, company: str, incident_id: int) -> IncidentDetail | None:
    """The incident, or None when it does not exist *or belongs to another company* (callers answer
    both the same way, so ids never reveal another tenant's incidents)."""
    rows = cur.execute(
        """SELECT id, company, title, service, severity, status, flags, started_at, detected_at,
                  resolved_at, escalated_at, assignee, updated_at, version, description, source,
                  rule_family, pattern, acknowledged_at, previous_incident_id
           FROM incidents WHERE id = ? AND company = ?""",
        [incident_id, company],
    ).fetchall()
    if not rows:
        return None
    r = rows[0]
    summary = IncidentSummary(
        id=r[0], company=r[1], title=r[2], service=r[3], severity=Severity(r[4]), status=IncidentStatus(r[5]),
        flags=tuple(r[6] or ()), started_at=r[7], detected_at=r[8], resolved_at=r[9], escalated_at=r[10],
        assignee=r[11], updated_at=r[12], version=r[13],
    )  # fmt: skip
    affected = cur.execute(
        "SELECT service FROM incident_services WHERE incident_id = ? AND company = ?", [incident_id, company]
    ).fetchall()
    events = cur.execute(
        """SELECT id, ts, kind, actor, message, outcome, data FROM incident_events
           WHERE incident_id = ? AND company = ?""",
        [incident_id, company],
    ).fetchall()
    timeline = tuple(
        TimelineEntry(e[0], e[1], e[2], e[3], e[4], e[5], json.loads(e[6]) if e[6] else None)
        for e in sorted(events, key=lambda e: (e[1], e[0]))
    )
    return IncidentDetail(
        summary=summary,
        description=r[14],
        source=r[15],
        rule_family=r[16],
        pattern=r[17],
        acknowledged_at=r[18],
        previous_incident_id=r[19],
        affected=tuple(sorted({a[0] for a in affected})),
        timeline=timeline,
    )


class InvalidIncidentError(ValueError):
    """A manual incident that cannot be created as asked; ``field`` names what is wrong."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def create_manual(
    cur: Cursor,
    *,
    company: str,
    title: str,
    service: str,
    severity: str,
    description: str,
    customer_impact: bool,
    actor: Identity,
    now: datetime,
) -> int:
    """An incident a person opens by hand (runbook step 2: "manually create incident if needed").

    Validated before anything is written; runs in the caller's transaction."""
    who = require(actor, Permission.RESPOND, company)
    title = (title or "").strip()
    if not title or len(title) > 200:
        raise InvalidIncidentError("title must be 1 to 200 characters", "title")
    try:
        level = Severity(severity)
    except ValueError:
        raise InvalidIncidentError(
            f"severity must be one of {', '.join(s.value for s in Severity)}", "severity"
        ) from None
    if len(description or "") > 10_000:
        raise InvalidIncidentError("description must be at most 10,000 characters", "description")
    if not isinstance(customer_impact, bool):
        raise InvalidIncidentError("customer_impact must be true or false", "customer_impact")
    known = cur.execute(
        "SELECT 1 FROM services WHERE company = ? AND service = ?", [company, service]
    ).fetchall()
    if not known:
        raise InvalidIncidentError(f"unknown service {service!r}; register it first", "service")
    return open_incident(
        cur,
        company=company,
        title=title,
        service=service,
        severity=level,
        started_at=now,
        detected_at=now,
        source="manual",
        message=f"Opened by hand by {who}" + (": customers are affected" if customer_impact else ""),
        description=description or "",
        flags=("customer_impact",) if customer_impact else (),
        actor=who,
    )


# --- Small reads for the Incidents and Incident pages.

FALLBACK_METRICS: tuple[str, ...] = ("error_rate", "latency_p95_ms", "up")


def incident_services(cur: Cursor, *, company: str) -> list[str]:
    """The services ``company``'s incidents were opened on, sorted: what a service filter can offer."""
    rows = cur.execute("SELECT DISTINCT service FROM incidents WHERE company = ?", [company]).fetchall()
    return sorted(r[0] for r in rows)


def affected_services(cur: Cursor, *, company: str, incident_ids: list[int]) -> dict[int, tuple[str, ...]]:
    """The services that joined each listed incident, sorted (one query for a whole list page)."""
    if not incident_ids:
        return {}
    marks = ", ".join("?" for _ in incident_ids)
    rows = cur.execute(
        f"SELECT incident_id, service FROM incident_services WHERE company = ? AND incident_id IN ({marks})",
        [company, *incident_ids],
    ).fetchall()
    found: dict[int, set[str]] = {}
    for incident_id, service in rows:
        found.setdefault(incident_id, set()).add(service)
    return {i: tuple(sorted(s)) for i, s in found.items()}


def involved_metrics(detail: IncidentDetail) -> tuple[str, ...]:
    """The metrics that tell an incident's story: the rule family that fired, then every metric its
    timeline names (a dependant joining on error rate, a second tier on latency), in order of
    appearance. Incidents without a rule (opened by hand, from an alert) get the key metrics."""
    metrics: list[str] = []
    if detail.source == "rule" and detail.rule_family:
        metrics.append(detail.rule_family)
    for entry in detail.timeline:
        metric = (entry.data or {}).get("metric")
        if isinstance(metric, str) and metric:
            metrics.append(metric)
    return tuple(dict.fromkeys(metrics)) or FALLBACK_METRICS
