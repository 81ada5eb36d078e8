"""Reading and writing the demo's own rows: episodes, deploy/config events, the world's parameters."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime

from calmops.demo.episodes import Episode, Mitigation
from calmops.demo.events import ROLE_BAD, ROLE_ROLLBACK, DemoEvent, Versions, describe
from calmops.store.db import Cursor
from calmops.vocabulary import EventKind, Pattern

STATE_KEY = "demo_world"


def at(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def save_params(cur: Cursor, params: dict) -> None:
    """Remember how the world was built (the live simulation continues it with the same seed and step)."""
    cur.execute(
        "INSERT INTO store_state VALUES (?, ?) ON CONFLICT DO UPDATE SET value = excluded.value",
        [STATE_KEY, json.dumps(params, sort_keys=True)],
    )


def load_params(cur: Cursor) -> dict | None:
    rows = cur.execute("SELECT value FROM store_state WHERE key = ?", [STATE_KEY]).fetchall()
    return json.loads(rows[0][0]) if rows else None


def insert_episodes(cur: Cursor, episodes: Iterable[Episode]) -> int:
    rows = [[e.company, e.service, e.pattern.value, e.started_at, e.ended_at, e.note] for e in episodes]
    if rows:
        cur.executemany("INSERT INTO demo_episodes VALUES (?, ?, ?, ?, ?, ?)", rows)
    return len(rows)


def load_episodes(cur: Cursor, company: str, *, since: datetime | None = None) -> list[Episode]:
    """A tenant's episodes that still show after ``since`` (ongoing ones always do)."""
    sql = "SELECT company, service, pattern, started_at, ended_at, note FROM demo_episodes WHERE company = ?"
    params: list = [company]
    if since is not None:
        sql += " AND (ended_at IS NULL OR ended_at >= ?)"
        params.append(since)
    rows = cur.execute(sql + " ORDER BY started_at, service, pattern", params).fetchall()
    known = {p.value for p in Pattern}
    applied = _mitigations(cur, company) if rows else {}
    return [
        Episode(
            r[0],
            r[1],
            Pattern(r[2]),
            r[3].astimezone(UTC),
            r[4] and r[4].astimezone(UTC),
            r[5],
            applied.get((r[1], r[2], r[3]), ()),
        )
        for r in rows
        if r[2] in known
    ]


def _mitigations(cur: Cursor, company: str) -> dict[tuple, tuple[Mitigation, ...]]:
    """What the demo executor applied to each episode of a tenant: (service, pattern, started_at) →
    mitigations in time order (a handful of rows; the effects honour them)."""
    rows = cur.execute(
        "SELECT service, pattern, episode_started_at, action, applied_at, scope FROM demo_mitigations "
        "WHERE company = ? ORDER BY applied_at",
        [company],
    ).fetchall()
    found: dict[tuple, tuple[Mitigation, ...]] = {}
    for service, pattern, started_at, action, at_, scope in rows:
        key = (service, pattern, started_at)
        found[key] = (*found.get(key, ()), Mitigation(action, at_.astimezone(UTC), scope))
    return found


def insert_mitigation(cur: Cursor, episode: Episode, mitigation: Mitigation, attempt_id: int | None) -> None:
    """Record that the demo executor applied an action to an episode (in the caller's transaction)."""
    cur.execute(
        "INSERT INTO demo_mitigations (company, service, pattern, episode_started_at, action, applied_at, "
        "scope, attempt_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [episode.company, episode.service, episode.pattern.value, episode.started_at, mitigation.action,
         mitigation.at, mitigation.scope, attempt_id],
    )  # fmt: skip


def load_versions(cur: Cursor, company: str) -> Versions:
    """Deploy versions already recorded for a tenant, so new ones continue the numbering."""
    rows = cur.execute(
        "SELECT service, ts, version FROM events "
        "WHERE company = ? AND kind = 'deploy' AND version IS NOT NULL ORDER BY ts, id",
        [company],
    ).fetchall()
    versions = Versions()
    for service, ts, version in rows:
        versions.record(service, int(ts.timestamp()), version)
    return versions


def insert_events(
    cur: Cursor,
    company: str,
    events: Iterable[DemoEvent],
    versions: Versions,
    *,
    bad_deploys: dict[str, int] | None = None,
    created_at: datetime | None = None,
) -> int:
    """Write events in time order, naming deploys; ``created_at`` None means "when it happened".

    ``bad_deploys`` maps a service to the time of the deploy a rollback undoes (for live scenarios
    whose bad deploy is not among ``events``). An event already stored at the same time is skipped.
    """
    bad = dict(bad_deploys or {})
    rows = []
    for event in sorted(events, key=lambda e: (e.ts, e.service, e.kind.value)):
        version = None
        if event.kind == EventKind.DEPLOY:
            if event.role == ROLE_ROLLBACK:
                version = versions.rollback(event.service, bad.get(event.service, event.ts), event.ts)
            else:
                version = versions.deploy(event.service, event.ts)
                if event.role == ROLE_BAD:
                    bad[event.service] = event.ts
        rows.append(
            [company, event.service, event.kind.value, at(event.ts), describe(event, version), version,
             created_at or at(event.ts)]
        )  # fmt: skip
    written = 0
    for row in rows:
        exists = cur.execute(
            "SELECT count(*) FROM events WHERE company = ? AND service = ? AND kind = ? AND ts = ?", row[:4]
        ).fetchall()[0][0]
        if not exists:
            cur.execute(
                "INSERT INTO events (company, service, kind, ts, description, version, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                row,
            )
            written += 1
    return written
