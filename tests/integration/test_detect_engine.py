"""Rules → incidents on a real store: for-duration, severity tiers, recovery, flapping,
dependants joining the upstream incident, a new incident after resolution."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from calmops import companies, incidents
from calmops.detect import evaluate
from calmops.store import Database, snapshots, unit_of_work
from calmops.vocabulary import IncidentStatus

T0 = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


@pytest.fixture
def store(db: Database):
    cur = db.cursor()
    with unit_of_work(cur):
        companies.create_company(cur, company="acme", name="Acme", now=T0 - timedelta(days=1))
        companies.add_service(cur, company="acme", service="postgres", kind="database")
        companies.add_service(cur, company="acme", service="api", kind="api", depends_on=("postgres",))
        companies.add_service(cur, company="acme", service="web", kind="web", depends_on=("api",))
        companies.add_service(cur, company="acme", service="worker", kind="worker", depends_on=("postgres",))
    return cur


def push(cur, service: str, metric: str, values: list[float], start: datetime) -> datetime:
    rows = [
        ("acme", service, metric, "", start + timedelta(minutes=i), float(v)) for i, v in enumerate(values)
    ]
    with unit_of_work(cur):
        snapshots.append(cur, snapshots.batch(rows))
    return start + timedelta(minutes=len(values) - 1)


def run(cur, now: datetime, lookback: timedelta | None = None):
    with unit_of_work(cur):
        return evaluate(cur, company="acme", now=now, lookback=lookback)


def timeline(cur, incident_id: int) -> list[str]:
    rows = cur.execute(
        "SELECT kind FROM incident_events WHERE incident_id = ? ORDER BY ts, id", [incident_id]
    ).fetchall()
    return [r[0] for r in rows]


def only_incident(cur) -> incidents.IncidentSummary:
    found = incidents.list_incidents(cur, company="acme")
    assert len(found) == 1, found
    return found[0]


def test_healthy_series_open_nothing(store) -> None:
    end = push(store, "worker", "queue_depth", [100, 300, 200, 900, 150] * 6, T0)
    result = run(store, end)
    assert result.samples == 30 and result.transitions == 0
    assert incidents.list_incidents(store, company="acme") == []


def test_a_breach_opens_once_escalates_recovers_and_reopens_as_one_flapping_incident(store) -> None:
    # 2,500 jobs (warning tier, for 5 min) from 08:00; 12,000 (critical, for 2 min) from 08:10
    end = push(store, "worker", "queue_depth", [2500] * 10 + [12000] * 5, T0)
    run(store, end)
    incident = only_incident(store)
    assert incident.status == IncidentStatus.OPEN and incident.severity == "critical"
    assert incident.started_at == T0 and incident.detected_at == T0 + timedelta(minutes=5)
    assert timeline(store, incident.id) == ["detected", "severity_changed"]

    # back under the clear threshold (1,000) for two samples: recovered, waiting for a person
    end = push(store, "worker", "queue_depth", [500, 400, 300], end + timedelta(minutes=1))
    run(store, end)
    incident = only_incident(store)
    assert incident.status == IncidentStatus.MONITORING
    assert timeline(store, incident.id)[-1] == "recovered"

    # it swings twice more within half an hour: still one incident, now flagged flapping
    for _ in range(2):
        end = push(store, "worker", "queue_depth", [2500] * 6 + [300, 300], end + timedelta(minutes=1))
        run(store, end)
    incident = only_incident(store)
    assert "flapping" in incident.flags
    kinds = timeline(store, incident.id)
    assert kinds.count("recovered") == 3 and kinds.count("flapping") == 1


def test_dependants_join_the_upstream_incident(store) -> None:
    end = push(store, "postgres", "db_connections_pct", [97] * 6, T0)
    push(store, "api", "latency_p95_ms", [2600] * 8, T0 + timedelta(minutes=1))
    push(store, "web", "latency_p95_ms", [1900] * 8, T0 + timedelta(minutes=2))
    run(store, end + timedelta(minutes=10))
    incident = only_incident(store)
    assert incident.service == "postgres"
    affected = store.execute(
        "SELECT service FROM incident_services WHERE incident_id = ? ORDER BY service", [incident.id]
    ).fetchall()
    assert [r[0] for r in affected] == ["api", "web"]
    assert (
        "joins this incident"
        in store.execute(
            "SELECT message FROM incident_events WHERE incident_id = ? AND kind = 'updated' "
            "ORDER BY ts LIMIT 1",
            [incident.id],
        ).fetchall()[0][0]
    )


def test_a_breach_after_resolution_opens_a_new_linked_incident(store) -> None:
    end = push(store, "api", "error_rate", [0.2] * 4 + [0.001] * 3, T0)
    run(store, end)
    first = only_incident(store)
    with unit_of_work(store):
        incidents.update_incident(
            store, company="acme", incident_id=first.id, ts=end, actor="alice",
            status=IncidentStatus.RESOLVED, resolved_at=end,
        )  # fmt: skip
    end = push(store, "api", "error_rate", [0.2] * 4, end + timedelta(minutes=5))
    run(store, end)
    newest = incidents.list_incidents(store, company="acme", active_only=True)
    assert len(newest) == 1 and newest[0].id != first.id
    previous = store.execute(
        "SELECT previous_incident_id FROM incidents WHERE id = ?", [newest[0].id]
    ).fetchall()
    assert previous[0][0] == first.id


def test_round_by_round_equals_all_at_once(tmp_path) -> None:
    values = ([300] * 5 + [2600] * 9 + [12000] * 4 + [400] * 3 + [2600] * 7 + [200] * 4) * 2
    outcomes = []
    for chunked in (False, True):
        db = Database(tmp_path / f"{chunked}.duckdb")
        cur = db.cursor()
        with unit_of_work(cur):
            companies.create_company(cur, company="acme", name="Acme", now=T0 - timedelta(days=1))
            companies.add_service(cur, company="acme", service="worker", kind="worker")
        step = 3 if chunked else len(values)
        for i in range(0, len(values), step):
            end = push(cur, "worker", "queue_depth", values[i : i + step], T0 + timedelta(minutes=i))
            run(cur, end, lookback=None if chunked else timedelta(days=1))  # a replay reads it all
        found = incidents.list_incidents(cur, company="acme")
        outcomes.append(
            [
                (i.severity, i.status, i.flags, i.started_at, i.detected_at, tuple(timeline(cur, i.id)))
                for i in found
            ]
        )
        db.close()
    assert outcomes[0] == outcomes[1]
