"""Detection: threshold rules turn snapshots into incidents."""

from __future__ import annotations

import logging
from datetime import datetime

from calmops.detect.engine import Evaluation, evaluate
from calmops.store.db import Cursor, Database, get_db, unit_of_work

log = logging.getLogger(__name__)


def after_ingest(
    *, company: str, until: datetime | None = None, cur: Cursor | None = None, db: Database | None = None
) -> Evaluation:
    """Judge what just arrived for ``company``, in a transaction of its own: a failing evaluation
    never takes the snapshots that were already written down with it. Then the agent briefs what
    changed (each incident in its own transaction), so a failing brief never undoes detection.
    ``db`` is the store ``cur`` belongs to (the process's own by default): safe actions the agent
    asks for are carried out through it after the transactions."""
    from calmops import agent

    db = db or get_db()
    cur = cur or db.cursor()
    with unit_of_work(cur):
        result = evaluate(cur, company=company, now=until)
    try:
        agent.after_detection(
            db, company=company, incident_ids={*result.opened, *result.updated}, now=until, cur=cur,
            opened=result.opened,
        )  # fmt: skip
    except Exception:
        log.exception("the agent failed after detection for %s", company)
    return result


__all__ = ["Evaluation", "after_ingest", "evaluate"]
