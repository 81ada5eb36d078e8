"""What the running server process has started: the feeders of fresh snapshots.

The server's lifespan registers them (the collector, which probes targets, and in the demo the
simulation); pages and API routes ask for their combined state and for a round now. Without a
server (AppTest, the CLI) there is no feeder and the state is unknown, which pages show as such.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Protocol

from calmops.health.models import CollectorState


class Feeder(Protocol):
    def run_round(self, now: datetime | None = None, *, company: str | None = None) -> int: ...

    def state(self) -> CollectorState: ...


class Feeders:
    """Several feeders seen as one: a round runs them all; the state is as bad as the worst."""

    def __init__(self, *feeders: Feeder) -> None:
        self.feeders = feeders

    def run_round(self, now: datetime | None = None, *, company: str | None = None) -> int:
        return sum(feeder.run_round(now, company=company) for feeder in self.feeders)

    def state(self) -> CollectorState:
        states = [feeder.state() for feeder in self.feeders]
        rounds = [s.last_round_at for s in states if s.last_round_at is not None]
        errors = [s.error for s in states if s.error]
        return CollectorState(
            last_round_at=max(rounds) if rounds else None,
            ok=all(s.ok for s in states),
            running=all(s.running for s in states),
            error="; ".join(errors) or None,
        )


_lock = threading.Lock()
_feeder: Feeder | None = None


def set_feeder(feeder: Feeder | None) -> None:
    global _feeder
    with _lock:
        _feeder = feeder


def feeder() -> Feeder | None:
    return _feeder


def collector_state() -> CollectorState | None:
    current = _feeder
    return current.state() if current is not None else None


_simulation = None  # the demo's Simulation, when this process runs one


def set_simulation(simulation: object | None) -> None:
    global _simulation
    _simulation = simulation


def simulation() -> object | None:
    return _simulation
