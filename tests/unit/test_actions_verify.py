"""Verify-after-act on stored snapshots: effective, no effect, worse, and what cannot be judged."""

from __future__ import annotations

from datetime import timedelta

import pytest

from calmops import actions
from calmops.actions.verify import judge, recent_value
from calmops.incidents import get_incident
from calmops.store import Database, unit_of_work
from calmops.store.db import Cursor
from tests.unit.test_actions_guards import COMPANY, T0, WORKER, make_world, mark_ran, open_one, plan, store


@pytest.fixture
def cur(db: Database) -> Cursor:
    cursor = db.cursor()
    make_world(cursor)
    return cursor


@pytest.mark.parametrize(
    ("metric", "before", "after", "verdict"),
    [
        ("queue_depth", 12_000, 3_000, "effective"),
        ("queue_depth", 12_000, 11_000, "no_effect"),  # within 10 %: not a clear move
        ("queue_depth", 12_000, 15_000, "worse"),
        ("error_rate", 0.004, 0.012, "no_effect"),  # under the 1-point floor
        ("error_rate", 0.20, 0.01, "effective"),
        ("disk_pct", 93.0, 86.0, "effective"),
        ("disk_pct", 93.0, 91.0, "no_effect"),
        ("up", 0.0, 1.0, "effective"),  # lower is worse for up
        ("up", 1.0, 0.0, "worse"),
        ("latency_p95_ms", 3_000, 3_050, "no_effect"),
    ],
)
def test_judge_needs_a_clear_margin_in_the_metrics_direction(
    metric: str, before: float, after: float, verdict: str
) -> None:
    assert judge(metric, before, after) == verdict


def test_recent_value_is_the_median_of_the_window_else_the_newest_within_reach(cur: Cursor) -> None:
    store(
        cur, WORKER, "queue_depth", [(T0 - timedelta(minutes=m), v) for m, v in [(0, 10), (1, 900), (2, 30)]]
    )
    store(cur, WORKER, "memory_pct", [(T0 - timedelta(minutes=10), 77.0)])
    at = dict(company=COMPANY, services=(WORKER,), at=T0)
    assert recent_value(cur, metric="queue_depth", **at) == 30  # one wild sample does not decide
    assert recent_value(cur, metric="memory_pct", **at) == 77.0  # a quiet series: its newest value
    assert (
        recent_value(
            cur, metric="memory_pct", company=COMPANY, services=(WORKER,), at=T0 + timedelta(hours=1)
        )
        is None
    )
    assert recent_value(cur, metric="queue_depth", not_before=T0 - timedelta(seconds=30), **at) == 10


@pytest.mark.parametrize(
    ("after", "verdict", "words"),
    [
        (2_500.0, "effective", "effective"),
        (12_100.0, "no_effect", "no clear effect"),
        (18_000.0, "worse", "worse"),
    ],
)
def test_verify_due_judges_what_ran_once_its_settle_time_has_passed(
    cur: Cursor, after: float, verdict: str, words: str
) -> None:
    store(cur, WORKER, "queue_depth", [(T0 - timedelta(minutes=m), 12_000.0) for m in range(4)])
    incident = open_one(cur)
    attempt = plan(cur, incident, "scale_workers", T0)
    assert attempt is not None and attempt.before_value == 12_000
    mark_ran(cur, attempt.id, T0)
    store(cur, WORKER, "queue_depth", [(T0 + timedelta(minutes=m), after) for m in range(1, 7)])
    with unit_of_work(cur):
        assert actions.verify_due(cur, company=COMPANY, now=T0 + timedelta(minutes=4)) == []  # still settling
        (judged,) = actions.verify_due(cur, company=COMPANY, now=T0 + timedelta(minutes=5, seconds=10))
    assert (judged.id, judged.verdict, judged.after_value) == (attempt.id, verdict, after)
    with unit_of_work(cur):
        assert actions.verify_due(cur, company=COMPANY, now=T0 + timedelta(minutes=30)) == []  # judged once
    (event,) = [
        e
        for e in get_incident(cur, company=COMPANY, incident_id=incident).timeline
        if e.kind == "verification"
    ]
    assert event.outcome == verdict and words in event.message
    assert "12,000 jobs before" in event.message and event.data["after"] == after
    shown = actions.list_attempts(cur, company=COMPANY, incident_id=incident)[-1].to_json()
    assert {k: shown[k] for k in ("action", "at", "outcome", "verdict", "before_value", "after_value")} == {
        "action": "scale_workers", "at": "2026-11-26T22:00:00Z", "outcome": "succeeded", "verdict": verdict,
        "before_value": 12_000.0, "after_value": after,
    }  # fmt: skip


def test_what_did_not_run_or_has_no_data_is_not_judged(cur: Cursor) -> None:
    incident = open_one(cur)
    no_data = plan(cur, incident, "scale_workers", T0)  # nothing stored before it: nothing to compare
    assert no_data is not None and no_data.before_value is None and no_data.verdict is None

    store(cur, WORKER, "memory_pct", [(T0 - timedelta(minutes=m), 90.0) for m in range(3)])
    late = plan(cur, incident, "rotate_logs", T0, metric="memory_pct")
    assert late is not None and late.verdict == "pending"
    mark_ran(cur, late.id, T0)
    with unit_of_work(cur):  # no samples after it yet: waits for them a while ...
        assert actions.verify_due(cur, company=COMPANY, now=T0 + timedelta(minutes=6)) == []
    with unit_of_work(cur):  # ... then says it could not verify
        (gave_up,) = actions.verify_due(cur, company=COMPANY, now=T0 + timedelta(minutes=16))
    assert gave_up.verdict is None
    (event,) = [
        e
        for e in get_incident(cur, company=COMPANY, incident_id=incident).timeline
        if e.kind == "verification"
    ]
    assert "could not be verified" in event.message and event.outcome is None


def test_a_circuit_breaker_is_judged_on_the_callers(cur: Cursor) -> None:
    store(cur, "carrier-gateway", "error_rate", [(T0 - timedelta(minutes=m), 0.9) for m in range(3)])
    store(cur, WORKER, "error_rate", [(T0 - timedelta(minutes=m), 0.15) for m in range(3)])
    incident = open_one(cur, service="carrier-gateway", family="up")
    attempt = plan(cur, incident, "open_circuit_breaker", T0, service="carrier-gateway", metric="error_rate")
    assert attempt is not None and attempt.watched == (WORKER,) and attempt.before_value == 0.15
    mark_ran(cur, attempt.id, T0)
    store(cur, "carrier-gateway", "error_rate", [(T0 + timedelta(minutes=m), 0.9) for m in range(1, 6)])
    store(cur, WORKER, "error_rate", [(T0 + timedelta(minutes=m), 0.004) for m in range(1, 6)])
    with unit_of_work(cur):
        (judged,) = actions.verify_due(cur, company=COMPANY, now=T0 + timedelta(minutes=5))
    assert judged.verdict == "effective" and judged.after_value == 0.004


def test_an_attempt_never_carried_out_is_failed_and_stops_holding_its_incident(cur: Cursor) -> None:
    store(cur, WORKER, "queue_depth", [(T0 - timedelta(minutes=m), 12_000.0) for m in range(3)])
    incident = open_one(cur)
    stuck = plan(cur, incident, "scale_workers", T0)  # planned, but its dispatcher never reported back
    assert stuck is not None
    assert plan(cur, incident, "scale_workers", T0 + timedelta(minutes=12)) is None  # still "settling"
    with unit_of_work(cur):
        assert actions.verify_due(cur, company=COMPANY, now=T0 + timedelta(minutes=10)) == []
    assert actions.get_attempt(cur, attempt_id=stuck.id).outcome == "pending"
    with unit_of_work(cur):
        actions.verify_due(cur, company=COMPANY, now=T0 + timedelta(minutes=16))
    failed = actions.get_attempt(cur, attempt_id=stuck.id)
    assert (failed.outcome, failed.verdict) == ("failed", None) and "never carried out" in failed.detail
    assert plan(cur, incident, "scale_workers", T0 + timedelta(minutes=17)) is not None
