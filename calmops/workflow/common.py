"""What every write of a person shares: the incident it acts on, the version it was read at,
the timeline entry and the audit row, all in the caller's one transaction."""

from __future__ import annotations

from datetime import datetime

from calmops import incidents
from calmops.auth import Identity, Permission, require
from calmops.incidents import IncidentDetail
from calmops.store.db import Cursor
from calmops.workflow.errors import Conflict, Invalid, NotFound, Unauthenticated

NOTE_MAX = 5_000


def load(cur: Cursor, *, company: str, incident_id: object) -> IncidentDetail:
    """The incident, or NotFound (another company's id answers exactly like a missing one)."""
    if not isinstance(incident_id, int) or isinstance(incident_id, bool) or incident_id <= 0:
        raise NotFound(f"no incident {incident_id} in {company!r}", field="id")
    detail = incidents.get_incident(cur, company=company, incident_id=incident_id)
    if detail is None:
        raise NotFound(f"no incident {incident_id} in {company!r}", field="id")
    return detail


def check_version(detail: IncidentDetail, expected: object) -> None:
    """Optimistic concurrency on the incident: ``expected`` None skips the check."""
    if expected is None:
        return
    if not isinstance(expected, int) or isinstance(expected, bool):
        raise Invalid("expected_version must be an integer", field="expected_version")
    if detail.summary.version != expected:
        raise Conflict(
            f"incident {detail.summary.id} changed since you read it (version {expected}, now "
            f"{detail.summary.version}); reload and try again",
            field="expected_version",
            version=detail.summary.version,
        )


def acting(identity: object, permission: Permission, company: str) -> str:
    """Who acts, when they may: the identity's name, which the timeline and the audit log record.
    A company it holds no role in is NotFound (as if it did not exist); a role too low, Forbidden."""
    if not isinstance(identity, Identity):
        raise Unauthenticated("sign in first: every change records who made it", field="actor")
    return require(identity, permission, company)


def assignee(cur: Cursor, *, company: str, name: str) -> str:
    """An incident goes to a person's account that may act on incidents in this company."""
    from calmops.auth import service as accounts

    wanted = name.strip().lower()
    users = [u for u in accounts.list_users(cur, company=company) if u.name == wanted and not u.disabled]
    if not users or not accounts.identity_of(users[0]).can(Permission.RESPOND, company):
        raise Invalid(f"{name.strip()} may not act on incidents in {company}", field="assignee")
    return users[0].name


def note(value: object, *, field: str = "note", required: bool = False) -> str:
    if value is None or value == "":
        if required:
            raise Invalid(f"{field} is required", field=field)
        return ""
    if not isinstance(value, str):
        raise Invalid(f"{field} must be text", field=field)
    text = value.strip()
    if required and not text:
        raise Invalid(f"{field} is required", field=field)
    if len(text) > NOTE_MAX:
        raise Invalid(f"{field} must be at most {NOTE_MAX:,} characters", field=field)
    return text


def record(
    cur: Cursor,
    *,
    detail: IncidentDetail,
    kind: str,
    actor: str,
    message: str,
    now: datetime,
    action: str,
    before: dict | None = None,
    after: dict | None = None,
    outcome: str | None = None,
    data: dict | None = None,
) -> int:
    """One timeline entry and one audit row for a person's change."""
    company, incident_id = detail.summary.company, detail.summary.id
    event_id = incidents.add_event(
        cur, company=company, incident_id=incident_id, ts=now, kind=kind, actor=actor, message=message,
        outcome=outcome, data=data,
    )  # fmt: skip
    incidents.audit(
        cur, company=company, ts=now, actor=actor, action=action, entity="incident", entity_id=incident_id,
        before=before, after=after,
    )  # fmt: skip
    return event_id
