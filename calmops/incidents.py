"""Reading incidents for lists and counts (the Incidents page, summaries).

Detection, workflow and the incident detail extend this module later; what is here only reads,
always scoped by company, and never scans more than the rows it returns.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from calmops.store.db import Cursor
from calmops.vocabulary import IncidentStatus, Severity

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
