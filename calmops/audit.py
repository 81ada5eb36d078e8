"""The audit log read back: every write, who made it, when, and the state before and after.

Append-only (rows are only ever inserted, by `incidents.audit`); this module filters it for the
Audit page and `GET /api/ops/audit`, and exports it as CSV with user text kept as data.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime

from calmops.csvcells import cell as _cell
from calmops.store.db import Cursor
from calmops.timeio import to_iso

MAX_ROWS = 10_000
CSV_COLUMNS = ("id", "ts", "actor", "action", "entity", "entity_id", "before", "after")


@dataclass(frozen=True)
class Entry:
    id: int
    ts: datetime
    actor: str
    action: str
    entity: str
    entity_id: str | None
    before: dict | None
    after: dict | None

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "ts": to_iso(self.ts),
            "actor": self.actor,
            "action": self.action,
            "entity": self.entity,
            "entity_id": self.entity_id,
            "before": self.before,
            "after": self.after,
        }


def entries(
    cur: Cursor,
    *,
    company: str,
    actor: str | None = None,
    action: str | None = None,
    entity: str | None = None,
    entity_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 500,
    before_id: int | None = None,
) -> list[Entry]:
    """Newest first; every filter a bound parameter (text matches exactly, actions by prefix)."""
    sql = "SELECT id, ts, actor, action, entity, entity_id, before, after FROM audit_log WHERE company = ?"
    params: list = [company]
    for column, value in (("actor", actor), ("entity", entity), ("entity_id", entity_id)):
        if value:
            sql += f" AND {column} = ?"
            params.append(value)
    if action:
        sql += " AND starts_with(action, ?)"
        params.append(action)
    if since is not None:
        sql += " AND ts >= ?"
        params.append(since)
    if until is not None:
        sql += " AND ts < ?"
        params.append(until)
    if before_id is not None:
        sql += " AND id < ?"
        params.append(before_id)
    rows = cur.execute(sql + " ORDER BY id DESC LIMIT ?", [*params, min(limit, MAX_ROWS)]).fetchall()
    return [Entry(r[0], r[1], r[2], r[3], r[4], r[5], _json(r[6]), _json(r[7])) for r in rows]


def _json(raw: str | None) -> dict | None:
    return None if raw is None else json.loads(raw)


def facets(cur: Cursor, *, company: str) -> tuple[list[str], list[str], list[str]]:
    """The actors, actions and entities a filter can offer."""
    rows = cur.execute(
        "SELECT DISTINCT actor, action, entity FROM audit_log WHERE company = ?", [company]
    ).fetchall()
    return (sorted({r[0] for r in rows}), sorted({r[1] for r in rows}), sorted({r[2] for r in rows}))


def to_csv(rows: list[Entry]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for e in rows:
        writer.writerow([_cell(v) for v in (e.id, to_iso(e.ts), e.actor, e.action, e.entity, e.entity_id,
                                            e.before, e.after)])  # fmt: skip
    return out.getvalue()
