"""The brief card in a real browser: it leads the Incident page and says what the API says."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.conftest import ARTIFACTS
from tests.e2e.browser import browser_page, sign_in, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.server]

CARD = ".st-key-brief_card"
COMPANY = "bluebird-logistics"


def _briefed_incident(url: str, http) -> tuple[str, int, dict]:
    company = COMPANY
    listed = http.get(f"{url}/api/ops/incidents", params={"company": company}, timeout=10).json()
    incident_id = next(i["id"] for i in listed["incidents"] if i["recommendation"])
    detail = http.get(f"{url}/api/ops/incidents/{incident_id}", params={"company": company}, timeout=10)
    return company, incident_id, detail.json()["brief"]


def test_the_brief_card_reads_like_the_api(live_server, api) -> None:
    company, incident_id, brief = _briefed_incident(live_server.url, api(COMPANY))
    with browser_page(height=1400) as page:
        sign_in(page, live_server.url, "bluebird-viewer")  # also the warm-up: every page compiles
        wait_idle(page)
        page.goto(f"{live_server.url}/incident?company={company}&id={incident_id}", timeout=60_000)
        page.wait_for_selector(CARD, timeout=60_000)
        wait_idle(page)
        card = page.locator(CARD)
        expect(card).to_be_visible()
        text = card.inner_text()
        # the live world refreshes the brief's numbers every minute: compare what names the story
        assert brief["summary"].split(":")[0] in " ".join(text.split())
        assert f"{brief['confidence']} confidence" in text
        assert f"{brief['recommendation']['risk']} risk" in text
        assert "Why:" in text and "Expected effect:" in text and "If nobody acts" in text
        box = card.bounding_box()
        timeline = page.get_by_role("heading", name="Timeline").bounding_box()
        assert box["y"] < timeline["y"], "the brief leads the page, above the timeline"
        card.get_by_text("Evidence").click()
        expect(card.get_by_text("Runbook", exact=True)).to_be_visible()
        assert page.get_by_text("Traceback").count() == 0
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        card.screenshot(path=str(ARTIFACTS / "brief.png"))
    assert (ARTIFACTS / "brief.png").stat().st_size > 10_000
