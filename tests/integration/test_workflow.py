"""A person's decisions on a real store: the golden rule, optimistic concurrency, confirmation of
risky actions, execution through the executor, and the incident's lifecycle."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from calmops import actions, agent, incidents, workflow
from calmops.store import Database, unit_of_work
from tests.integration.test_agent_service import backlog_incident, store  # noqa: F401  (fixture)
from tests.people import account, person


def _audit(cur, action: str) -> list:
    return cur.execute("SELECT actor, after FROM audit_log WHERE action = ? ORDER BY id", [action]).fetchall()


def _proposal(cur, incident_id: int) -> dict:
    return agent.current_brief(cur, company="acme", incident_id=incident_id)["recommendation"]


def test_only_a_proposed_recommendation_of_this_incident_can_be_decided(db, store) -> None:  # noqa: F811
    incident_id, _ = backlog_incident(db, store)
    rec = _proposal(store, incident_id)
    with pytest.raises(workflow.NotAllowed, match="golden rule"):
        workflow.approve(db, company="acme", incident_id=incident_id, recommendation_id=rec["id"] + 999,
                         expected_version=1, actor=person("maria"))  # fmt: skip
    with unit_of_work(store):
        second = incidents.create_manual(
            store, company="acme", title="Another", service="postgres", severity="warning", description="",
            customer_impact=False, actor=person("li"), now=_newest(store),
        )  # fmt: skip
    agent.after_detection(db, company="acme", incident_ids=[second])
    with pytest.raises(workflow.NotAllowed):  # this incident's proposal, asked for on another incident
        workflow.approve(db, company="acme", incident_id=second, recommendation_id=rec["id"],
                         expected_version=rec["version"], actor=person("maria"))  # fmt: skip
    assert len(_audit(store, "approve.refused")) == 2, "every refusal is audited"
    assert not actions.list_attempts(store, company="acme", incident_id=second), "and nothing ran"
    with pytest.raises(workflow.NotFound):
        workflow.approve(db, company="other", incident_id=incident_id, recommendation_id=rec["id"],
                         expected_version=rec["version"], actor=person("maria"))  # fmt: skip


def _calm(cur):
    """A few calm minutes of the worker, so a manual incident has data to be briefed from."""
    from tests.integration.test_agent_service import T0, minutes

    return minutes(cur, T0, 30, lambda i: 12)


def _newest(cur):
    return cur.execute("SELECT max(ts) FROM health_snapshots").fetchall()[0][0]


def test_decline_then_a_second_decision_is_told_who_decided(db: Database, store) -> None:  # noqa: F811
    incident_id, _ = backlog_incident(db, store)
    rec = _proposal(store, incident_id)
    with pytest.raises(workflow.Invalid):
        workflow.decline(db, company="acme", incident_id=incident_id, recommendation_id=rec["id"],
                         expected_version=rec["version"], actor=person("maria"), note="")  # fmt: skip
    done = workflow.decline(
        db, company="acme", incident_id=incident_id, recommendation_id=rec["id"],
        expected_version=rec["version"], actor=person("maria"), note="batch import is payroll",
    )  # fmt: skip
    assert done.recommendation["status"] == "declined" and done.recommendation["decided_by"] == "maria"
    with pytest.raises(workflow.Conflict) as late:
        workflow.approve(db, company="acme", incident_id=incident_id, recommendation_id=rec["id"],
                         expected_version=rec["version"], actor=person("sam"))  # fmt: skip
    assert late.value.extra["decided_by"] == "maria" and late.value.extra["decided_at"]
    kinds = [e.kind for e in incidents.get_incident(store, company="acme", incident_id=incident_id).timeline]
    assert "declined" in kinds
    # the agent does not propose a declined action again
    assert _proposal(store, incident_id)["status"] == "declined"


@pytest.mark.parametrize("round_", range(8))
def test_two_operators_at_once_exactly_one_wins(db: Database, store, round_: int) -> None:  # noqa: F811
    now = _calm(store)
    with unit_of_work(store):
        incident_id = incidents.create_manual(
            store, company="acme", title=f"Race {round_}", service="worker", severity="warning",
            description="", customer_impact=False, actor=person("li"), now=now,
        )  # fmt: skip
    agent.after_detection(db, company="acme", incident_ids=[incident_id], now=now)
    rec = _proposal(store, incident_id)
    barrier, results = threading.Barrier(2), []

    def decide(name: str) -> None:
        barrier.wait()
        try:
            workflow.decline(db, company="acme", incident_id=incident_id, recommendation_id=rec["id"],
                             expected_version=rec["version"], actor=person(name),
                             note=f"{name} says no")  # fmt: skip
            results.append(("won", name))
        except workflow.Conflict as exc:
            results.append(("lost", exc.extra.get("decided_by")))

    threads = [threading.Thread(target=decide, args=(n,)) for n in ("maria", "sam")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    outcomes = sorted(r[0] for r in results)
    assert outcomes == ["lost", "won"]
    winner = next(n for o, n in results if o == "won")
    assert next(n for o, n in results if o == "lost") == winner, "the loser is told who decided"


def test_risky_actions_need_confirmation_and_approvals_run_through_the_executor(db, store) -> None:  # noqa: F811
    incident_id, now = backlog_incident(db, store)
    rec = _proposal(store, incident_id)
    with unit_of_work(store):  # make the proposal medium risk to check the confirmation rule
        store.execute("UPDATE recommendations SET risk = 'medium' WHERE id = ?", [rec["id"]])
    with pytest.raises(workflow.NotAllowed, match="confirm"):
        workflow.approve(db, company="acme", incident_id=incident_id, recommendation_id=rec["id"],
                         expected_version=rec["version"], actor=person("maria"))  # fmt: skip
    decided = workflow.approve(db, company="acme", incident_id=incident_id, recommendation_id=rec["id"],
                               expected_version=rec["version"], actor=person("maria"), confirm=True,
                               now=now + timedelta(minutes=1))  # fmt: skip
    # No executor is configured for this company: the attempt is on record, the recommendation failed.
    assert decided.execution["action"] == "pause_batch_jobs" and decided.execution["kind"] == "approved"
    assert decided.recommendation["status"] in ("failed", "succeeded")
    kinds = [e.kind for e in incidents.get_incident(store, company="acme", incident_id=incident_id).timeline]
    assert "approved" in kinds


def test_acknowledge_assign_note_severity_resolve_reopen(db: Database, store) -> None:  # noqa: F811
    incident_id, now = backlog_incident(db, store)
    detail = workflow.acknowledge(db, company="acme", incident_id=incident_id, actor=person("maria"), now=now)
    assert detail.summary.assignee == "maria" and detail.acknowledged_at == now
    account(store, "sam", "operator", "acme")
    with pytest.raises(workflow.Conflict):
        workflow.assign(db, company="acme", incident_id=incident_id, assignee="sam", actor=person("maria"),
                        expected_version=detail.summary.version - 1)  # fmt: skip
    with pytest.raises(workflow.Invalid):  # only someone who may act on acme's incidents
        workflow.assign(db, company="acme", incident_id=incident_id, assignee="nobody", actor=person("maria"))
    detail = workflow.assign(db, company="acme", incident_id=incident_id, assignee="sam",
                             actor=person("maria"), expected_version=detail.summary.version)  # fmt: skip
    assert detail.summary.assignee == "sam"
    workflow.add_note(
        db, company="acme", incident_id=incident_id, actor=person("sam"), text="<b>checking</b> workers"
    )
    with pytest.raises(workflow.Invalid):
        workflow.change_severity(
            db, company="acme", incident_id=incident_id, severity="apocalyptic", actor=person("sam")
        )
    workflow.change_severity(
        db, company="acme", incident_id=incident_id, severity="high", actor=person("sam")
    )
    with pytest.raises(workflow.Invalid):
        workflow.resolve(
            db,
            company="acme",
            incident_id=incident_id,
            actor=person("sam"),
            note="done",
            customer_impact="no",
        )
    detail = workflow.resolve(
        db, company="acme", incident_id=incident_id, actor=person("sam"), note="queue drained",
        customer_impact=False,
        root_cause_hint="nightly import", now=now + timedelta(hours=1),
    )  # fmt: skip
    assert detail.summary.status.value == "resolved"
    assert agent.current_brief(store, company="acme", incident_id=incident_id)["summary"].count(
        "Resolved after"
    )
    with pytest.raises(workflow.Conflict):
        workflow.resolve(
            db,
            company="acme",
            incident_id=incident_id,
            actor=person("sam"),
            note="again",
            customer_impact=False,
        )
    detail = workflow.reopen(
        db, company="acme", incident_id=incident_id, actor=person("maria"), note="it is back"
    )
    assert detail.summary.status.value == "open" and detail.summary.resolved_at is None
    kinds = [e.kind for e in detail.timeline]
    for kind in ("acknowledged", "assigned", "note", "severity_changed", "resolved", "reopened"):
        assert kind in kinds
    assert len(_audit(store, "resolve")) == 1 and len(_audit(store, "reopen")) == 1
