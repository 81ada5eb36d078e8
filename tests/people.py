"""Identities for tests of the service layer. They carry real roles, which the code under test
checks like any other: an installation admin by default, or a role in one company."""

from __future__ import annotations

from calmops.auth import Identity, Role
from calmops.auth import service as accounts
from calmops.store.db import Cursor


def person(name: str, role: Role | str = Role.ADMIN, company: str | None = None) -> Identity:
    """``name`` acting with ``role`` in ``company`` (in every company when None)."""
    if company is None:
        return Identity(name=name, kind="user", everywhere=Role(role))
    return Identity(name=name, kind="user", roles={company: Role(role)})


def account(cur: Cursor, name: str, role: Role | str, company: str) -> Identity:
    """A stored account (so the workflow can hand incidents to it) and its identity."""
    user, _ = accounts.add_user(cur, name=name, company=company, role=role, actor=person("setup"),
                                password="correct horse battery")  # fmt: skip
    return accounts.identity_of(user)
