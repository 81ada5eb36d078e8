"""The demo world: its shape, determinism, episodes that really breach the default rules, calm
healthy stretches, and history stored clustered by series."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from calmops.companies import SLUG, list_services
from calmops.demo.episodes import AFTERMATH_S, PATTERNS, SIGNATURES, Signal
from calmops.demo.generate import BuildSummary, build_world
from calmops.demo.records import load_episodes
from calmops.demo.samples import service_values
from calmops.demo.world import define_world
from calmops.detect.rules import DEFAULT_RULES
from calmops.store import Database
from calmops.store.db import Cursor
from calmops.vocabulary import Pattern, ServiceKind

NOW = datetime(2026, 11, 26, 22, 3, 17, tzinfo=UTC)
CORE = {"web", "api", "dispatch-worker", "tracking-ingest", "carrier-gateway", "billing", "postgres", "redis"}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Database, BuildSummary]]:
    db = Database(tmp_path_factory.mktemp("demo") / "demo.duckdb")
    summary = build_world(db.cursor(), days=2, now=NOW)
    yield db, summary
    db.close()


@pytest.fixture
def cur(built: tuple[Database, BuildSummary]) -> Cursor:
    return built[0].cursor()


def _fingerprint(cur: Cursor) -> tuple:
    snapshots = cur.execute(
        "SELECT count(*), bit_xor(hash(rowid, company, service, metric, labels, ts, value)) FROM snapshots"
    ).fetchall()[0]
    episodes = cur.execute("SELECT * FROM demo_episodes ORDER BY company, started_at, service").fetchall()
    events = cur.execute(
        "SELECT company, service, kind, ts, description, version FROM events ORDER BY company, ts, service"
    ).fetchall()
    return snapshots, episodes, events


def _for_s(metric: str, comparison: str, threshold: float) -> int:
    return next(r[4] for r in DEFAULT_RULES if r[:3] == (metric, comparison, threshold))


def _longest_breach(ts: list[datetime], values: list[float], signal: Signal, step_s: int) -> float:
    """Seconds the longest run of consecutive breaching samples was held."""
    best, first, last = 0.0, None, None
    for at, value in zip(ts, values, strict=True):
        bad = value < signal.threshold if signal.comparison == "<" else value > signal.threshold
        if bad and last is not None and (at - last).total_seconds() <= step_s:
            last = at
        elif bad:
            first = last = at
        else:
            first = last = None
        if first is not None:
            best = max(best, (last - first).total_seconds())
    return best


def _series(cur: Cursor, company: str, service: str, metric: str, start: datetime, end: datetime) -> tuple:
    rows = cur.execute(
        "SELECT ts, value FROM health_snapshots WHERE company = ? AND service = ? AND metric = ? "
        "AND ts >= ? AND ts <= ? ORDER BY ts",
        [company, service, metric, start, end],
    ).fetchall()
    return [r[0] for r in rows], [r[1] for r in rows]


def test_world_has_tenants_of_different_sizes_with_the_tms_services() -> None:
    world = define_world()
    assert [c.slug for c in world.companies] == ["northwind-freight", "bluebird-logistics", "cedar-couriers"]
    scales = [c.profile.scale for c in world.companies]
    assert scales == sorted(scales, reverse=True) and scales[0] / scales[-1] > 5
    company = world.companies[0]
    assert {s.name for s in company.services} == CORE
    assert company.service("web").depends_on == ("api",)
    assert set(company.service("dispatch-worker").depends_on) == {"postgres", "redis", "carrier-gateway"}
    assert company.service("tracking-ingest").customer_facing
    assert company.service("carrier-gateway").kind == ServiceKind.EXTERNAL
    assert "queue_depth" in company.service("dispatch-worker").metrics
    assert {"db_connections_pct", "disk_pct"} <= set(company.service("postgres").metrics)
    assert "queue_depth" not in company.service("api").metrics


def test_flags_scale_the_world_with_stable_slugs() -> None:
    big = define_world(companies=40, services=20)
    slugs = [c.slug for c in big.companies]
    assert len(set(slugs)) == 40 and all(SLUG.match(s) for s in slugs)
    assert slugs == [c.slug for c in define_world(companies=40).companies]
    names = [s.name for s in big.companies[0].services]
    assert names[8:13] == ["notifications", "routing-engine", "webhooks-out", "reporting", "svc-01"]
    assert names[-1] == "svc-08" and len(names) == 20
    small = define_world(services=3).companies[0]
    assert [s.name for s in small.services] == ["web", "api", "dispatch-worker"]
    assert small.service("api").depends_on == ()  # postgres and redis are not in this world


def test_build_summary_matches_the_store(cur: Cursor, built: tuple[Database, BuildSummary]) -> None:
    summary = built[1]
    assert (summary.companies, summary.services, summary.series) == (3, 24, 183)
    assert summary.rows == cur.execute("SELECT count(*) FROM snapshots").fetchall()[0][0]
    assert summary.series == cur.execute("SELECT count(*) FROM latest").fetchall()[0][0]
    assert summary.ended_at == datetime(2026, 11, 26, 22, 3, tzinfo=UTC)  # floored to the step
    assert summary.started_at == summary.ended_at - timedelta(days=2)
    span = cur.execute("SELECT min(ts), max(ts) FROM snapshots").fetchall()[0]
    assert span == (summary.started_at, summary.ended_at)
    assert summary.events == cur.execute("SELECT count(*) FROM events").fetchall()[0][0] > 0
    assert len(list_services(cur, company="cedar-couriers")) == 8
    assert cur.execute("SELECT count(*) FROM rules WHERE company = 'cedar-couriers'").fetchall()[0][0] > 0


def test_same_seed_and_now_give_identical_data(tmp_path, cur: Cursor) -> None:
    fingerprints = []
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        db = Database(tmp_path / f"{name}.duckdb")
        try:
            build_world(db.cursor(), days=1, companies=2, step_s=300, seed=seed, now=NOW)
            fingerprints.append(_fingerprint(db.cursor()))
        finally:
            db.close()
    assert fingerprints[0] == fingerprints[1]
    assert fingerprints[0][0] != fingerprints[2][0]  # another seed: other noise
    assert fingerprints[0][1] != fingerprints[2][1]  # … and other episode times


def test_every_pattern_strikes_every_tenant_and_breaches_its_default_rule(cur: Cursor) -> None:
    for company in ("northwind-freight", "bluebird-logistics", "cedar-couriers"):
        episodes = load_episodes(cur, company)
        assert {e.pattern for e in episodes} == set(PATTERNS), company
        for ep in episodes:
            end = (ep.ended_at or NOW) + timedelta(seconds=AFTERMATH_S)
            for signal in SIGNATURES[ep.pattern]:
                service = signal.service or ep.service
                ts, values = _series(cur, company, service, signal.metric, ep.started_at, end)
                held = _longest_breach(ts, values, signal, 60)
                need = _for_s(signal.metric, signal.comparison, signal.threshold)
                assert held > need, (company, ep.pattern, service, signal, held)


def test_episodes_tell_their_story(cur: Cursor) -> None:
    for ep in load_episodes(cur, "bluebird-logistics"):
        start, end = ep.started_at, ep.ended_at or NOW
        if ep.pattern == Pattern.ERROR_SPIKE_AFTER_DEPLOY:
            deploys = cur.execute(
                "SELECT ts, description, version FROM events WHERE company = ? AND service = ? "
                "AND kind = 'deploy' AND ts BETWEEN ? AND ? ORDER BY ts",
                [ep.company, ep.service, start, end],
            ).fetchall()
            assert [d[0] for d in deploys] == [start, end]
            assert deploys[0][2].startswith("api 2026.11.") and "Rolled back" in deploys[1][1]
            ts, values = _series(cur, ep.company, "api", "error_rate", start, end)
            first_bad = next(at for at, v in zip(ts, values, strict=True) if v > 0.10)
            assert first_bad - start <= timedelta(minutes=30)
        if ep.pattern == Pattern.LATENCY_REGRESSION:
            _, errors = _series(cur, ep.company, ep.service, "error_rate", start, end)
            _, cpu = _series(cur, ep.company, ep.service, "cpu_pct", start, end)
            assert max(errors) < 0.02 and max(cpu) < 85
            near = cur.execute(
                "SELECT count(*) FROM events WHERE company = ? AND ts BETWEEN ? AND ?",
                [ep.company, start - timedelta(hours=1), end],
            ).fetchall()[0][0]
            assert near == 0
        if ep.pattern == Pattern.QUEUE_BACKLOG:
            _, rate = _series(cur, ep.company, ep.service, "request_rate", start, end)
            assert max(rate) < 1.5 * min(rate)  # requests steady while the queue grows
        if ep.pattern == Pattern.SERVICE_DOWN:
            _, rate = _series(cur, ep.company, ep.service, "request_rate", start, end - timedelta(minutes=1))
            _, probe = _series(cur, ep.company, ep.service, "probe_latency_ms", start, end)
            assert rate == [] and len(probe) >= 8  # nothing to scrape, but the probe answers


def test_something_is_happening_at_now(cur: Cursor) -> None:
    ongoing = load_episodes(cur, "northwind-freight", since=NOW)
    assert [(e.pattern, e.ended_at) for e in ongoing] == [(Pattern.QUEUE_BACKLOG, None)]
    queue = cur.execute(
        "SELECT value FROM latest WHERE company = 'northwind-freight' AND service = 'dispatch-worker' "
        "AND metric = 'queue_depth'"
    ).fetchall()[0][0]
    assert queue > 10_000
    recent = load_episodes(cur, "bluebird-logistics", since=NOW - timedelta(minutes=15))
    assert [e.pattern for e in recent] == [Pattern.ERROR_SPIKE_AFTER_DEPLOY]
    assert not load_episodes(cur, "cedar-couriers", since=NOW - timedelta(hours=2))


WARNINGS = {m: (c, v) for m, c, v, _clear, _for, sev in DEFAULT_RULES if sev.rank <= 1 or m == "up"}


def test_healthy_stretches_stay_under_every_threshold(cur: Cursor) -> None:
    assert {"error_rate", "latency_p95_ms", "cpu_pct", "memory_pct", "queue_depth", "up"} <= set(WARNINGS)
    breach = " OR ".join(f"(s.metric = '{m}' AND s.value {c} {v})" for m, (c, v) in WARNINGS.items())
    rows = cur.execute(
        f"""
        SELECT s.company, s.service, s.metric, s.ts, s.value FROM snapshots s
        WHERE ({breach}) AND NOT EXISTS (
            SELECT 1 FROM demo_episodes e WHERE e.company = s.company AND s.ts >= e.started_at
              AND s.ts <= coalesce(e.ended_at, TIMESTAMPTZ '2100-01-01') + to_seconds({AFTERMATH_S}))
        LIMIT 5
        """
    ).fetchall()
    assert rows == []
    # …and the healthy world is not flat: days and weekends show
    api = cur.execute(
        "SELECT min(value), max(value) FROM snapshots WHERE company = 'northwind-freight' "
        "AND service = 'api' AND metric = 'request_rate'"
    ).fetchall()[0]
    assert api[1] > 3 * api[0]


def test_snapshots_are_clustered_by_series(cur: Cursor) -> None:
    scattered = cur.execute(
        """
        SELECT count(*) FROM (
            SELECT company, service, metric, labels, count(*) AS n, max(rowid) - min(rowid) + 1 AS span,
                   bool_and(ts_ok) AS ordered
            FROM (SELECT *, rowid, coalesce(ts > lag(ts) OVER (PARTITION BY company, service, metric, labels
                                                              ORDER BY rowid), true) AS ts_ok
                  FROM snapshots)
            GROUP BY ALL
        ) WHERE n <> span OR NOT ordered
        """
    ).fetchall()[0][0]
    assert scattered == 0
    order = cur.execute(
        "SELECT count(*) FROM (SELECT company || service || metric AS k, lag(company || service || metric) "
        "OVER (ORDER BY rowid) AS prev FROM snapshots) WHERE prev > k"
    ).fetchall()[0][0]
    assert order == 0  # and the series themselves come in (company, service, metric) order


def test_live_values_continue_the_stored_history(cur: Cursor) -> None:
    world = define_world()
    company = world.companies[0]
    episodes = load_episodes(cur, company.slug)
    end = int(datetime(2026, 11, 26, 22, 3, tzinfo=UTC).timestamp())
    t = np.array([end - 3600, end], dtype=np.int64)
    for service in company.services:
        values = service_values(company, service, t, episodes, 7)
        for metric, computed in values.items():
            stored = cur.execute(
                "SELECT value FROM snapshots WHERE company = ? AND service = ? AND metric = ? "
                "AND ts IN (?, ?) ORDER BY ts",
                [company.slug, service.name, metric, *(datetime.fromtimestamp(x, UTC) for x in t)],
            ).fetchall()
            assert [r[0] for r in stored] == [v for v in computed.tolist() if v == v], (service.name, metric)
