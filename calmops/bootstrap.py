"""Getting a store ready: open it, and give a brand-new file the demo world unless told not to."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from calmops.companies import list_companies
from calmops.config import settings
from calmops.demo.accounts import create_accounts
from calmops.demo.endpoints import register_targets
from calmops.demo.generate import BuildSummary, build_world
from calmops.demo.records import load_params
from calmops.demo.replay import ReplaySummary, replay_history
from calmops.store import Database, open_db
from calmops.store.db import Cursor

Progress = Callable[[float, str], None]


def demo_params(cur: Cursor) -> dict | None:
    """How the demo world in this store was built, or None when it holds no demo world."""
    return load_params(cur)


def build_demo(
    db: Database,
    *,
    progress: Progress | None = None,
    replay: bool = True,
    replay_progress: Progress | None = None,
    **world: float | int | datetime | None,
) -> tuple[BuildSummary, ReplaySummary | None]:
    """Build the demo world into ``db`` (``world``: the flags of ``build_world``), replay its history
    through detection unless told not to, then checkpoint the file so it opens without a WAL."""
    cur = db.cursor()
    summary = build_world(cur, progress=progress, **world)
    register_targets(cur)  # from now on the collector probes the demo's live endpoints
    create_accounts(cur, companies=[c.company for c in list_companies(cur)])
    replayed = None
    if replay:
        days = (summary.ended_at - summary.started_at).total_seconds() / 86400
        replayed = replay_history(cur, now=summary.ended_at, days=days, progress=replay_progress)
    db.checkpoint()
    return summary, replayed


def prepare_store(path: Path | None = None, *, progress: Progress | None = None) -> Database:
    """Open ``CALMOPS_DB``; a file that did not exist yet gets the demo world unless CALMOPS_DEMO=0."""
    config = settings()
    path = path or config.db_path
    is_new = not path.exists()
    db = open_db(path)
    if is_new and config.demo:
        build_demo(db, progress=progress)
    return db
