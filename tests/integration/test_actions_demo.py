"""The demo world's executor: approving an action visibly works in the simulation, and what the
rounds store, the endpoints answer and verify-after-act judge all agree."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from calmops import actions
from calmops.actions.verify import judge
from calmops.demo import live
from calmops.demo.endpoints import values_now
from calmops.demo.generate import build_world
from calmops.demo.live import Simulation, load_world
from calmops.demo.records import load_episodes
from calmops.demo.samples import service_values
from calmops.incidents import get_incident, open_incident
from calmops.store import Database, unit_of_work
from calmops.store.db import Cursor
from calmops.vocabulary import Pattern, Severity

T0 = datetime(2026, 11, 26, 22, 5, tzinfo=UTC)
COMPANY = "bluebird-logistics"  # its history ends with a rolled-back error spike, nothing ongoing


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One small world per module (a coarse history keeps it quick); each test gets a copy."""
    path = tmp_path_factory.mktemp("demo-actions") / "demo.duckdb"
    database = Database(path)
    build_world(database.cursor(), days=1, companies=2, step_s=300, now=T0)
    database.close()
    return path


@pytest.fixture
def db(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    # Rounds only write snapshots here: detection (and the agent behind it) has tests of its own,
    # and must not act on these scenarios before the test does.
    monkeypatch.setattr(live, "after_ingest", lambda **_: None)
    shutil.copyfile(built, tmp_path / "demo.duckdb")
    database = Database(tmp_path / "demo.duckdb")
    yield database
    database.close()


def _incident(cur: Cursor, service: str, family: str, at: datetime) -> int:
    with unit_of_work(cur):
        return open_incident(
            cur, company=COMPANY, title=f"{family} on {service}", service=service, severity=Severity.CRITICAL,
            started_at=at, detected_at=at, source="rule", message="detected", rule_family=family,
        )  # fmt: skip


def _stored(cur: Cursor, service: str, metric: str, at: datetime) -> float:
    rows = cur.execute(
        "SELECT value FROM health_snapshots WHERE company = ? AND service = ? AND metric = ? AND ts = ?",
        [COMPANY, service, metric, at],
    ).fetchall()
    return rows[0][0]


def _unmitigated(cur: Cursor, service: str, metric: str, at: datetime) -> float:
    """The value had nobody acted: the same episodes, none ended or eased by an action."""
    tenant = load_world(cur, seed=7).company(COMPANY)
    episodes = [
        replace(e, ended_at=None, mitigations=()) if e.mitigations else e for e in load_episodes(cur, COMPANY)
    ]
    t = np.array([int(at.timestamp())], dtype=np.int64)
    return float(service_values(tenant, tenant.service(service), t, episodes, 7)[metric][0])


def _rounds(sim: Simulation, start: datetime, minutes: range) -> None:
    for minute in minutes:
        sim.run_round(start + timedelta(minutes=minute))


def test_scaling_workers_drains_a_live_queue_backlog(db: Database) -> None:
    cur, sim = db.cursor(), Simulation(db, interval_s=30)
    start = T0 + timedelta(minutes=1)
    sim.start_scenario("queue_backlog", COMPANY, "dispatch-worker", now=start)
    _rounds(sim, start, range(20, 27))
    incident = _incident(cur, "dispatch-worker", "queue_depth", start + timedelta(minutes=20))
    acted = start + timedelta(minutes=26, seconds=30)

    done = actions.execute_approved(
        db, company=COMPANY, incident_id=incident, recommendation_id=None, action="scale_workers",
        actor="dana", now=acted,
    )  # fmt: skip
    assert (done.outcome, done.executor, done.metric) == ("succeeded", "demo", "queue_depth")
    assert done.before_value > 10_000 and "the backlog drains" in done.detail
    assert done.response["applied"] == [
        {"service": "dispatch-worker", "pattern": "queue_backlog", "ends": True, "scope": None}
    ]
    assert get_incident(cur, company=COMPANY, incident_id=incident).summary.status == "mitigating"

    _rounds(sim, start, range(27, 33))
    after = start + timedelta(minutes=32)
    drained = _stored(cur, "dispatch-worker", "queue_depth", after)
    assert drained < done.before_value - 3_000  # draining, not merely growing more slowly
    assert drained < _unmitigated(cur, "dispatch-worker", "queue_depth", after) - 5_000
    answered = values_now(cur, company=COMPANY, service="dispatch-worker", now=after)[1]["queue_depth"]
    assert answered == pytest.approx(drained, abs=1)  # the endpoints tell the same story as the rounds

    with unit_of_work(cur):
        (judged,) = actions.verify_due(cur, company=COMPANY, now=after)
    assert judged.id == done.id and judged.verdict == "effective" and judged.after_value < done.before_value


def test_a_rollback_ends_an_error_spike(db: Database) -> None:
    cur, sim = db.cursor(), Simulation(db, interval_s=30)
    start = T0 + timedelta(minutes=1)
    sim.start_scenario("error_spike_after_deploy", COMPANY, "api", now=start)
    _rounds(sim, start, range(24, 31))
    assert _stored(cur, "api", "error_rate", start + timedelta(minutes=30)) > 0.10
    incident = _incident(cur, "api", "error_rate", start + timedelta(minutes=25))
    acted = start + timedelta(minutes=30, seconds=20)

    done = actions.execute_approved(
        db, company=COMPANY, incident_id=incident, recommendation_id=None, action="rollback_deploy",
        actor="dana", now=acted,
    )  # fmt: skip
    assert done.outcome == "succeeded" and "rolled back" in done.detail
    assert not [e for e in sim.scenarios(COMPANY) if e.pattern == Pattern.ERROR_SPIKE_AFTER_DEPLOY]
    (deploy,) = cur.execute(
        "SELECT ts, description FROM events WHERE company = ? AND service = 'api' AND kind = 'deploy' "
        "ORDER BY ts DESC LIMIT 1",
        [COMPANY],
    ).fetchall()
    assert deploy[0] == acted.replace(microsecond=0) and "Rolled back" in deploy[1]

    _rounds(sim, start, range(31, 37))
    after = start + timedelta(minutes=36)
    assert _stored(cur, "api", "error_rate", after) < 0.02
    assert _unmitigated(cur, "api", "error_rate", after) > 0.10
    with unit_of_work(cur):
        (judged,) = actions.verify_due(cur, company=COMPANY, now=after)
    assert judged.verdict == "effective"


def test_a_circuit_breaker_shields_the_callers_while_the_external_stays_down(db: Database) -> None:
    cur, sim = db.cursor(), Simulation(db, interval_s=30)
    start = T0 + timedelta(minutes=1)
    sim.start_scenario("dependency_outage", COMPANY, "carrier-gateway", now=start)
    before = values_now(cur, company=COMPANY, service="dispatch-worker", now=start + timedelta(minutes=10))[1]
    assert before["error_rate"] > 0.05
    incident = _incident(cur, "carrier-gateway", "up", start + timedelta(minutes=2))
    with unit_of_work(cur):  # safe, and a demo company has the demo world to carry it out: it runs by itself
        planned = actions.plan_auto(
            cur, company=COMPANY, incident_id=incident, service="carrier-gateway",
            action="open_circuit_breaker", reason="carriers' API unreachable", metric="error_rate",
            now=start + timedelta(minutes=10),
        )  # fmt: skip
    assert planned is not None
    (done,) = actions.dispatch(db, attempt_ids=[planned.id], now=start + timedelta(minutes=10))
    assert done.outcome == "succeeded" and done.watched == ("dispatch-worker",)
    assert "carrier-gateway itself stays down" in done.detail
    later = start + timedelta(minutes=14)
    shielded = values_now(cur, company=COMPANY, service="dispatch-worker", now=later)[1]
    assert shielded["error_rate"] < 0.02 and shielded["latency_p95_ms"] < before["latency_p95_ms"] / 2
    assert values_now(cur, company=COMPANY, service="carrier-gateway", now=later)[1]["up"] == 0


@pytest.mark.parametrize(
    ("pattern", "service", "action", "metric"),
    [
        ("memory_leak", "tracking-ingest", "restart_service", "memory_pct"),
        ("service_down", "billing", "restart_service", "up"),
        ("disk_filling", "postgres", "expand_volume", "disk_pct"),
        ("disk_filling", "postgres", "rotate_logs", "disk_pct"),
        ("queue_backlog", "dispatch-worker", "pause_batch_jobs", "queue_depth"),
        ("db_saturation", "postgres", "enable_read_replica_routing", "db_connections_pct"),
        ("latency_regression", "web", "scale_workers", "latency_p95_ms"),
    ],
)
def test_every_mitigating_action_moves_its_metric_the_right_way(
    db: Database, pattern: str, service: str, action: str, metric: str
) -> None:
    cur = db.cursor()
    start = T0 + timedelta(minutes=1)
    Simulation(db, interval_s=30).start_scenario(pattern, COMPANY, service, now=start)
    acted = start + timedelta(minutes=90 if pattern == "memory_leak" else 25)
    incident = _incident(cur, service, metric, acted)
    done = actions.execute_approved(
        db,
        company=COMPANY,
        incident_id=incident,
        recommendation_id=None,
        action=action,
        actor="dana",
        now=acted,
    )
    assert done.outcome == "succeeded" and done.response["applied"], done.detail
    later = acted + timedelta(minutes=8)
    with_action = values_now(cur, company=COMPANY, service=service, now=later)[1][metric]
    without = _unmitigated(cur, service, metric, later)
    assert judge(metric, without, with_action) == "effective", (with_action, without)  # a clear margin better


def test_an_action_with_nothing_to_act_on_changes_nothing(db: Database) -> None:
    cur = db.cursor()
    incident = _incident(cur, "web", "latency_p95_ms", T0)
    done = actions.execute_approved(
        db,
        company=COMPANY,
        incident_id=incident,
        recommendation_id=None,
        action="rotate_logs",
        actor="dana",
        now=T0,
    )
    assert done.outcome == "succeeded" and done.response["applied"] == []
    assert "the demo world did not change" in done.detail
