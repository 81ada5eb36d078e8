"""The demo keeps running: a background simulation appends fresh snapshots to the demo tenants.

It rebuilds the world from what the store holds (demo tenants, their services and series), so a
store built with ``--companies/--services`` keeps its shape, and it evaluates the same value model
as the history, so charts continue without a seam. After downtime it backfills the gap (at most
three days) at the history's step. Operators can start and stop live scenarios (any known pattern
on a service); they are recorded in ``demo_episodes`` like the history's episodes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa

from calmops import clock
from calmops.background import BackgroundLoop
from calmops.companies import list_services
from calmops.demo import mitigations
from calmops.demo.episodes import EFFECTS, SIGNATURES, Episode, describe
from calmops.demo.events import ROLE_BAD, ROLE_ROLLBACK, DemoEvent
from calmops.demo.generate import chunks, company_events
from calmops.demo.mitigations import Outcome
from calmops.demo.records import (
    insert_episodes,
    insert_events,
    insert_mitigation,
    load_episodes,
    load_params,
    load_versions,
)
from calmops.demo.samples import LOOKBACK_S, series_table, service_values
from calmops.demo.world import (
    CompanyWorld,
    ServiceSpec,
    company_profile,
    company_profiles,
    define_world,
    metrics_for,
)
from calmops.detect import after_ingest
from calmops.store import Database, unit_of_work
from calmops.store.db import Cursor
from calmops.store.snapshots import CompactionResult, append, bulk_load, compact
from calmops.vocabulary import Action, EventKind, Pattern

log = logging.getLogger("calmops.demo")

BACKFILL_LIMIT = timedelta(days=3)
COMPACT_EVERY = timedelta(hours=1)


class ScenarioError(ValueError):
    """A live scenario that cannot run where it was asked to (unknown tenant, service or pattern)."""


@dataclass(frozen=True)
class LiveWorld:
    """The demo tenants as the store holds them, with the history's seed and step."""

    companies: tuple[CompanyWorld, ...]
    seed: int
    step_s: int

    def company(self, slug: str) -> CompanyWorld | None:
        return next((c for c in self.companies if c.slug == slug), None)


def is_demo_company(cur: Cursor, company: str) -> bool:
    """Whether ``company`` is a tenant of the demo world in this store (cheap: no series are read)."""
    params = load_params(cur)
    if params is None:
        return False
    if "companies" in params:
        demo = {p.slug for p in company_profiles(int(params["companies"]))}
    else:
        demo = {r[0] for r in cur.execute("SELECT DISTINCT company FROM demo_episodes").fetchall()}
    if company not in demo:
        return False
    return bool(cur.execute("SELECT count(*) FROM companies WHERE company = ?", [company]).fetchall()[0][0])


def load_world(cur: Cursor, *, seed: int) -> LiveWorld:
    """Demo tenants from the store: those the build created, with their services and series."""
    params = load_params(cur) or {}
    stored = dict(cur.execute("SELECT company, name FROM companies ORDER BY company").fetchall())
    if "companies" in params:
        demo = [c.slug for c in define_world(companies=int(params["companies"])).companies]
    else:
        demo = [r[0] for r in cur.execute("SELECT DISTINCT company FROM demo_episodes ORDER BY 1").fetchall()]
    series: dict[tuple[str, str], list[str]] = {}
    for company, service, metric in cur.execute(
        "SELECT company, service, metric FROM latest WHERE labels = '' ORDER BY company, service, metric"
    ).fetchall():
        series.setdefault((company, service), []).append(metric)
    companies = []
    for slug in sorted(s for s in demo if s in stored):
        services = []
        for s in list_services(cur, company=slug):
            metrics = tuple(series.get((slug, s.service)) or metrics_for(s.kind))  # as stored, if any
            services.append(
                ServiceSpec(s.service, s.kind, s.customer_facing, s.description, s.depends_on, metrics)
            )
        companies.append(CompanyWorld(company_profile(slug, stored[slug]), tuple(services)))
    return LiveWorld(tuple(companies), seed, int(params.get("step_s", 60)))


def _seconds(ts: datetime) -> int:
    return int(ts.timestamp())


def _company_rows(
    company: CompanyWorld, services: Sequence[ServiceSpec], t: np.ndarray, episodes: list[Episode], seed: int
) -> pa.Table:
    tables = [
        series_table(company.slug, s.name, t, service_values(company, s, t, episodes, seed, s.metrics))
        for s in sorted(services, key=lambda s: s.name)
    ]
    return pa.concat_tables(tables)


def _newest(cur: Cursor, company: str) -> datetime | None:
    return cur.execute("SELECT max(ts) FROM latest WHERE company = ?", [company]).fetchall()[0][0]


def _write_events(
    cur: Cursor, company: CompanyWorld, seed: int, t0: int, t1: int, episodes: list[Episode]
) -> int:
    """Routine deploys and config changes that fell due in [t0, t1) (episodes write their own)."""
    if t1 <= t0:
        return 0
    due = [
        e for e in company_events(company, seed, t0, t1, episodes) if e.role not in (ROLE_BAD, ROLE_ROLLBACK)
    ]
    if not due:
        return 0
    return insert_events(cur, company.slug, due, load_versions(cur, company.slug))


class Simulation(BackgroundLoop):
    """Feeds the demo tenants fresh snapshots every ``interval_s`` seconds in a daemon thread.

    ``seed`` must be the seed the world was built with (the server passes the stored one), so the
    noise continues the history's. Rounds, backfills, compaction and scenario changes never
    overlap: they share one lock.
    """

    def __init__(self, db: Database, *, interval_s: float, seed: int = 7, write_rounds: bool = True) -> None:
        super().__init__(interval_s=max(0.01, float(interval_s)), name="calmops-demo-simulation")
        self._db = db
        # False once the demo's live endpoints are targets: the collector then stores what they
        # say, and rounds here only keep deploys coming and the world moving.
        self._write_rounds = write_rounds
        self._seed = seed
        self._lock = threading.RLock()  # a round's detection may run an action on the demo world
        self._last_compact_at: datetime | None = None

    def _first(self) -> None:
        """At start: fill the gap since the server last ran, compact, then a round."""
        now = clock.now()
        self.backfill(now)
        self.compact(now)
        self.run_round(now)

    def _tick(self) -> None:
        now = clock.now()
        self.run_round(now)
        if self._last_compact_at is None or now - self._last_compact_at >= COMPACT_EVERY:
            self.compact(now)

    # ------------------------------------------------------------ writing

    def run_round(self, now: datetime | None = None, *, company: str | None = None) -> int:
        """Append one sample per series of every demo tenant at ``now``; returns rows written.

        A round is cheap, so ``company`` (a check asked for one tenant) still advances them all."""
        at = (now or clock.now()).astimezone(UTC).replace(microsecond=0)
        with self._lock:
            try:
                written = self._round(at)
            except Exception as exc:
                self._failed(exc)
                raise
            self._succeeded(at)
            return written

    def _round(self, at: datetime) -> int:
        cur = self._db.cursor()
        world = load_world(cur, seed=self._seed)
        t = np.array([_seconds(at)], dtype=np.int64)
        written = 0
        with unit_of_work(cur):
            for company in world.companies:
                episodes = load_episodes(cur, company.slug, since=at - timedelta(seconds=LOOKBACK_S))
                newest = _newest(cur, company.slug)
                if newest is not None:
                    _write_events(cur, company, world.seed, _seconds(newest) + 1, int(t[0]) + 1, episodes)
                if self._write_rounds:
                    rows = _company_rows(company, company.services, t, episodes, world.seed)
                    written += append(cur, rows).accepted
        if self._write_rounds:
            for company in world.companies:
                after_ingest(company=company.slug, until=at, cur=cur, db=self._db)
        return written

    def backfill(self, now: datetime | None = None) -> int:
        """Fill the gap since each tenant's newest snapshot at the history's step (at most 3 days)."""
        now = (now or clock.now()).astimezone(UTC)
        with self._lock:
            cur = self._db.cursor()
            world = load_world(cur, seed=self._seed)
            step = world.step_s
            end = _seconds(now) // step * step
            floor = -(-_seconds(now - BACKFILL_LIMIT) // step) * step
            written = 0
            for company in world.companies:
                newest = _newest(cur, company.slug)
                if newest is None:
                    continue
                first = max(_seconds(newest) // step * step + step, floor)
                if first > end:
                    continue
                t = np.arange(first, end + 1, step, dtype=np.int64)
                since = datetime.fromtimestamp(first - LOOKBACK_S, UTC)
                episodes = load_episodes(cur, company.slug, since=since)
                with unit_of_work(cur):
                    _write_events(cur, company, world.seed, _seconds(newest) + 1, end + 1, episodes)
                for group in chunks(sorted(company.services, key=lambda s: s.name), len(t)):
                    with unit_of_work(cur):
                        written += bulk_load(cur, _company_rows(company, group, t, episodes, world.seed))
            if written:
                log.info("demo simulation backfilled %d snapshots up to %s", written, now.isoformat())
            return written

    def compact(self, now: datetime | None = None) -> CompactionResult:
        """Move the tail's completed hours into the clustered history (see store.snapshots.compact)."""
        now = now or clock.now()
        with self._lock:
            result = compact(self._db.cursor(), now=now)
            self._last_compact_at = now
            return result

    # ------------------------------------------------------------ live scenarios

    def scenarios(self, company: str | None = None) -> list[Episode]:
        """Episodes going on right now (from the history or started by an operator)."""
        cur = self._db.cursor()
        sql = "SELECT DISTINCT company FROM demo_episodes WHERE ended_at IS NULL"
        companies = [company] if company else [r[0] for r in cur.execute(sql).fetchall()]
        return [e for c in companies for e in load_episodes(cur, c) if e.ended_at is None]

    def start_scenario(
        self, pattern: Pattern | str, company: str, service: str, now: datetime | None = None
    ) -> Episode:
        """Start a pattern on a service now; it goes on until ``stop_scenario`` (idempotent)."""
        pattern = Pattern(pattern)
        at = (now or clock.now()).astimezone(UTC).replace(microsecond=0)
        with self._lock:
            cur = self._db.cursor()
            spec = self._target(cur, pattern, company, service)
            ongoing = [e for e in load_episodes(cur, company) if e.ended_at is None]
            for ep in ongoing:
                if (ep.service, ep.pattern) == (service, pattern):
                    return ep
            draft = Episode(company, service, pattern, at, None)
            episode = Episode(
                company, service, pattern, at, None, describe(draft, self._seed) + " (live scenario)"
            )
            with unit_of_work(cur):
                insert_episodes(cur, [episode])
                if pattern == Pattern.ERROR_SPIKE_AFTER_DEPLOY:
                    bad = DemoEvent(_seconds(at), spec.name, EventKind.DEPLOY, ROLE_BAD)
                    insert_events(cur, company, [bad], load_versions(cur, company))
            return episode

    def stop_scenario(
        self, pattern: Pattern | str, company: str, service: str, now: datetime | None = None
    ) -> list[Episode]:
        """End the ongoing episodes of ``pattern`` on a service (a rollback deploy ends an error spike)."""
        pattern = Pattern(pattern)
        at = (now or clock.now()).astimezone(UTC).replace(microsecond=0)
        with self._lock:
            cur = self._db.cursor()
            ongoing = [
                e
                for e in load_episodes(cur, company)
                if e.ended_at is None and (e.service, e.pattern) == (service, pattern)
            ]
            if not ongoing:
                return []
            with unit_of_work(cur):
                _end(cur, ongoing, at)
            return [Episode(e.company, e.service, e.pattern, e.started_at, at, e.note) for e in ongoing]

    def mitigate(
        self,
        action: Action | str,
        company: str,
        service: str,
        now: datetime | None = None,
        *,
        attempt_id: int | None = None,
    ) -> Outcome:
        """Apply an action from the catalogue to the demo world (the demo's executor): it ends or
        eases the ongoing episodes it addresses on ``service`` (see ``calmops.demo.mitigations``)."""
        at = (now or clock.now()).astimezone(UTC).replace(microsecond=0)
        with self._lock:
            cur = self._db.cursor()
            tenant = load_world(cur, seed=self._seed).company(company)
            if tenant is None:
                raise ScenarioError(f"{company!r} is not a demo company")
            if tenant.service(service) is None:
                raise ScenarioError(f"{company!r} has no service {service!r}")
            ongoing = [e for e in load_episodes(cur, company) if e.ended_at is None]
            outcome = mitigations.plan(tenant, ongoing, action=action, service=service, at=at)
            with unit_of_work(cur):
                for applied in outcome.applied:
                    insert_mitigation(cur, applied.episode, applied.mitigation, attempt_id)
                    if applied.ends:
                        _end(cur, [applied.episode], at)
            return outcome

    def _target(self, cur: Cursor, pattern: Pattern, company: str, service: str) -> ServiceSpec:
        if pattern not in EFFECTS:
            raise ScenarioError(f"{pattern.value!r} is not a pattern the demo world can play")
        world = load_world(cur, seed=self._seed)
        tenant = world.company(company)
        if tenant is None:
            raise ScenarioError(f"{company!r} is not a demo company")
        spec = tenant.service(service)
        if spec is None:
            raise ScenarioError(f"{company!r} has no service {service!r}")
        needed = SIGNATURES[pattern][0].metric
        if needed not in spec.metrics:
            raise ScenarioError(f"{pattern.value} needs {needed}, which {service!r} does not report")
        return spec


def _end(cur: Cursor, episodes: list[Episode], at: datetime) -> None:
    """End ongoing episodes of one (service, pattern) at ``at``; a rollback deploy ends an error spike."""
    first = episodes[0]
    company, service, pattern = first.company, first.service, first.pattern
    cur.execute(
        "UPDATE demo_episodes SET ended_at = ? WHERE company = ? AND service = ? AND pattern = ? "
        "AND ended_at IS NULL",
        [at, company, service, pattern.value],
    )
    if pattern == Pattern.ERROR_SPIKE_AFTER_DEPLOY:
        rollback = DemoEvent(_seconds(at), service, EventKind.DEPLOY, ROLE_ROLLBACK)
        bad = {service: first.start_s}
        insert_events(cur, company, [rollback], load_versions(cur, company), bad_deploys=bad)
