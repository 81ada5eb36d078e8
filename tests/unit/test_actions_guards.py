"""Guard rails of automatic actions: only safe ones, rate limit, cooldown, no repeat of what did not
help. The clock is an argument (``now``); nothing here waits in real time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from calmops import actions
from calmops.companies import create_company, register_service
from calmops.incidents import get_incident, open_incident
from calmops.store import Database, unit_of_work
from calmops.store.db import Cursor
from calmops.store.snapshots import append, batch
from calmops.vocabulary import Severity
from tests.people import person

T0 = datetime(2026, 11, 26, 22, 0, tzinfo=UTC)
COMPANY = "acme-freight"
WORKER = "dispatch-worker"
ADMIN = person("ops-admin", "admin", COMPANY)


def make_world(cur: Cursor) -> None:
    """A company with a worker that calls an external gateway, and a webhook for its actions
    (planning never calls it; tests that dispatch point it at a receiver of their own)."""
    with unit_of_work(cur):
        create_company(cur, company=COMPANY, name="Acme Freight", now=T0 - timedelta(days=1))
    register_service(cur, company=COMPANY, service="carrier-gateway", kind="external", actor=person("test"))
    register_service(cur, company=COMPANY, service=WORKER, kind="worker", depends_on=["carrier-gateway"],
                     actor=person("test"))  # fmt: skip
    actions.set_executor(
        cur, company=COMPANY, action="*", url="http://127.0.0.1:9/not-called", secret="x" * 16, actor=ADMIN
    )


def open_one(cur: Cursor, service: str = WORKER, family: str = "queue_depth") -> int:
    with unit_of_work(cur):
        return open_incident(
            cur, company=COMPANY, title=f"{family} on {service}", service=service, severity=Severity.CRITICAL,
            started_at=T0 - timedelta(minutes=5), detected_at=T0, source="rule", message="detected",
            rule_family=family,
        )  # fmt: skip


def store(cur: Cursor, service: str, metric: str, points: list[tuple[datetime, float]]) -> None:
    with unit_of_work(cur):
        append(cur, batch([(COMPANY, service, metric, "", ts, value) for ts, value in points]))


def plan(cur: Cursor, incident_id: int, action: str, now: datetime, **kwargs) -> actions.Attempt | None:
    with unit_of_work(cur):
        return actions.plan_auto(
            cur, company=COMPANY, incident_id=incident_id, service=kwargs.pop("service", WORKER),
            action=action, reason="queue over 10,000 jobs", metric=kwargs.pop("metric", "queue_depth"),
            now=now, **kwargs,
        )  # fmt: skip


def skipped(cur: Cursor, incident_id: int) -> list[actions.Attempt]:
    return [
        a
        for a in actions.list_attempts(cur, company=COMPANY, incident_id=incident_id)
        if a.outcome == "skipped"
    ]


@pytest.fixture
def cur(db: Database) -> Cursor:
    cursor = db.cursor()
    make_world(cursor)
    store(cursor, WORKER, "queue_depth", [(T0 - timedelta(minutes=m), 12_000 - 100 * m) for m in range(5)])
    return cursor


def test_only_safe_actions_run_by_themselves_and_a_refusal_is_recorded_once(cur: Cursor) -> None:
    incident = open_one(cur)
    refusals = [("restart_service", "risk"), ("rollback_deploy", "risk"),
                ("wait_and_watch", "recommend_only"), ("escalate_to_lead", "recommend_only")]  # fmt: skip
    for action, code in refusals:
        assert plan(cur, incident, action, T0) is None
        assert plan(cur, incident, action, T0 + timedelta(minutes=1)) is None  # the next round asks again
        refused = [a for a in skipped(cur, incident) if a.action == action]
        assert [(a.refusal, a.kind, a.verdict) for a in refused] == [(code, "auto", None)], action
    assert "needs an approval" in next(
        a.detail for a in skipped(cur, incident) if a.action == "restart_service"
    )

    attempt = plan(cur, incident, "scale_workers", T0)
    assert attempt is not None
    assert (attempt.outcome, attempt.verdict, attempt.kind, attempt.risk) == (
        "pending",
        "pending",
        "auto",
        "safe",
    )
    assert attempt.before_value == 11_900  # the median of the samples in the last three minutes
    assert attempt.settle_until == T0 + timedelta(minutes=5)
    timeline = get_incident(cur, company=COMPANY, incident_id=incident).timeline
    auto = [e for e in timeline if e.kind == "auto_action"]
    assert len(auto) == 5 and {e.actor for e in auto} == {
        "agent"
    }  # four refusals, told once each, and the plan
    assert auto[-1].outcome == "pending" and "scale workers on dispatch-worker" in auto[-1].message
    assert "queue over 10,000 jobs" in auto[-1].message


def test_at_most_n_an_hour_per_service_and_action(cur: Cursor) -> None:
    rails = actions.GuardRails(max_per_hour=3, cooldown=timedelta(0))
    incidents = [open_one(cur) for _ in range(5)]  # the limit is the service's, whatever the incident
    for minute, incident in enumerate(incidents[:3]):
        assert plan(cur, incident, "scale_workers", T0 + timedelta(minutes=minute), rails=rails) is not None
    assert plan(cur, incidents[3], "scale_workers", T0 + timedelta(minutes=30), rails=rails) is None
    assert [a.refusal for a in skipped(cur, incidents[3])] == ["rate_limit"]
    assert "at most 3" in skipped(cur, incidents[3])[0].detail
    assert plan(cur, incidents[3], "rotate_logs", T0 + timedelta(minutes=30), rails=rails) is not None
    assert (
        plan(cur, incidents[3], "scale_workers", T0 + timedelta(minutes=30), rails=rails, service="api")
        is not None
    )
    assert (
        plan(cur, incidents[4], "scale_workers", T0 + timedelta(minutes=60, seconds=1), rails=rails)
        is not None
    )


def test_a_cooldown_between_attempts_and_its_refusal_is_news_once(cur: Cursor) -> None:
    first, second = open_one(cur), open_one(cur)
    assert plan(cur, first, "scale_workers", T0) is not None
    for minutes in (5, 6, 9):
        assert plan(cur, second, "scale_workers", T0 + timedelta(minutes=minutes)) is None
    assert [a.refusal for a in skipped(cur, second)] == ["cooldown"]
    assert "cooldown is 10 min" in skipped(cur, second)[0].detail
    assert plan(cur, second, "scale_workers", T0 + timedelta(minutes=10, seconds=1)) is not None
    assert plan(cur, first, "scale_workers", T0 + timedelta(minutes=12)) is None  # a new cooldown: news again
    assert [a.refusal for a in skipped(cur, first)] == ["cooldown"]
    quick = actions.GuardRails(cooldown=timedelta(minutes=1))  # shorter than the settle time:
    assert plan(cur, second, "scale_workers", T0 + timedelta(minutes=12), rails=quick) is None
    assert [a.refusal for a in skipped(cur, second)] == ["cooldown", "settling"]  # still being judged


def _judged(cur: Cursor, incident: int, after: float, now: datetime) -> actions.Attempt:
    """Plan scale_workers at ``now``, let it run, store ``after`` over its settle time and judge it."""
    attempt = plan(cur, incident, "scale_workers", now)
    assert attempt is not None
    mark_ran(cur, attempt.id, now)
    store(cur, WORKER, "queue_depth", [(now + timedelta(minutes=m), after) for m in range(1, 6)])
    with unit_of_work(cur):
        (done,) = actions.verify_due(cur, company=COMPANY, now=now + timedelta(minutes=5))
    return done


def mark_ran(cur: Cursor, attempt_id: int, at: datetime) -> None:
    """As a dispatch with a succeeding executor leaves it (executors have tests of their own)."""
    with unit_of_work(cur):
        cur.execute(
            "UPDATE action_attempts SET outcome = 'succeeded', started_at = ?, finished_at = ? WHERE id = ?",
            [at, at, attempt_id],
        )


@pytest.mark.parametrize(("after", "verdict"), [(11_900.0, "no_effect"), (16_000.0, "worse")])
def test_an_action_that_did_not_help_is_not_repeated_on_that_incident(
    cur: Cursor, after: float, verdict: str
) -> None:
    incident, other = open_one(cur), open_one(cur)
    assert _judged(cur, incident, after, T0).verdict == verdict
    later = T0 + timedelta(minutes=20)
    assert plan(cur, incident, "scale_workers", later) is None
    assert plan(cur, incident, "scale_workers", later + timedelta(minutes=1)) is None
    (refusal,) = [a for a in skipped(cur, incident) if a.requested_by == "agent"]
    assert refusal.refusal == "did_not_help" and "not repeated" in refusal.detail
    assert plan(cur, other, "scale_workers", later) is not None  # another incident may still try it


def test_an_effective_action_may_run_again_after_its_cooldown(cur: Cursor) -> None:
    incident = open_one(cur)
    assert _judged(cur, incident, 2_000.0, T0).verdict == "effective"
    assert plan(cur, incident, "scale_workers", T0 + timedelta(minutes=11)) is not None


def test_unknown_actions_are_a_programming_error(cur: Cursor) -> None:
    with pytest.raises(ValueError):
        plan(cur, open_one(cur), "drop_database", T0)


def test_without_anything_to_carry_it_out_an_action_is_not_planned(cur: Cursor) -> None:
    actions.remove_executor(cur, company=COMPANY, action="*", actor=ADMIN)
    incident = open_one(cur)
    assert plan(cur, incident, "scale_workers", T0) is None
    assert plan(cur, incident, "scale_workers", T0 + timedelta(minutes=30)) is None
    (refused,) = skipped(cur, incident)
    assert (refused.refusal, refused.detail) == ("no_executor", "no executor configured for scale_workers")
