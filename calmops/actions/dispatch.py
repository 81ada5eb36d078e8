"""Carrying planned attempts out: the executor, the outcome, the timeline, the incident's status.

``dispatch`` runs outside any transaction because executors do network I/O: it claims each
pending attempt (one transaction: a second dispatcher finds it taken), runs its executor, and
records the outcome in a transaction of its own. The executor is the company's webhook for the
action (or for '*'); without one, a demo company's actions act on the demo world; without either
the attempt is ``skipped`` with the reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import duckdb

from calmops import clock
from calmops.actions import catalogue
from calmops.actions.attempts import COLUMNS, Attempt, Kind, Outcome, get_attempt, insert_attempt
from calmops.actions.catalogue import DEFAULT_RAILS, GuardRails
from calmops.actions.executors import executor_for, post_webhook
from calmops.actions.plan import AGENT, plan_attempt
from calmops.incidents import add_event, update_incident
from calmops.store import Database
from calmops.store.db import Cursor, first, retry_conflicts, unit_of_work
from calmops.timeio import to_iso
from calmops.vocabulary import ACTION_RISK, Action, IncidentStatus

# An action that ran (or is running) moves an incident from these to `mitigating` (CONTRACT.md).
BEFORE_MITIGATING: tuple[str, ...] = (IncidentStatus.OPEN.value, IncidentStatus.ACKNOWLEDGED.value)


@dataclass(frozen=True)
class Execution:
    """What an executor reports back."""

    outcome: Outcome
    executor: str | None
    detail: str
    response: dict | None = None


def dispatch(db: Database, *, attempt_ids: list[int], now: datetime | None = None) -> list[Attempt]:
    """Run each pending attempt through its executor and record the outcome (call it after the
    planning transaction committed, never inside one). Attempts another dispatcher took, or that
    are no longer pending, come back as they are; unknown ids are left out."""
    done = []
    for attempt_id in attempt_ids:
        attempt = _dispatch_one(db, attempt_id, now)
        if attempt is not None:
            done.append(attempt)
    return done


def _dispatch_one(db: Database, attempt_id: int, now: datetime | None) -> Attempt | None:
    cur = db.cursor()
    claimed = _claim(cur, attempt_id, now or clock.now())
    if claimed is None:
        return get_attempt(cur, attempt_id=attempt_id)
    try:
        execution = _execute(db, claimed, now)
    except Exception as exc:  # an executor's bug must not leave the attempt pending forever
        execution = Execution(Outcome.FAILED, None, f"the executor failed: {exc}", {"error": repr(exc)[:500]})
    return retry_conflicts(lambda: _record(cur, claimed, execution, now or clock.now()))


def _claim(cur: Cursor, attempt_id: int, at: datetime) -> Attempt | None:
    def work() -> list[tuple]:
        with unit_of_work(cur):
            return cur.execute(
                f"""UPDATE action_attempts SET started_at = ?
                    WHERE id = ? AND outcome = 'pending' AND started_at IS NULL RETURNING {COLUMNS}""",
                [at, attempt_id],
            ).fetchall()

    try:
        rows = retry_conflicts(work)
    except duckdb.TransactionException:  # another dispatcher kept winning: it has it
        return None
    return Attempt.from_row(rows[0]) if rows else None


def _execute(db: Database, attempt: Attempt, now: datetime | None) -> Execution:
    """Choose the executor and run it (no transaction is open here)."""
    action = Action(attempt.action)
    if action in catalogue.RECOMMEND_ONLY:
        return Execution(
            Outcome.SKIPPED, None, f"nothing to execute: {action.value} is a decision, not a change"
        )
    config = executor_for(db.cursor(), company=attempt.company, action=attempt.action)
    if config is not None:
        payload = {
            "company": attempt.company,
            "incident_id": attempt.incident_id,
            "service": attempt.service,
            "action": attempt.action,
            "attempt_id": attempt.id,
            "reason": attempt.reason,
            "requested_at": to_iso(attempt.at),
        }
        result = post_webhook(config, payload, attempt_id=attempt.id)
        response = {**result.to_json(), "url": config.url}
        return Execution(
            Outcome.SUCCEEDED if result.ok else Outcome.FAILED, "webhook", result.summary, response
        )
    from calmops.demo import scenarios  # the demo imports detection: imported when needed

    if scenarios.is_demo_company(db, company=attempt.company):
        try:
            done = scenarios.mitigate(
                db, company=attempt.company, service=attempt.service, action=attempt.action,
                attempt_id=attempt.id, now=now,
            )  # fmt: skip
        except scenarios.ScenarioError as exc:
            return Execution(Outcome.FAILED, "demo", str(exc), {"executor": "demo", "error": str(exc)})
        applied = [
            {
                "service": a.episode.service,
                "pattern": a.episode.pattern.value,
                "ends": a.ends,
                "scope": a.mitigation.scope,
            }
            for a in done.applied
        ]
        return Execution(Outcome.SUCCEEDED, "demo", done.message, {"executor": "demo", "applied": applied})
    return Execution(Outcome.SKIPPED, None, f"no executor configured for {attempt.action}")


def _record(cur: Cursor, attempt: Attempt, execution: Execution, at: datetime) -> Attempt:
    """The outcome, one timeline event, and `mitigating` for an incident an action now works on."""
    succeeded = execution.outcome == Outcome.SUCCEEDED
    verdict = attempt.verdict if succeeded else None
    settle_until = attempt.settle_until
    if succeeded and settle_until is not None:  # the settle time counts from when it actually ran
        settle_until = max(settle_until, at + (settle_until - attempt.at))
    with unit_of_work(cur):
        row = cur.execute(
            f"""UPDATE action_attempts SET outcome = ?, executor = ?, detail = ?, response = ?,
                   finished_at = ?, verdict = ?, settle_until = ?
                WHERE id = ? RETURNING {COLUMNS}""",
            [execution.outcome.value, execution.executor, execution.detail,
             None if execution.response is None else json.dumps(execution.response, default=str), at,
             verdict, settle_until, attempt.id],
        ).fetchall()[0]  # fmt: skip
        done = Attempt.from_row(row)
        message = (
            f"{catalogue.label(done.action).capitalize()} on {done.service} {done.outcome}: {done.detail}"
        )
        status = None
        if succeeded:
            status = _start_mitigating(cur, done, at)
            if status:
                message += f" — the incident is now {status}"
        add_event(
            cur, company=done.company, incident_id=done.incident_id, ts=at, kind="executed",
            actor=AGENT if done.kind == Kind.AUTO else done.requested_by, message=message,
            outcome=done.outcome,
            data={"attempt_id": done.id, "action": done.action, "service": done.service,
                  "executor": done.executor, "kind": done.kind},
        )  # fmt: skip
    return done


def _start_mitigating(cur: Cursor, attempt: Attempt, at: datetime) -> str | None:
    row = first(
        cur,
        "SELECT status FROM incidents WHERE id = ? AND company = ?",
        [attempt.incident_id, attempt.company],
    )
    if row is None or row[0] not in BEFORE_MITIGATING:
        return None
    actor = AGENT if attempt.kind == Kind.AUTO else attempt.requested_by
    update_incident(
        cur, company=attempt.company, incident_id=attempt.incident_id, ts=at, actor=actor,
        status=IncidentStatus.MITIGATING,
    )  # fmt: skip
    return IncidentStatus.MITIGATING.value


# --------------------------------------------------------------------------- approved actions


def metric_for(
    cur: Cursor, *, company: str, service: str, action: Action, rule_family: str | None
) -> str | None:
    """The metric an approved action is judged on: the incident's own when the action is meant to
    move it, else the first of the action's metrics the service reports."""
    wanted = catalogue.ACTION_METRICS.get(action, ())
    if rule_family in wanted:
        return rule_family
    reported = {
        r[0]
        for r in cur.execute(
            "SELECT metric FROM latest WHERE company = ? AND service = ? AND labels = ''", [company, service]
        ).fetchall()
    }
    return next((m for m in wanted if m in reported), None) or rule_family


def execute_approved(
    db: Database,
    *,
    company: str,
    incident_id: int,
    recommendation_id: int | None,
    action: Action | str,
    actor: str,
    now: datetime | None = None,
    service: str | None = None,
    metric: str | None = None,
    rails: GuardRails = DEFAULT_RAILS,
) -> Attempt:
    """Record an ``approved`` attempt and dispatch it like an automatic one (the seam the operator's
    approval calls; the golden rule and the confirmation of risky actions are the workflow's).
    ``service`` defaults to the incident's, ``metric`` to the one the action should move."""
    act = Action(action)
    at = now or clock.now()
    cur = db.cursor()

    def record() -> Attempt:
        with unit_of_work(cur):
            incident = first(
                cur,
                "SELECT service, rule_family FROM incidents WHERE id = ? AND company = ?",
                [incident_id, company],
            )
            if incident is None:
                raise LookupError(f"no incident {incident_id} for {company}")
            target = service or incident[0]
            why = (
                _recommendation_reason(cur, company, incident_id, recommendation_id) or f"approved by {actor}"
            )
            if act in catalogue.RECOMMEND_ONLY:
                return _nothing_to_run(
                    cur, company, incident_id, target, act, actor, why, at, recommendation_id
                )
            chosen = metric or metric_for(
                cur, company=company, service=target, action=act, rule_family=incident[1]
            )
            return plan_attempt(
                cur, company=company, incident_id=incident_id, service=target, action=act, kind=Kind.APPROVED,
                requested_by=actor, reason=why, metric=chosen, now=at, rails=rails,
                recommendation_id=recommendation_id,
            )  # fmt: skip

    attempt = retry_conflicts(record)
    if attempt.outcome != Outcome.PENDING:
        return attempt
    return dispatch(db, attempt_ids=[attempt.id], now=now)[0]


def _recommendation_reason(
    cur: Cursor, company: str, incident_id: int, recommendation_id: int | None
) -> str | None:
    if recommendation_id is None:
        return None
    row = first(
        cur,
        "SELECT reason FROM recommendations WHERE id = ? AND company = ? AND incident_id = ?",
        [recommendation_id, company, incident_id],
    )
    return row[0] if row and row[0] else None


def _nothing_to_run(
    cur: Cursor,
    company: str,
    incident_id: int,
    service: str,
    action: Action,
    actor: str,
    reason: str,
    at: datetime,
    recommendation_id: int | None,
) -> Attempt:
    """Waiting and escalating are approved like any recommendation but change nothing here."""
    detail = (
        "nothing to execute: CalmOps keeps watching"
        if action == Action.WAIT_AND_WATCH
        else "nothing to execute here: the escalation workflow notifies the lead"
    )
    attempt = insert_attempt(
        cur, company=company, incident_id=incident_id, service=service, action=action.value,
        risk=ACTION_RISK[action].value, kind=Kind.APPROVED, requested_by=actor, reason=reason, metric=None,
        at=at, outcome=Outcome.SKIPPED, detail=detail, finished_at=at, recommendation_id=recommendation_id,
    )  # fmt: skip
    add_event(
        cur, company=company, incident_id=incident_id, ts=at, kind="executed", actor=actor,
        message=f"{catalogue.label(action).capitalize()}: {detail}", outcome=Outcome.SKIPPED.value,
        data={"attempt_id": attempt.id, "action": action.value, "service": service,
              "kind": Kind.APPROVED.value},
    )  # fmt: skip
    return attempt
