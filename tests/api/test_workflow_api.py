"""A person's decisions over real HTTP: status codes and bodies as CONTRACT.md defines them.

Decisions are an operator's (northwind-freight's operator token); the timeline and the audit log
record the token's name, whatever ``"actor"`` an old caller still sends."""

from __future__ import annotations

import threading
import uuid

import pytest
import requests

from tests.servers import Client

pytestmark = pytest.mark.server
COMPANY = "northwind-freight"
OPERATOR = f"token:tests-{COMPANY}-operator"


def post(server, path: str, body: dict, role: str = "operator") -> requests.Response:
    return server.client(COMPANY, role).post(path, json=body)


def manual(server, title: str) -> dict:
    """An incident of our own (the shared demo world's incidents stay as other tests expect them)."""
    answer = post(
        server,
        "incidents",
        {
            "company": COMPANY,
            "title": title,
            "service": "api",
            "severity": "warning",
            "description": "",
            "customer_impact": False,
            "actor": "tester",
        },
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_the_golden_rule_and_its_status_codes(live_server) -> None:
    incident = manual(live_server, "Decisions over HTTP")
    rec = incident["brief"]["recommendation"]
    path = f"incidents/{incident['id']}"
    base = {"company": COMPANY, "actor": "maria"}
    refused = post(
        live_server, f"{path}/approve", {**base, "recommendation_id": 424242, "expected_version": 1}
    )
    assert refused.status_code == 422 and "golden rule" in refused.json()["error"]
    assert post(live_server, f"{path}/approve", {**base, "recommendation_id": rec["id"]}).status_code == 400
    stale = post(
        live_server, f"{path}/approve", {**base, "recommendation_id": rec["id"], "expected_version": 99}
    )
    assert stale.status_code == 409 and stale.json()["field"] == "expected_version"
    no_note = post(
        live_server,
        f"{path}/decline",
        {**base, "recommendation_id": rec["id"], "expected_version": rec["version"]},
    )
    assert no_note.status_code == 400 and no_note.json()["field"] == "note"
    assert (
        post(live_server, "incidents/99999999/approve", {**base, "recommendation_id": 1}).status_code == 404
    )
    other = live_server.client().post(  # an admin of every company: the id is not bluebird's
        f"{path}/approve",
        json={"company": "bluebird-logistics", "recommendation_id": rec["id"], "expected_version": 1},
    )
    assert other.status_code == 404, "another company's incident id is unknown there"
    assert post(live_server, f"{path}/approve", {**base, "bogus": 1}).status_code == 400
    done = post(
        live_server,
        f"{path}/approve",
        {**base, "recommendation_id": rec["id"], "expected_version": rec["version"], "note": "watching"},
    )
    assert done.status_code == 200, done.text
    assert done.json()["recommendation"]["status"] == "succeeded"  # wait and watch: nothing to run
    again = post(
        live_server,
        f"{path}/approve",
        {**base, "recommendation_id": rec["id"], "expected_version": rec["version"]},
    )
    assert again.status_code == 409 and again.json()["decided_by"] == OPERATOR and again.json()["decided_at"]


def test_two_people_at_once_one_wins_the_other_is_told_who(live_server) -> None:
    incident = manual(live_server, "Two operators")
    rec = incident["brief"]["recommendation"]
    answers: list[requests.Response] = []
    barrier = threading.Barrier(2)

    def decide(role: str) -> None:
        person = Client(live_server.url, live_server.token(COMPANY, role))  # a session per thread
        barrier.wait()
        body = {
            "company": COMPANY,
            "recommendation_id": rec["id"],
            "expected_version": rec["version"],
            "note": f"the {role} decides",
        }
        answers.append(person.post(f"incidents/{incident['id']}/decline", json=body))

    threads = [threading.Thread(target=decide, args=(r,)) for r in ("operator", "lead")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(a.status_code for a in answers)
    assert codes == [200, 409]
    winner = next(a for a in answers if a.status_code == 200).json()["recommendation"]["decided_by"]
    assert next(a for a in answers if a.status_code == 409).json()["decided_by"] == winner
    assert winner in {OPERATOR, f"token:tests-{COMPANY}-lead"}


def test_acknowledge_note_resolve_and_reopen(live_server) -> None:
    incident = manual(live_server, "Lifecycle over HTTP")
    path, base = f"incidents/{incident['id']}", {"company": COMPANY, "actor": "li"}
    acked = post(live_server, f"{path}/acknowledge", {**base, "expected_version": incident["version"]})
    assert (
        acked.status_code == 200
        and acked.json()["assignee"] == OPERATOR
        and acked.json()["status"] == "acknowledged"
    )
    stale = post(live_server, f"{path}/acknowledge", {**base, "expected_version": incident["version"]})
    assert stale.status_code == 409
    assert (
        post(live_server, f"{path}/notes", {**base, "text": "<script>alert(1)</script>"}).status_code == 200
    )
    assert (
        post(live_server, f"{path}/resolve", {**base, "note": "ok"}).status_code == 400
    )  # impact unconfirmed
    resolved = post(live_server, f"{path}/resolve", {**base, "note": "fixed", "customer_impact": False})
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    assert (
        post(live_server, f"{path}/resolve", {**base, "note": "x", "customer_impact": False}).status_code
        == 409
    )
    reopened = post(live_server, f"{path}/reopen", {**base, "note": "back again"})
    assert reopened.status_code == 200 and reopened.json()["status"] == "open"
    kinds = [e["kind"] for e in reopened.json()["timeline"]]
    assert {"acknowledged", "note", "resolved", "reopened"} <= set(kinds)


def test_every_decision_is_in_the_audit_log_as_json_and_csv(live_server) -> None:
    incident = manual(live_server, "Audited")
    rec = incident["brief"]["recommendation"]
    label = f"auditor-{uuid.uuid4().hex[:6]}"
    made = live_server.client().post("tokens", json={"company": COMPANY, "role": "operator", "name": label})
    auditor = Client(live_server.url, made.json()["secret"])
    body = {"company": COMPANY, "actor": "someone-else", "recommendation_id": rec["id"] + 10_000,
            "expected_version": 1}  # fmt: skip
    assert auditor.post(f"incidents/{incident['id']}/approve", json=body).status_code == 422
    reader = live_server.client(COMPANY, "viewer")
    who = f"token:{label}"
    found = reader.get("audit", params={"company": COMPANY, "actor": who}).json()["audit"]
    assert [e["action"] for e in found] == ["approve.refused"] and "golden rule" in found[0]["after"][
        "reason"
    ]
    assert reader.get("audit", params={"company": COMPANY, "actor": "someone-else"}).json()["audit"] == []
    exported = reader.get("audit", params={"company": COMPANY, "actor": who, "format": "csv"})
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"] and "approve.refused" in exported.text
    assert reader.get("audit", params={"company": COMPANY, "format": "xml"}).status_code == 400
    other = live_server.client().get("audit", params={"company": "bluebird-logistics", "actor": who}).json()
    assert other["audit"] == []
