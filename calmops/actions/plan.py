"""Planning an attempt: an automatic one behind the guard rails, or an approved one as asked.

Planning is a write in the caller's transaction (the row, its timeline event); carrying the action
out is network I/O and happens afterwards, outside any transaction (``dispatch``).
"""

from __future__ import annotations

from datetime import datetime

from calmops.actions import catalogue, guards
from calmops.actions.attempts import Attempt, Kind, Outcome, Verdict, insert_attempt
from calmops.actions.catalogue import DEFAULT_RAILS, GuardRails
from calmops.actions.executors import can_execute
from calmops.actions.verify import recent_value
from calmops.incidents import add_event
from calmops.store.db import Cursor
from calmops.vocabulary import ACTION_RISK, Action, format_value

AGENT = "agent"  # the actor of automatic actions


def plan_auto(
    cur: Cursor,
    *,
    company: str,
    incident_id: int,
    service: str,
    action: Action | str,
    reason: str,
    metric: str | None,
    now: datetime,
    rails: GuardRails = DEFAULT_RAILS,
) -> Attempt | None:
    """Plan an automatic action, in the caller's transaction, if the guard rails allow it.

    Allowed: a ``pending`` attempt with the metric's value before it and its settle time, and an
    ``auto_action`` timeline event; the caller then hands the id to ``dispatch`` after committing.
    Refused (a guard rail, or nothing to carry it out: no webhook and not a demo company): None,
    and the refusal is recorded (a ``skipped`` attempt and a timeline event) only when it is news,
    so the evaluation rounds of one cooldown do not fill the timeline. Two planners racing for the
    same (service, action) both write its ``action_guard`` row, so one of them gets
    ``duckdb.TransactionException``; run this under ``retry_conflicts`` and the retry is refused.
    """
    act = Action(action)
    refusal = guards.check(
        cur, company=company, incident_id=incident_id, service=service, action=act, now=now, rails=rails
    )
    if refusal is None and not can_execute(cur, company=company, action=act.value):
        refusal = guards.Refusal("no_executor", f"no executor configured for {act.value}")
    if refusal is not None:
        _record_refusal(cur, company, incident_id, service, act, reason, metric, now, refusal)
        return None
    cur.execute(
        "INSERT INTO action_guard VALUES (?, ?, ?, ?) "
        "ON CONFLICT DO UPDATE SET last_planned_at = excluded.last_planned_at",
        [company, service, act.value, now],
    )
    return plan_attempt(
        cur, company=company, incident_id=incident_id, service=service, action=act, kind=Kind.AUTO,
        requested_by=AGENT, reason=reason, metric=metric, now=now, rails=rails, recommendation_id=None,
    )  # fmt: skip


def _record_refusal(
    cur: Cursor,
    company: str,
    incident_id: int,
    service: str,
    action: Action,
    reason: str,
    metric: str | None,
    now: datetime,
    refusal: guards.Refusal,
) -> None:
    if not guards.is_news(
        cur, company=company, incident_id=incident_id, service=service, action=action, refusal=refusal
    ):
        return
    attempt = insert_attempt(
        cur, company=company, incident_id=incident_id, service=service, action=action.value,
        risk=ACTION_RISK[action].value, kind=Kind.AUTO, requested_by=AGENT, reason=reason, metric=metric,
        at=now, outcome=Outcome.SKIPPED, refusal=refusal.code, detail=refusal.message, finished_at=now,
    )  # fmt: skip
    add_event(
        cur, company=company, incident_id=incident_id, ts=now, kind="auto_action", actor=AGENT,
        message=f"Did not {catalogue.label(action)} on {service} automatically: {refusal.message}",
        outcome=Outcome.SKIPPED.value,
        data={"attempt_id": attempt.id, "action": action.value, "service": service, "refusal": refusal.code},
    )  # fmt: skip


def callers(cur: Cursor, *, company: str, incident_id: int, service: str) -> tuple[str, ...]:
    """The services that call ``service``: those this incident affects, else every one."""
    every = [
        r[0]
        for r in cur.execute(
            "SELECT service FROM service_dependencies WHERE company = ? AND depends_on = ? ORDER BY service",
            [company, service],
        ).fetchall()
    ]
    affected = {
        r[0]
        for r in cur.execute(
            "SELECT service FROM incident_services WHERE company = ? AND incident_id = ?",
            [company, incident_id],
        ).fetchall()
    }
    return tuple(s for s in every if s in affected) or tuple(every)


def plan_attempt(
    cur: Cursor,
    *,
    company: str,
    incident_id: int,
    service: str,
    action: Action,
    kind: Kind,
    requested_by: str,
    reason: str,
    metric: str | None,
    now: datetime,
    rails: GuardRails,
    recommendation_id: int | None,
) -> Attempt:
    """Insert a pending attempt with the metric's value before it, and tell the timeline."""
    watched = None
    if action in catalogue.JUDGED_ON_CALLERS:
        watched = callers(cur, company=company, incident_id=incident_id, service=service) or None
    before = None
    if metric:
        before = recent_value(cur, company=company, services=watched or (service,), metric=metric, at=now)
    attempt = insert_attempt(
        cur, company=company, incident_id=incident_id, service=service, action=action.value,
        risk=ACTION_RISK[action].value, kind=kind, requested_by=requested_by, reason=reason, metric=metric,
        at=now, verdict=Verdict.PENDING if before is not None else None, before_value=before,
        settle_until=now + rails.settle, recommendation_id=recommendation_id, watched=watched,
    )  # fmt: skip
    if kind == Kind.AUTO:
        state = f" ({catalogue.metric_label(metric)} {format_value(metric, before)})" if metric else ""
        add_event(
            cur, company=company, incident_id=incident_id, ts=now, kind="auto_action", actor=AGENT,
            message=f"Automatic action: {catalogue.label(action)} on {service}{state} — {reason}",
            outcome=Outcome.PENDING.value,
            data={"attempt_id": attempt.id, "action": action.value, "service": service, "metric": metric,
                  "before": before, "risk": attempt.risk},
        )  # fmt: skip
    return attempt
