"""The operator's whole loop in a real browser, on a company that pushes its own health data and
carries out actions through its own (local) webhook:

/company/<c>/ops/incidents → open the incident → read the brief → approve → the timeline shows the
execution and its verdict → resolve → save the review → apply a threshold proposal.
"""

from __future__ import annotations

import json
import re
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
import requests
from playwright.sync_api import expect

from tests import synthetic as syn
from tests.conftest import ARTIFACTS
from tests.e2e.browser import browser_page, sign_in, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.server]
PASSWORD = "a long test password 42"
TABLE = '[data-testid="stDataFrame"]'
ROW_PX = 35
CARD = ".st-key-brief_card"
SETTLE_S = 8


class _Receiver(BaseHTTPRequestHandler):
    """The company's action webhook: takes every action and says it worked."""

    received: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.received.append(json.loads(body))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"ok": true}')

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def receiver():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/actions"
    server.shutdown()


def _push(http, url: str, company: str, service: str, metric: str, value: float) -> None:
    stamp = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    body = {
        "company": company,
        "snapshots": [{"service": service, "metric": metric, "ts": stamp, "value": value}],
    }
    assert http.post(f"{url}/api/ops/snapshots", json=body, timeout=30).ok


def _until(check, timeout_s: float = 60, every_s: float = 1.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(every_s)
    raise AssertionError("timed out waiting")


def _store_with_an_admin(path) -> str:
    """A store without the demo, holding only the installation's admin (the CLI makes the first one)
    and an installation-wide admin token for the test's API calls; returns the token."""
    from calmops.auth import Role, system
    from calmops.auth import service as accounts
    from calmops.store import Database

    db = Database(path)
    cur = db.cursor()
    accounts.add_user(cur, name="root", company=None, role=Role.ADMIN, actor=system(), password=PASSWORD)
    _, secret = accounts.create_token(cur, company=None, role=Role.ADMIN, name="e2e", actor=system())
    db.close()
    return secret


def _incident(http, url: str, company: str, incident_id: int) -> dict:
    return http.get(f"{url}/api/ops/incidents/{incident_id}", params={"company": company}, timeout=30).json()


def test_the_whole_loop(tmp_path, receiver) -> None:
    from tests.servers import running_server

    env = {"CALMOPS_DEMO": "0", "CALMOPS_SETTLE_S": str(SETTLE_S)}
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {_store_with_an_admin(tmp_path / 'loop.duckdb')}"
    with running_server(
        tmp_path / "loop.duckdb", ARTIFACTS / "loop-server.log", interval_s=2, env=env
    ) as server:
        url = server.url
        scenario = syn.make_scenario("queue_backlog", 3, severity=0.35)
        company, root = scenario.company, scenario.root
        injected = syn.replay(url, scenario, session=http)
        hook = {"company": company, "action": "*", "url": receiver, "secret": "s" * 24, "actor": "setup"}
        assert http.post(f"{url}/api/ops/executors", json=hook, timeout=30).ok
        found = syn.settle(url, company, at_least=1, timeout_s=60, session=http)
        primary = syn.primary_incident(url, injected, found, brief_timeout_s=20, session=http)
        assert primary and primary["brief"]["recommendation"]["action"] == "pause_batch_jobs"
        incident_id = primary["id"]

        with browser_page(height=2400) as page:
            sign_in(page, url, "root", PASSWORD)  # also the warm-up: the first run compiles every page
            wait_idle(page)
            page.goto(f"{url}/company/{company}/ops/incidents", timeout=60_000)
            page.wait_for_selector(TABLE, timeout=60_000)
            wait_idle(page)
            box = page.locator(TABLE).bounding_box()
            page.mouse.click(box["x"] + 17, box["y"] + ROW_PX + ROW_PX // 2)  # tick the first row
            page.wait_for_url(re.compile(rf"/incident\?.*id={incident_id}"), timeout=30_000)
            page.wait_for_selector(CARD, timeout=60_000)
            wait_idle(page)

            # read the brief
            card = page.locator(CARD)
            expect(card.get_by_text("Queue backlog").first).to_be_visible()
            expect(card.get_by_text("Pause batch jobs").first).to_be_visible()

            # approve, as the signed-in admin
            page.get_by_role("button", name="Approve").click()
            wait_idle(page)
            expect(page.get_by_text("Approved: pause batch jobs").first).to_be_visible(timeout=30_000)
            assert any(r["action"] == "pause_batch_jobs" for r in _Receiver.received), "the webhook ran it"

            # the queue comes down; after the settle time the verdict lands on the timeline
            for _ in range(3):
                _push(http, url, company, root, "queue_depth", 5.0)
                time.sleep(SETTLE_S / 2)
            _push(http, url, company, root, "queue_depth", 4.0)

            def judged() -> bool:
                timeline = _incident(http, url, company, incident_id)["timeline"]
                return any(e["kind"] == "verification" and "pause" in e["message"].lower() for e in timeline)

            _until(judged, timeout_s=60)
            page.reload()
            page.wait_for_selector(CARD, timeout=60_000)
            wait_idle(page)
            expect(page.get_by_text("Executed").first).to_be_visible()
            expect(page.get_by_text("Verification").first).to_be_visible()

            # resolve
            page.get_by_text("Act on this incident").click()
            # a reload is a new session: the cookie keeps it signed in
            page.get_by_role("textbox", name="Resolution note").fill(
                "backlog drained after pausing the import"
            )
            page.get_by_text("No", exact=True).first.click()
            page.get_by_role("button", name="Resolve").click()
            wait_idle(page)
            _until(lambda: _incident(http, url, company, incident_id)["status"] == "resolved", timeout_s=30)
            page.reload()
            wait_idle(page)

            # save the review, then apply a threshold proposal
            page.get_by_role("button", name="Save review").click()
            wait_idle(page)
            expect(page.get_by_text("Review saved").first).to_be_visible(timeout=30_000)
            apply = page.get_by_role("button", name="Apply")
            if apply.count():
                page.get_by_text(re.compile(r"^Change rule ")).first.click()
                apply.first.click()
                wait_idle(page)
                expect(page.get_by_text(re.compile(r"^Applied: ")).first).to_be_visible(timeout=30_000)
            assert page.get_by_text("Traceback").count() == 0
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "loop.png"))

        kinds = [e["kind"] for e in _incident(http, url, company, incident_id)["timeline"]]
        for kind in ("detected", "brief", "approved", "executed", "verification", "resolved", "review"):
            assert kind in kinds, kinds
