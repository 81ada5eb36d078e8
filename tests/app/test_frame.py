"""The frame around every page: company from the URL, the switcher, stale data, an empty store."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import timedelta

import pytest

from calmops import clock
from calmops.auth import Role, system
from calmops.auth import service as accounts
from calmops.demo.accounts import PASSWORD, account_name
from calmops.store import close_db, cursor
from tests.app.conftest import sign_in, texts

PAGES = ("pages/health.py", "pages/incidents.py", "pages/runbook.py")


def test_home_opens_health_for_the_company_in_the_url(world, app) -> None:
    at = app(world[1]).run()
    assert not at.exception
    assert at.query_params["company"] == world[1]
    assert at.selectbox(key="_company_widget").value == world[1]
    assert "Health ·" in texts(at)


def test_without_a_company_in_the_url_the_first_one_is_chosen_and_stamped(world, app) -> None:
    at = app().run()
    assert not at.exception
    assert at.query_params["company"] == world[0]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_keeps_the_company_across_page_changes(world, app, page) -> None:
    at = app(world[1]).run()
    at.switch_page(page).run()
    assert not at.exception
    assert at.query_params["company"] == world[1]
    assert at.selectbox(key="_company_widget").value == world[1]


def test_switching_company_updates_the_url_and_the_page(world, app) -> None:
    at = app(world[0], user="maria.lopez").run()  # a role in both companies
    assert at.selectbox(key="_company_widget").options == [
        at.selectbox(key="_company_widget").format_func(c) for c in world
    ]
    at.selectbox(key="_company_widget").select(world[1]).run()
    assert not at.exception
    assert at.query_params["company"] == world[1]
    at.switch_page("pages/incidents.py").run()
    assert at.query_params["company"] == world[1]


@pytest.mark.parametrize("page", PAGES)
def test_unknown_company_is_a_clear_message_not_a_traceback(world, app, page) -> None:
    at = app("no-such-company", page=page, user=account_name(world[0], "viewer")).run()
    assert not at.exception
    message = " ".join(w.value for w in at.warning)
    assert "no company called" in message and "no-such-company" in message
    assert at.query_params["company"] == world[0]


def _unknown_message(at) -> str:
    return " ".join(w.value for w in at.warning if "no company called" in w.value)


EVERY_PAGE = tuple(
    f"pages/{p}.py"
    for p in ("health", "incidents", "incident", "reports", "audit", "services", "targets", "rules",
              "runbook", "admin")
)  # fmt: skip


@pytest.mark.parametrize("page", EVERY_PAGE)
def test_another_companys_link_looks_exactly_like_an_unknown_company(world, app, page) -> None:
    """A company the account holds no role in does not exist for it: same words, none of its data."""
    mine, theirs = world
    me = account_name(mine, "admin")  # every page is open to it in its own company
    other = app(theirs, page=page, user=me).run()
    missing = app("no-such-company", page=page, user=me).run()
    assert not other.exception and not missing.exception
    assert _unknown_message(other) == _unknown_message(missing).replace("no-such-company", theirs)
    assert other.query_params["company"] == mine
    assert other.selectbox(key="_company_widget").options == [
        other.selectbox(key="_company_widget").format_func(mine)
    ]
    name = cursor().execute("SELECT name FROM companies WHERE company = ?", [theirs]).fetchall()[0][0]
    assert name not in texts(other)


def test_a_company_name_with_markup_is_shown_inert(world, app) -> None:
    at = app("<b>evil</b>").run()
    assert not at.exception
    assert "<b>" not in " ".join(w.value for w in at.warning)


@pytest.mark.parametrize("page", PAGES)
def test_fresh_data_shows_a_quiet_live_line(world, app, page) -> None:
    at = app(world[0], page=page).run()
    assert any("Live" in c.value for c in at.caption)
    assert not any("out of date" in w.value for w in at.warning)


@pytest.mark.parametrize("page", PAGES)
def test_old_data_shows_the_stale_banner_on_every_page(world, app, page) -> None:
    clock.advance(timedelta(minutes=10))  # more than three 30 s intervals
    at = app(world[0], page=page).run()
    assert not at.exception
    banner = " ".join(w.value for w in at.warning)
    assert "out of date" in banner and "10 min old" in banner


def test_a_stopped_feeder_makes_the_data_stale_even_when_it_is_recent(world, app, monkeypatch) -> None:
    from calmops import runtime
    from calmops.health.models import CollectorState

    class Stopped:
        def state(self) -> CollectorState:
            return CollectorState(last_round_at=clock.now(), ok=True, running=False)

        def run_round(self, now=None) -> int:
            return 0

    monkeypatch.setattr(runtime, "_feeder", Stopped())
    at = app(world[0]).run()
    assert "collector is not running" in " ".join(w.value for w in at.warning)


def _empty_store_admin(app, page: str):
    """A store without companies: only its installation admin (made by the CLI) can sign in."""
    accounts.add_user(cursor(), name="root", company=None, role=Role.ADMIN, actor=system(), password=PASSWORD)
    at = sign_in(app(page=page, role=None), "root").run()
    assert not at.exception
    return at


@pytest.mark.parametrize("page", ("pages/health.py", "pages/incidents.py"))
def test_an_empty_store_explains_how_to_add_data(app, page) -> None:
    at = _empty_store_admin(app, page)
    assert not at.exception
    said = texts(at)
    assert "no data here yet" in said and "CALMOPS_DEMO" in said and "python -m calmops" in said
    assert not at.selectbox


def test_the_runbook_is_readable_with_an_empty_store(app) -> None:
    at = _empty_store_admin(app, "pages/runbook.py")
    assert not at.exception
    assert "DO NOT PANIC" in texts(at)


def test_a_store_held_by_another_process_is_a_clear_message(app, tmp_path, monkeypatch) -> None:
    import os

    close_db()
    hold = (
        "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True); time.sleep(30)"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", hold, os.environ["CALMOPS_DB"]], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        at = app(role=None).run()
        assert not at.exception, at.main
        assert "in use by another process" in " ".join(e.value for e in at.error), at.main
    finally:
        holder.kill()
        holder.wait(10)
        time.sleep(0.1)
