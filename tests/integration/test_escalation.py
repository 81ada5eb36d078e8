"""Escalation and notifications on a real store with the agent's own brief, and webhooks delivered
to a local receiver: a new incident notified once, the lead's notification documenting the state,
reminders until acknowledged, a failing receiver recorded as failed."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from calmops import agent, clock, companies, incidents, notify
from calmops.store import Database, unit_of_work
from calmops.workflow import escalation
from tests.people import person

T0 = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
C = "acme"


class Receiver:
    def __init__(self, status: int = 200) -> None:
        self.bodies: list[dict] = []
        received, code = self.bodies, status

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                received.append(json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0)))))
                self.send_response(code)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def cur(db: Database):
    c = db.cursor()
    with unit_of_work(c):
        companies.create_company(c, company=C, name="Acme", now=T0 - timedelta(days=1))
        companies.add_service(c, company=C, service="api", kind="api", customer_facing=True)
    clock.freeze(T0)
    return c


def opened(db: Database, cur, *, severity: str = "critical", impact: bool = True) -> int:
    with unit_of_work(cur):
        incident_id = incidents.create_manual(
            cur, company=C, title="Checkout fails", service="api", severity=severity,
            description="Customers cannot pay", customer_impact=impact, actor=person("alice"),
            now=clock.now(),
        )  # fmt: skip
    agent.after_detection(db, company=C, incident_ids=[incident_id], now=clock.now())
    return incident_id


def test_a_new_incident_is_notified_once_and_sent(db, cur, receiver) -> None:
    notify.set_channel(cur, company=C, channel="oncall", url=receiver.url, actor=person("admin"))
    incident_id = opened(db, cur)
    first = notify.after_detection(db, company=C, opened=[incident_id, incident_id])
    assert len(first) == 1
    assert notify.after_detection(db, company=C, opened=[incident_id]) == []  # idempotent
    sent = notify.get(cur, first[0])
    assert sent.status == "sent" and sent.sent_at is not None and sent.response["status"] == 200
    assert len(receiver.bodies) == 1
    text = receiver.bodies[0]["text"]
    assert text.startswith("New incident [critical] Checkout fails") and f"id={incident_id}" in text


def test_without_a_url_a_notification_is_only_recorded(db, cur, receiver) -> None:
    incident_id = opened(db, cur)
    (nid,) = notify.after_detection(db, company=C, opened=[incident_id])
    assert notify.get(cur, nid).status == "recorded" and notify.get(cur, nid).url is None
    assert receiver.bodies == []


def test_a_receiver_that_fails_is_recorded_as_failed(db, cur) -> None:
    broken = Receiver(status=500)
    try:
        notify.set_channel(cur, company=C, channel="lead", url=broken.url, actor=person("admin"))
        incident_id = opened(db, cur)
        answer = escalation.escalate(
            db, company=C, incident_id=incident_id, actor=person("alice"), reason="Down"
        )
        assert answer["notification"]["status"] == "failed"
        assert answer["notification"]["response"]["status"] == 500
        assert len(broken.bodies) == 1 + notify.RETRIES  # 5xx answers are retried
    finally:
        broken.close()
    # The escalation itself stands: the notification's failure does not undo it.
    assert "escalated" in incidents.get_incident(cur, company=C, incident_id=incident_id).summary.flags


def test_the_lead_gets_the_documented_state_with_the_agents_brief(db, cur, receiver) -> None:
    notify.set_channel(cur, company=C, channel="lead", url=receiver.url, actor=person("admin"))
    incident_id = opened(db, cur)
    clock.advance(timedelta(minutes=31))
    flagged = escalation.after_detection(db, company=C)["flagged"]
    assert {r["code"] for r in flagged[incident_id]} >= {"critical_unresolved", "customer_impact"}
    brief = agent.current_brief(cur, company=C, incident_id=incident_id)
    defaults = escalation.escalation_form_defaults(cur, company=C, incident_id=incident_id)
    answer = escalation.escalate(
        db,
        company=C,
        incident_id=incident_id,
        actor=person("alice"),
        reason=defaults["reason"],
        note="Paged twice",
    )
    assert answer["notification"]["status"] == "sent"
    text = receiver.bodies[-1]["text"]
    assert brief["summary"] in text
    assert "What was tried:" in text and "Open recommendations:" in text
    action = brief["recommendation"]["action"].replace("_", " ")
    assert f"- {action} ({brief['recommendation']['risk']} risk)" in text
    assert "Note from alice: Paged twice" in text


def test_reminders_reach_the_lead_until_acknowledged(db, cur, receiver) -> None:
    notify.set_channel(cur, company=C, channel="lead", url=receiver.url, actor=person("admin"))
    notify.set_channel(cur, company=C, channel="oncall", url=receiver.url, actor=person("admin"))
    incident_id = opened(db, cur, severity="high", impact=False)
    escalation.escalate(db, company=C, incident_id=incident_id, actor=person("alice"), reason="Unclear")
    for minutes in (14, 15, 29, 30, 44, 45):
        clock.freeze(T0 + timedelta(minutes=minutes))
        escalation.after_detection(db, company=C)
    reminders = [b["text"] for b in receiver.bodies if b["text"].startswith("Reminder")]
    assert len(reminders) == 3 and "is escalated" in reminders[0]
    with unit_of_work(cur):
        cur.execute("UPDATE incidents SET acknowledged_at = ? WHERE id = ?", [clock.now(), incident_id])
    clock.freeze(T0 + timedelta(hours=5))
    assert escalation.after_detection(db, company=C)["reminders"] == []
