"""The review's pure pieces: candidate thresholds, the backtest's episodes, key moments, prevention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from calmops.detect.rules import Rule
from calmops.incidents import IncidentDetail, IncidentSummary, TimelineEntry
from calmops.review import backtest, prefill
from calmops.vocabulary import IncidentStatus, Severity

T0 = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
QUEUE = Rule(
    1,
    "acme",
    "queue_depth",
    "queue_depth warning",
    "queue_depth",
    None,
    ">",
    2000,
    1000,
    300,
    2,
    Severity.WARNING,
)
UP = Rule(2, "acme", "up", "up critical", "up", None, "<", 1, 1, 60, 2, Severity.CRITICAL)


def test_nice_keeps_two_significant_figures() -> None:
    assert backtest.nice(1234) == 1200 and backtest.nice(0.0163) == 0.016 and backtest.nice(0) == 0


def test_candidates_only_fire_earlier_and_stay_clear_of_the_usual_level() -> None:
    found = backtest.candidates(QUEUE, usual=1000)
    assert (QUEUE.threshold, QUEUE.for_s) not in found
    assert all(t <= QUEUE.threshold and f <= QUEUE.for_s for t, f in found)
    assert all(t >= 1000 * backtest.MARGIN for t, _ in found)
    assert {f for _, f in found} == {300, 180, 120}
    assert all(t >= UP.threshold for t, _ in backtest.candidates(UP)), "a '<' rule fires earlier when raised"
    assert backtest.candidates(UP, usual=1.0) == [], "never past 'up''s usual level, never under a minute"


def test_the_clear_threshold_moves_with_the_threshold_and_keeps_its_side() -> None:
    assert backtest.clear_for(QUEUE, 1200) == 600
    assert backtest.clear_for(UP, 1.2) >= 1.2


def _series(values: list[float]) -> tuple[np.ndarray, np.ndarray]:
    ts = np.array([int((T0 + timedelta(minutes=i)).timestamp() * 1_000_000) for i in range(len(values))])
    return ts, np.array(values, dtype="float64")


def test_episodes_follow_the_for_duration_and_the_hysteresis() -> None:
    ramp = [100.0] * 5 + [2500.0] * 10 + [1500.0] * 3 + [500.0] * 5 + [2500.0] * 3 + [100.0] * 3
    ts, values = _series(ramp)
    found = backtest.episodes(QUEUE, ts, values)
    assert len(found) == 1, "3 minutes above the line is shorter than for 5m; 1500 does not clear"
    assert found[0].fired == T0 + timedelta(minutes=10) and found[0].recovered == T0 + timedelta(minutes=19)
    assert backtest.covering(found, T0 + timedelta(minutes=12)) == found[0]
    assert backtest.covering(found, T0 + timedelta(minutes=25)) is None


def _detail(**changes) -> IncidentDetail:
    summary = IncidentSummary(
        id=7,
        company="acme",
        title="Queue",
        service="worker",
        severity=Severity.WARNING,
        status=IncidentStatus.RESOLVED,
        flags=(),
        started_at=T0,
        detected_at=T0 + timedelta(minutes=5),
        resolved_at=T0 + timedelta(hours=1),
        escalated_at=None,
        assignee="ana",
        updated_at=T0,
        version=4,
    )
    timeline = (
        TimelineEntry(1, T0 + timedelta(minutes=5), "detected", "system", "", None, {"rule_id": 1}),
        TimelineEntry(2, T0 + timedelta(minutes=9), "approved", "ana", "", None, None),
        TimelineEntry(3, T0 + timedelta(minutes=30), "recovered", "system", "", None, None),
    )
    base = dict(
        summary=summary,
        description="",
        source="rule",
        rule_family="queue_depth",
        pattern="queue_backlog",
        acknowledged_at=T0 + timedelta(minutes=7),
        previous_incident_id=None,
        affected=(),
        timeline=timeline,
    )
    return IncidentDetail(**{**base, **changes})


def test_key_moments_and_their_durations() -> None:
    moments = prefill.key_moments(_detail(), [])
    assert (
        moments["first_action"] == "2026-11-26T08:09:00Z" and moments["mitigated"] == "2026-11-26T08:30:00Z"
    )
    assert moments["time_to_acknowledge_s"] == 120 and moments["time_to_resolve_s"] == 3600
    assert moments["time_to_detect_s"] == 300 and moments["time_to_mitigate_s"] == 1800


def test_prevention_is_concrete_for_every_pattern_and_the_rules_that_fired_are_found() -> None:
    for pattern in prefill.PREVENTION:
        steps = prefill.prevention(pattern.value, "postgres", "api")
        assert steps and all("{" not in s for s in steps)
    assert "postgres" in " ".join(prefill.prevention("db_saturation", "postgres", "api"))
    assert prefill.fired_rules(_detail(), [QUEUE, UP]) == [(QUEUE, T0 + timedelta(minutes=5))]


def test_root_cause_names_the_pattern_origin_and_evidence_of_both_briefs() -> None:
    first = {"pattern": "unknown", "version": 1, "evidence": [{"text": "a", "ts": "x"}], "origin": {}}
    last = {
        "pattern": "queue_backlog",
        "version": 3,
        "origin": {"service": "worker", "reason": None},
        "evidence": [{"text": "b", "ts": "y"}, {"text": "a", "ts": "x"}],
    }
    cause = prefill.root_cause(_detail(), first, last)
    assert cause["text"].startswith("Queue backlog on worker.") and "unknown" in cause["text"]
    assert [e["text"] for e in cause["evidence"]] == ["b", "a"]
    assert cause["brief_versions"] == {"detection": 1, "resolution": 3}
