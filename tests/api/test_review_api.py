"""After resolution over real HTTP: the review (GET the draft or the saved latest, POST versions),
applying a threshold proposal, editing rules, and runbook entries — against the session's server.

A viewer reads, an operator writes the review, a lead tunes (proposals, rules, runbooks)."""

from __future__ import annotations

import pytest
import requests

pytestmark = pytest.mark.server
COMPANY = "bluebird-logistics"
OPERATOR = f"token:tests-{COMPANY}-operator"
LEAD = f"token:tests-{COMPANY}-lead"


def get(server, path: str, **params) -> requests.Response:
    """A viewer of COMPANY reads; another company is read by an admin of every company (its ids)."""
    reader = server.client(COMPANY, "viewer") if params.get("company") == COMPANY else server.client()
    return reader.get(path, params=params)


def send(server, method: str, path: str, body: dict, role: str | None = None) -> requests.Response:
    """A review is an operator's; applying a proposal, rules and runbooks are a lead's."""
    role = role or ("operator" if path.endswith("/review") else "lead")
    return server.client(COMPANY, role).request(method, path, json=body)


@pytest.fixture(scope="module")
def reviewed(live_server) -> tuple[int, dict]:
    """A resolved incident whose pre-filled review carries a threshold proposal, and that review."""
    found = get(live_server, "incidents", company=COMPANY, status="resolved", limit=1000).json()["incidents"]
    for incident in found:
        body = get(live_server, f"incidents/{incident['id']}/review", company=COMPANY).json()
        if any(p.get("kind") == "threshold" for p in body.get("alert_improvements", [])):
            return incident["id"], body
    pytest.fail("no resolved incident with a threshold proposal in the demo world")


def test_the_draft_is_prefilled_and_an_active_incident_has_none(live_server, reviewed) -> None:
    incident_id, draft = reviewed
    assert draft["saved"] is False and draft["version"] is None and draft["history"] == []
    assert draft["root_cause"]["text"] and draft["root_cause"]["evidence"]
    moments = draft["key_moments"]
    assert moments["detected"] and moments["resolved"] and moments["time_to_resolve_s"] > 0
    assert draft["prevention"] and draft["automation"]
    proposal = next(p for p in draft["alert_improvements"] if p["kind"] == "threshold")
    assert proposal["earlier_by_s"] >= 60 and proposal["history"]["fires_proposed"] >= 1
    assert str(proposal["history"]["fires_proposed_on_service"]) in proposal["text"]

    active = get(live_server, "incidents", company=COMPANY, status="open,acknowledged,mitigating,monitoring")
    for incident in active.json()["incidents"][:1]:
        refused = get(live_server, f"incidents/{incident['id']}/review", company=COMPANY)
        assert refused.status_code == 422 and "resolved" in refused.json()["error"]
    other = get(live_server, f"incidents/{incident_id}/review", company="northwind-freight")
    assert other.status_code == 404


def test_save_versions_stale_409_and_nonsense_400(live_server, reviewed) -> None:
    incident_id, draft = reviewed
    path = f"incidents/{incident_id}/review"
    proposal = next(p for p in draft["alert_improvements"] if p["kind"] == "threshold")
    body = {
        "company": COMPANY,
        "actor": "maria.lopez",
        "root_cause": "Batch import flooded the queue",
        "prevention": [*draft["prevention"][:2], "Cap the import batch size"],
        "alert_improvements": [{"id": proposal["id"]}, "Alert on queue growth rate"],
        "automation": [a["text"] for a in draft["automation"]],
        "notes": "<b>not html</b>",
        "expected_version": 0,
    }
    for bad, field in (
        ({"root_cause": ""}, "root_cause"),
        ({"prevention": "one"}, "prevention"),
        ({"alert_improvements": [{"id": "rule-0-v1-t1-f1"}]}, "alert_improvements[0]"),
        ({"expected_version": "one"}, "expected_version"),
        ({"colour": "red"}, "colour"),
    ):
        answer = send(live_server, "POST", path, {**body, **bad})
        assert answer.status_code == 400 and answer.json()["field"] == field, answer.text
    saved = send(live_server, "POST", path, body)
    assert saved.status_code == 200, saved.text
    first = saved.json()
    assert first["saved"] and first["version"] == 1 and first["author"] == OPERATOR
    assert first["root_cause"]["text"] == "Batch import flooded the queue"
    assert first["alert_improvements"][0] == proposal and first["alert_improvements"][1]["kind"] == "note"
    stale = send(live_server, "POST", path, body, role="lead")
    assert stale.status_code == 409 and stale.json()["version"] == 1
    again = send(live_server, "POST", path, {**body, "expected_version": 1, "notes": "second look"})
    assert again.status_code == 200 and again.json()["version"] == 2
    latest = get(live_server, path, company=COMPANY).json()
    assert latest["notes"] == "second look" and [h["version"] for h in latest["history"]] == [2, 1]
    assert get(live_server, path, company=COMPANY, version=1).json()["notes"] == "<b>not html</b>"
    timeline = get(live_server, f"incidents/{incident_id}", company=COMPANY).json()["timeline"]
    assert [e["actor"] for e in timeline if e["kind"] == "review"] == [OPERATOR, OPERATOR]


def _rule(server, rule_id: int) -> dict:
    return next(r for r in get(server, "rules", company=COMPANY).json()["rules"] if r["id"] == rule_id)


def test_apply_a_proposal_then_edit_the_rule_back(live_server, reviewed) -> None:
    incident_id, draft = reviewed
    proposal = next(p for p in draft["alert_improvements"] if p["kind"] == "threshold")
    rule = _rule(live_server, proposal["rule_id"])
    apply = f"incidents/{incident_id}/review/apply"
    base = {"company": COMPANY, "actor": "li.wei", "proposal_id": proposal["id"]}
    stale = send(live_server, "POST", apply, {**base, "expected_rule_version": rule["version"] + 5})
    assert stale.status_code == 409
    missing = send(live_server, "POST", apply, {**base, "proposal_id": "nope", "expected_rule_version": 1})
    assert missing.status_code == 404 and missing.json()["field"] == "proposal_id"
    done = send(live_server, "POST", apply, {**base, "expected_rule_version": rule["version"]})
    assert done.status_code == 200, done.text
    changed = done.json()
    assert changed["threshold"] == proposal["proposed"]["threshold"]
    assert changed["for_s"] == proposal["proposed"]["for_s"]
    assert changed["version"] == rule["version"] + 1
    shown = _rule(live_server, rule["id"])["last_change"]
    assert shown["source"] == "proposal" and shown["incident_id"] == incident_id and shown["actor"] == LEAD
    timeline = get(live_server, f"incidents/{incident_id}", company=COMPANY).json()["timeline"]
    assert any(e["kind"] == "review" and "proposal applied" in e["message"] for e in timeline)

    put = {"company": COMPANY, "id": rule["id"], "actor": "li.wei", "expected_version": changed["version"]}
    wrong_side = send(live_server, "PUT", "rules", {**put, "clear_threshold": changed["threshold"] * 10})
    assert wrong_side.status_code == 400 and wrong_side.json()["field"] == "clear_threshold"
    for bad, field in (({"for_s": -5}, "for_s"), ({"severity": "sev1"}, "severity"), ({"name": "x"}, "name")):
        answer = send(live_server, "PUT", "rules", {**put, **bad})
        assert answer.status_code == 400 and answer.json()["field"] == field, answer.text
    assert send(live_server, "PUT", "rules", {**put, "expected_version": 1, "for_s": 60}).status_code == 409
    back = send(
        live_server,
        "PUT",
        "rules",
        {
            **put,
            "threshold": rule["threshold"],
            "clear_threshold": rule["clear_threshold"],
            "for_s": rule["for_s"],
            "reason": "back to the default after the test",
        },
    )
    assert back.status_code == 200, back.text
    assert back.json()["threshold"] == rule["threshold"] and back.json()["last_change"]["source"] == "edit"


def test_a_new_rule_and_runbook_entries(live_server) -> None:
    new = {
        "company": COMPANY,
        "actor": "jonas.berg",
        "metric": "queue_depth",
        "service": "dispatch-worker",
        "comparison": ">",
        "threshold": 50000,
        "clear_threshold": 40000,
        "for_s": 600,
        "severity": "info",
    }
    created = send(live_server, "POST", "rules", new)
    assert created.status_code == 201, created.text
    assert created.json()["last_change"]["source"] == "created" and created.json()["version"] == 1
    bad = send(live_server, "POST", "rules", {**new, "metric": "vibes"})
    assert bad.status_code == 400 and bad.json()["field"] == "metric"
    bad = send(live_server, "POST", "rules", {**new, "comparison": "=="})
    assert bad.status_code == 400 and bad.json()["field"] == "comparison"
    send(
        live_server,
        "PUT",
        "rules",
        {
            "company": COMPANY,
            "id": created.json()["id"],
            "enabled": False,
            "expected_version": 1,
            "actor": "jonas.berg",
        },
    )

    default = get(live_server, "runbooks", company=COMPANY, pattern="disk_filling").json()
    assert default["saved"] is False and default["commands"] == default["default"] and default["default"]
    body = {
        "company": COMPANY,
        "actor": "jonas.berg",
        "pattern": "disk_filling",
        "commands": ["df -h on {origin}", "journalctl --vacuum-size=500M"],
        "expected_version": 0,
    }
    first = send(live_server, "PUT", "runbooks", body)
    assert first.status_code == 200 and first.json()["version"] == 1, first.text
    assert send(live_server, "PUT", "runbooks", body).status_code == 409
    second = send(live_server, "PUT", "runbooks", {**body, "commands": ["df -h"], "expected_version": 1})
    assert second.json()["version"] == 2 and [h["version"] for h in second.json()["history"]] == [2, 1]
    listed = get(live_server, "runbooks", company=COMPANY).json()["runbooks"]
    assert {r["pattern"]: r["version"] for r in listed}["disk_filling"] == 2
    for bad, field in (({"pattern": "gremlins"}, "pattern"), ({"commands": []}, "commands")):
        answer = send(live_server, "PUT", "runbooks", {**body, **bad})
        assert answer.status_code == 400 and answer.json()["field"] == field
