"""The Incidents and Incident pages in a real browser: the runbook's link to the list, a ticked row
opens the incident with its timeline and charts, and the way back lands on the list again."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import ARTIFACTS
from tests.e2e.browser import CHART, browser_page, sign_in, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.server]

TABLE = '[data-testid="stDataFrame"]'
ROW_PX = 35  # the list's header and rows are this tall; the tick box sits in the first column


COMPANY = "bluebird-logistics"


def test_the_list_opens_an_incident_with_its_timeline_and_charts(live_server) -> None:
    company = COMPANY
    with browser_page(height=1400) as page:
        sign_in(page, live_server.url, "bluebird-viewer")  # also the warm-up: every page compiles
        wait_idle(page)
        page.goto(f"{live_server.url}/company/{company}/ops/incidents", timeout=60_000)
        page.wait_for_selector(TABLE, timeout=60_000)
        wait_idle(page)
        assert "/incidents" in page.url and f"company={company}" in page.url
        expect(page.get_by_text(re.compile(r"\d+ active"))).to_be_visible()
        box = page.locator(TABLE).bounding_box()
        page.mouse.click(box["x"] + 17, box["y"] + ROW_PX + ROW_PX // 2)  # tick the first row
        page.wait_for_url(re.compile(r"/incident\?.*id=\d+"), timeout=30_000)
        page.wait_for_selector(CHART, timeout=60_000)
        wait_idle(page)
        assert f"company={company}" in page.url
        expect(page.get_by_role("heading", name="Timeline")).to_be_visible()
        expect(page.get_by_text("Detected", exact=True).first).to_be_visible()
        assert page.locator(CHART).count() >= 1
        assert page.get_by_text("Traceback").count() == 0
        page.mouse.move(0, 0)  # no hover effects in the picture
        page.wait_for_timeout(500)  # let Plotly finish its transitions before the screenshot
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "incident.png"))
        page.get_by_role("link", name="All incidents").click()
        page.wait_for_selector(TABLE, timeout=30_000)
        wait_idle(page)
        page.wait_for_timeout(1000)
        assert re.search(r"/incidents\?", page.url), "back on the list, not bounced to the incident again"
    assert (ARTIFACTS / "incident.png").stat().st_size > 20_000


def test_an_unknown_incident_says_so(live_server) -> None:
    company = COMPANY
    with browser_page() as page:
        sign_in(page, live_server.url, "bluebird-viewer", path=f"/incident?company={company}&id=987654321")
        expect(page.get_by_text("No incident 987654321 in")).to_be_visible(timeout=60_000)
        expect(page.get_by_role("link", name="All incidents")).to_be_visible()
        assert page.get_by_text("Traceback").count() == 0
