"""Escalation, notifications and customer messages over real HTTP: status codes with JSON bodies,
notifications recorded in the demo world and sent (and received) by a local webhook receiver."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

pytestmark = pytest.mark.server
DEMO = "northwind-freight"


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
    found = requests.get(
        api(server, "incidents"),
        params={"company": DEMO, "status": "open,acknowledged,mitigating,monitoring"},
        timeout=30,
    ).json()["incidents"]
    if found:
        return found[0]["id"]
    made = requests.post(
        api(server, "incidents"),
        json={"company": DEMO, "title": "Manual", "service": service_of(server, DEMO), "severity": "high",
              "description": "", "customer_impact": False, "actor": "t"},
        timeout=30,
    )  # fmt: skip
    return made.json()["id"]


def service_of(server, company: str) -> str:
    return requests.get(api(server, "services"), params={"company": company}, timeout=30).json()["services"][
        0
    ]["service"]


def own_company(server) -> str:
    """A company outside the demo world (so its notifications are really sent), with one service."""
    slug = f"esc-{uuid.uuid4().hex[:8]}"
    assert requests.post(api(server, "companies"), json={"company": slug, "name": slug}, timeout=10).ok
    body = {"company": slug, "service": "api", "kind": "api", "customer_facing": True}
    assert requests.post(api(server, "services"), json=body, timeout=10).ok
    return slug


def open_incident(server, company: str, *, impact: bool = True) -> int:
    made = requests.post(
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
    answer = requests.post(
        api(live_server, f"incidents/{incident_id}/escalate"),
        json={"company": DEMO, "reason": "Customers affected", "note": "Paged on call", "actor": "alice"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["escalation"]["reason"] == "Customers affected" and body["escalation"]["by"] == "alice"
    assert "escalated" in body["flags"]
    assert body["notification"]["status"] == "recorded" and body["notification"]["channel"] == "lead"
    assert f"/incident?company={DEMO}&id={incident_id}" in body["notification"]["text"]
    listed = requests.get(api(live_server, "notifications"), params={"company": DEMO}, timeout=30).json()
    assert any(n["kind"] == "escalation" and n["incident_id"] == incident_id for n in listed["notifications"])
    assert {c["channel"] for c in listed["channels"]} == {"oncall", "lead", "status_page"}
    detail = requests.get(api(live_server, f"incidents/{incident_id}"), params={"company": DEMO}, timeout=30)
    assert detail.json()["timeline"][-1]["kind"] == "escalated"
    shown = requests.get(
        api(live_server, f"incidents/{incident_id}/escalation"), params={"company": DEMO}, timeout=30
    ).json()
    assert shown["escalation"]["count"] >= 1 and shown["form"]["note"].startswith(f"Incident #{incident_id}")


def test_escalation_status_codes(live_server) -> None:
    incident_id = active_demo_incident(live_server)
    url = api(live_server, f"incidents/{incident_id}/escalate")
    error(requests.post(url, json={"company": DEMO, "actor": "a"}, timeout=30), 400, "reason")
    error(requests.post(url, json={"company": DEMO, "reason": "x", "colour": 1}, timeout=30), 400, "colour")
    error(requests.post(url, json={"reason": "x"}, timeout=30), 400, "company")
    error(requests.post(url, data=b"{nope", headers={"Content-Type": "application/json"}, timeout=30), 400)
    missing = api(live_server, "incidents/999999999/escalate")
    error(requests.post(missing, json={"company": DEMO, "reason": "x"}, timeout=30), 404, "id")
    other = requests.post(url, json={"company": "cedar-couriers", "reason": "x"}, timeout=30)
    error(other, 404, "id")
    resolved = requests.get(
        api(live_server, "incidents"), params={"company": DEMO, "status": "resolved", "limit": 1}, timeout=30
    ).json()["incidents"][0]["id"]
    refused = requests.post(
        api(live_server, f"incidents/{resolved}/escalate"), json={"company": DEMO, "reason": "x"}, timeout=30
    )
    error(refused, 422, "id")


def test_notifications_are_sent_to_the_configured_webhooks(live_server, receiver) -> None:
    company = own_company(live_server)
    for channel in ("oncall", "lead", "status_page"):
        set_ = requests.post(
            api(live_server, "notifications"),
            json={"company": company, "channel": channel, "url": receiver.url, "actor": "admin"},
            timeout=10,
        )
        assert set_.status_code == 201 and set_.json()["url"] == receiver.url
    bad = requests.post(
        api(live_server, "notifications"), json={"company": company, "channel": "pager", "url": receiver.url},
        timeout=10,
    )  # fmt: skip
    error(bad, 400, "channel")
    error(
        requests.post(
            api(live_server, "notifications"), json={"company": company, "channel": "lead", "url": "ftp://x"},
            timeout=10,
        ),
        400,
        "url",
    )  # fmt: skip
    incident_id = open_incident(live_server, company)
    answer = requests.post(
        api(live_server, f"incidents/{incident_id}/escalate"),
        json={"company": company, "reason": "Customers cannot pay", "actor": "alice"},
        timeout=30,
    ).json()
    assert answer["notification"]["status"] == "sent", answer
    texts = [b["text"] for b in receiver.bodies]
    assert any("Customers cannot pay" in t and f"id={incident_id}" in t for t in texts)
    assert all(set(b) == {"text"} for b in receiver.bodies)


def test_customer_message_over_http(live_server, receiver) -> None:
    company = own_company(live_server)
    incident_id = open_incident(live_server, company)
    base = api(live_server, f"incidents/{incident_id}/customer-message")
    error(
        requests.post(base, json={"company": company, "text": "", "state": "identified"}, timeout=30),
        400,
        "text",
    )
    error(
        requests.post(base, json={"company": company, "text": "x", "state": "panic"}, timeout=30),
        400,
        "state",
    )
    long = {"company": company, "text": "x" * 2001, "state": "identified"}
    error(requests.post(base, json=long, timeout=30), 400, "text")
    first = requests.post(base, json={"company": company, "text": "We are on it", "state": "investigating",
                                      "actor": "alice"}, timeout=30)  # fmt: skip
    assert first.status_code == 201 and first.json()["version"] == 1 and first.json()["status"] == "draft"
    text = "Payments <script>x</script> fail"
    body = {"company": company, "text": text, "state": "identified", "actor": "alice"}
    second = requests.post(base, json=body, timeout=30).json()
    assert second["version"] == 2
    stale = requests.post(
        f"{base}/approve", json={"company": company, "version": 1, "actor": "bob"}, timeout=30
    )
    assert error(stale, 409, "version")["latest_version"] == 2
    error(
        requests.post(f"{base}/approve", json={"company": company, "version": 9}, timeout=30), 404, "version"
    )
    error(requests.post(f"{base}/sent", json={"company": company, "version": 2}, timeout=30), 422, "version")
    ok = requests.post(f"{base}/approve", json={"company": company, "version": 2, "actor": "bob"}, timeout=30)
    assert ok.status_code == 200 and ok.json()["approved_by"] == "bob" and ok.json()["approved_at"]
    again = requests.post(
        f"{base}/approve", json={"company": company, "version": 2, "actor": "carol"}, timeout=30
    )
    assert error(again, 409, "version")["approved_by"] == "bob"
    # No status-page webhook yet: sending is refused (422); then configured, it is sent and received.
    error(requests.post(f"{base}/send", json={"company": company, "version": 2}, timeout=30), 422, "channel")
    requests.post(
        api(live_server, "notifications"),
        json={"company": company, "channel": "status_page", "url": receiver.url, "actor": "admin"},
        timeout=10,
    )
    sent = requests.post(f"{base}/send", json={"company": company, "version": 2, "actor": "bob"}, timeout=30)
    assert sent.status_code == 200 and sent.json()["status"] == "sent", sent.text
    assert sent.json()["delivery"]["status"] == "sent"
    page = [b for b in receiver.bodies if b.get("state") == "identified"]
    assert page and page[0]["text"] == "Payments <script>x</script> fail" and page[0]["version"] == 2
    error(requests.post(f"{base}/sent", json={"company": company, "version": 2}, timeout=30), 409, "version")
    listed = requests.get(base, params={"company": company}, timeout=30).json()
    assert [m["version"] for m in listed["messages"]] == [2, 1]
    assert error(requests.get(base, params={"company": "cedar-couriers"}, timeout=30), 404)


def test_escalation_settings(live_server) -> None:
    company = own_company(live_server)
    url = api(live_server, "escalation-settings")
    assert requests.get(url, params={"company": company}, timeout=10).json()["critical_after_min"] == 30
    changed = requests.post(
        url, json={"company": company, "critical_after_min": 20, "actor": "lead"}, timeout=10
    )
    assert changed.json() == {"company": company, "critical_after_min": 20, "remind_every_min": 15}
    error(
        requests.post(url, json={"company": company, "remind_every_min": -1}, timeout=10),
        400,
        "remind_every_min",
    )
