"""Accounts, roles, tokens, sessions and sign-in limits (calmops.auth)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from calmops import auth, clock, companies
from calmops.auth import Identity, Permission, Role, allows, require
from calmops.auth import service as accounts
from calmops.auth.passwords import hash_password, verify_password
from calmops.errors import Conflict, Forbidden, Invalid, NotFound, Unauthenticated
from calmops.store import Database, unit_of_work
from tests.people import person

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
ROOT = auth.system("cli:root")


@pytest.fixture
def cur(db: Database):
    clock.freeze(T0)
    cursor = db.cursor()
    with unit_of_work(cursor):
        companies.create_company(cursor, company="acme", name="Acme", now=T0)
        companies.create_company(cursor, company="beta", name="Beta", now=T0)
    return cursor


def test_each_role_holds_what_the_one_before_it_holds_and_ingest_only_ingests() -> None:
    ladder = [Role.VIEWER, Role.OPERATOR, Role.LEAD, Role.ADMIN]
    for permission in Permission:
        allowed = [allows(role, permission) for role in ladder]
        assert allowed == sorted(allowed), permission  # once allowed, allowed for every higher role
        assert allows(Role.INGEST, permission) == (permission is Permission.INGEST)
    assert [allows(r, Permission.APPROVE_LOW) for r in ladder] == [False, True, True, True]
    assert [allows(r, Permission.APPROVE_HIGH) for r in ladder] == [False, False, True, True]
    assert [allows(r, Permission.ADMINISTER) for r in ladder] == [False, False, False, True]
    assert not allows(None, Permission.READ)


def test_require_answers_404_for_a_company_without_a_role_and_403_for_a_role_too_low() -> None:
    maria = Identity("maria", "user", roles={"acme": Role.OPERATOR, "beta": Role.LEAD})
    assert require(maria, Permission.APPROVE_LOW, "acme") == "maria"
    assert require(maria, Permission.APPROVE_HIGH, "beta") == "maria"  # different roles per company
    with pytest.raises(Forbidden) as low:
        require(maria, Permission.APPROVE_HIGH, "acme")
    assert low.value.status == 403 and "lead" in low.value.message
    with pytest.raises(NotFound) as hidden:
        require(maria, Permission.READ, "gamma")
    assert hidden.value.to_json() == {"error": "unknown company 'gamma'", "field": "company"}
    with pytest.raises(Unauthenticated):
        require("maria", Permission.READ, "acme")  # a bare name is nobody
    everywhere = Identity("ops", "user", roles={"acme": Role.VIEWER}, everywhere=Role.ADMIN)
    assert everywhere.role_in("acme") is Role.ADMIN and everywhere.visible(["acme", "zeta"]) == [
        "acme",
        "zeta",
    ]


def test_passwords_are_salted_scrypt_and_checked_in_constant_time() -> None:
    stored = hash_password("correct horse battery")
    assert stored.startswith("scrypt$") and "correct" not in stored
    assert stored != hash_password("correct horse battery")  # a fresh salt each time
    assert verify_password("correct horse battery", stored)
    assert not verify_password("correct horse batterY", stored)
    assert not verify_password("anything", None) and not verify_password("x", "garbage$$")


def test_accounts_hold_a_role_per_company_and_only_admins_manage_them(cur) -> None:
    user, generated = accounts.add_user(cur, name="Maria.Lopez", company="acme", role="operator", actor=ROOT,
                                        email="Maria@Example.com")  # fmt: skip
    assert user.name == "maria.lopez" and user.email == "maria@example.com" and len(generated) >= 16
    again, none = accounts.add_user(cur, name="maria.lopez", company="beta", role="lead", actor=ROOT)
    assert none is None and again.roles == {"acme": Role.OPERATOR, "beta": Role.LEAD}
    acme_admin = person("ada", "admin", "acme")
    accounts.add_user(cur, name="sam", company="acme", role="viewer", actor=acme_admin, password="")
    with pytest.raises(NotFound):  # acme's admin knows nothing of beta
        accounts.add_user(cur, name="eve", company="beta", role="viewer", actor=acme_admin)
    with pytest.raises(Forbidden):  # nor may it make installation-wide accounts
        accounts.add_user(cur, name="eve", company=None, role="admin", actor=acme_admin)
    with pytest.raises(Forbidden):
        accounts.add_user(cur, name="eve", company="acme", role="viewer", actor=person("lee", "lead", "acme"))
    for bad, field in ((dict(name="x"), "name"), (dict(role="king"), "role"), (dict(role="ingest"), "role"),
                       (dict(email="nope"), "email"),
                       (dict(password="short"), "password")):  # fmt: skip
        with pytest.raises(Invalid) as err:
            accounts.add_user(
                cur, **{"name": "newbie", "company": "acme", "role": "viewer", "actor": ROOT, **bad}
            )
        assert err.value.field == field
    with pytest.raises(Conflict):
        accounts.add_user(
            cur, name="other", company="acme", role="viewer", actor=ROOT, email="maria@example.com"
        )
    assert [u.name for u in accounts.list_users(cur, company="beta")] == ["maria.lopez"]
    actions = cur.execute("SELECT action, company, actor FROM audit_log ORDER BY id").fetchall()
    assert actions == [
        ("user.add", "acme", "cli:root"),
        ("user.add", "beta", "cli:root"),
        ("user.add", "acme", "ada"),
    ]


def test_sign_in_is_refused_alike_for_unknown_names_and_wrong_passwords_then_rate_limited(cur) -> None:
    accounts.add_user(
        cur, name="maria", company="acme", role="operator", actor=ROOT, password="correct horse battery"
    )
    me = accounts.authenticate(cur, name="Maria", password="correct horse battery", client="10.0.0.1")
    assert me.name == "maria" and me.role_in("acme") is Role.OPERATOR and me.user_id
    wrong = [pytest.raises(accounts.LoginRefused) for _ in range(2)]
    with wrong[0] as unknown:
        accounts.authenticate(cur, name="nobody", password="correct horse battery", client="10.0.0.1")
    with wrong[1] as bad:
        accounts.authenticate(cur, name="maria", password="wrong", client="10.0.0.1")
    assert unknown.value.message == bad.value.message == "wrong name or password"
    for _ in range(4):
        with pytest.raises(accounts.LoginRefused):
            accounts.authenticate(cur, name="maria", password="wrong", client="10.0.0.2")
    with pytest.raises(accounts.LoginRefused) as locked:  # five failures: even the right password waits
        accounts.authenticate(cur, name="maria", password="correct horse battery", client="10.0.0.3")
    assert "too many" in locked.value.message and locked.value.status == 401
    clock.freeze(T0 + timedelta(minutes=16))
    assert (
        accounts.authenticate(cur, name="maria", password="correct horse battery", client="10.0.0.3").name
        == "maria"
    )
    attempts = cur.execute("SELECT count(*), count(*) FILTER (WHERE ok) FROM login_attempts").fetchall()[0]
    assert attempts == (8, 2)  # a refusal while locked is not an attempt: it cannot extend the lock
    stored = " ".join(str(v) for row in cur.execute("SELECT * FROM login_attempts").fetchall() for v in row)
    assert "correct horse" not in stored and "wrong" not in stored  # attempts never keep a password


def test_a_session_cookie_is_signed_and_ends_with_sign_out_expiry_or_a_disabled_account(cur) -> None:
    accounts.add_user(
        cur, name="maria", company="acme", role="lead", actor=ROOT, password="correct horse battery"
    )
    me = accounts.authenticate(cur, name="maria", password="correct horse battery", client="x")
    cookie = accounts.open_session(cur, identity=me)
    assert accounts.identity_for_session(cur, cookie) == me
    session_id, signature = cookie.rsplit(".", 1)
    assert accounts.identity_for_session(cur, f"{session_id}.{'0' * len(signature)}") is None  # forged
    assert (
        accounts.identity_for_session(cur, "garbage") is None
        and accounts.identity_for_session(cur, None) is None
    )
    assert session_id not in str(cur.execute("SELECT * FROM sessions").fetchall())  # only its digest is kept
    accounts.close_session(cur, cookie)
    assert accounts.identity_for_session(cur, cookie) is None  # a copied cookie stops working too
    later = accounts.open_session(cur, identity=me)
    clock.freeze(T0 + accounts.SESSION_TTL + timedelta(seconds=1))
    assert accounts.identity_for_session(cur, later) is None
    clock.freeze(T0)
    third = accounts.open_session(cur, identity=me)
    accounts.remove_user(cur, name="maria", actor=ROOT)
    assert accounts.identity_for_session(cur, third) is None
    with pytest.raises(accounts.LoginRefused):
        accounts.authenticate(cur, name="maria", password="correct horse battery", client="x")
    with pytest.raises(Invalid):
        accounts.open_session(cur, identity=auth.system("robot"))


def test_tokens_are_shown_once_stored_as_digests_scoped_and_revocable(cur) -> None:
    token, secret = accounts.create_token(cur, company="acme", role="ingest", name="alertmanager", actor=ROOT)
    assert secret.startswith("cot_") and token.prefix == secret[:10]
    assert secret not in str(cur.execute("SELECT * FROM api_tokens").fetchall())
    assert secret not in str(cur.execute("SELECT * FROM audit_log").fetchall())
    who = accounts.identity_for_token(cur, secret)
    assert who.name == "token:alertmanager" and who.role_in("acme") is Role.INGEST and not who.sees("beta")
    assert accounts.identity_for_token(cur, secret[:-1] + "x") is None
    assert accounts.identity_for_token(cur, "Bearer " + secret) is None
    wide, wide_secret = accounts.create_token(cur, company=None, role="viewer", name="dashboards", actor=ROOT)
    assert accounts.identity_for_token(cur, wide_secret).visible(["acme", "beta"]) == ["acme", "beta"]
    with pytest.raises(Forbidden):
        accounts.create_token(cur, company=None, role="admin", name="x", actor=person("ada", "admin", "acme"))
    with pytest.raises(NotFound):  # beta's admin cannot see acme's token
        accounts.revoke_token(cur, token_id=token.id, company="beta", actor=person("bo", "admin", "beta"))
    with pytest.raises(NotFound):
        accounts.revoke_token(cur, token_id=token.id, actor=person("bo", "admin", "beta"))
    assert [t.id for t in accounts.list_tokens(cur, company="acme")] == [token.id]
    revoked = accounts.revoke_token(
        cur, token_id=token.id, company="acme", actor=person("ada", "admin", "acme")
    )
    assert revoked.revoked_at is not None and accounts.identity_for_token(cur, secret) is None
    assert accounts.list_tokens(cur)[-1].id == wide.id
