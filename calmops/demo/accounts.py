"""The demo world's people: one account per company and role, the on-call people whose names are on
the replayed timelines, and an installation admin. All share one password, printed by ``make run``
and listed in the README; a store built without the demo has none of them.
"""

from __future__ import annotations

from calmops import auth
from calmops.auth import Role
from calmops.auth import service as accounts
from calmops.demo.replay import ON_CALL
from calmops.store.db import Cursor

PASSWORD = "calmops-demo"
INSTALLATION_ADMIN = "admin"
ROLES = (Role.VIEWER, Role.OPERATOR, Role.LEAD, Role.ADMIN)


def short(company: str) -> str:
    """``bluebird-logistics`` → ``bluebird``: the demo accounts' prefix."""
    return company.split("-", 1)[0]


def account_name(company: str, role: Role | str) -> str:
    """The demo account holding ``role`` in ``company``: ``bluebird-operator``."""
    return f"{short(company)}-{Role(role).value}"


def create_accounts(cur: Cursor, *, companies: list[str]) -> list[tuple[str, str]]:
    """Every demo account, as (name, what it may do). The on-call people are operators in every
    company (they acknowledge and resolve the replayed incidents), except where they lead one."""
    builder = auth.system("demo")
    made = []
    accounts.add_user(cur, name=INSTALLATION_ADMIN, company=None, role=Role.ADMIN, actor=builder,
                      password=PASSWORD, display_name="Installation admin")  # fmt: skip
    made.append((INSTALLATION_ADMIN, "admin of every company"))
    for company in companies:
        for role in ROLES:
            name = account_name(company, role)
            accounts.add_user(cur, name=name, company=company, role=role, actor=builder, password=PASSWORD,
                              email=f"{name}@calmops.example")  # fmt: skip
            made.append((name, f"{role.value} in {company}"))
    for i, person in enumerate(ON_CALL):
        for j, company in enumerate(companies):
            role = Role.LEAD if i % len(companies) == j else Role.OPERATOR
            accounts.add_user(cur, name=person, company=company, role=role, actor=builder, password=PASSWORD,
                              email=f"{person}@calmops.example")  # fmt: skip
        made.append((person, "lead in one company, operator in the others"))
    return made
