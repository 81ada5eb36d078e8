"""A person moves an incident along: acknowledge, assign, note, change severity, resolve, reopen.

Each is one transaction with a timeline entry and an audit row; each may carry the incident's
``expected_version`` (409 when someone changed it meanwhile). Only a person resolves (CONTRACT's
lifecycle); a resolved incident gets its brief at resolution, and can be reopened.
"""

from __future__ import annotations

from datetime import datetime

from calmops import agent, clock, incidents, notify
from calmops.auth import Identity, Permission
from calmops.incidents import IncidentDetail
from calmops.store.db import Cursor, Database, unit_of_work
from calmops.vocabulary import IncidentStatus, Severity
from calmops.workflow import common
from calmops.workflow.errors import Conflict, Invalid

HINT_MAX = 500


def _set(cur: Cursor, detail: IncidentDetail, *, now: datetime, **fields: object) -> None:
    """Update some incident columns and bump its version (the caller audits)."""
    names = "".join(f"{k} = ?, " for k in fields)
    cur.execute(
        f"UPDATE incidents SET {names}version = version + 1, updated_at = ? WHERE id = ? AND company = ?",
        [*fields.values(), now, detail.summary.id, detail.summary.company],
    )


def _begin(cur: Cursor, *, company: str, incident_id: object, expected_version: object) -> IncidentDetail:
    detail = common.load(cur, company=company, incident_id=incident_id)
    common.check_version(detail, expected_version)
    return detail


def _answer(db: Database, company: str, incident_id: int) -> IncidentDetail:
    return incidents.get_incident(db.cursor(), company=company, incident_id=incident_id)


def acknowledge(
    db: Database,
    *,
    company: str,
    incident_id: object,
    actor: Identity,
    note: object = None,
    expected_version: object = None,
    now: datetime | None = None,
) -> IncidentDetail:
    """ "I have it": the incident is assigned to the person and reminders stop. An incident already
    being mitigated or monitored keeps that status."""
    who, text, now = common.acting(actor, Permission.RESPOND, company), common.note(note), now or clock.now()
    cur = db.cursor()
    with unit_of_work(cur):
        detail = _begin(cur, company=company, incident_id=incident_id, expected_version=expected_version)
        s = detail.summary
        if s.status == IncidentStatus.RESOLVED:
            raise Conflict(f"incident {s.id} is resolved; reopen it first", field="status")
        status = IncidentStatus.ACKNOWLEDGED if s.status == IncidentStatus.OPEN else s.status
        _set(cur, detail, now=now, status=status.value, assignee=who,
             acknowledged_at=detail.acknowledged_at or now)  # fmt: skip
        message = f"Acknowledged by {who}" + (f" — {text}" if text else "")
        common.record(
            cur, detail=detail, kind="acknowledged", actor=who, message=message, now=now,
            action="acknowledge",
            before={"status": s.status.value, "assignee": s.assignee},
            after={"status": status.value, "assignee": who},
        )  # fmt: skip
    return _answer(db, company, s.id)


def assign(
    db: Database,
    *,
    company: str,
    incident_id: object,
    assignee: object,
    actor: Identity,
    note: object = None,
    expected_version: object = None,
    now: datetime | None = None,
) -> IncidentDetail:
    """Hand the incident to someone else (or take it)."""
    who, text, now = common.acting(actor, Permission.RESPOND, company), common.note(note), now or clock.now()
    if not isinstance(assignee, str) or not assignee.strip():
        raise Invalid("assignee is required", field="assignee")
    cur = db.cursor()
    target = common.assignee(cur, company=company, name=assignee)
    with unit_of_work(cur):
        detail = _begin(cur, company=company, incident_id=incident_id, expected_version=expected_version)
        _set(cur, detail, now=now, assignee=target)
        message = f"Assigned to {target} by {who}" + (f" — {text}" if text else "")
        common.record(
            cur, detail=detail, kind="assigned", actor=who, message=message, now=now, action="assign",
            before={"assignee": detail.summary.assignee}, after={"assignee": target},
        )  # fmt: skip
    return _answer(db, company, detail.summary.id)


def add_note(
    db: Database,
    *,
    company: str,
    incident_id: object,
    actor: Identity,
    text: object,
    now: datetime | None = None,
) -> IncidentDetail:
    """A note on the timeline: what someone saw, tried or decided."""
    who = common.acting(actor, Permission.RESPOND, company)
    body, now = common.note(text, field="text", required=True), now or clock.now()
    cur = db.cursor()
    with unit_of_work(cur):
        detail = common.load(cur, company=company, incident_id=incident_id)
        _set(cur, detail, now=now)
        common.record(cur, detail=detail, kind="note", actor=who, message=body, now=now, action="note",
                      after={"text": body})  # fmt: skip
    return _answer(db, company, detail.summary.id)


def change_severity(
    db: Database,
    *,
    company: str,
    incident_id: object,
    severity: object,
    actor: Identity,
    note: object = None,
    expected_version: object = None,
    now: datetime | None = None,
) -> IncidentDetail:
    who, text, now = common.acting(actor, Permission.RESPOND, company), common.note(note), now or clock.now()
    try:
        level = Severity(severity)
    except ValueError:
        raise Invalid(
            f"severity must be one of {', '.join(s.value for s in Severity)}", field="severity"
        ) from None
    cur = db.cursor()
    with unit_of_work(cur):
        detail = _begin(cur, company=company, incident_id=incident_id, expected_version=expected_version)
        old = detail.summary.severity
        if old == level:
            raise Invalid(f"the severity is already {level.value}", field="severity")
        _set(cur, detail, now=now, severity=level.value)
        message = f"Severity {old.value} → {level.value} by {who}" + (f" — {text}" if text else "")
        common.record(
            cur, detail=detail, kind="severity_changed", actor=who, message=message, now=now,
            action="severity", before={"severity": old.value}, after={"severity": level.value},
        )  # fmt: skip
    return _answer(db, company, detail.summary.id)


def resolve(
    db: Database,
    *,
    company: str,
    incident_id: object,
    actor: Identity,
    note: object,
    customer_impact: object,
    root_cause_hint: object = None,
    expected_version: object = None,
    now: datetime | None = None,
) -> IncidentDetail:
    """Only a person resolves: with a resolution note, whether customers were affected (confirmed),
    and a hint at the root cause for the review. The agent writes its brief at resolution."""
    who, now = common.acting(actor, Permission.RESPOND, company), now or clock.now()
    text = common.note(note, required=True)
    if not isinstance(customer_impact, bool):
        raise Invalid(
            "customer_impact must be true or false (were customers affected?)", field="customer_impact"
        )
    hint = common.note(root_cause_hint, field="root_cause_hint")
    if len(hint) > HINT_MAX:
        raise Invalid(f"root_cause_hint must be at most {HINT_MAX} characters", field="root_cause_hint")
    cur = db.cursor()
    with unit_of_work(cur):
        detail = _begin(cur, company=company, incident_id=incident_id, expected_version=expected_version)
        s = detail.summary
        if s.status == IncidentStatus.RESOLVED:
            raise Conflict(
                f"incident {s.id} is already resolved", field="status", resolved_at=str(s.resolved_at)
            )
        flags = [f for f in s.flags if f != "customer_impact"] + (
            ["customer_impact"] if customer_impact else []
        )
        _set(cur, detail, now=now, status=IncidentStatus.RESOLVED.value, resolved_at=now, flags=flags)
        message = f"Resolved by {who}: {text}"
        if hint:
            message += f" (root cause hint: {hint})"
        message += " · customers affected" if customer_impact else " · no customer impact"
        common.record(
            cur, detail=detail, kind="resolved", actor=who, message=message, now=now, action="resolve",
            before={"status": s.status.value},
            after={"status": "resolved", "customer_impact": customer_impact, "root_cause_hint": hint,
                   "note": text},
            data={"customer_impact": customer_impact, "root_cause_hint": hint},
        )  # fmt: skip
        agent.refresh(cur, company=company, incident_id=s.id, now=now, act=False)
    notify.incident_resolved(db, company=company, incident_id=s.id, now=now)
    return _answer(db, company, s.id)


def reopen(
    db: Database,
    *,
    company: str,
    incident_id: object,
    actor: Identity,
    note: object,
    expected_version: object = None,
    now: datetime | None = None,
) -> IncidentDetail:
    """A resolved incident back to `open` (it was not over after all)."""
    who, now = common.acting(actor, Permission.RESPOND, company), now or clock.now()
    text = common.note(note, required=True)
    cur = db.cursor()
    with unit_of_work(cur):
        detail = _begin(cur, company=company, incident_id=incident_id, expected_version=expected_version)
        if detail.summary.status != IncidentStatus.RESOLVED:
            raise Conflict(f"incident {detail.summary.id} is not resolved", field="status")
        _set(cur, detail, now=now, status=IncidentStatus.OPEN.value, resolved_at=None)
        common.record(
            cur, detail=detail, kind="reopened", actor=who, message=f"Reopened by {who}: {text}", now=now,
            action="reopen", before={"status": "resolved"}, after={"status": "open", "note": text},
        )  # fmt: skip
    agent.after_detection(db, company=company, incident_ids=[detail.summary.id], now=now)
    return _answer(db, company, detail.summary.id)
