"""The sign-in gate (AppTest): nothing but the sign-in page for nobody, calm refusals, the sidebar's
"signed in as", signing out, and single sign-on mapped to an account by its email."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from calmops.auth import service as accounts
from calmops.demo.accounts import PASSWORD, account_name
from calmops.store import cursor
from tests.app.conftest import APP, sign_in, texts

SSO = {
    "auth": {
        "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
        "cookie_secret": "x" * 32,
        "client_id": "calmops",
        "client_secret": "secret",
        "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
    }
}


def _try(at: AppTest, name: str, password: str) -> AppTest:
    at.text_input(key="signin_name").input(name)
    at.text_input(key="signin_password").input(password)
    next(b for b in at.button if b.label == "Sign in").click().run()
    assert not at.exception, at.exception
    return at


def test_signed_out_shows_only_the_sign_in_page(world, app) -> None:
    at = app(world[0], page="pages/incidents.py", role=None).run()
    assert not at.exception
    assert "Sign in to CalmOps" in texts(at)
    assert not at.dataframe and not at.get("plotly_chart")
    assert not [s for s in at.selectbox if s.key == "_company_widget"]
    assert "Incidents ·" not in texts(at)
    assert not [b for b in at.button if b.label == "Sign in with SSO"], "no [auth]: no SSO button"


def test_a_wrong_password_never_says_which_half_was_wrong(world, app) -> None:
    at = app(world[0], role=None).run()
    wrong_password = _try(at, account_name(world[0], "operator"), "not-the-password")
    said = " ".join(e.value for e in wrong_password.error)
    assert "Wrong name or password" in said
    unknown = _try(app(world[0], role=None).run(), "nobody-at-all", PASSWORD)
    assert " ".join(e.value for e in unknown.error) == said
    assert "Sign in to CalmOps" in texts(unknown)


def test_too_many_attempts_are_refused_even_with_the_right_password(world, app) -> None:
    name = account_name(world[0], "viewer")
    at = app(world[0], role=None).run()
    for _ in range(accounts.MAX_FAILURES_PER_NAME):
        _try(at, name, "wrong")
    _try(at, name, PASSWORD)
    assert "Too many failed sign-ins" in " ".join(e.value for e in at.error)
    assert "Sign in to CalmOps" in texts(at)


def test_signed_in_the_sidebar_says_who_and_their_role_then_sign_out_ends_the_session(world, app) -> None:
    at = app(world[0], page="pages/incidents.py", role="lead").run()
    said = " ".join(m.value for m in at.sidebar.markdown) + " ".join(c.value for c in at.sidebar.caption)
    assert account_name(world[0], "lead") in said and "Lead in" in said
    assert "Incidents ·" in texts(at)
    session = at.session_state["_session_cookie"]
    assert accounts.identity_for_session(cursor(), session) is not None
    at.button(key="sign_out").click().run()
    assert not at.exception
    assert "Sign in to CalmOps" in texts(at) and "You are signed out." in texts(at)
    assert accounts.identity_for_session(cursor(), session) is None, "a copied cookie stops working"


def test_a_removed_role_ends_access_at_the_next_run(world, app) -> None:
    from calmops.auth import system

    name = account_name(world[0], "operator")
    at = app(world[0], role="operator").run()
    accounts.remove_user(cursor(), name=name, actor=system())
    at.run()
    assert "Sign in to CalmOps" in texts(at)


def test_sso_maps_the_email_to_an_account(world, app) -> None:
    at = AppTest.from_file(APP, default_timeout=30)
    at.secrets = SSO
    at.query_params["company"] = world[0]
    at.run()
    assert [b for b in at.button if b.label == "Sign in with SSO"]
    at.user = {"is_logged_in": True, "email": f"{account_name(world[0], 'operator')}@calmops.example"}
    at.run()
    assert not at.exception, at.exception
    assert "Health ·" in texts(at)
    assert "Operator in" in " ".join(c.value for c in at.sidebar.caption)


def test_sso_without_an_account_is_told_so_and_let_in_nowhere(world, app) -> None:
    at = AppTest.from_file(APP, default_timeout=30)
    at.secrets = SSO
    at.user = {"is_logged_in": True, "email": "stranger@example.org"}
    at.run()
    assert not at.exception, at.exception
    said = texts(at)
    assert "stranger@example.org" in said and "has no CalmOps account" in said
    assert "Health ·" not in said
    assert [b for b in at.button if b.label == "Sign out of single sign-on"]


def test_sso_with_an_unverified_email_is_let_in_nowhere(world, app) -> None:
    at = AppTest.from_file(APP, default_timeout=30)
    at.secrets = SSO
    at.user = {"is_logged_in": True, "email": f"{account_name(world[0], 'lead')}@calmops.example",
               "email_verified": False}  # fmt: skip
    at.run()
    assert not at.exception, at.exception
    assert "Health ·" not in texts(at) and "no email given" in texts(at)


def test_sign_in_helper_lands_on_the_page_asked_for(world, app) -> None:
    at = sign_in(app(world[0], page="pages/rules.py", role=None), account_name(world[0], "viewer"))
    assert "Rules ·" in texts(at)
