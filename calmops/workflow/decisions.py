"""Approve or decline what the agent recommended — under the golden rule.

The golden rule (RUNBOOK step 5): nothing runs that the agent did not recommend for this very
incident. It is enforced here, for the UI, the API and the CLI alike: only a `proposed`
recommendation of this incident can be decided; anything else is refused (422, or 409 when a person
already decided it), the refusal is audited, and nothing runs. Two people deciding at once: the
recommendation's version and a conditional update let exactly one win; the other is told who
decided and when. `medium` and `high` risk need an explicit confirmation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

import duckdb

from calmops import actions, agent, clock, incidents
from calmops.auth import Identity, Permission
from calmops.store.db import Cursor, Database, first, unit_of_work
from calmops.timeio import to_iso
from calmops.vocabulary import Action, IncidentStatus, RecommendationStatus, Risk
from calmops.workflow import common
from calmops.workflow.errors import Conflict, Forbidden, Invalid, NotAllowed, WorkflowError

NEEDS_CONFIRM = (Risk.MEDIUM, Risk.HIGH)
NOTHING_TO_RUN = (Action.WAIT_AND_WATCH,)  # approving it is the decision; there is nothing to execute
DECIDED = ("approved", "declined", "executing", "succeeded", "failed")
RACE_TRIES = 6


class _Raced(Exception):
    """The recommendation moved between this transaction's read and its write."""


@dataclass(frozen=True)
class Decision:
    recommendation: dict
    execution: dict | None = None

    def to_json(self) -> dict:
        return {"recommendation": self.recommendation, "execution": self.execution}


def _recommendation(cur: Cursor, *, company: str, recommendation_id: int) -> dict | None:
    found = [
        r
        for r in agent.recommendations_by_id(cur, company=company, ids=[recommendation_id])
        if r["id"] == recommendation_id
    ]
    return found[0] if found else None


def _check_id(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise Invalid("recommendation_id must be a positive integer", field="recommendation_id")
    return value


def _refused(
    db: Database, *, company: str, incident_id: int, actor: str, verb: str, error: WorkflowError
) -> None:
    """A refused decision leaves an audit row of its own (the refused transaction rolled back)."""
    cur = db.cursor()
    with unit_of_work(cur):
        incidents.audit(
            cur, company=company, ts=clock.now(), actor=actor, action=f"{verb}.refused", entity="incident",
            entity_id=incident_id, after={"reason": error.message, "status": error.status, **error.extra},
        )  # fmt: skip


def _decidable(
    cur: Cursor, *, company: str, incident_id: int, recommendation_id: int, expected: object
) -> dict:
    """The recommendation, if the golden rule lets a person decide it now; else the refusal."""
    rec = _recommendation(cur, company=company, recommendation_id=recommendation_id)
    if rec is None or rec["incident_id"] != incident_id:
        raise NotAllowed(
            f"recommendation {recommendation_id} is not one the agent made for incident {incident_id}: "
            "only what the agent recommended for this incident can be decided (golden rule)",
            field="recommendation_id",
        )
    if rec["status"] in DECIDED:
        raise Conflict(
            f"recommendation {recommendation_id} was already {rec['status']} by {rec['decided_by']} "
            f"at {rec['decided_at']}",
            field="recommendation_id",
            decided_by=rec["decided_by"],
            decided_at=rec["decided_at"],
            recommendation_status=rec["status"],
        )
    if rec["status"] != RecommendationStatus.PROPOSED.value:
        raise NotAllowed(
            f"recommendation {recommendation_id} was {rec['status']}: the agent no longer recommends it",
            field="recommendation_id",
        )
    if expected is None:
        raise Invalid("expected_version (the recommendation's version you read) is required",
                      field="expected_version")  # fmt: skip
    if not isinstance(expected, int) or isinstance(expected, bool):
        raise Invalid("expected_version must be an integer", field="expected_version")
    if expected != rec["version"]:
        raise Conflict(
            f"recommendation {recommendation_id} changed since you read it (version {expected}, now "
            f"{rec['version']}); reload the brief and decide again",
            field="expected_version",
            version=rec["version"],
        )
    return rec


def _decide(
    db: Database,
    *,
    verb: str,
    company: str,
    incident_id: object,
    recommendation_id: object,
    expected_version: object,
    actor: str,
    note: str,
    confirm: object,
    now: datetime,
    may_approve_risky: bool = False,
) -> tuple[dict, int]:
    """Mark the recommendation approved or declined in one transaction; (recommendation, incident id).

    Two people at once: the loser's transaction conflicts (or finds the row moved); it waits for
    the winner to commit and tries again, and the second look says who decided and when.
    """
    cur = db.cursor()

    def attempt() -> tuple[dict, int]:
        with unit_of_work(cur):
            detail = common.load(cur, company=company, incident_id=incident_id)
            rec_id = _check_id(recommendation_id)
            if detail.summary.status == IncidentStatus.RESOLVED:
                raise NotAllowed(f"incident {detail.summary.id} is resolved: reopen it before acting on it",
                                 field="status")  # fmt: skip
            rec = _decidable(
                cur, company=company, incident_id=detail.summary.id, recommendation_id=rec_id,
                expected=expected_version,
            )  # fmt: skip
            risk = Risk(rec["risk"])
            if verb == "approve" and risk in NEEDS_CONFIRM and not may_approve_risky:
                raise Forbidden(
                    f"{rec['action']} is {risk.value} risk: only a lead or an admin of {company} may "
                    "approve it; escalate to your lead",
                    field="recommendation_id",
                    needs="the lead role or above",
                )
            if verb == "approve" and risk in NEEDS_CONFIRM and confirm is not True:
                raise NotAllowed(
                    f"{rec['action']} is {risk.value} risk: approving it needs an explicit confirmation "
                    '("confirm": true)',
                    field="confirm",
                )
            status = "approved" if verb == "approve" else "declined"
            moved = cur.execute(
                """UPDATE recommendations SET status = ?, version = version + 1, decided_by = ?,
                       decided_at = ?, note = ?
                   WHERE id = ? AND company = ? AND status = 'proposed' AND version = ? RETURNING id""",
                [status, actor, now, note or None, rec_id, company, rec["version"]],
            ).fetchall()
            if not moved:  # changed between the read and the write in this very transaction
                raise _Raced
            words = rec["action"].replace("_", " ")
            message = f"{'Approved' if status == 'approved' else 'Declined'}: {words} ({risk.value} risk)"
            if note:
                message += f" — {note}"
            common.record(
                cur, detail=detail, kind=status, actor=actor, message=message, now=now,
                action=f"recommendation.{verb}", before={"recommendation_id": rec_id, "status": "proposed"},
                after={"recommendation_id": rec_id, "status": status, "note": note},
                data={"recommendation_id": rec_id, "action": rec["action"], "risk": risk.value},
            )  # fmt: skip
        return {**rec, "status": status}, detail.summary.id

    for tries in range(RACE_TRIES):
        try:
            return attempt()
        except (duckdb.TransactionException, _Raced):
            time.sleep(0.05 * (tries + 1))
        except (NotAllowed, Conflict, Forbidden) as error:
            _refused(db, company=company, incident_id=int(incident_id), actor=actor, verb=verb, error=error)
            raise
    error = Conflict(f"recommendation {recommendation_id} is being decided by someone else; reload the brief",
                     field="recommendation_id")  # fmt: skip
    _refused(db, company=company, incident_id=int(incident_id), actor=actor, verb=verb, error=error)
    raise error


def approve(
    db: Database,
    *,
    company: str,
    incident_id: object,
    recommendation_id: object,
    expected_version: object,
    actor: Identity,
    note: object = None,
    confirm: object = False,
    now: datetime | None = None,
) -> Decision:
    """Approve a proposed recommendation of this incident and carry it out through its executor;
    the outcome lands on the timeline and in the recommendation's status."""
    who = common.acting(actor, Permission.APPROVE_LOW, company)
    text, now = common.note(note), now or clock.now()
    rec, incident = _decide(
        db, verb="approve", company=company, incident_id=incident_id, recommendation_id=recommendation_id,
        expected_version=expected_version, actor=who, note=text, confirm=confirm, now=now,
        may_approve_risky=actor.can(Permission.APPROVE_HIGH, company),
    )  # fmt: skip
    action = Action(rec["action"])
    execution = None
    if action in NOTHING_TO_RUN:
        final = RecommendationStatus.SUCCEEDED
    elif action == Action.ESCALATE_TO_LEAD:
        from calmops.workflow import escalation

        escalation.escalate(
            db, company=company, incident_id=incident, actor=actor, reason="the agent recommended it",
            note=text or "Approved the agent's recommendation to escalate", now=now,
        )  # fmt: skip
        final = RecommendationStatus.SUCCEEDED
    else:
        _set_status(db, rec["id"], RecommendationStatus.EXECUTING)
        attempt = actions.execute_approved(
            db, company=company, incident_id=incident, recommendation_id=rec["id"], action=action, actor=who,
            now=now,
        )  # fmt: skip
        execution = attempt.to_json()
        final = (
            RecommendationStatus.SUCCEEDED if attempt.outcome == "succeeded" else RecommendationStatus.FAILED
        )
    after = _set_status(db, rec["id"], final)
    agent.after_detection(db, company=company, incident_ids=[incident], now=now)
    return Decision(after, execution)


def decline(
    db: Database,
    *,
    company: str,
    incident_id: object,
    recommendation_id: object,
    expected_version: object,
    actor: Identity,
    note: object,
    now: datetime | None = None,
) -> Decision:
    """Decline a proposed recommendation, with the reason; nothing runs, and the agent does not
    propose the same action again for this incident."""
    who, now = common.acting(actor, Permission.RESPOND, company), now or clock.now()
    text = common.note(note, required=True)
    rec, incident = _decide(
        db, verb="decline", company=company, incident_id=incident_id, recommendation_id=recommendation_id,
        expected_version=expected_version, actor=who, note=text, confirm=None, now=now,
    )  # fmt: skip
    current = _recommendation(db.cursor(), company=company, recommendation_id=rec["id"])
    agent.after_detection(db, company=company, incident_ids=[incident], now=now)
    return Decision(current or rec)


def _set_status(db: Database, recommendation_id: int, status: RecommendationStatus) -> dict:
    cur = db.cursor()
    with unit_of_work(cur):
        cur.execute(
            "UPDATE recommendations SET status = ?, version = version + 1 WHERE id = ?",
            [status.value, recommendation_id],
        )
        company = first(cur, "SELECT company FROM recommendations WHERE id = ?", [recommendation_id])[0]
    return _recommendation(cur, company=company, recommendation_id=recommendation_id)


def decided_text(rec: dict) -> str:
    """``approved by maria at 02:14Z``: for the form once a decision exists."""
    return f"{rec['status']} by {rec.get('decided_by') or '—'} at {to_iso(rec.get('decided_at')) or '—'}"
