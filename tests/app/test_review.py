"""The review panel on the Incident page and the Rules page's edit form (AppTest, the replayed world)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from calmops import review
from calmops.demo.accounts import account_name
from calmops.detect.rules import list_rules
from calmops.store import cursor
from tests.app.conftest import texts
from tests.app.test_incidents import use_replayed_world

INCIDENT = "pages/incident.py"
RULES = "pages/rules.py"


@pytest.fixture
def replayed() -> Iterator[list[str]]:
    yield from use_replayed_world()


def _incident(company: str, *, resolved: bool) -> int:
    op = "=" if resolved else "<>"
    return (
        cursor()
        .execute(
            f"SELECT id FROM incidents WHERE company = ? AND status {op} 'resolved' "
            "AND rule_family = 'queue_depth' ORDER BY id LIMIT 1",
            [company],
        )
        .fetchall()[0][0]
    )


def _open(app, company: str, incident_id: int, user: str | None = "maria.lopez"):
    """Signed in as ``user`` (maria.lopez leads bluebird-logistics), or None: as a viewer."""
    at = app(company, page=INCIDENT, user=user)
    at.query_params["id"] = str(incident_id)
    at.run()
    assert not at.exception, at.exception
    return at


def _button(at, label: str):
    return next(b for b in at.button if b.label == label)


def test_a_resolved_incident_gets_the_prefilled_review_and_saves_it(replayed, app) -> None:
    company = "bluebird-logistics"
    incident_id = _incident(company, resolved=True)
    at = _open(app, company, incident_id)
    said = texts(at)
    assert "Post-incident review" in said and "Pre-filled from the data" in said
    assert "would have fired" in said and "Evidence" in said
    area = next(a for a in at.text_area if a.label == "Root cause")
    assert "Queue backlog" in area.value
    area.input("A batch import **flooded** the queue")
    _button(at, "Save review").click().run()
    assert not at.exception, at.exception
    saved = review.get_review(cursor(), company=company, incident_id=incident_id)
    assert saved["saved"] and saved["version"] == 1 and saved["author"] == "maria.lopez"
    assert saved["root_cause"]["text"] == "A batch import **flooded** the queue"
    assert any(p.get("kind") == "threshold" for p in saved["alert_improvements"])
    said = texts(at)
    assert "Review saved." in said and "Version 1 saved by maria.lopez" in said


def test_a_review_can_add_its_prevention_steps_to_the_runbook(replayed, app) -> None:
    company = replayed[0]
    incident_id = _incident(company, resolved=True)
    at = _open(app, company, incident_id)
    pattern = review.get_review(cursor(), company=company, incident_id=incident_id)["root_cause"]["pattern"]
    before = review.get_runbook(cursor(), company=company, pattern=pattern)
    next(a for a in at.text_area if a.label.startswith("Prevention")).input(
        "Alert on queue growth, not depth"
    )
    next(c for c in at.checkbox if c.label.startswith("Also add the prevention steps")).check()
    _button(at, "Save review").click().run()
    assert not at.exception, at.exception
    after = review.get_runbook(cursor(), company=company, pattern=pattern)
    assert after["saved"] and after["version"] == (before["version"] or 0) + 1
    assert after["commands"][: len(before["commands"])] == before["commands"]
    assert after["commands"][-1] == "Alert on queue growth, not depth"
    assert f"incident #{incident_id}" in after["notes"]
    assert "prevention steps are in the runbook entry" in texts(at)


def test_apply_needs_the_confirmation_then_changes_the_rule(replayed, app) -> None:
    company = "bluebird-logistics"
    incident_id = _incident(company, resolved=True)
    at = _open(app, company, incident_id)
    proposal = next(
        p
        for p in review.get_review(cursor(), company=company, incident_id=incident_id)["alert_improvements"]
        if p["kind"] == "threshold"
    )
    _button(at, "Apply").click().run()
    assert "Tick the box" in texts(at)
    next(c for c in at.checkbox if c.label.startswith("Change rule")).check()
    _button(at, "Apply").click().run()
    assert not at.exception, at.exception
    rule = next(r for r in list_rules(cursor(), company=company) if r.id == proposal["rule_id"])
    assert rule.threshold == proposal["proposed"]["threshold"] and rule.version == 2
    assert "Applied" in texts(at)


def test_an_active_incident_says_the_review_comes_later_and_no_name_no_form(replayed, app) -> None:
    company = "northwind-freight"
    at = _open(app, company, _incident(company, resolved=False))
    assert "review opens once the incident is resolved" in texts(at)
    assert not any(b.label == "Save review" for b in at.button)
    resolved = _incident("bluebird-logistics", resolved=True)
    at = _open(app, "bluebird-logistics", resolved, user=None)
    assert not any(b.label == "Save review" for b in at.button)
    assert not any(b.label == "Apply" for b in at.button)
    assert "You are a viewer here: read-only. To edit and save the review needs an operator" in texts(at)


def test_the_rules_form_saves_a_change_and_refuses_nonsense(world, app) -> None:
    company = world[0]
    at = app(company, page=RULES, user="li.wei").run()  # li.wei leads world[0]
    assert not at.exception, at.exception
    rule = next(r for r in list_rules(cursor(), company=company) if r.name == "queue_depth warning")
    assert "as shipped" in texts(at)
    form = f"rule_edit_{rule.id}"
    inputs = [n for n in at.number_input if n.form_id == form]
    assert next(n for n in inputs if n.label.startswith("Threshold")).value == 2000.0
    clear = next(n for n in inputs if n.label.startswith("Clear"))
    clear.set_value(5000.0)  # above the threshold of a ">" rule: it could never recover
    next(b for b in at.button if b.form_id == form).click().run()
    assert "clear\\_threshold must be at or below" in texts(at)
    assert list_rules(cursor(), company=company)[0].version == 1
    inputs = [n for n in at.number_input if n.form_id == form]
    next(n for n in inputs if n.label.startswith("Clear")).set_value(700.0)
    next(n for n in inputs if n.label.startswith("Threshold")).set_value(1400.0)
    next(t for t in at.text_input if t.form_id == form).input("fires too late on dispatch-worker")
    next(b for b in at.button if b.form_id == form).click().run()
    assert not at.exception, at.exception
    said = texts(at)  # the backtest comes first; nothing changed yet
    assert "as edited it would have fired" in said and "again to apply it" in said
    assert next(r for r in list_rules(cursor(), company=company) if r.id == rule.id).version == 1
    next(b for b in at.button if b.form_id == form).click().run()
    assert not at.exception, at.exception
    changed = next(r for r in list_rules(cursor(), company=company) if r.id == rule.id)
    assert (changed.threshold, changed.clear_threshold, changed.version) == (1400.0, 700.0, 2)
    said = texts(at)
    assert "Saved queue\\_depth warning (version 2)" in said
    assert "v2 · li.wei" in said and "edited: fires too late on dispatch-worker" in said


def test_the_runbook_editor_saves_versions(world, app) -> None:
    company = world[0]
    at = app(company, page="pages/runbook.py", role="lead").run()
    assert not at.exception, at.exception
    assert "No entry saved yet" in texts(at)
    at.selectbox(key=f"runbook_pattern_{company}").select("disk_filling").run()
    area = next(a for a in at.text_area if a.label.startswith("Commands"))
    assert "Expand the volume of {origin}" in area.value
    area.input("df -h on {origin}\njournalctl --vacuum-size=500M")
    next(b for b in at.button if b.label == "Save entry").click().run()
    assert not at.exception, at.exception
    assert review.runbook_for(cursor(), company=company, pattern="disk_filling") == [
        "df -h on {origin}",
        "journalctl --vacuum-size=500M",
    ]
    assert f"Version 1 by {account_name(company, 'lead')}" in texts(at)


def test_a_new_rule_is_backtested_then_added(world, app) -> None:
    company = world[0]
    at = app(company, page=RULES, role="lead").run()
    before = len(list_rules(cursor(), company=company))
    form = f"rule_new_{company}"
    next(s for s in at.selectbox if s.form_id == form and s.label == "Metric").set_value("cpu_pct")
    next(n for n in at.number_input if n.form_id == form and n.label == "Threshold").set_value(70.0)
    next(t for t in at.text_input if t.form_id == form).input("cpu creeping up on weekends")
    add = lambda: next(b for b in at.button if b.form_id == form)  # noqa: E731
    add().click().run()
    assert not at.exception, at.exception
    assert "this rule would have fired" in texts(at) and len(list_rules(cursor(), company=company)) == before
    add().click().run()
    assert not at.exception, at.exception
    rules = list_rules(cursor(), company=company)
    assert len(rules) == before + 1
    new = next(r for r in rules if r.threshold == 70.0)
    assert (new.metric, new.comparison, new.for_s, new.service) == ("cpu_pct", ">", 300, None)


def test_an_operator_reads_the_rules_but_cannot_edit_them(world, app) -> None:
    at = app(world[0], page=RULES, role="operator").run()
    assert not at.exception, at.exception
    assert not [b for b in at.button if (b.form_id or "").startswith("rule_")]
    assert "To change a rule needs a lead (your role is operator)" in texts(at)
