"""The post-incident review on the replayed demo world: only after resolution, pre-filled for every
pattern, proposals whose numbers an independent replay of the stored samples reproduces, versions,
stale saves, applying a proposal (rule, audit, timeline) and runbook entries."""

from __future__ import annotations

import json
import math
import operator
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from calmops import review
from calmops.store import Database
from calmops.workflow.errors import Conflict, Invalid, NotAllowed, NotFound
from tests.app.test_incidents import replayed_world_file
from tests.people import person

CMP = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    shutil.copyfile(replayed_world_file(), tmp_path / "world.duckdb")
    database = Database(tmp_path / "world.duckdb")
    yield database
    database.close()


def _resolved(cur) -> list[tuple]:
    return cur.execute(
        "SELECT id, company, pattern FROM incidents WHERE status = 'resolved' ORDER BY id"
    ).fetchall()


def _fires(samples, comparison, threshold, clear, for_s, recovery) -> list[list]:
    """The rules engine's semantics, written again sample by sample: [fired, recovered] pairs."""
    state, since, streak, out = "ok", None, 0, []
    limit = threshold if clear is None else clear
    for ts, value in samples:
        if value is None or math.isnan(value):
            continue
        breach = CMP[comparison](value, threshold)
        if state == "ok" and breach:
            state, since = "pending", ts
        if state == "pending":
            if not breach:
                state, since = "ok", None
            elif (ts - since).total_seconds() >= for_s:
                state, streak = "firing", 0
                out.append([ts, None])
            continue
        if state == "firing":
            streak = streak + 1 if not CMP[comparison](value, limit) else 0
            if streak >= recovery:
                out[-1][1], state, streak = ts, "ok", 0
    return out


def _covering(fires: list[list], at: datetime) -> datetime | None:
    return next((f for f, r in fires if f <= at and (r is None or r >= at)), None)


def test_a_review_only_after_resolution(db) -> None:
    cur = db.cursor()
    active = cur.execute("SELECT id, company FROM incidents WHERE status <> 'resolved' LIMIT 1").fetchall()[0]
    with pytest.raises(NotAllowed) as refused:
        review.get_review(cur, company=active[1], incident_id=active[0])
    assert refused.value.status == 422
    with pytest.raises(NotAllowed):
        review.save_review(db, company=active[1], incident_id=active[0], actor=person("ana"), root_cause="x")
    incident_id, company, _ = _resolved(cur)[0]
    other = "northwind-freight" if company != "northwind-freight" else "bluebird-logistics"
    with pytest.raises(NotFound):
        review.get_review(cur, company=other, incident_id=incident_id)


def test_every_pattern_gets_a_prefilled_review(db) -> None:
    cur = db.cursor()
    seen = set()
    for incident_id, company, pattern in _resolved(cur):
        body = review.get_review(cur, company=company, incident_id=incident_id)
        assert body["saved"] is False and body["root_cause"]["pattern"] == pattern
        assert body["root_cause"]["evidence"], incident_id
        assert (
            body["root_cause"]["brief_versions"]["resolution"]
            >= body["root_cause"]["brief_versions"]["detection"]
        )
        moments = body["key_moments"]
        assert moments["detected"] <= moments["resolved"] and moments["time_to_resolve_s"] > 0
        assert moments["time_to_acknowledge_s"] is not None
        assert body["prevention"] and body["automation"]
        for item in body["alert_improvements"]:
            assert item["kind"] in ("threshold", "keep") and item["history"]["fires_current"] >= 1
        seen.add(pattern)
    assert seen >= {
        "queue_backlog",
        "db_saturation",
        "error_spike_after_deploy",
        "memory_leak",
        "dependency_outage",
        "disk_filling",
        "service_down",
        "latency_regression",
    }


def test_proposals_carry_numbers_an_independent_replay_reproduces(db) -> None:
    cur = db.cursor()
    checked = 0
    for incident_id, company, _ in _resolved(cur):
        body = review.get_review(cur, company=company, incident_id=incident_id)
        for p in [p for p in body["alert_improvements"] if p["kind"] == "threshold"]:
            rule = cur.execute(
                "SELECT comparison, threshold, clear_threshold, for_s, recovery_count, service, metric "
                "FROM rules WHERE id = ?",
                [p["rule_id"]],
            ).fetchall()[0]
            comparison, threshold, clear, for_s, recovery, scope, metric = rule
            until = datetime.fromisoformat(p["history"]["until"])
            rows = cur.execute(
                "SELECT service, ts, value FROM health_snapshots WHERE company = ? AND metric = ? "
                "AND labels = '' AND ts > ? AND ts <= ? ORDER BY service, ts",
                [company, metric, until - timedelta(days=14), until],
            ).fetchall()
            series: dict[str, list] = {}
            for service, ts, value in rows:
                if scope is None or scope == service:
                    series.setdefault(service, []).append((ts, value))
            new = p["proposed"]
            now_fires = {
                s: _fires(v, comparison, threshold, clear, for_s, recovery) for s, v in series.items()
            }
            new_fires = {
                s: _fires(v, comparison, new["threshold"], new["clear_threshold"], new["for_s"], recovery)
                for s, v in series.items()
            }
            assert p["history"]["fires_current"] == sum(len(f) for f in now_fires.values())
            assert p["history"]["fires_proposed"] == sum(len(f) for f in new_fires.values())
            assert p["history"]["fires_proposed_on_service"] == len(new_fires[p["service"]])
            fired = datetime.fromisoformat(p["current"]["fired_at"])
            assert _covering(now_fires[p["service"]], fired) == fired
            earlier = fired - _covering(new_fires[p["service"]], fired)
            assert p["earlier_by_s"] == earlier.total_seconds() >= 60
            assert p["history"]["extra"] <= p["history"]["allowed_extra"]
            assert f"{earlier.total_seconds() / 60:.0f} min earlier" in p["text"]
            checked += 1
    assert checked >= 5


def _first_with_proposal(db) -> tuple[int, str, dict]:
    cur = db.cursor()
    for incident_id, company, _ in _resolved(cur):
        body = review.get_review(cur, company=company, incident_id=incident_id)
        if any(p["kind"] == "threshold" for p in body["alert_improvements"]):
            return incident_id, company, body
    raise AssertionError("no proposal")


def test_saves_are_versions_with_timeline_and_audit_and_stale_is_409(db) -> None:
    incident_id, company, draft = _first_with_proposal(db)
    args = dict(
        company=company,
        incident_id=incident_id,
        root_cause="Batch import",
        prevention=["a", " ", "b"],
        alert_improvements=[{"id": draft["alert_improvements"][0]["id"]}, "rate alert"],
        automation=["x"],
        notes="n",
    )
    first = review.save_review(db, actor=person("ana"), expected_version=0, **args)
    assert first["version"] == 1 and first["prevention"] == ["a", "b"]
    assert first["alert_improvements"][0] == draft["alert_improvements"][0]
    with pytest.raises(Conflict) as stale:
        review.save_review(db, actor=person("ben"), expected_version=0, **args)
    assert stale.value.status == 409 and "ana" in stale.value.message
    second = review.save_review(db, actor=person("ben"), expected_version=1, **{**args, "notes": "more"})
    assert second["version"] == 2 and [h["author"] for h in second["history"]] == ["ben", "ana"]
    assert (
        review.get_version(db.cursor(), company=company, incident_id=incident_id, version=1)["notes"] == "n"
    )
    cur = db.cursor()
    events = cur.execute(
        "SELECT actor, data FROM incident_events WHERE incident_id = ? AND kind = 'review' ORDER BY id",
        [incident_id],
    ).fetchall()
    assert [(a, json.loads(d)["version"]) for a, d in events] == [("ana", 1), ("ben", 2)]
    audits = cur.execute(
        "SELECT actor FROM audit_log WHERE entity_id = ? AND action = 'review' ORDER BY id",
        [str(incident_id)],
    ).fetchall()
    assert [a[0] for a in audits] == ["ana", "ben"]
    for bad, field in (
        ({"root_cause": "  "}, "root_cause"),
        ({"prevention": {"a": 1}}, "prevention"),
        ({"automation": [3]}, "automation[0]"),
        ({"alert_improvements": [{"id": "nope"}]}, "alert_improvements[0]"),
    ):
        with pytest.raises(Invalid) as invalid:
            review.save_review(db, actor=person("ana"), **{**args, **bad})
        assert invalid.value.field == field


def test_applying_a_proposal_changes_the_rule_audits_and_goes_on_the_timeline(db) -> None:
    incident_id, company, draft = _first_with_proposal(db)
    proposal = next(p for p in draft["alert_improvements"] if p["kind"] == "threshold")
    with pytest.raises(Conflict):
        review.apply_proposal(
            db,
            company=company,
            incident_id=incident_id,
            proposal_id=proposal["id"],
            actor=person("ana"),
            expected_rule_version=proposal["rule_version"] + 1,
        )
    rule = review.apply_proposal(
        db,
        company=company,
        incident_id=incident_id,
        proposal_id=proposal["id"],
        actor=person("ana"),
        expected_rule_version=proposal["rule_version"],
    )
    assert (
        rule["threshold"] == proposal["proposed"]["threshold"]
        and rule["for_s"] == proposal["proposed"]["for_s"]
    )
    assert (
        rule["version"] == proposal["rule_version"] + 1 and rule["last_change"]["incident_id"] == incident_id
    )
    cur = db.cursor()
    audit = cur.execute(
        "SELECT actor, before, after FROM audit_log WHERE entity = 'rule' AND entity_id = ?",
        [str(rule["id"])],
    ).fetchall()
    assert len(audit) == 1 and json.loads(audit[0][2])["threshold"] == proposal["proposed"]["threshold"]
    assert json.loads(audit[0][1])["threshold"] == proposal["current"]["threshold"]
    kinds = cur.execute(
        "SELECT message FROM incident_events WHERE incident_id = ? AND kind = 'review'", [incident_id]
    ).fetchall()
    assert any("proposal applied by ana" in k[0] for k in kinds)
    with pytest.raises(Conflict, match="already applied by ana"):  # the same proposal again
        review.apply_proposal(
            db,
            company=company,
            incident_id=incident_id,
            proposal_id=proposal["id"],
            actor=person("ana"),
            expected_rule_version=rule["version"],
        )


def test_runbook_entries_are_saved_in_versions_and_audited(db) -> None:
    cur = db.cursor()
    company = "bluebird-logistics"
    assert review.runbook_for(cur, company=company, pattern="memory_leak") is None
    first = review.save_runbook(
        db,
        company=company,
        pattern="memory_leak",
        commands=["heap dump {origin}"],
        actor=person("ana"),
        expected_version=0,
    )
    assert first["version"] == 1 and first["default"] != first["commands"]
    with pytest.raises(Conflict):
        review.save_runbook(
            db,
            company=company,
            pattern="memory_leak",
            commands=["x"],
            actor=person("ben"),
            expected_version=0,
        )
    second = review.save_runbook(
        db,
        company=company,
        pattern="memory_leak",
        commands="a\n\nb",
        actor=person("ben"),
        notes="two steps",
        expected_version=1,
    )
    assert second["version"] == 2 and second["commands"] == ["a", "b"] and len(second["history"]) == 2
    assert review.runbook_for(cur, company=company, pattern="memory_leak") == ["a", "b"]
    assert review.runbook_for(cur, company="northwind-freight", pattern="memory_leak") is None
    audits = cur.execute("SELECT actor FROM audit_log WHERE entity = 'runbook' ORDER BY id").fetchall()
    assert [a[0] for a in audits] == ["ana", "ben"]
    for bad, field in (
        ({"pattern": "x"}, "pattern"),
        ({"commands": ["", " "]}, "commands"),
        ({"commands": [1]}, "commands[0]"),
    ):
        with pytest.raises(Invalid) as invalid:
            review.save_runbook(
                db, **{"company": company, "pattern": "memory_leak", "commands": ["a"], "actor": "ana", **bad}
            )
        assert invalid.value.field == field
