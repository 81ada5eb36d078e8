"""Give the demo world its past: replay the built history through detection, then let the demo's
on-call people acknowledge and resolve what recovered long enough ago.

The same rules and the same engine as live detection, evaluated over the whole history at once,
so past incidents and their timelines are exactly what CalmOps would have recorded live.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from calmops import agent, companies, incidents
from calmops.detect.engine import judge, load_states, read_samples
from calmops.detect.rules import list_rules
from calmops.store.db import Cursor, first, unit_of_work
from calmops.vocabulary import IncidentStatus

STEP = timedelta(hours=2)
RESOLVE_AFTER = timedelta(minutes=45)  # recovered earlier than this before "now": a person resolved it
ON_CALL = ("maria.lopez", "sam.okafor", "li.wei", "jonas.berg")
ACTOR = "system:detect"


@dataclass(frozen=True)
class ReplaySummary:
    incidents: int
    resolved: int
    active: int


def _person(incident_id: int) -> str:
    return ON_CALL[zlib.crc32(str(incident_id).encode()) % len(ON_CALL)]


def _minutes(incident_id: int, low: int, high: int) -> timedelta:
    return timedelta(minutes=low + zlib.crc32(f"{incident_id}:{low}".encode()) % (high - low + 1))


def replay_history(
    cur: Cursor, *, now: datetime, days: float, progress: Callable[[float, str], None] | None = None
) -> ReplaySummary:
    """Detect over ``days`` of history ending at ``now``, closing the stories a team would have.

    History is read once per company and judged in steps of ``STEP``; after each step the on-call
    people acknowledge and resolve what recovered, so a later breach opens a new incident rather
    than reviving one a person would long have resolved.
    """
    tenants = companies.list_companies(cur)
    start = now - timedelta(days=days, hours=1)
    for i, company in enumerate(tenants):
        if progress:
            progress(i / max(len(tenants), 1), f"replaying {company.company}")
        rules = list_rules(cur, company=company.company, enabled_only=True)
        if not rules:
            continue
        metrics = sorted({r.metric for r in rules})
        history = read_samples(cur, company=company.company, metrics=metrics, after=start, until=now)
        states = load_states(cur, company.company)
        done = {key: 0 for key in history}
        step_end = start + STEP
        while True:
            step_end = min(step_end, now)
            edge = int(step_end.timestamp() * 1_000_000)
            chunk = {}
            for key, (ts, values) in history.items():
                upto = int(np.searchsorted(ts, edge, side="right"))
                chunk[key] = (ts[done[key] : upto], values[done[key] : upto])
                done[key] = upto
            with unit_of_work(cur):
                found = judge(
                    cur,
                    company=company.company,
                    rules=rules,
                    states=states,
                    samples=chunk,
                    default_after=start,
                )
                for incident_id in found.opened:  # the brief the on-call person read at detection
                    detected_at = first(cur, "SELECT detected_at FROM incidents WHERE id = ?", [incident_id])[
                        0
                    ]
                    agent.refresh(
                        cur, company=company.company, incident_id=incident_id, now=detected_at, act=False
                    )
                _close_stories(cur, company=company.company, now=step_end)
            if step_end >= now:
                break
            step_end += STEP
    if progress:
        progress(1.0, "replayed")
    rows = cur.execute("SELECT status, count(*) FROM incidents GROUP BY status").fetchall()
    counts = dict(rows)
    resolved = counts.get(IncidentStatus.RESOLVED.value, 0)
    return ReplaySummary(sum(counts.values()), resolved, sum(counts.values()) - resolved)


def _close_stories(cur: Cursor, *, company: str, now: datetime) -> None:
    """Acknowledge every replayed incident a few minutes after detection; resolve those that
    recovered more than ``RESOLVE_AFTER`` before ``now``, with a note, as the on-call person."""
    rows = cur.execute(
        """SELECT i.id, i.detected_at, i.status, i.acknowledged_at,
                  (SELECT max(ts) FROM incident_events e WHERE e.incident_id = i.id AND e.kind = 'recovered')
           FROM incidents i WHERE i.company = ? AND i.status <> 'resolved'""",
        [company],
    ).fetchall()
    for incident_id, detected_at, status, acknowledged, recovered_at in rows:
        person = _person(incident_id)
        if acknowledged is None:
            _acknowledge(
                cur, company=company, incident_id=incident_id, person=person, detected_at=detected_at,
                status=status, recovered_at=recovered_at, now=now,
            )  # fmt: skip
        if recovered_at is None or now - recovered_at < RESOLVE_AFTER or status != IncidentStatus.MONITORING:
            continue
        resolved_at = min(recovered_at + _minutes(incident_id, 10, 35), now)
        incidents.add_event(
            cur, company=company, incident_id=incident_id, ts=resolved_at, kind="resolved", actor=person,
            message="Resolved: signals stayed healthy after recovery; no customer reports",
        )  # fmt: skip
        incidents.update_incident(
            cur, company=company, incident_id=incident_id, ts=resolved_at, actor=person,
            status=IncidentStatus.RESOLVED, resolved_at=resolved_at,
        )  # fmt: skip
        agent.refresh(cur, company=company, incident_id=incident_id, now=resolved_at, act=False)


def _acknowledge(
    cur: Cursor,
    *,
    company: str,
    incident_id: int,
    person: str,
    detected_at: datetime,
    status: str,
    recovered_at: datetime | None,
    now: datetime,
) -> None:
    """The on-call person acknowledges a few minutes after detection (before recovery, if any)."""
    acknowledged_at = min(detected_at + _minutes(incident_id, 2, 9), now)
    if recovered_at is not None:
        acknowledged_at = min(acknowledged_at, recovered_at)
    cur.execute(
        "UPDATE incidents SET acknowledged_at = ?, assignee = ? WHERE id = ?",
        [acknowledged_at, person, incident_id],
    )
    incidents.add_event(
        cur, company=company, incident_id=incident_id, ts=acknowledged_at, kind="acknowledged",
        actor=person, message=f"Acknowledged by {person}",
    )  # fmt: skip
    if status == IncidentStatus.OPEN.value and recovered_at is None:
        incidents.update_incident(
            cur, company=company, incident_id=incident_id, ts=acknowledged_at, actor=person,
            status=IncidentStatus.ACKNOWLEDGED,
        )  # fmt: skip
