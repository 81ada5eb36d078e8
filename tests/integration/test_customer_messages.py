"""Customer messages on a real store: versions (the first from the brief's draft), approve only the
latest (409 on a stale version, exactly one winner when two approve at once), mark sent, and send
through the status-page webhook to a local receiver."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest

from calmops import clock, companies, incidents, notify
from calmops.store import Database, unit_of_work
from calmops.workflow import customer
from calmops.workflow.errors import Conflict, Invalid, NotAllowed, NotFound
from tests.integration.test_escalation import Receiver
from tests.people import person

T0 = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
C = "acme"


@pytest.fixture
def incident(db: Database) -> int:
    cur = db.cursor()
    with unit_of_work(cur):
        companies.create_company(cur, company=C, name="Acme", now=T0 - timedelta(days=1))
        companies.add_service(cur, company=C, service="api", kind="api", customer_facing=True)
        incident_id = incidents.create_manual(
            cur, company=C, title="Checkout fails", service="api", severity="high", description="",
            customer_impact=True, actor=person("alice"), now=T0,
        )  # fmt: skip
    clock.freeze(T0)
    return incident_id


def test_versions_and_the_first_draft_from_the_brief(db, incident) -> None:
    cur = db.cursor()
    assert customer.starting_point(cur, company=C, incident_id=incident)["source"] == "blank"
    body = {
        "summary": "x",
        "customer_message": {"status": "draft", "state": "identified", "text": "Agent draft"},
    }
    with unit_of_work(cur):
        cur.execute(
            """INSERT INTO briefs (company, incident_id, version, pattern, confidence, fingerprint, body,
                   created_at, updated_at) VALUES (?, ?, 1, 'unknown', 'high', 'x', ?, ?, ?)""",
            [C, incident, json.dumps(body), T0, T0],
        )
    start = customer.starting_point(cur, company=C, incident_id=incident)
    assert start == {"text": "Agent draft", "state": "identified", "source": "brief"}
    first = customer.draft(
        db, company=C, incident_id=incident, text=start["text"], state="identified", actor=person("al")
    )
    second = customer.draft(
        db, company=C, incident_id=incident, text=" Better ", state="monitoring", actor=person("bo")
    )
    assert (first["version"], second["version"], second["text"], second["status"]) == (
        1,
        2,
        "Better",
        "draft",
    )
    assert [m.version for m in customer.versions(cur, company=C, incident_id=incident)] == [2, 1]
    assert customer.starting_point(cur, company=C, incident_id=incident)["source"] == "version 2"
    events = [e for e in incidents.get_incident(cur, company=C, incident_id=incident).timeline]
    assert [e.kind for e in events].count("customer_message") == 2
    assert (
        cur.execute("SELECT count(*) FROM audit_log WHERE action = 'customer_message.draft'").fetchall()[0][0]
        == 2
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"text": "", "state": "identified"}, "text"),
        ({"text": "x" * 2001, "state": "identified"}, "text"),
        ({"text": 5, "state": "identified"}, "text"),
        ({"text": "ok", "state": "fixed"}, "state"),
    ],
)
def test_bad_drafts_are_refused(db, incident, fields, field) -> None:
    with pytest.raises(Invalid) as err:
        customer.draft(db, company=C, incident_id=incident, actor=person("al"), **fields)
    assert err.value.field == field and err.value.status == 400


def test_approve_only_the_latest_then_send_or_mark(db, incident) -> None:
    customer.draft(db, company=C, incident_id=incident, text="One", state="investigating", actor=person("al"))
    customer.draft(db, company=C, incident_id=incident, text="Two", state="identified", actor=person("al"))
    with pytest.raises(Conflict) as stale:
        customer.approve_message(db, company=C, incident_id=incident, version=1, actor=person("bo"))
    assert stale.value.status == 409 and stale.value.extra["latest_version"] == 2
    with pytest.raises(NotFound):
        customer.approve_message(db, company=C, incident_id=incident, version=7, actor=person("bo"))
    with pytest.raises(NotAllowed):
        customer.mark_sent(db, company=C, incident_id=incident, version=2, actor=person("bo"))
    clock.advance(timedelta(minutes=1))
    approved = customer.approve_message(db, company=C, incident_id=incident, version=2, actor=person("bo"))
    assert approved["approved_by"] == "bo" and approved["approved_at"] == "2026-11-26T08:01:00Z"
    with pytest.raises(Conflict) as twice:
        customer.approve_message(db, company=C, incident_id=incident, version=2, actor=person("cy"))
    assert twice.value.extra["approved_by"] == "bo"
    with pytest.raises(NotAllowed):  # no status-page webhook, not the demo world
        customer.send(db, company=C, incident_id=incident, version=2, actor=person("bo"))
    sent = customer.mark_sent(db, company=C, incident_id=incident, version=2, actor=person("bo"))
    assert sent["status"] == "sent" and sent["sent_by"] == "bo"
    with pytest.raises(Conflict):
        customer.mark_sent(db, company=C, incident_id=incident, version=2, actor=person("bo"))
    # A newer version after sending starts the cycle again.
    again = customer.draft(
        db, company=C, incident_id=incident, text="Resolved", state="resolved", actor=person("al")
    )
    assert again["version"] == 3 and again["status"] == "draft"


def test_two_approvals_at_once_exactly_one_wins(db, incident) -> None:
    for trial in range(5):
        version = customer.draft(db, company=C, incident_id=incident, text=f"v{trial}", state="identified",
                                 actor=person("al"))["version"]  # fmt: skip
        results: list[str] = []
        barrier = threading.Barrier(4)

        def approve(name: str, v: int = version, gate=barrier, out=results) -> None:
            gate.wait()
            try:
                customer.approve_message(db, company=C, incident_id=incident, version=v, actor=person(name))
                out.append("won")
            except Conflict:
                out.append("conflict")

        threads = [threading.Thread(target=approve, args=(f"op{i}",)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == ["conflict"] * 3 + ["won"], results


def test_send_through_the_status_page_webhook(db, incident) -> None:
    receiver = Receiver()
    try:
        notify.set_channel(
            db.cursor(), company=C, channel="status_page", url=receiver.url, actor=person("admin")
        )
        text = 'Payments fail <img src=x onerror="alert(1)">'
        customer.draft(db, company=C, incident_id=incident, text=text, state="identified", actor=person("al"))
        customer.approve_message(db, company=C, incident_id=incident, version=1, actor=person("bo"))
        answer = customer.send(db, company=C, incident_id=incident, version=1, actor=person("bo"))
    finally:
        receiver.close()
    assert answer["status"] == "sent" and answer["delivery"]["status"] == "sent"
    assert receiver.bodies == [{"text": text, "state": "identified", "incident_id": incident, "version": 1}]
