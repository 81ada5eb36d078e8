"""Editing threshold rules on a real store: validated changes, versions, one winner among racing
operators, audit rows and `rule_changes` saying where each change came from; new rules."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from calmops import companies
from calmops.detect.rules import list_rules, seed_default_rules
from calmops.errors import Forbidden, NotFound, Unauthenticated
from calmops.review import rules as rule_edit
from calmops.store import Database, unit_of_work
from calmops.workflow.errors import Conflict, Invalid
from tests.people import person

T0 = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


@pytest.fixture
def store(db: Database) -> Database:
    cur = db.cursor()
    with unit_of_work(cur):
        companies.create_company(cur, company="acme", name="Acme", now=T0)
        companies.create_company(cur, company="globex", name="Globex", now=T0)
        companies.add_service(cur, company="acme", service="worker", kind="worker")
        if not list_rules(cur, company="acme"):
            seed_default_rules(cur, company="acme", now=T0)
    return db


def _rule(db: Database, name: str = "queue_depth warning"):
    return next(r for r in list_rules(db.cursor(), company="acme") if r.name == name)


def test_a_change_is_a_new_version_with_its_audit_and_origin(store) -> None:
    rule = _rule(store)
    changed = rule_edit.update_rule(
        store,
        company="acme",
        rule_id=rule.id,
        expected_version=1,
        actor=person("ana"),
        reason="fires late",
        threshold=1500,
        clear_threshold=800,
        for_s=180,
    )
    assert (changed["threshold"], changed["clear_threshold"], changed["for_s"], changed["version"]) == (
        1500,
        800,
        180,
        2,
    )
    assert changed["last_change"] == {
        "version": 2,
        "actor": "ana",
        "at": changed["last_change"]["at"],
        "source": "edit",
        "incident_id": None,
        "proposal_id": None,
        "reason": "fires late",
    }
    history = rule_edit.history(store.cursor(), company="acme", rule_id=rule.id)
    assert history[0]["before"]["threshold"] == 2000 and history[0]["after"]["threshold"] == 1500
    audit = (
        store.cursor()
        .execute(
            "SELECT actor, action FROM audit_log WHERE entity = 'rule' AND entity_id = ?", [str(rule.id)]
        )
        .fetchall()
    )
    assert audit == [("ana", "rule_edit")]
    with pytest.raises(Conflict) as stale:
        rule_edit.update_rule(
            store, company="acme", rule_id=rule.id, expected_version=1, actor=person("ben"), for_s=60
        )
    assert stale.value.status == 409 and stale.value.extra["changed_by"] == "ana"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"clear_threshold": 3000}, "clear_threshold"),
        ({"threshold": 500}, "clear_threshold"),  # now the clear threshold (1000) lies above it
        ({"threshold": "high"}, "threshold"),
        ({"threshold": float("nan")}, "threshold"),
        ({"for_s": -1}, "for_s"),
        ({"for_s": 1.5}, "for_s"),
        ({"severity": "sev1"}, "severity"),
        ({"enabled": "yes"}, "enabled"),
        ({"metric": "cpu_pct"}, "metric"),
    ],
)
def test_nonsense_is_refused_naming_the_field_and_nothing_changes(store, fields, field) -> None:
    rule = _rule(store)
    with pytest.raises(Invalid) as invalid:
        rule_edit.update_rule(
            store, company="acme", rule_id=rule.id, expected_version=1, actor=person("ana"), **fields
        )
    assert invalid.value.field == field and invalid.value.status == 400
    assert _rule(store).version == 1


def test_other_companies_rules_are_not_found_and_a_below_rule_keeps_its_side(store) -> None:
    rule = _rule(store)
    with pytest.raises(NotFound):
        rule_edit.update_rule(
            store, company="globex", rule_id=rule.id, expected_version=1, actor=person("a"), for_s=60
        )
    up = _rule(store, "up critical")
    with pytest.raises(Invalid, match="at or above"):
        rule_edit.update_rule(
            store, company="acme", rule_id=up.id, expected_version=1, actor=person("a"), clear_threshold=0.5
        )


def test_racing_operators_exactly_one_wins(store) -> None:
    rule = _rule(store)
    barrier = threading.Barrier(6)
    results: list[str] = []

    def edit(i: int) -> None:
        barrier.wait()
        try:
            rule_edit.update_rule(
                store,
                company="acme",
                rule_id=rule.id,
                expected_version=1,
                actor=person(f"op{i}"),
                for_s=60 * (i + 1),
            )
            results.append("won")
        except Conflict:
            results.append("lost")

    threads = [threading.Thread(target=edit, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["lost"] * 5 + ["won"]
    assert _rule(store).version == 2
    assert len(rule_edit.history(store.cursor(), company="acme", rule_id=rule.id)) == 1


def test_a_new_rule_for_a_service(store) -> None:
    made = rule_edit.create_rule(
        store,
        company="acme",
        metric="queue_depth",
        service="worker",
        comparison=">",
        threshold=500,
        clear_threshold=300,
        for_s=120,
        severity="info",
        actor=person("ana"),
    )
    assert made["service"] == "worker" and made["version"] == 1 and made["last_change"]["source"] == "created"
    assert made["id"] in {r.id for r in list_rules(store.cursor(), company="acme")}
    for bad, field in (
        ({"metric": "vibes"}, "metric"),
        ({"service": "nowhere"}, "service"),
        ({"comparison": "=="}, "comparison"),
        ({"threshold": None}, "threshold"),
        ({"clear_threshold": 900}, "clear_threshold"),
        ({"recovery_count": 0}, "recovery_count"),
    ):
        args = dict(
            company="acme",
            metric="queue_depth",
            service="worker",
            comparison=">",
            threshold=500,
            clear_threshold=300,
            for_s=120,
            severity="info",
            actor=person("ana"),
        )
        with pytest.raises(Invalid) as invalid:
            rule_edit.create_rule(store, **{**args, **bad})
        assert invalid.value.field == field
    with pytest.raises(Unauthenticated):  # nobody signed in: nothing is checked further, nothing written
        rule_edit.create_rule(store, **{**args, "actor": None})
    with pytest.raises(Forbidden):  # an operator may not change thresholds
        rule_edit.create_rule(store, **{**args, "actor": person("olu", "operator", "acme")})
    with pytest.raises(NotFound):  # nor may anyone with no role in the company
        rule_edit.create_rule(store, **{**args, "actor": person("eve", "lead", "other")})
