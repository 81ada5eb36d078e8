"""A daemon thread that works every few seconds and reports how it is doing.

The collector and the demo simulation are both such loops: work once at start, then every
``interval_s`` seconds; a failing round is logged and shows in ``state()`` (which pages turn into
the stale-data banner) but never ends the loop.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from calmops.health.models import CollectorState

log = logging.getLogger("calmops")


class BackgroundLoop:
    """Subclasses implement ``_tick`` (and ``_first`` when starting up differs)."""

    def __init__(self, *, interval_s: float, name: str, after: threading.Event | None = None) -> None:
        self._interval_s = interval_s
        self._name = name
        self._after = after  # another loop's ``ready``: its start-up work goes first
        self.ready = threading.Event()  # set once the first round (start-up work) is done
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_round_at: datetime | None = None
        self._ok = True
        self._error: str | None = None

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 60.0) -> None:
        """Ask the thread to stop and wait for the round in progress to finish."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        self._thread = None

    def state(self) -> CollectorState:
        running = self._thread is not None and self._thread.is_alive() and not self._stop.is_set()
        return CollectorState(self._last_round_at, self._ok, running, self._error)

    def _run(self) -> None:
        if self._after is not None:  # e.g. the demo's backfill rewrites every `latest` row at start
            while not self._after.wait(0.5):
                if self._stop.is_set():
                    return
        self._guarded(self._first)
        self.ready.set()
        while not self._stop.wait(self._interval_s):
            self._guarded(self._tick)

    def _first(self) -> None:
        self._tick()

    def _tick(self) -> None:
        raise NotImplementedError

    def _guarded(self, work) -> None:
        try:
            work()
        except Exception as exc:  # the thread must survive a bad round; state() reports it
            log.exception("%s: a round failed", self._name)
            self._failed(exc)

    def _succeeded(self, at: datetime) -> None:
        self._last_round_at, self._ok, self._error = at, True, None

    def _failed(self, exc: Exception) -> None:
        self._ok, self._error = False, f"{type(exc).__name__}: {exc}"
