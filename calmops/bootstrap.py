"""Getting a store ready: open it, and give a brand-new file the demo world unless told not to."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from calmops.config import settings
from calmops.store import Database, open_db
from calmops.store.db import Cursor, first

Progress = Callable[[float, str], None]


def demo_params(cur: Cursor) -> dict | None:
    """How the demo world in this store was built, or None when it holds no demo world."""
    row = first(cur, "SELECT value FROM store_state WHERE key = 'demo_world'")
    return json.loads(row[0]) if row else None


def build_demo(
    db: Database,
    *,
    days: float = 14,
    companies: int = 3,
    services: int = 8,
    step_s: int = 60,
    seed: int = 7,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> dict:
    """Build the demo world into ``db`` and remember its parameters (the live simulation reads them)."""
    from calmops.demo.generate import build_world

    cur = db.cursor()
    summary = build_world(
        cur,
        days=days,
        companies=companies,
        services=services,
        step_s=step_s,
        seed=seed,
        now=now,
        progress=progress,
    )
    params = {"days": days, "companies": companies, "services": services, "step_s": step_s, "seed": seed}
    cur.execute(
        "INSERT INTO store_state VALUES ('demo_world', ?) ON CONFLICT DO UPDATE SET value = excluded.value",
        [json.dumps(params)],
    )
    db.checkpoint()
    return {**params, "rows": summary.rows, "seconds": round(summary.seconds, 1)}


def prepare_store(path: Path | None = None, *, progress: Progress | None = None) -> Database:
    """Open ``CALMOPS_DB``; a file that did not exist yet gets the demo world unless CALMOPS_DEMO=0."""
    config = settings()
    path = path or config.db_path
    is_new = not path.exists()
    db = open_db(path)
    if is_new and config.demo:
        build_demo(db, progress=progress)
    return db
