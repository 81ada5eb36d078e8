"""The vocabulary of access: roles per company, what each may do, and the identity a request or a
browser session acts as. Pure: no store, no Streamlit; the workflow checks with ``require``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from calmops.errors import Forbidden, NotFound, Unauthenticated


class Role(StrEnum):
    """Each person role holds everything of the one before it; ``ingest`` is for machines only."""

    VIEWER = "viewer"
    OPERATOR = "operator"
    LEAD = "lead"
    ADMIN = "admin"
    INGEST = "ingest"


RANK = {Role.VIEWER: 1, Role.OPERATOR: 2, Role.LEAD: 3, Role.ADMIN: 4}


class Permission(StrEnum):
    READ = "read"  # pages, lists, reports, exports
    INGEST = "ingest"  # push snapshots, events and alerts
    RESPOND = "respond"  # acknowledge, notes, assign, decline, escalate, resolve, reviews, drafts
    APPROVE_LOW = "approve_low"  # approve a safe or low-risk recommendation
    APPROVE_HIGH = "approve_high"  # approve a medium or high-risk recommendation
    CUSTOMER_MESSAGES = "customer_messages"  # approve and send what customers read
    TUNE = "tune"  # thresholds, rules, runbooks, escalation settings
    ADMINISTER = "administer"  # users, tokens, services, targets, executors, notification channels


# The lowest person role that may; ``ingest`` tokens may INGEST and nothing else.
MINIMUM = {
    Permission.READ: Role.VIEWER,
    Permission.INGEST: Role.ADMIN,
    Permission.RESPOND: Role.OPERATOR,
    Permission.APPROVE_LOW: Role.OPERATOR,
    Permission.APPROVE_HIGH: Role.LEAD,
    Permission.CUSTOMER_MESSAGES: Role.LEAD,
    Permission.TUNE: Role.LEAD,
    Permission.ADMINISTER: Role.ADMIN,
}

WORDS = {
    Permission.READ: "read this company's data",
    Permission.INGEST: "push snapshots, events or alerts",
    Permission.RESPOND: "act on incidents",
    Permission.APPROVE_LOW: "approve recommendations",
    Permission.APPROVE_HIGH: "approve a medium- or high-risk recommendation",
    Permission.CUSTOMER_MESSAGES: "approve or send customer messages",
    Permission.TUNE: "change thresholds, rules, runbooks or escalation settings",
    Permission.ADMINISTER: "manage users, tokens, services, targets, executors or notifications",
}


def allows(role: Role | None, permission: Permission) -> bool:
    if role is None:
        return False
    if role is Role.INGEST:
        return permission is Permission.INGEST
    return RANK[role] >= RANK[MINIMUM[permission]]


def stronger(a: Role | None, b: Role | None) -> Role | None:
    """The role that allows more (``ingest`` counts below ``viewer``)."""
    if a is None or b is None:
        return a or b
    return a if RANK.get(a, 0) >= RANK.get(b, 0) else b


@dataclass(frozen=True)
class Identity:
    """Who is acting: a person (a local or OIDC account), an API token, or the product itself.

    ``name`` is what timelines, decisions and audit rows record. ``roles`` maps a company to the
    role held there; ``everywhere`` is a role in every company (installation-wide accounts and
    ``--all-companies`` tokens)."""

    name: str
    kind: str  # "user", "token", "system"
    roles: Mapping[str, Role] = field(default_factory=dict)
    everywhere: Role | None = None
    user_id: int | None = None

    def role_in(self, company: str) -> Role | None:
        return stronger(self.roles.get(company), self.everywhere)

    def can(self, permission: Permission, company: str) -> bool:
        return allows(self.role_in(company), permission)

    def sees(self, company: str) -> bool:
        """Whether the company exists for this identity at all (any role, ingest included)."""
        return self.role_in(company) is not None

    def visible(self, companies: Iterable[str]) -> list[str]:
        return [c for c in companies if self.sees(c)]

    @property
    def installation_admin(self) -> bool:
        return self.everywhere is Role.ADMIN


def system(name: str = "system") -> Identity:
    """The product acting by itself (detection, the agent, reminders): recorded under ``name``."""
    return Identity(name=name, kind="system", everywhere=Role.ADMIN)


def require(identity: object, permission: Permission, company: str) -> str:
    """The identity's name when it may do ``permission`` in ``company``. A company it holds no role
    in is answered as unknown (404, no hint it exists); a role too low is 403 with what it needs."""
    if not isinstance(identity, Identity):
        raise Unauthenticated("sign in first: every change records who made it", field="actor")
    role = identity.role_in(company)
    if role is None:
        raise NotFound(f"unknown company {company!r}", field="company")
    if not allows(role, permission):
        needed = (
            "an ingest token or an admin"
            if permission is Permission.INGEST
            else f"the {MINIMUM[permission].value} role or above"
        )
        raise Forbidden(
            f"{identity.name} is {role.value} in {company}; to {WORDS[permission]} takes {needed}",
            role=role.value,
            needs=needed,
        )
    return identity.name
