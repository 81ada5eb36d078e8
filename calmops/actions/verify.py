"""Verify-after-act: did the action move its metric back, leave it, or make it worse?

Every attempt that ran is judged once its settle time has passed, on stored snapshots only: the
median of the samples just before the action against the median of those at the end of the
settle time. A median of a few samples ignores one noisy point; a clear margin (catalogue
``MARGINS``) keeps noise from being called an effect.
"""

from __future__ import annotations

from datetime import datetime

from calmops.actions import catalogue
from calmops.actions.attempts import COLUMNS, Attempt, Verdict
from calmops.incidents import SYSTEM, add_event
from calmops.store.db import Cursor
from calmops.vocabulary import format_value


def recent_value(
    cur: Cursor,
    *,
    company: str,
    services: tuple[str, ...],
    metric: str,
    at: datetime,
    not_before: datetime | None = None,
) -> float | None:
    """The metric's recent value at ``at``: per service, the median of the samples in the recent
    window (else the newest within ``STALE_AFTER``); over several services, the worst of them.
    ``not_before`` leaves out samples taken before then (an action's own start)."""
    window_start = at - catalogue.RECENT_WINDOW
    stale_start = at - catalogue.STALE_AFTER
    if not_before is not None:
        window_start, stale_start = max(window_start, not_before), max(stale_start, not_before)
    marks = ", ".join("?" for _ in services)
    rows = cur.execute(
        f"""SELECT service, median(value) FILTER (WHERE ts > ?), arg_max(value, ts)
            FROM health_snapshots
            WHERE company = ? AND service IN ({marks}) AND metric = ? AND labels = ''
              AND ts > ? AND ts <= ? AND value IS NOT NULL AND NOT isnan(value)
            GROUP BY service""",
        [window_start, company, *services, metric, stale_start, at],
    ).fetchall()
    values = [median if median is not None else newest for _, median, newest in rows]
    if not values:
        return None
    return max(values) if catalogue.higher_is_worse(metric) else min(values)


def judge(metric: str, before: float, after: float) -> Verdict:
    """``effective`` when the metric moved back by a clear margin, ``worse`` when it moved the
    other way by as much, else ``no_effect``."""
    better = (before - after) if catalogue.higher_is_worse(metric) else (after - before)
    needed = catalogue.margin(metric, before)
    if better >= needed and better > 0:
        return Verdict.EFFECTIVE
    if -better >= needed and better < 0:
        return Verdict.WORSE
    return Verdict.NO_EFFECT


VERDICT_WORDS = {
    Verdict.EFFECTIVE: "effective",
    Verdict.NO_EFFECT: "no clear effect",
    Verdict.WORSE: "made it worse",
}


def verify_due(cur: Cursor, *, company: str, now: datetime) -> list[Attempt]:
    """Judge the attempts whose settle time has passed (in the caller's transaction); each verdict
    is stored and told on the timeline (kind ``verification``). Returns the attempts judged.
    Attempts that were never carried out are failed on the way (``ABANDONED_AFTER``)."""
    _fail_abandoned(cur, company=company, now=now)
    rows = cur.execute(
        f"""SELECT {COLUMNS} FROM action_attempts
            WHERE company = ? AND verdict = 'pending' AND outcome = 'succeeded' AND settle_until <= ?
            ORDER BY settle_until, id""",
        [company, now],
    ).fetchall()
    judged = []
    for attempt in (Attempt.from_row(r) for r in rows):
        done = _verify(cur, attempt, now)
        if done is not None:
            judged.append(done)
    return judged


def _verify(cur: Cursor, attempt: Attempt, now: datetime) -> Attempt | None:
    assert attempt.settle_until is not None and attempt.metric is not None
    services = attempt.watched or (attempt.service,)
    after = recent_value(
        cur, company=attempt.company, services=services, metric=attempt.metric, at=attempt.settle_until,
        not_before=attempt.finished_at or attempt.at,
    )  # fmt: skip
    where = attempt.service if services == (attempt.service,) else ", ".join(services)
    what = f"{catalogue.label(attempt.action).capitalize()} on {attempt.service}"
    if after is None or attempt.before_value is None:
        if after is None and now < attempt.settle_until + catalogue.VERIFY_GRACE:
            return None  # samples may still be on their way
        verdict, message = (
            None,
            (
                f"{what}: could not be verified, {where} reported no {attempt.metric} "
                f"{'before' if attempt.before_value is None else 'after'} it"
            ),
        )
    else:
        verdict = judge(attempt.metric, attempt.before_value, after)
        message = (
            f"{what}: {VERDICT_WORDS[verdict]} — {catalogue.metric_label(attempt.metric)} on {where} "
            f"{format_value(attempt.metric, attempt.before_value)} before, "
            f"{format_value(attempt.metric, after)} after"
        )
    row = cur.execute(
        f"UPDATE action_attempts SET verdict = ?, after_value = ? WHERE id = ? AND verdict = 'pending' "
        f"RETURNING {COLUMNS}",
        [verdict and verdict.value, after, attempt.id],
    ).fetchall()
    if not row:
        return None  # judged meanwhile
    add_event(
        cur, company=attempt.company, incident_id=attempt.incident_id, ts=now, kind="verification",
        actor=SYSTEM, message=message, outcome=verdict.value if verdict else None,
        data={"attempt_id": attempt.id, "action": attempt.action, "metric": attempt.metric,
              "services": list(services), "before": attempt.before_value, "after": after},
    )  # fmt: skip
    return Attempt.from_row(row[0])


def _fail_abandoned(cur: Cursor, *, company: str, now: datetime) -> None:
    rows = cur.execute(
        f"""UPDATE action_attempts SET outcome = 'failed', verdict = NULL, finished_at = ?,
               detail = 'never carried out: the dispatch stopped before it recorded an outcome'
            WHERE company = ? AND outcome = 'pending' AND requested_at < ? RETURNING {COLUMNS}""",
        [now, company, now - catalogue.ABANDONED_AFTER],
    ).fetchall()
    for attempt in (Attempt.from_row(r) for r in rows):
        what = f"{catalogue.label(attempt.action).capitalize()} on {attempt.service}"
        add_event(
            cur, company=company, incident_id=attempt.incident_id, ts=now, kind="executed", actor=SYSTEM,
            message=f"{what} failed: {attempt.detail}",
            outcome=attempt.outcome, data={"attempt_id": attempt.id, "action": attempt.action},
        )  # fmt: skip
