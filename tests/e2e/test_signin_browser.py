"""Signing in, in a real browser: the session survives a reload; signing out ends it for good
(a copy of the old cookie no longer opens anything)."""

from __future__ import annotations

import pytest

from tests.e2e.browser import SESSION_COOKIE, browser_page, sign_in, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.server]
COMPANY = "bluebird-logistics"


def _signed_out(page) -> None:
    page.get_by_role("heading", name="Sign in to CalmOps").wait_for(timeout=60_000)
    wait_idle(page)
    assert page.get_by_role("button", name="Sign out", exact=True).count() == 0


def test_sign_in_survives_a_reload_and_sign_out_ends_the_session(live_server) -> None:
    with browser_page() as page:
        page.goto(f"{live_server.url}/incidents?company={COMPANY}", timeout=60_000)
        _signed_out(page)
        assert page.get_by_text("Incidents ·").count() == 0
        sign_in(page, live_server.url, "bluebird-operator", path=f"/incidents?company={COMPANY}")
        page.get_by_text("Incidents ·").first.wait_for(timeout=60_000)
        (cookie,) = [c for c in page.context.cookies() if c["name"] == SESSION_COOKIE]
        assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["path"] == "/"
        assert cookie["value"] not in page.content()

        page.reload()
        page.get_by_role("button", name="Sign out").wait_for(timeout=60_000)
        wait_idle(page)
        sidebar = page.get_by_test_id("stSidebar")
        assert sidebar.get_by_text("bluebird-operator").count() == 1
        assert sidebar.get_by_text("Operator in").count() == 1

        page.get_by_role("button", name="Sign out").click()
        _signed_out(page)
        for _ in range(50):
            if not [c for c in page.context.cookies() if c["name"] == SESSION_COOKIE]:
                break
            page.wait_for_timeout(100)
        assert not [c for c in page.context.cookies() if c["name"] == SESSION_COOKIE]
        page.reload()
        _signed_out(page)

        page.context.add_cookies([cookie])  # a copy of the old cookie: the store has forgotten it
        page.goto(f"{live_server.url}/health?company={COMPANY}", timeout=60_000)
        _signed_out(page)
    log = live_server.log_path.read_text()
    assert "calmops-demo" not in log and cookie["value"] not in log  # no password, no session in a log
    assert cookie["value"].split(".")[0] not in log


def test_the_session_ticket_opens_only_in_the_browser_that_signed_in(live_server) -> None:
    import requests

    with browser_page() as page:
        page.route("**/auth/session?*", lambda route: route.abort())  # keep the ticket unspent
        page.goto(f"{live_server.url}/", timeout=60_000)
        page.get_by_role("textbox", name="Name").fill("bluebird-viewer")
        page.get_by_role("textbox", name="Password").fill("calmops-demo")
        page.get_by_role("button", name="Sign in", exact=True).click()
        page.get_by_role("button", name="Sign out").wait_for(timeout=60_000)
        beacon = page.locator("img[src*='/auth/session?ticket=']").first
        beacon.wait_for(state="attached", timeout=30_000)
        url = live_server.url + beacon.get_attribute("src")
        xsrf = next(c["value"] for c in page.context.cookies() if c["name"] == "_streamlit_xsrf")
    elsewhere = requests.get(url, timeout=10)  # the link handed to another browser
    assert elsewhere.ok and SESSION_COOKIE not in elsewhere.cookies
    other = requests.get(url, cookies={"_streamlit_xsrf": "2|00000000|" + "ab" * 16 + "|1"}, timeout=10)
    assert SESSION_COOKIE not in other.cookies
    mine = requests.get(url, cookies={"_streamlit_xsrf": xsrf}, timeout=10)  # the browser that signed in
    assert SESSION_COOKIE in mine.cookies
