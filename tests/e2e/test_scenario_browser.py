"""A live scenario started from the Health page shows up as an incident, end to end: the demo's
endpoint answers 503, the collector records the failed probes, detection opens the incident."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from calmops.store import Database
from tests.conftest import ARTIFACTS
from tests.e2e.browser import browser_page, wait_idle
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
    page.get_by_label(label, exact=True).click()
    page.get_by_role("option", name=option, exact=True).click()


def test_a_scenario_started_on_the_page_opens_its_incident(quick_server: Server) -> None:
    url = quick_server.url
    with browser_page(height=1400) as page:
        page.goto(f"{url}/company/cedar-couriers/ops/health", timeout=60_000)
        wait_idle(page)
        page.get_by_text("Live demo scenarios").click()
        choose(page, "Pattern", "Service down")
        choose(page, "Service", "billing")
        page.get_by_role("button", name="Start").click()
        page.get_by_text("Service down started on billing").wait_for(timeout=30_000)
        deadline = time.monotonic() + 60
        found = False
        while time.monotonic() < deadline and not found:
            page.goto(f"{url}/incidents?company=cedar-couriers", timeout=60_000)
            wait_idle(page)
            found = page.get_by_text("billing is not answering its health check").count() > 0
            if not found:
                page.wait_for_timeout(2_000)
        page.screenshot(path=str(Path(ARTIFACTS) / "scenario-incident.png"))
        assert found, "the incident of the live scenario never appeared on the Incidents page"
