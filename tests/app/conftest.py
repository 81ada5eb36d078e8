"""Page tests (AppTest): a small demo world built once, copied into each test's own CALMOPS_DB.

Every test signs in through the sign-in form as the demo account whose role it needs; nothing
turns access control off.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from calmops import clock
from calmops.demo.accounts import PASSWORD, account_name
from calmops.store import Database, close_db, cursor, unit_of_work

APP = str(Path(__file__).resolve().parents[2] / "app.py")
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def world_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One day of the demo world (two tenants), built once per test session."""
    from calmops.demo.accounts import create_accounts
    from calmops.demo.generate import build_world

    path = tmp_path_factory.mktemp("world") / "world.duckdb"
    db = Database(path)
    build_world(db.cursor(), days=1, companies=2, services=8, step_s=60, seed=7, now=NOW)
    slugs = [r[0] for r in db.cursor().execute("SELECT company FROM companies ORDER BY company").fetchall()]
    create_accounts(db.cursor(), companies=slugs)
    db.close()
    return path


@pytest.fixture
def world(world_file: Path) -> Iterator[list[str]]:
    """The demo world in this test's CALMOPS_DB, the clock just after its newest snapshot.

    Yields the company slugs, sorted.
    """
    target = Path(os.environ["CALMOPS_DB"])
    close_db()
    shutil.copyfile(world_file, target)
    clock.freeze(NOW + timedelta(seconds=20))
    slugs = [r[0] for r in cursor().execute("SELECT company FROM companies ORDER BY company").fetchall()]
    yield slugs
    close_db()


def sign_in(at: AppTest, name: str, password: str = PASSWORD) -> AppTest:
    """Sign in through the sign-in form, as a person does; the page asked for runs next."""
    at.run()
    at.text_input(key="signin_name").input(name)
    at.text_input(key="signin_password").input(password)
    next(b for b in at.button if b.label == "Sign in").click().run()
    assert not at.exception, at.exception
    return at


def demo_account(company: str | None, role: str) -> str:
    """The demo account holding ``role`` in ``company`` (the first company when None)."""
    if company is None:
        company = cursor().execute("SELECT min(company) FROM companies").fetchall()[0][0]
    return account_name(company, role)


@pytest.fixture
def app() -> Callable[..., AppTest]:
    """A fresh AppTest of app.py, opened on ``page`` with ``?company=`` in the query string, signed in
    as the account ``user``, else as the demo account holding ``role`` in ``company``; neither: left
    on the sign-in page."""

    def make(
        company: str | None = None,
        *,
        page: str | None = None,
        timezone: str | None = None,
        role: str | None = "viewer",
        user: str | None = None,
    ) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=30)
        if company is not None:
            at.query_params["company"] = company
        if page is not None:
            at.switch_page(page)  # url_path == file stem, so this works before the first run
        if timezone is not None:
            at.context = {"timezone": timezone}
        if user is not None or role is not None:
            sign_in(at, user or demo_account(company, role))
        return at

    return make


def add_incident(
    company: str,
    *,
    title: str,
    service: str,
    severity: str = "warning",
    status: str = "open",
    flags: tuple[str, ...] = (),
    started: datetime | None = None,
) -> int:
    """Insert an incident row directly (detection is a later task)."""
    started = started or NOW - timedelta(minutes=30)
    resolved = started + timedelta(minutes=20) if status == "resolved" else None
    with unit_of_work() as cur:
        return cur.execute(
            """INSERT INTO incidents (company, title, service, severity, status, flags, started_at,
                   detected_at, resolved_at, updated_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id""",
            [company, title, service, severity, status, list(flags), started, started, resolved, NOW],
        ).fetchall()[0][0]


def texts(at: AppTest) -> str:
    """Everything the page said in text-like elements, for plain substring checks."""
    parts = []
    for kind in (
        "markdown",
        "caption",
        "info",
        "warning",
        "error",
        "success",
        "title",
        "header",
        "subheader",
    ):
        parts.extend(str(e.value) for e in at.get(kind))
    parts.extend(f"{m.label} {m.value}" for m in at.metric)
    return "\n".join(parts)


@pytest.fixture(autouse=True)
def _framed_like_the_browser(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run pages inside app.py from the first run, as the browser does after its first navigation.

    AppTest resets Streamlit's legacy ``pages/`` flag before every run, so each run would start
    with the page file alone and ``frame.ensure_framed`` would rerun it — losing a button click
    that run carried. Leaving legacy mode right after AppTest's reset keeps clicks intact.
    """
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.testing.v1 import app_test

    class FramedPagesManager(PagesManager):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            PagesManager.uses_pages_directory = False

    monkeypatch.setattr(app_test, "PagesManager", FramedPagesManager)
