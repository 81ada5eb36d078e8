"""Hostile text in every field a person or a webhook can set, shown by the dashboard in Chromium:
titles, descriptions, notes, alert labels and annotations, customer drafts, runbook entries. Nothing
of it runs — no dialog opens, no element it names appears — and it is shown as text. (The exports:
tests/integration/test_hostile_text.py.)"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from tests.e2e.browser import browser_page, sign_in, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.server]

COMPANY = "cedar-couriers"  # the other browser tests read bluebird-logistics
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "alerts"
TITLE = '<img src=x onerror=alert("title")> Checkout down'
NOTE = '<script>alert("note")</script> [x](javascript:alert(2)) **bold?**'
DESCRIPTION = '<svg onload=alert("description")></svg> <iframe src="javascript:alert(3)"></iframe>'
DRAFT = '<a href="javascript:alert(4)">status</a> <b onmouseover=alert(5)>hover</b>'
RUNBOOK = '<details open ontoggle=alert("runbook")> rm -rf /'
LABEL = '"><img src=x onerror=alert("label")>'
INJECTED = "img[src='x'], svg[onload], iframe, details[ontoggle], b[onmouseover], a[href^='javascript']"


@pytest.fixture(scope="module")
def hostile(live_server) -> int:
    """An incident opened by hand and one from an alert, with hostile text everywhere; the first's id."""
    operator, lead = live_server.client(COMPANY, "operator"), live_server.client(COMPANY, "lead")
    made = operator.post("incidents", json={"company": COMPANY, "title": TITLE, "service": "api",
                                            "severity": "high", "description": DESCRIPTION,
                                            "customer_impact": True})  # fmt: skip
    assert made.status_code == 201, made.text
    incident_id = made.json()["id"]
    assert operator.post(f"incidents/{incident_id}/notes", json={"company": COMPANY, "text": NOTE}).ok
    drafted = operator.post(f"incidents/{incident_id}/customer-message",
                            json={"company": COMPANY, "text": DRAFT, "state": "investigating"})  # fmt: skip
    assert drafted.status_code == 201, drafted.text
    saved = lead.put("runbooks", json={"company": COMPANY, "pattern": "unknown", "commands": [RUNBOOK],
                                       "notes": NOTE, "expected_version": 0})  # fmt: skip
    assert saved.ok, saved.text
    body = copy.deepcopy(json.loads((FIXTURES / "alertmanager_v4.json").read_text()))
    alert = body["alerts"][0]
    alert["labels"].update(alertname=NOTE[:40], team=LABEL)
    alert["annotations"].update(summary=TITLE, description=DESCRIPTION)
    sent = live_server.client(COMPANY, "ingest").post("alerts", params={"company": COMPANY}, json=body)
    assert sent.ok, sent.text
    return incident_id


def test_hostile_text_never_runs_in_the_dashboard(live_server, hostile: int) -> None:
    dialogs: list[str] = []
    with browser_page(height=1600) as page:
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        sign_in(page, live_server.url, "cedar-lead")
        for path in (f"/incident?company={COMPANY}&id={hostile}", f"/incidents?company={COMPANY}",
                     f"/runbook?company={COMPANY}", f"/audit?company={COMPANY}"):  # fmt: skip
            page.goto(f"{live_server.url}{path}", timeout=60_000)
            wait_idle(page)
            page.wait_for_timeout(1_000)  # time for anything injected to load and fire
            for _ in range(3):  # hover over what is there, for handlers that wait for the mouse
                page.mouse.move(700, 400)
                page.mouse.wheel(0, 600)
            assert page.locator(INJECTED).count() == 0, path
            assert not dialogs, (path, dialogs)
        page.goto(f"{live_server.url}/incident?company={COMPANY}&id={hostile}", timeout=60_000)
        wait_idle(page)
        text = page.locator("[data-testid='stMain']").inner_text()
        assert "<img src=x onerror=" in text and "Checkout down" in text  # shown, as text
        assert '<script>alert("note")</script>' in text
