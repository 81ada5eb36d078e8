"""Escalation, notifications and customer messages over real HTTP: status codes with JSON bodies,
notifications recorded in the demo world and sent (and received) by a local webhook receiver.

Each role does its part: operators escalate and draft, a lead approves and sends what customers
read and tunes the timing, an admin sets the webhooks (tokens of the demo company, or minted for
a company of the test's own)."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from tests.servers import Client

pytestmark = pytest.mark.server
DEMO = "northwind-freight"
_people: dict[str, dict[str, Client]] = {}


def as_(server, company: str, role: str) -> Client:
    """A client with ``role`` in ``company``: the demo world's tokens, or ones minted for ours."""
    if (company, role) in server.tokens:
        return server.client(company, role)
    people = _people.setdefault(company, {})
    if role not in people:
        people[role] = server.mint(company, role, name=f"{role}-{company}")
    return people[role]


def api(server, path: str) -> str:
    return f"{server.url}/api/ops/{path}"


class Receiver:
    """A webhook receiver on 127.0.0.1 that keeps every JSON body it is sent."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        received = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

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


def active_demo_incident(server) -> int:
    found = (
        as_(server, DEMO, "viewer")
        .get(
            api(server, "incidents"),
            params={"company": DEMO, "status": "open,acknowledged,mitigating,monitoring"},
            timeout=30,
        )
        .json()["incidents"]
    )
    if found:
        return found[0]["id"]
    made = as_(server, DEMO, "operator").post(
        api(server, "incidents"),
        json={"company": DEMO, "title": "Manual", "service": service_of(server, DEMO), "severity": "high",
              "description": "", "customer_impact": False, "actor": "t"},
        timeout=30,
    )  # fmt: skip
    return made.json()["id"]


def service_of(server, company: str) -> str:
    listed = as_(server, company, "viewer").get(api(server, "services"), params={"company": company})
    return listed.json()["services"][0]["service"]


def own_company(server) -> str:
    """A company outside the demo world (so its notifications are really sent), with one service."""
    slug = f"esc-{uuid.uuid4().hex[:8]}"
    assert server.client().post(api(server, "companies"), json={"company": slug, "name": slug}).ok
    body = {"company": slug, "service": "api", "kind": "api", "customer_facing": True}
    assert as_(server, slug, "admin").post(api(server, "services"), json=body).ok
    return slug


def open_incident(server, company: str, *, impact: bool = True) -> int:
    made = as_(server, company, "operator").post(
        api(server, "incidents"),
        json={"company": company, "title": "Checkout <b>fails</b>", "service": "api", "severity": "critical",
              "description": "Tickets", "customer_impact": impact, "actor": "alice"},
        timeout=30,
    )  # fmt: skip
    assert made.status_code == 201, made.text
    return made.json()["id"]


def error(answer: requests.Response, status: int, field: str | None = None) -> dict:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert isinstance(body["error"], str) and body["error"]
    if field:
        assert body.get("field") == field, body
    return body


def test_escalation_in_the_demo_is_recorded_not_sent(live_server) -> None:
    incident_id = active_demo_incident(live_server)
    answer = as_(live_server, DEMO, "operator").post(
        api(live_server, f"incidents/{incident_id}/escalate"),
        json={"company": DEMO, "reason": "Customers affected", "note": "Paged on call", "actor": "alice"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    who = f"token:tests-{DEMO}-operator"
    assert body["escalation"]["reason"] == "Customers affected" and body["escalation"]["by"] == who
    assert "escalated" in body["flags"]
    assert body["notification"]["status"] == "recorded" and body["notification"]["channel"] == "lead"
    assert f"/incident?company={DEMO}&id={incident_id}" in body["notification"]["text"]
    reader = as_(live_server, DEMO, "viewer")
    listed = reader.get(api(live_server, "notifications"), params={"company": DEMO}, timeout=30).json()
    assert any(n["kind"] == "escalation" and n["incident_id"] == incident_id for n in listed["notifications"])
    assert {c["channel"] for c in listed["channels"]} == {"oncall", "lead", "status_page"}
    detail = reader.get(api(live_server, f"incidents/{incident_id}"), params={"company": DEMO}, timeout=30)
    assert detail.json()["timeline"][-1]["kind"] == "escalated"
    shown = reader.get(
        api(live_server, f"incidents/{incident_id}/escalation"), params={"company": DEMO}, timeout=30
    ).json()
    assert shown["escalation"]["count"] >= 1 and shown["form"]["note"].startswith(f"Incident #{incident_id}")


def test_escalation_status_codes(live_server) -> None:
    incident_id = active_demo_incident(live_server)
    url = api(live_server, f"incidents/{incident_id}/escalate")
    operator = as_(live_server, DEMO, "operator")
    error(operator.post(url, json={"company": DEMO, "actor": "a"}, timeout=30), 400, "reason")
    error(operator.post(url, json={"company": DEMO, "reason": "x", "colour": 1}, timeout=30), 400, "colour")
    error(operator.post(url, json={"reason": "x"}, timeout=30), 400, "company")
    error(operator.post(url, data=b"{nope", headers={"Content-Type": "application/json"}, timeout=30), 400)
    missing = api(live_server, "incidents/999999999/escalate")
    error(operator.post(missing, json={"company": DEMO, "reason": "x"}, timeout=30), 404, "id")
    other = live_server.client().post(url, json={"company": "cedar-couriers", "reason": "x"}, timeout=30)
    error(other, 404, "id")  # an admin of every company: the id is not cedar's
    error(operator.post(url, json={"company": "cedar-couriers", "reason": "x"}), 404, "company")  # not theirs
    resolved = operator.get(
        api(live_server, "incidents"), params={"company": DEMO, "status": "resolved", "limit": 1}, timeout=30
    ).json()["incidents"][0]["id"]
    refused = operator.post(
        api(live_server, f"incidents/{resolved}/escalate"), json={"company": DEMO, "reason": "x"}, timeout=30
    )
    error(refused, 422, "id")


def test_notifications_are_sent_to_the_configured_webhooks(live_server, receiver) -> None:
    company = own_company(live_server)
    admin = as_(live_server, company, "admin")
    for channel in ("oncall", "lead", "status_page"):
        set_ = admin.post(
            api(live_server, "notifications"),
            json={"company": company, "channel": channel, "url": receiver.url, "actor": "admin"},
            timeout=10,
        )
        assert set_.status_code == 201 and set_.json()["url"] == receiver.url
    bad = admin.post(
        api(live_server, "notifications"), json={"company": company, "channel": "pager", "url": receiver.url},
        timeout=10,
    )  # fmt: skip
    error(bad, 400, "channel")
    error(
        admin.post(
            api(live_server, "notifications"), json={"company": company, "channel": "lead", "url": "ftp://x"},
            timeout=10,
        ),
        400,
        "url",
    )  # fmt: skip
    incident_id = open_incident(live_server, company)
    answer = (
        as_(live_server, company, "operator")
        .post(
            api(live_server, f"incidents/{incident_id}/escalate"),
            json={"company": company, "reason": "Customers cannot pay", "actor": "alice"},
            timeout=30,
        )
        .json()
    )
    assert answer["notification"]["status"] == "sent", answer
    texts = [b["text"] for b in receiver.bodies]
    assert any("Customers cannot pay" in t and f"id={incident_id}" in t for t in texts)
    assert all(set(b) == {"text"} for b in receiver.bodies)
    # a webhook URL is a credential: a viewer and the audit log see only where it points
    secret_part = "/" + receiver.url.split("://", 1)[1].split("/", 1)[1]  # "/hook"
    notifications = api(live_server, "notifications")
    seen = as_(live_server, company, "viewer").get(notifications, params={"company": company})
    assert seen.ok and secret_part not in seen.text and "/…" in seen.text
    assert receiver.url in admin.get(notifications, params={"company": company}).text
    audit = admin.get(
        api(live_server, "audit"), params={"company": company, "action": "notification_channel"}
    )
    assert audit.ok and audit.json()["audit"] and secret_part not in audit.text


def test_customer_message_over_http(live_server, receiver) -> None:
    company = own_company(live_server)
    incident_id = open_incident(live_server, company)
    base = api(live_server, f"incidents/{incident_id}/customer-message")
    operator, lead = as_(live_server, company, "operator"), as_(live_server, company, "lead")
    error(
        operator.post(base, json={"company": company, "text": "", "state": "identified"}, timeout=30),
        400,
        "text",
    )
    error(
        operator.post(base, json={"company": company, "text": "x", "state": "panic"}, timeout=30),
        400,
        "state",
    )
    long = {"company": company, "text": "x" * 2001, "state": "identified"}
    error(operator.post(base, json=long, timeout=30), 400, "text")
    first = operator.post(base, json={"company": company, "text": "We are on it", "state": "investigating",
                                      "actor": "alice"}, timeout=30)  # fmt: skip
    assert first.status_code == 201 and first.json()["version"] == 1 and first.json()["status"] == "draft"
    text = "Payments <script>x</script> fail"
    body = {"company": company, "text": text, "state": "identified", "actor": "alice"}
    second = operator.post(base, json=body, timeout=30).json()
    assert second["version"] == 2
    assert error(operator.post(f"{base}/approve", json={"company": company, "version": 2}), 403)["needs"]
    stale = lead.post(f"{base}/approve", json={"company": company, "version": 1, "actor": "bob"}, timeout=30)
    assert error(stale, 409, "version")["latest_version"] == 2
    error(lead.post(f"{base}/approve", json={"company": company, "version": 9}, timeout=30), 404, "version")
    error(lead.post(f"{base}/sent", json={"company": company, "version": 2}, timeout=30), 422, "version")
    ok = lead.post(f"{base}/approve", json={"company": company, "version": 2, "actor": "bob"}, timeout=30)
    the_lead = f"token:lead-{company}"
    assert ok.status_code == 200 and ok.json()["approved_by"] == the_lead and ok.json()["approved_at"]
    again = as_(live_server, company, "admin").post(
        f"{base}/approve", json={"company": company, "version": 2}
    )
    assert error(again, 409, "version")["approved_by"] == the_lead
    # No status-page webhook yet: sending is refused (422); then configured, it is sent and received.
    error(lead.post(f"{base}/send", json={"company": company, "version": 2}, timeout=30), 422, "channel")
    as_(live_server, company, "admin").post(
        api(live_server, "notifications"),
        json={"company": company, "channel": "status_page", "url": receiver.url, "actor": "admin"},
        timeout=10,
    )
    sent = lead.post(f"{base}/send", json={"company": company, "version": 2, "actor": "bob"}, timeout=30)
    assert sent.status_code == 200 and sent.json()["status"] == "sent", sent.text
    assert sent.json()["delivery"]["status"] == "sent"
    page = [b for b in receiver.bodies if b.get("state") == "identified"]
    assert page and page[0]["text"] == "Payments <script>x</script> fail" and page[0]["version"] == 2
    error(lead.post(f"{base}/sent", json={"company": company, "version": 2}, timeout=30), 409, "version")
    listed = as_(live_server, company, "viewer").get(base, params={"company": company}, timeout=30).json()
    assert [m["version"] for m in listed["messages"]] == [2, 1]
    assert error(live_server.client().get(base, params={"company": "cedar-couriers"}, timeout=30), 404)


def test_escalation_settings(live_server) -> None:
    company = own_company(live_server)
    url = api(live_server, "escalation-settings")
    lead = as_(live_server, company, "lead")
    assert lead.get(url, params={"company": company}, timeout=10).json()["critical_after_min"] == 30
    error(
        as_(live_server, company, "operator").post(url, json={"company": company, "critical_after_min": 5}),
        403,
    )
    changed = lead.post(url, json={"company": company, "critical_after_min": 20, "actor": "lead"}, timeout=10)
    assert changed.json() == {"company": company, "critical_after_min": 20, "remind_every_min": 15}
    error(
        lead.post(url, json={"company": company, "remind_every_min": -1}, timeout=10),
        400,
        "remind_every_min",
    )
