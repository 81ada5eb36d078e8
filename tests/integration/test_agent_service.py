"""The agent on a real store: briefs written after detection, their versions on the timeline, one
live recommendation per incident, and safe auto-actions asked for through the guard rails."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from calmops import agent, clock, companies, detect, incidents
from calmops.store import Database, snapshots, unit_of_work
from tests.people import person

T0 = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
HEALTHY = {"up": 1.0, "error_rate": 0.002, "latency_p95_ms": 140.0, "queue_depth": 12.0, "request_rate": 50.0}


@pytest.fixture
def store(db: Database):
    cur = db.cursor()
    with unit_of_work(cur):
        companies.create_company(cur, company="acme", name="Acme", now=T0 - timedelta(days=1))
        companies.add_service(cur, company="acme", service="postgres", kind="database")
        companies.add_service(
            cur,
            company="acme",
            service="worker",
            kind="worker",
            depends_on=("postgres",),
            customer_facing=False,
        )
    return cur


def minutes(cur, start: datetime, count: int, queue) -> datetime:
    """``count`` one-minute rounds of the worker from ``start``; ``queue(i)`` gives queue_depth."""
    rng = np.random.default_rng(int(start.timestamp()))
    rows = []
    for i in range(count):
        at = start + timedelta(minutes=i)
        for metric, base in HEALTHY.items():
            value = base if metric == "up" else base * (1 + rng.normal(0, 0.02))
            if metric == "queue_depth":
                value = queue(i)
            rows.append(("acme", "worker", metric, "", at, float(value)))
    with unit_of_work(cur):
        snapshots.append(cur, snapshots.batch(rows))
    return start + timedelta(minutes=count - 1)


def detect_at(db: Database, now: datetime):
    clock.freeze(now)
    return detect.after_ingest(company="acme", until=now, cur=db.cursor(), db=db)


def backlog_incident(db: Database, cur) -> tuple[int, datetime]:
    """Three calm hours, then a queue growing 150 jobs a minute until it breaches for 10 minutes."""
    now = minutes(cur, T0 - timedelta(hours=3), 180, lambda i: 12 + (i % 5))
    detect_at(db, now)
    now = minutes(cur, T0, 30, lambda i: 12 + 150 * i)
    found = detect_at(db, now)
    assert len(found.opened) == 1
    return found.opened[0], now


def test_detection_hands_a_new_incident_to_the_agent(db: Database, store) -> None:
    incident_id, _ = backlog_incident(db, store)
    brief = agent.current_brief(store, company="acme", incident_id=incident_id)
    assert brief["pattern"] == "queue_backlog" and brief["version"] == 1
    assert (
        brief["recommendation"]["action"] == "pause_batch_jobs"
        and brief["recommendation"]["status"] == "proposed"
    )
    assert brief["risk_if_no_action"]["projection"]["threshold"] == 10_000
    assert brief["window"]["started_at"] and brief["window"]["duration_s"] > 0
    # Every statement rests on a stored row: each evidence sample is in the store as said.
    for item in brief["evidence"]:
        if item["metric"]:
            stored = store.execute(
                "SELECT value FROM health_snapshots "
                "WHERE company = 'acme' AND service = ? AND metric = ? AND ts = ?",
                [item["service"], item["metric"], datetime.fromisoformat(item["ts"].replace("Z", "+00:00"))],
            ).fetchall()
            assert stored and stored[0][0] == pytest.approx(item["value"])
    detail = incidents.get_incident(store, company="acme", incident_id=incident_id)
    assert [e.kind for e in detail.timeline].count("brief") == 1
    # The safe action of the pattern was asked for; without an executor it is refused, on record.
    attempts = brief["auto_actions"]
    assert [a["action"] for a in attempts] == ["scale_workers"]
    assert attempts[0]["outcome"] in ("skipped", "failed", "succeeded")


def test_a_newer_reading_of_the_same_story_keeps_the_version_and_the_recommendation(db, store) -> None:
    incident_id, now = backlog_incident(db, store)
    first = agent.current_brief(store, company="acme", incident_id=incident_id)
    now = minutes(store, now + timedelta(minutes=1), 2, lambda i: 12 + 150 * (31 + i))
    with unit_of_work(store):
        agent.refresh(store, company="acme", incident_id=incident_id, now=now, act=False)
    again = agent.current_brief(store, company="acme", incident_id=incident_id)
    assert again["version"] == first["version"]
    assert again["recommendation"]["id"] == first["recommendation"]["id"]
    assert again["recommendation"]["version"] == first["recommendation"]["version"] == 1
    assert again["generated_at"] > first["generated_at"]  # refreshed in place


def test_another_action_supersedes_the_proposal_and_makes_a_new_version(db, store) -> None:
    incident_id, now = backlog_incident(db, store)
    first = agent.current_brief(store, company="acme", incident_id=incident_id)
    later = now + timedelta(minutes=1)
    rows = [("acme", "worker", "up", "", later + timedelta(minutes=i), 0.0) for i in range(3)]
    with unit_of_work(store):
        snapshots.append(store, snapshots.batch(rows))
    clock.freeze(later + timedelta(minutes=2))
    with unit_of_work(store):
        agent.refresh(
            store, company="acme", incident_id=incident_id, now=later + timedelta(minutes=2), act=False
        )
    brief = agent.current_brief(store, company="acme", incident_id=incident_id)
    assert brief["pattern"] == "service_down" and brief["version"] == first["version"] + 1
    assert brief["recommendation"]["action"] == "restart_service"
    recs = {r["id"]: r for r in agent.recommendations(store, company="acme", incident_id=incident_id)}
    assert recs[first["recommendation"]["id"]]["status"] == "superseded"
    assert recs[brief["recommendation"]["id"]]["status"] == "proposed"
    kinds = [e.kind for e in incidents.get_incident(store, company="acme", incident_id=incident_id).timeline]
    assert kinds.count("brief") == 2 and "updated" in kinds
    versions = store.execute(
        "SELECT version, body FROM briefs WHERE incident_id = ? ORDER BY version", [incident_id]
    ).fetchall()
    assert [json.loads(b)["pattern"] for _, b in versions] == ["queue_backlog", "service_down"]


def test_a_manual_incident_gets_a_brief_too(db, store) -> None:
    now = minutes(store, T0 - timedelta(hours=3), 180, lambda i: 12)
    clock.freeze(now)
    with unit_of_work(store):
        incident_id = incidents.create_manual(
            store, company="acme", title="Customers report slow tracking", service="worker", severity="high",
            description="", customer_impact=True, actor=person("maria"), now=now,
        )  # fmt: skip
    agent.after_detection(db, company="acme", incident_ids=[incident_id], now=now)
    brief = agent.current_brief(store, company="acme", incident_id=incident_id)
    assert brief["pattern"] == "unknown" and brief["confidence"] == "low"
    assert brief["customer_impact"] is True and brief["customer_message"]["state"] == "investigating"
    assert brief["recommendation"]["action"] == "wait_and_watch"


def test_the_brief_uses_the_companys_own_runbook_entry(db, store) -> None:
    from calmops import review

    commands = ["kubectl scale deploy/{origin} --replicas=${N:-6}", "page the data team"]
    review.save_runbook(db, company="acme", pattern="queue_backlog", actor=person("lead"), commands=commands)
    incident_id, _ = backlog_incident(db, store)
    brief = agent.current_brief(store, company="acme", incident_id=incident_id)
    assert brief["runbook"] == ["kubectl scale deploy/worker --replicas=${N:-6}", "page the data team"]
