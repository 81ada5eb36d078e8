"""Detection: threshold rules turn snapshots into incidents."""

from __future__ import annotations

from datetime import datetime

from calmops.detect.engine import Evaluation, evaluate
from calmops.store.db import Cursor, cursor, unit_of_work


def after_ingest(*, company: str, until: datetime | None = None, cur: Cursor | None = None) -> Evaluation:
    """Judge what just arrived for ``company``, in a transaction of its own: a failing evaluation
    never takes the snapshots that were already written down with it."""
    cur = cur or cursor()
    with unit_of_work(cur):
        return evaluate(cur, company=company, now=until)


__all__ = ["Evaluation", "after_ingest", "evaluate"]
