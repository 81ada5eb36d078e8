"""The Admin page (AppTest): admins only; people and roles; API tokens made, shown once, revoked."""

from __future__ import annotations

from calmops.auth import service as accounts
from calmops.demo.accounts import account_name
from calmops.store import cursor
from tests.app.conftest import sign_in, texts

ADMIN = "pages/admin.py"


def _click(at, label: str):
    next(b for b in at.button if b.label == label).click().run()
    assert not at.exception, at.exception
    return at


def test_the_admin_page_is_for_admins_only(world, app) -> None:
    at = app(world[0], page=ADMIN, role="lead").run()
    assert not at.exception
    assert "The Admin page is for the admin role" in texts(at)
    assert not at.dataframe and not [b for b in at.button if b.label == "Create token"]


def test_an_admin_creates_a_token_sees_it_once_and_revokes_it(world, app) -> None:
    company = world[0]
    at = app(company, page=ADMIN, role="admin").run()
    at.text_input(key="admin_token_name").input("alertmanager")
    at.selectbox(key="admin_token_role").select("ingest")
    _click(at, "Create token")
    (token,) = accounts.list_tokens(cursor(), company=company)
    shown = [c.value for c in at.code]
    assert len(shown) == 1 and shown[0].startswith(token.prefix)
    assert accounts.identity_for_token(cursor(), shown[0]).roles == {company: "ingest"}
    assert "it is not shown again" in texts(at)
    table = next(d.value for d in at.dataframe if "Prefix" in d.value.columns)
    assert list(table["Name"]) == ["alertmanager"] and list(table["Role"]) == ["ingest"]
    at.run()
    assert not at.code, "shown once"
    at.selectbox(key="admin_revoke_id").select(token.id)
    _click(at, "Revoke")
    assert accounts.list_tokens(cursor(), company=company)[0].revoked_at is not None
    assert accounts.identity_for_token(cursor(), shown[0]) is None
    assert "revoked" in texts(at)


def test_an_admin_adds_a_person_who_can_then_sign_in(world, app) -> None:
    company = world[0]
    at = app(company, page=ADMIN, role="admin").run()
    at.text_input(key="admin_new_name").input("ada.new")
    at.text_input(key="admin_new_email").input("ada.new@calmops.example")
    at.selectbox(key="admin_new_role").select("operator")
    _click(at, "Add account")
    assert "Added ada.new as operator." in texts(at)
    (password,) = [c.value for c in at.code]
    assert accounts.get_user(cursor(), name="ada.new").roles == {company: "operator"}
    people = next(d.value for d in at.dataframe if "Role here" in d.value.columns)
    assert "ada.new" in list(people["Name"])
    fresh = sign_in(app(company, role=None), "ada.new", password)
    assert "Operator in" in " ".join(c.value for c in fresh.sidebar.caption)


def test_an_admin_gives_an_existing_account_a_role_and_takes_it_away(world, app) -> None:
    mine, theirs = world
    other = account_name(theirs, "viewer")
    at = app(mine, page=ADMIN, role="admin").run()
    at.text_input(key="admin_grant_name").input(other)
    at.selectbox(key="admin_grant_role").select("viewer")
    _click(at, "Give role")
    assert accounts.get_user(cursor(), name=other).roles == {theirs: "viewer", mine: "viewer"}
    at.selectbox(key="admin_remove_name").select(other)
    _click(at, "Remove role")
    assert accounts.get_user(cursor(), name=other).roles == {theirs: "viewer"}


def test_a_company_admin_sees_no_other_companys_people(world, app) -> None:
    mine, theirs = world
    at = app(mine, page=ADMIN, role="admin").run()
    names = list(next(d.value for d in at.dataframe if "Role here" in d.value.columns)["Name"])
    assert account_name(mine, "viewer") in names
    assert not [n for n in names if n.startswith(theirs.split("-")[0])]
