"""Browser tests run only where Debian's Chromium is installed (`.ci/run` installs it)."""

from __future__ import annotations

import pytest

from tests.e2e.browser import CHROMIUM


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if CHROMIUM.exists():
        return
    reason = (
        f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium) to run browser tests"
    )
    print(f"\nSKIPPING browser tests: {reason}")
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def api(live_server):
    """``api(company)``: a requests session with a viewer token of ``company`` on the live server
    (the tokens the test server was given before it started; the Admin page's token form has its
    own page test)."""
    return lambda company: live_server.client(company, "viewer")
