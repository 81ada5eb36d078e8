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
