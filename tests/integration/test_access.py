"""Access control in the service layer: every write a person can make checks the identity's role in
the incident's company, whatever called it (the API, the pages or the CLI). A role too low is
refused (403); a company the identity holds no role in is unknown (404). Nothing is written."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from calmops import agent, workflow
from calmops.errors import Forbidden, NotFound
from calmops.review import rules as rule_edit
from calmops.review import runbooks
from calmops.store import unit_of_work
from calmops.workflow import customer, escalation
from tests.integration.test_agent_service import backlog_incident, store  # noqa: F401  (fixture)
from tests.people import account, person

C = "acme"


def _writes(db, incident_id: int, rec: dict) -> dict[str, tuple[str, Callable]]:
    """Each write, the lowest role that may make it, and how to make it as ``who``."""
    common = dict(company=C, incident_id=incident_id)
    return {
        "acknowledge": ("operator", lambda who: workflow.acknowledge(db, **common, actor=who)),
        "note": ("operator", lambda who: workflow.add_note(db, **common, actor=who, text="looking")),
        "assign": ("operator", lambda who: workflow.assign(db, **common, actor=who, assignee="sam")),
        "severity": ("operator", lambda who: workflow.change_severity(db, **common, actor=who,
                                                                      severity="high")),
        "escalate": ("operator", lambda who: escalation.escalate(db, **common, actor=who, reason="paging")),
        "decline": ("operator", lambda who: workflow.decline(db, **common, recommendation_id=rec["id"],
                                                            expected_version=rec["version"], actor=who,
                                                            note="not now")),
        "approve": ("operator", lambda who: workflow.approve(db, **common, recommendation_id=rec["id"],
                                                            expected_version=rec["version"], actor=who,
                                                            confirm=True)),
        "draft": ("operator", lambda who: customer.draft(db, **common, actor=who, text="We are on it.",
                                                        state="investigating")),
        "resolve": ("operator", lambda who: workflow.resolve(db, **common, actor=who, note="fixed",
                                                            customer_impact=False)),
        "rule": ("lead", lambda who: rule_edit.create_rule(db, company=C, metric="queue_depth",
                                                           comparison=">", threshold=9000, severity="warning",
                                                           actor=who)),
        "runbook": ("lead", lambda who: runbooks.save_runbook(db, company=C, pattern="queue_backlog",
                                                              commands=["drain"], actor=who,
                                                              expected_version=0)),
        "escalation settings": ("lead", lambda who: escalation.set_settings(db.cursor(), company=C, actor=who,
                                                                            critical_after_min=20)),
    }  # fmt: skip


def _written(cur) -> tuple[int, int]:
    return cur.execute(
        "SELECT (SELECT count(*) FROM audit_log), (SELECT count(*) FROM incident_events)"
    ).fetchall()[0]


def test_every_write_refuses_a_role_too_low_and_hides_other_companies(db, store) -> None:  # noqa: F811
    incident_id, _ = backlog_incident(db, store)
    account(store, "sam", "operator", C)
    rec = agent.current_brief(store, company=C, incident_id=incident_id)["recommendation"]
    viewer, operator = person("vic", "viewer", C), person("olu", "operator", C)
    stranger = person("eve", "admin", "other-co")
    ingest = person("token:pusher", "ingest", C)
    for name, (lowest, write) in _writes(db, incident_id, rec).items():
        before = _written(store)
        too_low = [viewer, ingest] + ([operator] if lowest == "lead" else [])
        for who in too_low:
            with pytest.raises(Forbidden) as refused:
                write(who)
            assert refused.value.status == 403 and who.name in refused.value.message, name
        with pytest.raises(NotFound) as hidden:
            write(stranger)
        assert hidden.value.to_json() == {"error": f"unknown company '{C}'", "field": "company"}, name
        assert _written(store) == before, f"{name}: a refused write left a trace"


def test_an_operator_approves_safe_and_low_risk_only_and_the_refusal_is_audited(db, store) -> None:  # noqa: F811
    incident_id, _ = backlog_incident(db, store)
    rec = agent.current_brief(store, company=C, incident_id=incident_id)["recommendation"]
    with unit_of_work(store):  # the same proposal, as a medium-risk one
        store.execute("UPDATE recommendations SET risk = 'medium' WHERE id = ?", [rec["id"]])
    decide = dict(company=C, incident_id=incident_id, recommendation_id=rec["id"],
                  expected_version=rec["version"], confirm=True)  # fmt: skip
    with pytest.raises(Forbidden, match="only a lead"):
        workflow.approve(db, **decide, actor=person("olu", "operator", C))
    refused = store.execute("SELECT actor FROM audit_log WHERE action = 'approve.refused'").fetchall()
    assert refused == [("olu",)]
    assert (
        workflow.approve(db, **decide, actor=person("lee", "lead", C)).recommendation["decided_by"] == "lee"
    )


def test_an_operator_approves_a_low_risk_recommendation(db, store) -> None:  # noqa: F811
    incident_id, _ = backlog_incident(db, store)
    rec = agent.current_brief(store, company=C, incident_id=incident_id)["recommendation"]
    assert rec["risk"] in ("safe", "low")
    done = workflow.approve(db, company=C, incident_id=incident_id, recommendation_id=rec["id"],
                            expected_version=rec["version"], actor=person("olu", "operator", C))  # fmt: skip
    assert done.recommendation["decided_by"] == "olu"
