"""The collector: every few seconds, probe the targets that are due and store what they said.

A round probes in threads (``probe.probe_all``) so one hanging endpoint never stalls the rest;
rounds never overlap (one lock); a round's snapshots and probe records are one transaction, and
detection runs after it in a transaction of its own. The collector reports its own health, so a
page can tell "all green" from "nobody is looking".
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from datetime import datetime, timedelta
from urllib.parse import urljoin

from calmops import clock, targets
from calmops.background import BackgroundLoop
from calmops.detect import after_ingest
from calmops.health.probe import ProbeResult, Target, probe_all, to_rows
from calmops.store import Database, snapshots, unit_of_work
from calmops.store.db import RACES, retry_conflicts

log = logging.getLogger("calmops.collector")
COMPACT_EVERY = timedelta(hours=1)


class Collector(BackgroundLoop):
    """Probes targets every ``interval_s`` seconds in a daemon thread.

    ``base_url`` is where this server answers: targets stored as a path (``/demo/...``) are
    resolved against it, so the demo's own endpoints keep working on any ``PORT``.
    """

    def __init__(
        self,
        db: Database,
        *,
        interval_s: float,
        base_url: str,
        max_workers: int = 32,
        after: threading.Event | None = None,
    ) -> None:
        super().__init__(interval_s=max(0.2, float(interval_s)), name="calmops-collector", after=after)
        self._db = db
        self._base_url = base_url.rstrip("/") + "/"
        self._max_workers = max_workers
        self._lock = threading.Lock()
        self._last_compact_at: datetime | None = None

    def _tick(self) -> None:
        self.run_round(due_only=True)

    def resolve(self, target: Target) -> Target:
        """A target whose URL is a path on this server, made absolute."""
        if target.url.startswith("/"):
            return replace(target, url=urljoin(self._base_url, target.url.lstrip("/")))
        return target

    def _due(self, cur, company: str | None, now: datetime, due_only: bool) -> list[Target]:
        chosen = targets.list_targets(cur, company=company)
        if not due_only:
            return chosen
        last = dict(
            cur.execute("SELECT id, last_probe_at FROM targets WHERE last_probe_at IS NOT NULL").fetchall()
        )
        # A target is due once its interval has passed, less half a round so it never slips a round.
        slack = timedelta(seconds=self._interval_s / 2)
        return [
            t
            for t in chosen
            if t.id not in last or now - last[t.id] >= timedelta(seconds=t.interval_s) - slack
        ]

    def run_round(
        self, now: datetime | None = None, *, company: str | None = None, due_only: bool = False
    ) -> int:
        """Probe (the due) targets of one company or all, store the results, then detect.

        ``GET /api/ops/health`` and the Health page's button call this for one company with
        ``due_only=False``: a check now, whatever the schedule.
        """
        with self._lock:
            now = now or clock.now()
            cur = self._db.cursor()
            chosen = [self.resolve(t) for t in self._due(cur, company, now, due_only)]
            results: list[ProbeResult] = (
                probe_all(chosen, max_workers=self._max_workers, now=now) if chosen else []
            )
            accepted = 0
            if results:
                rows = to_rows(results)

                def store() -> int:
                    with unit_of_work(cur):
                        written = snapshots.append(cur, rows).accepted
                        targets.record_results(cur, results)
                    return written

                # The demo simulation's backfill or a push may be writing the same latest rows.
                accepted = retry_conflicts(store, on=RACES)
                for tenant in sorted({r.target.company for r in results}):
                    try:
                        after_ingest(company=tenant, until=now, cur=cur, db=self._db)
                    except Exception:
                        log.exception("detection after the round failed for %s", tenant)
            if self._last_compact_at is None or now - self._last_compact_at >= COMPACT_EVERY:
                snapshots.compact(cur, now=now)
                self._last_compact_at = now
            self._succeeded(now)
            failed = sum(1 for r in results if not r.ok)
            if failed:
                log.info("collector round: %d of %d probes failed", failed, len(results))
            return accepted
