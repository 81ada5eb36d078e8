"""The Health page in a real browser: the runbook's link, live charts, a screenshot for people."""

from __future__ import annotations

import pytest
import requests

from tests.conftest import ARTIFACTS
from tests.e2e.browser import CHART, browser_page, capture_health, open_health, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.server]


def _first_company(url: str) -> str:
    return requests.get(f"{url}/api/ops/companies", timeout=10).json()["companies"][0]["company"]


def test_runbook_link_opens_health_with_charts_and_keeps_the_company(live_server) -> None:
    company = _first_company(live_server.url)
    shot = capture_health(live_server.url, company, ARTIFACTS / "health.png", height=2000)
    assert shot.stat().st_size > 20_000
    with browser_page() as page:
        open_health(page, live_server.url, company)
        assert f"company={company}" in page.url
        assert page.locator(CHART).count() >= 1
        assert page.get_by_text("Traceback").count() == 0
        page.get_by_role("link", name="Incidents").first.click()
        wait_idle(page)
        assert f"company={company}" in page.url and "/incidents" in page.url


def test_company_switch_survives_a_reload(live_server) -> None:
    companies = requests.get(f"{live_server.url}/api/ops/companies", timeout=10).json()["companies"]
    other = companies[1]["company"]
    with browser_page() as page:
        page.goto(f"{live_server.url}/health?company={other}")
        page.wait_for_selector(CHART, timeout=60_000)
        page.reload()
        page.wait_for_selector(CHART, timeout=60_000)
        wait_idle(page)
        assert f"company={other}" in page.url
