"""A live scenario started from the Health page shows up as an incident, end to end: the demo's
endpoint answers 503, the collector records the failed probes, detection opens the incident."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from calmops.store import Database
from tests.conftest import ARTIFACTS
from tests.e2e.browser import browser_page, sign_in, wait_idle
from tests.servers import Server, build_demo, running_server

pytestmark = [pytest.mark.browser, pytest.mark.server]


@pytest.fixture(scope="module")
def quick_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of its own whose `up` rule fires after 5 s instead of 60, so nobody waits a minute."""
    db_path = tmp_path_factory.mktemp("scenario") / "calmops.duckdb"
    build_demo(db_path, days=1)
    db = Database(db_path)
    db.cursor().execute("UPDATE rules SET for_s = 5 WHERE metric = 'up'")
    db.close()
    with running_server(db_path, ARTIFACTS / "server-scenario.log", interval_s=2) as server:
        yield server


def choose(page, label: str, option: str) -> None:
    """Pick an option of a Streamlit selectbox; a fragment's refresh may close the list, so retry."""
    for _ in range(4):
        page.get_by_label(label, exact=True).click()
        try:
            page.get_by_role("option", name=option, exact=True).click(timeout=5_000)
            return
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
            wait_idle(page)
    raise AssertionError(f"could not choose {option!r} in {label!r}")


def test_a_scenario_started_on_the_page_opens_its_incident(quick_server: Server) -> None:
    url = quick_server.url
    http = quick_server.client("cedar-couriers", "viewer")
    with browser_page(height=1400) as page:
        sign_in(page, url, "cedar-operator")
        page.goto(f"{url}/company/cedar-couriers/ops/health", timeout=60_000)
        wait_idle(page)
        page.get_by_text("Live demo scenarios").click()
        page.get_by_label("Pattern", exact=True).wait_for(timeout=30_000)
        choose(page, "Pattern", "Service down")
        choose(page, "Service", "billing")
        page.get_by_role("button", name="Start").click()
        page.get_by_text("Service down started on billing").wait_for(timeout=30_000)
        title = "billing is not answering its health check"
        incident = None
        deadline = time.monotonic() + 90
        while incident is None and time.monotonic() < deadline:
            found = http.get(
                f"{url}/api/ops/incidents", params={"company": "cedar-couriers", "status": "open"}, timeout=30
            ).json()["incidents"]
            incident = next((i for i in found if i["title"] == title), None)
            if incident is None:
                time.sleep(2)
        assert incident is not None, "the live scenario's incident was never opened"
        # the list's table is drawn on a canvas; the incident's own page shows its title as text
        page.goto(f"{url}/incident?company=cedar-couriers&id={incident['id']}", timeout=60_000)
        page.get_by_text(title).first.wait_for(timeout=60_000)
        page.screenshot(path=str(Path(ARTIFACTS) / "scenario-incident.png"))
