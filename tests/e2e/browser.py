"""Driving Debian's Chromium with Playwright: shared by the browser tests and `make screenshot`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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


def open_health(page, base_url: str, company: str, timeout_ms: int = 60_000) -> None:
    """Open the runbook's path for the Health page and wait until its charts are drawn."""
    page.goto(f"{base_url}/company/{company}/ops/health", timeout=timeout_ms)
    page.wait_for_selector(CHART, timeout=timeout_ms)
    wait_idle(page, timeout_ms)
    page.wait_for_timeout(500)  # let Plotly finish its transitions before a screenshot


def capture_health(base_url: str, company: str, out: Path, *, height: int = 1000) -> Path:
    """A screenshot of the Health page; Streamlit scrolls inside its own container, so a taller
    viewport (not Playwright's full_page) is what shows the charts below the tiles."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with browser_page(height=height) as page:
        page.goto(f"{base_url}/", timeout=60_000)  # warm up: the first run compiles every page
        wait_idle(page)
        open_health(page, base_url, company)
        page.screenshot(path=str(out))
    return out
