"""What the running server process has started: the feeder of fresh snapshots.

The server's lifespan registers the feeder (the demo simulation now, the collector later); pages
and API routes ask it for its state and to run a round now. Without a server (AppTest, the CLI)
there is no feeder and the state is unknown, which pages show as such.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Protocol

from calmops.health.models import CollectorState


class Feeder(Protocol):
    def run_round(self, now: datetime | None = None) -> int: ...

    def state(self) -> CollectorState: ...


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
