"""Companies (tenants) and their services with the dependency graph between them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from calmops import clock
from calmops.detect.rules import seed_default_rules
from calmops.store.db import Cursor, first
from calmops.vocabulary import ServiceKind

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


class UnknownCompanyError(LookupError):
    def __init__(self, company: str) -> None:
        super().__init__(f"unknown company {company!r}")
        self.company = company


@dataclass(frozen=True)
class Company:
    company: str
    name: str


@dataclass(frozen=True)
class Service:
    company: str
    service: str
    kind: ServiceKind
    customer_facing: bool
    description: str = ""
    depends_on: tuple[str, ...] = field(default_factory=tuple)


def valid_slug(value: str) -> bool:
    return bool(SLUG.match(value or ""))


def create_company(cur: Cursor, *, company: str, name: str, now: datetime | None = None) -> Company:
    """Register a tenant and seed its default threshold rules (in the caller's transaction)."""
    if not valid_slug(company):
        raise ValueError(f"company must match {SLUG.pattern}, got {company!r}")
    now = now or clock.now()
    cur.execute("INSERT INTO companies VALUES (?, ?, ?)", [company, name.strip() or company, now])
    seed_default_rules(cur, company=company, now=now)
    return Company(company, name.strip() or company)


def list_companies(cur: Cursor) -> list[Company]:
    rows = cur.execute("SELECT company, name FROM companies").fetchall()
    return [Company(*r) for r in sorted(rows)]


def get_company(cur: Cursor, *, company: str) -> Company:
    row = first(cur, "SELECT company, name FROM companies WHERE company = ?", [company])
    if row is None:
        raise UnknownCompanyError(company)
    return Company(*row)


def add_service(
    cur: Cursor,
    *,
    company: str,
    service: str,
    kind: ServiceKind,
    customer_facing: bool = False,
    description: str = "",
    depends_on: tuple[str, ...] = (),
    now: datetime | None = None,
) -> Service:
    """Register a service and its upstream dependencies (in the caller's transaction)."""
    now = now or clock.now()
    cur.execute(
        "INSERT INTO services VALUES (?, ?, ?, ?, ?, ?)",
        [company, service, ServiceKind(kind).value, customer_facing, description, now],
    )
    for upstream in depends_on:
        cur.execute("INSERT INTO service_dependencies VALUES (?, ?, ?)", [company, service, upstream])
    return Service(company, service, ServiceKind(kind), customer_facing, description, tuple(depends_on))


def list_services(cur: Cursor, *, company: str) -> list[Service]:
    """Every service of a company with its upstream dependencies.

    Two plain queries sorted here: a grouped join with list() cost five times more, and DuckDB's
    ORDER BY costs more than the query itself on a few rows; the Health page asks on every refresh.
    """
    upstream: dict[str, list[str]] = {}
    for service, depends_on in sorted(
        cur.execute(
            "SELECT service, depends_on FROM service_dependencies WHERE company = ?", [company]
        ).fetchall()
    ):
        upstream.setdefault(service, []).append(depends_on)
    rows = sorted(
        cur.execute(
            "SELECT service, kind, customer_facing, description FROM services WHERE company = ?", [company]
        ).fetchall()
    )
    return [
        Service(company, r[0], ServiceKind(r[1]), r[2], r[3], tuple(upstream.get(r[0], ()))) for r in rows
    ]
