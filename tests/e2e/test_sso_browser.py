"""Single sign-on in a real browser, fully offline: oidc-provider-mock on a free loopback port,
a server whose secrets file points at it, and a demo account found by the provider's email."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import ARTIFACTS
from tests.e2e.browser import browser_page, wait_idle
from tests.servers import build_demo, free_port, running_server

pytestmark = [pytest.mark.browser, pytest.mark.server]


@pytest.fixture
def provider(tmp_path: Path):
    """The mock OIDC provider; its issuer URL."""
    port = free_port()
    command = shutil.which("oidc-provider-mock", path=str(Path(sys.executable).parent))
    if command is None:
        pytest.skip("oidc-provider-mock is not installed (requirements-dev.txt)")
    with (tmp_path / "provider.log").open("w") as log:
        proc = subprocess.Popen([command, "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(100):
                try:
                    if requests.get(f"{url}/.well-known/openid-configuration", timeout=1).ok:
                        break
                except requests.RequestException:
                    time.sleep(0.2)
            yield url
        finally:
            proc.terminate()
            proc.wait(10)


def test_sso_signs_in_the_account_with_that_email_only(tmp_path: Path, provider: str, monkeypatch) -> None:
    from tests import servers

    db_path = tmp_path / "sso.duckdb"
    build_demo(db_path, days=0.2, companies=1)
    port = free_port()
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        f'cookie_secret = "{"c" * 40}"\n'
        'client_id = "calmops"\nclient_secret = "calmops-secret"\n'
        f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n'
    )
    env = {"STREAMLIT_SECRETS_FILES": str(secrets)}
    monkeypatch.setattr(servers, "free_port", lambda: port)  # the redirect URI names the port
    with running_server(db_path, ARTIFACTS / "sso-server.log", env=env) as server:
        with browser_page() as page:  # an identity the provider vouches for, but no CalmOps account
            _sso(page, server.url, "stranger@elsewhere.example")
            page.get_by_text("has no CalmOps account").wait_for(timeout=60_000)
            assert page.get_by_role("button", name="Sign out", exact=True).count() == 0  # let in nowhere
        with browser_page() as page:  # the demo account with that email (the demo's one company)
            _sso(page, server.url, "northwind-lead@calmops.example")
            page.get_by_role("button", name="Sign out", exact=True).wait_for(timeout=60_000)
            wait_idle(page)
            sidebar = page.get_by_test_id("stSidebar")
            assert sidebar.get_by_text("northwind-lead").count() == 1
            assert sidebar.get_by_text("Lead in Northwind Freight").count() == 1


def _sso(page, url: str, email: str) -> None:
    """Sign in with SSO as ``email`` on the mock provider's page."""
    page.goto(f"{url}/", timeout=60_000)
    page.get_by_role("button", name="Sign in with SSO").click()
    page.locator("input[name=sub]").fill(email)
    page.get_by_role("button", name="Authorize").click()
