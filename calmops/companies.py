"""Companies (tenants) and their services with the dependency graph between them.

Two layers: ``create_company`` and ``add_service`` write inside the caller's transaction (the demo
registers its whole catalogue in one, upstreams possibly after their dependants); ``add_company``
and ``register_service`` are the commands the API and the CLI call: they validate everything a
client can get wrong, run in their own unit of work and leave an audit row.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

import duckdb

from calmops import clock
from calmops.auth.models import Identity, Permission, require
from calmops.detect.rules import seed_default_rules
from calmops.errors import Forbidden
from calmops.incidents import audit
from calmops.store.db import Cursor, first, unit_of_work
from calmops.vocabulary import ServiceKind

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
SERVICE_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")
NAME_MAX = 200
DESCRIPTION_MAX = 2000
KINDS = ", ".join(k.value for k in ServiceKind)
T = TypeVar("T")


class InvalidError(ValueError):
    """Input a client got wrong; ``field`` names where (``snapshots[3].ts``), as the API answers it."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class AlreadyExistsError(Exception):
    """A company, service or target that is already registered."""


class NotFoundError(LookupError):
    """Unknown, or another company's (the two must look the same)."""


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
    return isinstance(value, str) and bool(SLUG.match(value))


def check_slug(company: object, *, field: str = "company") -> str:
    if not isinstance(company, str) or not SLUG.match(company):
        raise InvalidError(f"company must be a slug like 'acme-freight' ({SLUG.pattern[1:-1]})", field)
    return company


def check_service_name(service: object, *, field: str = "service") -> str:
    if not isinstance(service, str) or not SERVICE_NAME.match(service):
        raise InvalidError(
            f"service must be a name like 'api' or 'dispatch-worker' ({SERVICE_NAME.pattern[1:-1]})", field
        )
    return service


def check_kind(kind: object, *, field: str = "kind") -> ServiceKind:
    try:
        return ServiceKind(kind)
    except ValueError:
        raise InvalidError(f"kind must be one of {KINDS}", field) from None


def check_text(value: object, *, field: str, required: bool = True, limit: int = NAME_MAX) -> str:
    """A string of at most ``limit`` characters, stripped; required ones must not be blank."""
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise InvalidError(f"{field} must be a string", field)
    value = value.strip()
    if required and not value:
        raise InvalidError(f"{field} must not be empty", field)
    if len(value) > limit:
        raise InvalidError(f"{field} is longer than {limit} characters", field)
    return value


def create_company(cur: Cursor, *, company: str, name: str, now: datetime | None = None) -> Company:
    """Register a tenant and seed its default threshold rules (in the caller's transaction)."""
    check_slug(company)
    now = now or clock.now()
    cur.execute("INSERT INTO companies VALUES (?, ?, ?)", [company, name.strip() or company, now])
    seed_default_rules(cur, company=company, now=now)
    return Company(company, name.strip() or company)


def add_company(cur: Cursor, *, company: object, name: object, actor: Identity) -> Company:
    """Validate and register a tenant in one transaction, with an audit row. Only the people who run
    the installation (an admin of every company) may."""
    if not actor.installation_admin:
        raise Forbidden(
            f"{actor.name} is not an admin of every company: only one may register a company",
            needs="admin of every company",
        )
    slug = check_slug(company)
    title = check_text(name, field="name")
    now = clock.now()
    try:
        with unit_of_work(cur):
            if first(cur, "SELECT 1 FROM companies WHERE company = ?", [slug]) is not None:
                raise AlreadyExistsError(f"company {slug!r} already exists")
            created = create_company(cur, company=slug, name=title, now=now)
            audit(
                cur, company=slug, ts=now, actor=actor.name, action="company.create", entity="company",
                entity_id=slug, after={"company": slug, "name": title},
            )  # fmt: skip
    except (duckdb.ConstraintException, duckdb.TransactionException):  # a concurrent create won
        raise AlreadyExistsError(f"company {slug!r} already exists") from None
    return created


def list_companies(cur: Cursor) -> list[Company]:
    rows = cur.execute("SELECT company, name FROM companies").fetchall()
    return [Company(*r) for r in sorted(rows)]


def get_company(cur: Cursor, *, company: str) -> Company:
    row = first(cur, "SELECT company, name FROM companies WHERE company = ?", [company])
    if row is None:
        raise UnknownCompanyError(company)
    return Company(*row)


def _dependency_graph(cur: Cursor, *, company: str) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for service, upstream in cur.execute(
        "SELECT service, depends_on FROM service_dependencies WHERE company = ?", [company]
    ).fetchall():
        graph.setdefault(service, set()).add(upstream)
    return graph


def find_cycle(
    graph: Mapping[str, Iterable[str]], service: str, depends_on: Iterable[str]
) -> list[str] | None:
    """The path that would close a loop if ``service`` came to depend on ``depends_on``, or None."""
    for start in depends_on:
        path = [service, start]
        stack = [(start, path)]
        seen = set()
        while stack:
            node, trail = stack.pop()
            if node == service:
                return trail
            if node in seen:
                continue
            seen.add(node)
            stack.extend((nxt, [*trail, nxt]) for nxt in sorted(graph.get(node, ())))
    return None


def check_depends_on(value: object, *, service: str) -> tuple[str, ...]:
    """A list of service names, each once, never the service itself."""
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise InvalidError("depends_on must be a list of service names", "depends_on")
    names: list[str] = []
    for i, name in enumerate(value):
        check_service_name(name, field=f"depends_on[{i}]")
        if name == service:
            raise InvalidError(f"service {service!r} cannot depend on itself", f"depends_on[{i}]")
        if name not in names:
            names.append(name)
    return tuple(names)


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
    """Register a service and its upstream dependencies (in the caller's transaction).

    Upstreams may be registered later in the same transaction (the demo's catalogue lists a
    dependant before its upstream); a dependency loop is refused all the same.
    """
    check_service_name(service)
    kind = check_kind(kind)
    depends_on = check_depends_on(list(depends_on), service=service)
    cycle = find_cycle(_dependency_graph(cur, company=company), service, depends_on) if depends_on else None
    if cycle:
        raise InvalidError(f"dependency cycle: {' -> '.join(cycle)}", "depends_on")
    now = now or clock.now()
    cur.execute(
        "INSERT INTO services VALUES (?, ?, ?, ?, ?, ?)",
        [company, service, kind.value, customer_facing, description, now],
    )
    for upstream in depends_on:
        cur.execute("INSERT INTO service_dependencies VALUES (?, ?, ?)", [company, service, upstream])
    return Service(company, service, kind, customer_facing, description, depends_on)


def register_service(
    cur: Cursor,
    *,
    company: object,
    service: object,
    kind: object,
    depends_on: object = None,
    customer_facing: object = False,
    description: object = None,
    actor: Identity,
) -> Service:
    """Validate and register a service in one transaction, with an audit row.

    Every upstream must already be registered (unknown ones are named), and no loop may form.
    """
    slug = check_slug(company)
    who = require(actor, Permission.ADMINISTER, slug)
    name = check_service_name(service)
    service_kind = check_kind(kind)
    upstreams = check_depends_on(depends_on, service=name)
    if not isinstance(customer_facing, bool):
        raise InvalidError("customer_facing must be true or false", "customer_facing")
    text = check_text(description, field="description", required=False, limit=DESCRIPTION_MAX)
    now = clock.now()
    try:
        with unit_of_work(cur):
            get_company(cur, company=slug)
            known = {
                r[0] for r in cur.execute("SELECT service FROM services WHERE company = ?", [slug]).fetchall()
            }
            if name in known:
                raise AlreadyExistsError(f"service {name!r} already exists in {slug!r}")
            for i, upstream in enumerate(upstreams):
                if upstream not in known:
                    raise InvalidError(
                        f"depends_on names an unknown service {upstream!r}", f"depends_on[{i}]"
                    )
            created = add_service(
                cur, company=slug, service=name, kind=service_kind, customer_facing=customer_facing,
                description=text, depends_on=upstreams, now=now,
            )  # fmt: skip
            audit(
                cur, company=slug, ts=now, actor=who, action="service.create", entity="service",
                entity_id=name, after=service_json(created),
            )  # fmt: skip
    except (duckdb.ConstraintException, duckdb.TransactionException):  # a concurrent create won
        raise AlreadyExistsError(f"service {name!r} already exists in {slug!r}") from None
    return created


def ensure_services(
    cur: Cursor, *, company: str, services: Iterable[str], actor: str, now: datetime
) -> list[str]:
    """Register unknown ``services`` with kind ``other`` (in the caller's transaction); the new ones.

    Pushes and events may name a service nobody registered: it appears on the Health page instead
    of being dropped, and an operator can describe it later. An unknown company is refused
    (``UnknownCompanyError``): the same look that finds the known services proves it exists.
    """
    found = cur.execute(
        "SELECT s.service FROM companies c LEFT JOIN services s ON s.company = c.company WHERE c.company = ?",
        [company],
    ).fetchall()
    if not found:
        raise UnknownCompanyError(company)
    wanted = set(services)
    added = sorted(wanted - {r[0] for r in found})
    for name in added:
        created = add_service(cur, company=company, service=name, kind=ServiceKind.OTHER, now=now)
        audit(
            cur, company=company, ts=now, actor=actor, action="service.register", entity="service",
            entity_id=name, after=service_json(created),
        )  # fmt: skip
    return added


def service_json(service: Service) -> dict:
    return {
        "company": service.company,
        "service": service.service,
        "kind": service.kind.value,
        "depends_on": list(service.depends_on),
        "customer_facing": service.customer_facing,
        "description": service.description,
    }


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
