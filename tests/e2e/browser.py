"""Driving Debian's Chromium with Playwright: shared by the browser tests and `make screenshot`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"][data-test-connection-state="CONNECTED"]'
CHART = '[data-testid="stPlotlyChart"] .main-svg'
SESSION_COOKIE = "calmops_session"


@contextmanager
def browser_page(width: int = 1440, height: int = 1000) -> Iterator:
    """A fresh headless Chromium page (no downloads: the system browser, never `playwright install`)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            context = browser.new_context(viewport={"width": width, "height": height}, timezone_id="UTC")
            yield context.new_page()
        finally:
            browser.close()


def wait_idle(page, timeout_ms: int = 60_000) -> None:
    """The script has finished its run and no skeleton placeholders remain."""
    page.wait_for_selector(IDLE, timeout=timeout_ms)
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=\"stSkeleton\"]').length === 0", timeout=timeout_ms
    )


def sign_in(page, base_url: str, name: str, password: str = "calmops-demo", *, path: str = "/") -> None:
    """Sign in through the sign-in page (a demo account by default) and wait until the browser holds
    its session cookie, so a reload or a new page stays signed in."""
    page.goto(f"{base_url}{path}", timeout=60_000)
    page.get_by_role("textbox", name="Name").fill(name)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_role("button", name="Sign out").wait_for(timeout=60_000)
    for _ in range(100):
        if any(c["name"] == SESSION_COOKIE for c in page.context.cookies()):
            return
        page.wait_for_timeout(100)
    raise AssertionError("the browser never received its session cookie")


def open_health(page, base_url: str, company: str, timeout_ms: int = 60_000) -> None:
    """Open the runbook's path for the Health page and wait until its charts are drawn."""
    page.goto(f"{base_url}/company/{company}/ops/health", timeout=timeout_ms)
    page.wait_for_selector(CHART, timeout=timeout_ms)
    wait_idle(page, timeout_ms)
    page.wait_for_timeout(500)  # let Plotly finish its transitions before a screenshot


def capture_health(
    base_url: str, company: str, out: Path, *, height: int = 1000, user: str = "admin"
) -> Path:
    """A screenshot of the Health page, signed in as ``user``; Streamlit scrolls inside its own
    container, so a taller viewport (not Playwright's full_page) is what shows the charts below the tiles."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with browser_page(height=height) as page:
        sign_in(page, base_url, user)  # also the warm-up: the first run compiles every page
        wait_idle(page)
        open_health(page, base_url, company)
        page.screenshot(path=str(out))
    return out
