"""The demo world's shape: tenants of a transport-management SaaS, their services and dependencies.

Everything here is a pure function of the build flags (``--companies``, ``--services``) or of a
company's slug, so the live simulation can rebuild the same world from what the store holds
(companies, services, latest series) and continue it seamlessly.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import NamedTuple

from calmops.vocabulary import ServiceKind

# Metrics every service reports, and the extra ones some kinds report.
COMMON_METRICS: tuple[str, ...] = (
    "up",
    "request_rate",
    "error_rate",
    "latency_p95_ms",
    "cpu_pct",
    "memory_pct",
    "probe_latency_ms",
)
WORKER_METRICS: tuple[str, ...] = ("queue_depth",)
DATABASE_METRICS: tuple[str, ...] = ("db_connections_pct", "disk_pct")


@dataclass(frozen=True)
class CompanyProfile:
    """A tenant: its size (``scale`` multiplies traffic) and where its working day is."""

    slug: str
    name: str
    scale: float
    utc_offset_h: float


@dataclass(frozen=True)
class ServiceSpec:
    """One service of a tenant, with the upstream services it calls and the metrics it reports."""

    name: str
    kind: ServiceKind
    customer_facing: bool
    description: str
    depends_on: tuple[str, ...]
    metrics: tuple[str, ...]


@dataclass(frozen=True)
class CompanyWorld:
    profile: CompanyProfile
    services: tuple[ServiceSpec, ...]

    @property
    def slug(self) -> str:
        return self.profile.slug

    def service(self, name: str) -> ServiceSpec | None:
        return next((s for s in self.services if s.name == name), None)

    def dependants(self, name: str) -> tuple[str, ...]:
        """Services that call ``name`` directly (they degrade when it does)."""
        return tuple(s.name for s in self.services if name in s.depends_on)


@dataclass(frozen=True)
class World:
    companies: tuple[CompanyWorld, ...]
    seed: int
    step_s: int

    @property
    def series(self) -> int:
        return sum(len(s.metrics) for c in self.companies for s in c.services)


NAMED_COMPANIES: tuple[CompanyProfile, ...] = (
    CompanyProfile("northwind-freight", "Northwind Freight", 1.0, 1.0),  # large, Central Europe
    CompanyProfile("bluebird-logistics", "Bluebird Logistics", 0.35, -5.0),  # medium, US East
    CompanyProfile("cedar-couriers", "Cedar Couriers", 0.08, 10.0),  # small, Australia East
)


class Blueprint(NamedTuple):
    """A service as the catalogue describes it, before ``--services`` trims the dependencies."""

    name: str
    kind: ServiceKind
    customer_facing: bool
    description: str
    depends_on: tuple[str, ...] = ()


_W, _A, _K = ServiceKind.WORKER, ServiceKind.API, ServiceKind
_STORES = ("postgres", "redis")
# In the order `--services N` takes them.
CORE_SERVICES: tuple[Blueprint, ...] = (
    Blueprint("web", _K.WEB, True, "Shipper and dispatcher web app", ("api",)),
    Blueprint("api", _A, True, "Public REST API: orders, shipments, quotes", _STORES),
    Blueprint("dispatch-worker", _W, False, "Assigns loads, books carriers", (*_STORES, "carrier-gateway")),
    Blueprint("tracking-ingest", _W, True, "GPS and carrier tracking events (customers see delays)", _STORES),
    Blueprint("carrier-gateway", _K.EXTERNAL, False, "Outbound integration with the carriers' APIs"),
    Blueprint("billing", _W, False, "Rates shipments and issues invoices (nightly batch)", ("postgres",)),
    Blueprint("postgres", _K.DATABASE, False, "Primary PostgreSQL database"),
    Blueprint("redis", _K.CACHE, False, "Cache and job queues (Redis)"),
)
EXTRA_SERVICES: tuple[Blueprint, ...] = (
    Blueprint("notifications", _W, True, "ETA and delivery notifications (e-mail, SMS)", _STORES),
    Blueprint("routing-engine", _A, False, "Route optimisation for dispatch", _STORES),
    Blueprint("webhooks-out", _W, True, "Shipment webhooks to customers' systems", _STORES),
    Blueprint("reporting", _W, False, "Scheduled operational reports (nightly)", ("postgres",)),
)

_FIRST_WORDS = (
    "harbor", "summit", "prairie", "granite", "maple", "copper", "silver", "pine",
    "river", "aurora", "atlas", "beacon", "delta", "ember", "falcon", "juniper",
)  # fmt: skip
_SECOND_WORDS = ("haulage", "transport", "cargo", "express", "shipping", "movers", "carriers", "fleet")
_OFFSETS_H = (-8.0, -6.0, -5.0, -3.0, 0.0, 1.0, 2.0, 5.5, 8.0, 9.0, 10.0)


def stable_hash(*parts: object) -> int:
    """A 64-bit hash of ``parts`` that is the same in every process (unlike ``hash``)."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def generated_company(index: int) -> tuple[str, str]:
    """(slug, name) of the ``index``-th generated tenant (0-based); stable across builds."""
    first = _FIRST_WORDS[index % len(_FIRST_WORDS)]
    second = _SECOND_WORDS[(index // len(_FIRST_WORDS) + index) % len(_SECOND_WORDS)]
    cycle = index // (len(_FIRST_WORDS) * len(_SECOND_WORDS))
    slug = f"{first}-{second}" + (f"-{cycle + 1}" if cycle else "")
    return slug, f"{first.title()} {second.title()}" + (f" {cycle + 1}" if cycle else "")


def company_profile(slug: str, name: str | None = None) -> CompanyProfile:
    """The profile of a tenant from its slug alone: named tenants are fixed, others hash-derived."""
    for named in NAMED_COMPANIES:
        if named.slug == slug:
            return named
    h = stable_hash("company-profile", slug)
    scale = round(0.05 + 0.55 * ((h & 0xFFFF) / 0xFFFF), 3)
    offset = _OFFSETS_H[(h >> 16) % len(_OFFSETS_H)]
    return CompanyProfile(slug, name or slug, scale, offset)


def company_profiles(count: int) -> list[CompanyProfile]:
    """The first ``count`` tenants: the named ones, then generated ones."""
    generated = range(max(0, count - len(NAMED_COMPANIES)))
    return [*NAMED_COMPANIES[:count], *(company_profile(*generated_company(i)) for i in generated)]


def metrics_for(kind: ServiceKind) -> tuple[str, ...]:
    """Which metrics a service of ``kind`` reports."""
    if kind == ServiceKind.WORKER:
        return COMMON_METRICS + WORKER_METRICS
    if kind == ServiceKind.DATABASE:
        return COMMON_METRICS + DATABASE_METRICS
    return COMMON_METRICS


def service_catalogue(count: int) -> list[Blueprint]:
    """The first ``count`` services: the core eight, the named extras, then numbered workers."""
    catalogue = [*CORE_SERVICES, *EXTRA_SERVICES]
    for n in range(1, max(0, count - len(catalogue)) + 1):
        catalogue.append(Blueprint(f"svc-{n:02d}", _W, False, f"Background worker {n}", _STORES))
    return catalogue[:count]


def service_specs(count: int) -> tuple[ServiceSpec, ...]:
    """Services of one tenant; dependencies on services outside the first ``count`` are dropped."""
    chosen = service_catalogue(count)
    names = {c.name for c in chosen}
    return tuple(
        ServiceSpec(c.name, c.kind, c.customer_facing, c.description,
                    tuple(d for d in c.depends_on if d in names), metrics_for(c.kind))
        for c in chosen
    )  # fmt: skip


def define_world(*, companies: int = 3, services: int = 8, seed: int = 7, step_s: int = 60) -> World:
    """The world ``build_world`` generates for these flags."""
    if companies < 1 or services < 1:
        raise ValueError("the demo world needs at least one company and one service")
    specs = service_specs(services)
    return World(tuple(CompanyWorld(p, specs) for p in company_profiles(companies)), seed, step_s)
