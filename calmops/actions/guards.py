"""The guard rails an automatic action must pass (DESIGN.md, step 3).

Checked in the planner's transaction against ``action_attempts``: an action runs by itself only
when it is ``safe`` and executable, has not failed to help this incident before, is not still
being judged here, and stays within its service's hourly limit and cooldown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from calmops.actions import catalogue
from calmops.actions.catalogue import GuardRails
from calmops.store.db import Cursor, first
from calmops.timefmt import ago, duration
from calmops.vocabulary import ACTION_RISK, Action, Risk

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Refusal:
    """Why an automatic action may not run now. ``code`` names the rail; ``since`` is the newest
    attempt that made it so (a repeat of the same refusal after it is not news)."""

    code: str
    message: str
    since: datetime | None = None


def check(
    cur: Cursor,
    *,
    company: str,
    incident_id: int,
    service: str,
    action: Action,
    now: datetime,
    rails: GuardRails,
) -> Refusal | None:
    """The first rail ``action`` breaks, or None when it may run now."""
    name = catalogue.label(action)
    if action in catalogue.RECOMMEND_ONLY:
        return Refusal(
            "recommend_only", f"{name} is a recommendation for a person, not something CalmOps runs by itself"
        )
    risk = ACTION_RISK[action]
    if risk != Risk.SAFE:
        return Refusal(
            "risk", f"{name} is {risk.value} risk: only safe actions run by themselves; it needs an approval"
        )
    judged = first(
        cur,
        """SELECT verdict, requested_at FROM action_attempts
           WHERE company = ? AND incident_id = ? AND action = ? AND verdict IS NOT NULL
           ORDER BY requested_at DESC, id DESC LIMIT 1""",
        [company, incident_id, action.value],
    )
    if judged is not None and judged[0] in ("no_effect", "worse"):
        words = "made it worse" if judged[0] == "worse" else "had no clear effect"
        return Refusal(
            "did_not_help", f"{name} {words} on this incident at {judged[1]:%H:%M} UTC; it is not repeated",
            judged[1],
        )  # fmt: skip
    recent = [
        r[0]
        for r in cur.execute(
            """SELECT requested_at FROM action_attempts
               WHERE company = ? AND service = ? AND action = ? AND outcome <> 'skipped' AND requested_at > ?
               ORDER BY requested_at DESC""",
            [company, service, action.value, now - timedelta(hours=1)],
        ).fetchall()
    ]
    if len(recent) >= rails.max_per_hour:
        free_at = recent[rails.max_per_hour - 1] + timedelta(hours=1)
        return Refusal(
            "rate_limit",
            f"{name} ran {len(recent)} times on {service} in the last hour (at most {rails.max_per_hour}); "
            f"allowed again at {free_at:%H:%M} UTC",
            recent[0],
        )
    if recent and now - recent[0] < rails.cooldown:
        return Refusal(
            "cooldown",
            f"{name} ran on {service} {ago(recent[0], now)}; the cooldown is {duration(rails.cooldown)} "
            f"(until {recent[0] + rails.cooldown:%H:%M} UTC)",
            recent[0],
        )
    if judged is not None and judged[0] == "pending":
        return Refusal(
            "settling", f"{name} ran on this incident at {judged[1]:%H:%M} UTC and is still being verified",
            judged[1],
        )  # fmt: skip
    return None


def is_news(
    cur: Cursor, *, company: str, incident_id: int, service: str, action: Action, refusal: Refusal
) -> bool:
    """Whether this refusal is worth recording: not when the same rail already refused the same
    action on this incident since the attempt that set it (every evaluation round asks again)."""
    seen = first(
        cur,
        """SELECT 1 FROM action_attempts
           WHERE company = ? AND incident_id = ? AND service = ? AND action = ? AND outcome = 'skipped'
             AND refusal = ? AND requested_at >= ? LIMIT 1""",
        [company, incident_id, service, action.value, refusal.code, refusal.since or EPOCH],
    )
    return seen is None
