"""The live demo simulation over a built world: rounds, backfill, the thread, live scenarios."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from calmops import clock
from calmops.demo import live
from calmops.demo.generate import build_world
from calmops.demo.live import ScenarioError, Simulation, load_world
from calmops.demo.records import load_episodes
from calmops.demo.samples import service_values
from calmops.store import Database
from calmops.store.db import Cursor

T0 = datetime(2026, 11, 26, 22, 5, tzinfo=UTC)
STEP = 300  # a coarse history keeps these tests quick
SERIES = 122  # two tenants of 8 services


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One small world per module; every test gets its own copy of the file."""
    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    database = Database(path)
    build_world(database.cursor(), days=1, companies=2, step_s=STEP, now=T0)
    database.close()
    return path


@pytest.fixture
def db(built: Path, tmp_path: Path) -> Iterator[Database]:
    shutil.copyfile(built, tmp_path / "demo.duckdb")
    database = Database(tmp_path / "demo.duckdb")
    yield database
    database.close()


def _count(cur: Cursor, sql: str, params: list | None = None) -> int:
    return cur.execute(sql, params or []).fetchall()[0][0]


def _stored(cur: Cursor, company: str, service: str, metric: str, at: datetime) -> float | None:
    rows = cur.execute(
        "SELECT value FROM health_snapshots WHERE company = ? AND service = ? AND metric = ? AND ts = ?",
        [company, service, metric, at],
    ).fetchall()
    return rows[0][0] if rows else None


def _expected(cur: Cursor, company: str, service: str, metric: str, at: datetime) -> float:
    world = load_world(cur, seed=7)
    tenant = world.company(company)
    spec = tenant.service(service)
    t = np.array([int(at.timestamp())], dtype=np.int64)
    return float(service_values(tenant, spec, t, load_episodes(cur, company), 7)[metric][0])


def test_a_round_continues_every_series_with_the_history_model(db: Database) -> None:
    sim = Simulation(db, interval_s=30)
    cur = db.cursor()
    at = T0 + timedelta(seconds=30)
    assert sim.run_round(at) == SERIES
    assert _count(cur, "SELECT count(*) FROM latest WHERE ts = ?", [at]) == SERIES
    assert _count(cur, "SELECT count(*) FROM snapshots_tail") == SERIES
    for service, metric in (
        ("api", "request_rate"),
        ("postgres", "disk_pct"),
        ("dispatch-worker", "queue_depth"),
    ):
        assert _stored(cur, "northwind-freight", service, metric, at) == _expected(
            cur, "northwind-freight", service, metric, at
        )
    assert sim.run_round(at) == 0  # the same instant again changes nothing
    state = sim.state()
    assert state.last_round_at == at and state.ok and not state.running and state.error is None


def test_backfill_fills_the_gap_at_the_history_step_and_at_most_three_days(db: Database) -> None:
    sim = Simulation(db, interval_s=30)
    cur = db.cursor()
    assert sim.backfill(T0 + timedelta(hours=2, seconds=20)) == SERIES * 24
    per_series = _count(
        cur,
        "SELECT count(*) FROM health_snapshots WHERE company = 'bluebird-logistics' AND service = 'web' "
        "AND metric = 'latency_p95_ms' AND ts > ? AND ts <= ?",
        [T0, T0 + timedelta(hours=2)],
    )
    assert per_series == 24
    at = T0 + timedelta(hours=1, minutes=10)
    assert _stored(cur, "bluebird-logistics", "web", "latency_p95_ms", at) == _expected(
        cur, "bluebird-logistics", "web", "latency_p95_ms", at
    )
    assert sim.backfill(T0 + timedelta(hours=2, seconds=50)) == 0  # nothing missing any more
    later = T0 + timedelta(days=10)
    sim.backfill(later)
    oldest_new = cur.execute(
        "SELECT min(ts) FROM health_snapshots WHERE ts > ?", [T0 + timedelta(hours=2)]
    ).fetchall()[0][0]
    assert oldest_new >= later - timedelta(days=3)
    # events fell due in the gap too (about one deploy a weekday per busy service)
    assert _count(cur, "SELECT count(*) FROM events WHERE ts > ?", [T0 + timedelta(hours=2)]) > 0


def test_rounds_never_overlap(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    active, peak = [0], [0]
    guard = threading.Lock()
    real_append = live.append

    def slow_append(cur, rows):
        with guard:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.02)
        try:
            return real_append(cur, rows)
        finally:
            with guard:
                active[0] -= 1

    monkeypatch.setattr(live, "append", slow_append)
    sim = Simulation(db, interval_s=30)
    results: list[int] = []

    def one(minute: int) -> None:
        results.append(sim.run_round(T0 + timedelta(minutes=minute)))

    threads = [threading.Thread(target=one, args=(m,)) for m in range(1, 5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peak[0] == 1
    assert sorted(results) == [SERIES] * 4


def test_the_thread_backfills_compacts_writes_rounds_and_stops(db: Database) -> None:
    cur = db.cursor()
    sim = Simulation(db, interval_s=0.05)
    sim.run_round(T0 + timedelta(minutes=1))  # lands in the tail
    now = T0 + timedelta(hours=2)
    clock.freeze(now)
    sim.start()
    deadline = time.monotonic() + 10
    while sim.state().last_round_at is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert sim.state().running and sim.state().ok, sim.state().error
    clock.advance(timedelta(seconds=30))
    deadline = time.monotonic() + 10
    while sim.state().last_round_at != now + timedelta(seconds=30) and time.monotonic() < deadline:
        time.sleep(0.02)
    sim.stop()
    state = sim.state()
    assert not state.running and state.last_round_at == now + timedelta(seconds=30)
    boundary = now.replace(minute=0, second=0)
    assert _count(cur, "SELECT count(*) FROM snapshots_tail WHERE ts < ?", [boundary]) == 0  # compacted
    assert _count(cur, "SELECT count(*) FROM latest WHERE ts = ?", [now + timedelta(seconds=30)]) == SERIES
    gap = _count(
        cur,
        "SELECT count(*) FROM health_snapshots WHERE company = 'northwind-freight' AND service = 'api' "
        "AND metric = 'cpu_pct' AND ts > ? AND ts <= ?",
        [T0, now],
    )
    assert gap == 24 + 1  # backfilled at the step, plus the early round
    rows = _count(cur, "SELECT count(*) FROM health_snapshots")
    clock.advance(timedelta(seconds=30))
    time.sleep(0.2)
    assert _count(cur, "SELECT count(*) FROM health_snapshots") == rows  # stopped means stopped


def test_live_scenarios_start_play_and_stop(db: Database) -> None:
    cur = db.cursor()
    sim = Simulation(db, interval_s=30)
    company, service = "bluebird-logistics", "dispatch-worker"
    start = T0 + timedelta(minutes=1)
    episode = sim.start_scenario("queue_backlog", company, service, now=start)
    assert sim.start_scenario("queue_backlog", company, service, now=start + timedelta(minutes=5)) == episode
    assert episode in sim.scenarios(company)
    for minute in (10, 25, 40):
        sim.run_round(start + timedelta(minutes=minute))
    grown = _stored(cur, company, service, "queue_depth", start + timedelta(minutes=25))
    assert grown > 2_000  # the backlog breached its rule, so an incident opened …
    scaled = cur.execute(
        "SELECT count(*) FROM action_attempts WHERE company = ? AND service = ? AND action = 'scale_workers' "
        "AND kind = 'auto' AND outcome = 'succeeded'",
        [company, service],
    ).fetchall()[0][0]
    assert scaled == 1  # … the agent added workers by itself (a safe action) …
    drained = _stored(cur, company, service, "queue_depth", start + timedelta(minutes=40))
    assert drained < grown  # … and the backlog drains
    assert not [e for e in sim.scenarios(company) if e.pattern == episode.pattern]  # workers took it on
    assert sim.stop_scenario("queue_backlog", company, service, now=start + timedelta(minutes=41)) == []
    sim.run_round(start + timedelta(minutes=120))
    assert _stored(cur, company, service, "queue_depth", start + timedelta(minutes=120)) < 2_000

    spike = sim.start_scenario("error_spike_after_deploy", company, "api", now=start)
    sim.run_round(start + timedelta(minutes=30))
    assert _stored(cur, company, "api", "error_rate", start + timedelta(minutes=30)) > 0.10
    sim.stop_scenario("error_spike_after_deploy", company, "api", now=start + timedelta(minutes=31))
    deploys = cur.execute(
        "SELECT ts, version, description FROM events "
        "WHERE company = ? AND service = 'api' AND kind = 'deploy' ORDER BY ts DESC LIMIT 3",
        [company],
    ).fetchall()
    assert [d[0] for d in deploys[:2]] == [start + timedelta(minutes=31), spike.started_at]
    assert deploys[0][1] == deploys[2][1] and "Rolled back" in deploys[0][2]  # back to the version before

    with pytest.raises(ScenarioError):
        sim.start_scenario("queue_backlog", company, "api")  # api reports no queue
    with pytest.raises(ScenarioError):
        sim.start_scenario("service_down", "no-such-company", "api")


def test_the_live_world_keeps_the_shape_the_store_was_built_with(tmp_path: Path) -> None:
    database = Database(tmp_path / "wide.duckdb")
    try:
        summary = build_world(database.cursor(), days=0.1, companies=4, services=10, step_s=STEP, now=T0)
        world = load_world(database.cursor(), seed=7)
        assert len(world.companies) == 4 and world.step_s == 300
        assert {len(c.services) for c in world.companies} == {10}
        assert Simulation(database, interval_s=30).run_round(T0 + timedelta(seconds=10)) == summary.series
    finally:
        database.close()
