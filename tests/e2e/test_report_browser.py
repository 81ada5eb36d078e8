"""The post-incident report's HTML opened offline in Chromium: every request that is not the file
itself is blocked, and the charts still draw (plotly.js is inline). Screenshot: test-artifacts/report.png."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.browser import browser_page

pytestmark = pytest.mark.server
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
COMPANY = "bluebird-logistics"


def test_the_html_report_shows_its_charts_offline(live_server, api) -> None:
    http = api(COMPANY)
    found = http.get(
        f"{live_server.url}/api/ops/incidents",
        params={"company": COMPANY, "status": "resolved", "limit": 1},
        timeout=60,
    )
    incident_id = found.json()["incidents"][0]["id"]
    answer = http.get(
        f"{live_server.url}/api/ops/incidents/{incident_id}/report",
        params={"company": COMPANY, "format": "html"},
        timeout=60,
    )
    assert answer.status_code == 200 and len(answer.content) <= 8 * 1024 * 1024
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "report.html"
    path.write_bytes(answer.content)
    blocked: list[str] = []
    dialogs: list[str] = []

    def only_the_file(route) -> None:
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    with browser_page(width=1200, height=1400) as page:
        page.route("**/*", only_the_file)
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(path.as_uri())
        page.wait_for_selector(".plot .main-svg", timeout=30_000)
        assert page.locator(".plot .main-svg").count() >= 1
        assert page.get_by_role("heading", name="Timeline").is_visible()
        page.wait_for_timeout(300)
        page.screenshot(path=str(ARTIFACTS / "report.png"))
    assert dialogs == []
    assert blocked == []  # nothing to fetch: it stands on its own
