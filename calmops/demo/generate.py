"""Build the demo world's history into a store: tenants, services, events, episodes, snapshots.

History is generated per service with numpy and bulk-loaded in series order, a few services per
transaction (about ``CHUNK_ROWS`` rows), so ``snapshots`` comes out clustered without a sort and
memory stays bounded at 100M+ rows. Same seed and ``now`` → byte-identical rows.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pyarrow as pa

from calmops import clock
from calmops.companies import add_service, create_company
from calmops.demo.episodes import Episode, plan_history
from calmops.demo.events import (
    ROLE_BAD,
    ROLE_ROLLBACK,
    DemoEvent,
    Versions,
    scheduled_config_changes,
    scheduled_deploys,
)
from calmops.demo.model import load
from calmops.demo.records import at, insert_episodes, insert_events, save_params
from calmops.demo.samples import quiet_windows, series_table, service_values
from calmops.demo.world import CompanyWorld, ServiceSpec, World, define_world
from calmops.store.db import Cursor, unit_of_work
from calmops.store.snapshots import bulk_load
from calmops.vocabulary import EventKind, Pattern

Progress = Callable[[float, str], None]
CHUNK_ROWS = 2_000_000  # per transaction: few commits for small worlds, bounded memory for big ones
VERSION_LOOKBACK_S = 35 * 86_400  # deploys before the history, only to continue the version numbering


@dataclass(frozen=True)
class BuildSummary:
    companies: int
    services: int  # in all tenants together
    series: int
    rows: int
    events: int
    episodes: int
    started_at: datetime  # the first snapshot
    ended_at: datetime  # the last snapshot ("now", floored to the step)
    seconds: float


def history_window(now: datetime, days: float, step_s: int) -> tuple[int, int]:
    """(first, last) snapshot times in epoch seconds: ``now`` floored to the step, ``days`` back."""
    end = int(now.timestamp()) // step_s * step_s
    return end - round(days * 86_400 / step_s) * step_s, end


def company_events(
    company: CompanyWorld, seed: int, t0: int, t1: int, episodes: list[Episode]
) -> list[DemoEvent]:
    """Deploys and config changes in [t0, t1): the routine schedule plus the error spikes' own."""
    quiet = quiet_windows(episodes)
    events: list[DemoEvent] = []
    for service in company.services:
        scheduled = scheduled_deploys(company, service.name, seed, t0, t1, quiet)
        events.extend(DemoEvent(ts, service.name, EventKind.DEPLOY) for ts in scheduled.tolist())
    events.extend(scheduled_config_changes(company, seed, t0, t1, quiet))
    for e in episodes:
        if e.pattern != Pattern.ERROR_SPIKE_AFTER_DEPLOY:
            continue
        if t0 <= e.start_s < t1:
            events.append(DemoEvent(e.start_s, e.service, EventKind.DEPLOY, ROLE_BAD))
        if e.end_s is not None and t0 <= e.end_s < t1:
            events.append(DemoEvent(e.end_s, e.service, EventKind.DEPLOY, ROLE_ROLLBACK))
    return sorted(events, key=lambda e: (e.ts, e.service))


def _prior_versions(company: CompanyWorld, seed: int, start_s: int) -> Versions:
    versions = Versions()
    for service in company.services:
        before = scheduled_deploys(company, service.name, seed, start_s - VERSION_LOOKBACK_S, start_s, [])
        for ts in before.tolist():
            versions.deploy(service.name, ts)
    return versions


def _register(cur: Cursor, world: World, plans: dict[str, list[Episode]], start_s: int, end_s: int) -> int:
    """Tenants, services, episodes and events, in one transaction."""
    events = 0
    created = at(start_s)
    with unit_of_work(cur):
        for company in world.companies:
            create_company(cur, company=company.slug, name=company.profile.name, now=created)
            for s in company.services:
                add_service(
                    cur, company=company.slug, service=s.name, kind=s.kind, customer_facing=s.customer_facing,
                    description=s.description, depends_on=s.depends_on, now=created,
                )  # fmt: skip
            episodes = plans[company.slug]
            insert_episodes(cur, episodes)
            timeline = company_events(company, world.seed, start_s, end_s + 1, episodes)
            events += insert_events(
                cur, company.slug, timeline, _prior_versions(company, world.seed, start_s)
            )
        save_params(
            cur,
            {"companies": len(world.companies), "services": len(world.companies[0].services),
             "step_s": world.step_s, "seed": world.seed, "days": (end_s - start_s) / 86_400,
             "now": at(end_s).isoformat()},
        )  # fmt: skip
    return events


def chunks(services: list[ServiceSpec], samples: int) -> Iterator[list[ServiceSpec]]:
    """Services in order, grouped so one transaction loads about ``CHUNK_ROWS`` rows."""
    chunk: list[ServiceSpec] = []
    for service in services:
        if chunk and (sum(len(s.metrics) for s in chunk) + len(service.metrics)) * samples > CHUNK_ROWS:
            yield chunk
            chunk = []
        chunk.append(service)
    if chunk:
        yield chunk


def build_world(
    cur: Cursor,
    *,
    days: float = 14,
    companies: int = 3,
    services: int = 8,
    step_s: int = 60,
    seed: int = 7,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> BuildSummary:
    """Generate ``days`` of history up to ``now`` for a fresh demo world into the store behind ``cur``."""
    began = time.perf_counter()
    if step_s < 1 or days <= 0:
        raise ValueError("step_s must be at least 1 and days positive")
    world = define_world(companies=companies, services=services, seed=seed, step_s=step_s)
    slugs = [c.slug for c in world.companies]
    marks = ", ".join("?" for _ in slugs)
    clash = cur.execute(f"SELECT company FROM companies WHERE company IN ({marks})", slugs).fetchall()
    if clash:
        raise ValueError(f"the store already has demo company {clash[0][0]!r}; build into a fresh database")
    start_s, end_s = history_window(now or clock.now(), days, step_s)
    t = np.arange(start_s, end_s + 1, step_s, dtype=np.int64)
    report = progress or (lambda _fraction, _message: None)
    report(0.0, "planning episodes")
    plans = {c.slug: plan_history(c, i, seed, start_s, end_s) for i, c in enumerate(world.companies)}
    events = _register(cur, world, plans, start_s, end_s)

    expected = max(world.series * len(t), 1)
    rows = 0
    for company in sorted(world.companies, key=lambda c: c.slug):
        episodes = plans[company.slug]
        traffic = load(company.profile, t)  # the same for every series of the tenant
        for chunk in chunks(sorted(company.services, key=lambda s: s.name), len(t)):
            tables = [
                series_table(
                    company.slug, s.name, t, service_values(company, s, t, episodes, seed, traffic=traffic)
                )
                for s in chunk
            ]
            with unit_of_work(cur):
                rows += bulk_load(cur, pa.concat_tables(tables))
            report(min(rows / expected, 0.999), f"{company.slug} {chunk[-1].name}")
    report(1.0, f"{rows:,} snapshots")
    return BuildSummary(
        companies=len(world.companies),
        services=sum(len(c.services) for c in world.companies),
        series=world.series,
        rows=rows,
        events=events,
        episodes=sum(len(p) for p in plans.values()),
        started_at=at(start_s),
        ended_at=at(end_s),
        seconds=time.perf_counter() - began,
    )
