"""The Health page in a real browser: the runbook's link, live charts, a screenshot for people."""

from __future__ import annotations

import pytest

from tests.conftest import ARTIFACTS
from tests.e2e.browser import CHART, browser_page, capture_health, open_health, sign_in, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.server]


COMPANIES = ("bluebird-logistics", "cedar-couriers", "northwind-freight")  # the demo world's


def test_runbook_link_opens_health_with_charts_and_keeps_the_company(live_server) -> None:
    company = COMPANIES[0]
    shot = capture_health(live_server.url, company, ARTIFACTS / "health.png", height=2000)
    assert shot.stat().st_size > 20_000
    with browser_page() as page:
        sign_in(page, live_server.url, "bluebird-viewer")
        open_health(page, live_server.url, company)
        assert f"company={company}" in page.url
        assert page.locator(CHART).count() >= 1
        assert page.get_by_text("Traceback").count() == 0
        page.get_by_role("link", name="Incidents").first.click()
        wait_idle(page)
        assert f"company={company}" in page.url and "/incidents" in page.url


def test_company_switch_survives_a_reload(live_server) -> None:
    other = COMPANIES[1]
    with browser_page() as page:
        sign_in(page, live_server.url, "maria.lopez")  # a role in every company
        page.goto(f"{live_server.url}/health?company={other}")
        page.wait_for_selector(CHART, timeout=60_000)
        page.reload()
        page.wait_for_selector(CHART, timeout=60_000)
        wait_idle(page)
        assert f"company={other}" in page.url
