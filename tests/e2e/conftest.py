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
    """``api(company)``: a requests session with a viewer token for ``company`` on the live server
    (made once per company on the Admin page, as an admin would)."""
    from tests.e2e.browser import api_session

    made: dict[str, object] = {}

    def session(company: str):
        if company not in made:
            made[company] = api_session(live_server.url, company)
        return made[company]

    return session
