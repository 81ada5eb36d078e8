"""Live demo scenarios, for the API, the CLI and the Health page alike.

A scenario is an episode stored in ``demo_episodes`` with no end yet; the demo's endpoints read
the episodes on every request, so starting one changes what the services answer at once.
"""

from __future__ import annotations

from datetime import datetime

from calmops import runtime
from calmops.auth.models import Identity, Permission, require
from calmops.config import settings
from calmops.demo import live as live_world
from calmops.demo.episodes import Episode
from calmops.demo.live import ScenarioError, Simulation
from calmops.demo.mitigations import Outcome
from calmops.demo.records import load_params
from calmops.store import Database
from calmops.vocabulary import Pattern

PATTERNS: tuple[str, ...] = tuple(p.value for p in Pattern if p != Pattern.UNKNOWN)

__all__ = [
    "PATTERNS",
    "NoDemoWorldError",
    "ScenarioError",
    "is_demo_company",
    "live",
    "mitigate",
    "start",
    "stop",
]


class NoDemoWorldError(LookupError):
    """The store holds no demo world: there is nothing to play scenarios on."""


def _simulation(db: Database) -> Simulation:
    """The running simulation, or one made for this call: scenarios live in the store either way."""
    running = runtime.simulation()
    if isinstance(running, Simulation):
        return running
    params = load_params(db.cursor())
    if params is None:
        raise NoDemoWorldError("this store holds no demo world, so there is nothing to play scenarios on")
    return Simulation(db, interval_s=settings().collect_interval_s, seed=int(params.get("seed", 7)))


def live(db: Database, *, company: str) -> list[Episode]:
    """The scenarios going on now for ``company`` (history's ongoing episode included)."""
    return [e for e in _simulation(db).scenarios(company) if e.ended_at is None]


def start(db: Database, *, company: str, service: str, pattern: str, actor: Identity) -> Episode:
    """Make a demo service misbehave now: it opens real incidents, so it takes what acting on
    incidents does (an operator or above of the company)."""
    require(actor, Permission.RESPOND, company)
    return _simulation(db).start_scenario(pattern, company, service)


def stop(db: Database, *, company: str, service: str, pattern: str, actor: Identity) -> list[Episode]:
    require(actor, Permission.RESPOND, company)
    return _simulation(db).stop_scenario(pattern, company, service)


def is_demo(db: Database) -> bool:
    return load_params(db.cursor()) is not None


def is_demo_company(db: Database, *, company: str) -> bool:
    """Whether ``company`` is one of the demo world's tenants (the simulation plays it)."""
    return live_world.is_demo_company(db.cursor(), company)


def mitigate(
    db: Database,
    *,
    company: str,
    service: str,
    action: str,
    attempt_id: int | None = None,
    now: datetime | None = None,
) -> Outcome:
    """Apply a catalogue action to the demo world (the demo executor); see ``calmops.demo.mitigations``."""
    return _simulation(db).mitigate(action, company, service, now, attempt_id=attempt_id)
