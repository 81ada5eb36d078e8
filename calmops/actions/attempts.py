"""Action attempts as stored in ``action_attempts``: one row per try, refused ones included."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from calmops.store.db import Cursor, first
from calmops.timeio import to_iso


class Outcome(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"


class Verdict(StrEnum):
    PENDING = "pending"
    EFFECTIVE = "effective"
    NO_EFFECT = "no_effect"
    WORSE = "worse"


class Kind(StrEnum):
    AUTO = "auto"
    APPROVED = "approved"


COLUMNS = (
    "id, company, incident_id, service, action, risk, kind, recommendation_id, requested_by, reason, "
    "metric, requested_at, outcome, verdict, before_value, after_value, settle_until, refusal, executor, "
    "started_at, finished_at, detail, response, watched"
)


@dataclass(frozen=True)
class Attempt:
    """One attempt to run an action on a service for an incident, and what came of it."""

    id: int
    company: str
    incident_id: int
    service: str
    action: str
    risk: str
    kind: str
    recommendation_id: int | None
    requested_by: str
    reason: str
    metric: str | None
    at: datetime
    outcome: str
    verdict: str | None
    before_value: float | None
    after_value: float | None
    settle_until: datetime | None
    refusal: str | None
    executor: str | None
    started_at: datetime | None
    finished_at: datetime | None
    detail: str
    response: dict | None
    watched: tuple[str, ...] | None  # the services the metric is judged on (None: ``service``)

    @classmethod
    def from_row(cls, row: tuple) -> Attempt:
        values = list(row)
        values[22] = json.loads(values[22]) if values[22] else None
        values[23] = tuple(values[23]) if values[23] else None
        return cls(*values)

    def to_json(self) -> dict:
        """The attempt as the API and the timeline show it (times ISO 8601 UTC)."""
        return {
            "id": self.id,
            "incident_id": self.incident_id,
            "service": self.service,
            "action": self.action,
            "risk": self.risk,
            "kind": self.kind,
            "recommendation_id": self.recommendation_id,
            "requested_by": self.requested_by,
            "reason": self.reason,
            "metric": self.metric,
            "at": to_iso(self.at),
            "outcome": self.outcome,
            "verdict": self.verdict,
            "before_value": self.before_value,
            "after_value": self.after_value,
            "settle_until": to_iso(self.settle_until),
            "refusal": self.refusal,
            "executor": self.executor,
            "started_at": to_iso(self.started_at),
            "finished_at": to_iso(self.finished_at),
            "detail": self.detail,
            "response": self.response,
            "watched": list(self.watched) if self.watched else None,
        }


def get_attempt(cur: Cursor, *, attempt_id: int, company: str | None = None) -> Attempt | None:
    sql, params = f"SELECT {COLUMNS} FROM action_attempts WHERE id = ?", [attempt_id]
    if company is not None:
        sql += " AND company = ?"
        params.append(company)
    row = first(cur, sql, params)
    return Attempt.from_row(row) if row else None


def list_attempts(cur: Cursor, *, company: str, incident_id: int) -> list[Attempt]:
    """Every attempt on an incident, refused ones included, oldest first."""
    rows = cur.execute(
        f"SELECT {COLUMNS} FROM action_attempts WHERE company = ? AND incident_id = ? "
        "ORDER BY requested_at, id",
        [company, incident_id],
    ).fetchall()
    return [Attempt.from_row(r) for r in rows]


def insert_attempt(
    cur: Cursor,
    *,
    company: str,
    incident_id: int,
    service: str,
    action: str,
    risk: str,
    kind: Kind,
    requested_by: str,
    reason: str,
    metric: str | None,
    at: datetime,
    outcome: Outcome = Outcome.PENDING,
    verdict: Verdict | None = None,
    before_value: float | None = None,
    settle_until: datetime | None = None,
    recommendation_id: int | None = None,
    refusal: str | None = None,
    detail: str = "",
    finished_at: datetime | None = None,
    watched: tuple[str, ...] | None = None,
) -> Attempt:
    """Insert one attempt (in the caller's transaction) and return it as stored."""
    row = cur.execute(
        f"""INSERT INTO action_attempts (company, incident_id, service, action, risk, kind,
               recommendation_id, requested_by, reason, metric, requested_at, outcome, verdict, before_value,
               settle_until, refusal, detail, finished_at, watched)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING {COLUMNS}""",
        [company, incident_id, service, action, risk, Kind(kind).value, recommendation_id, requested_by,
         reason, metric, at, Outcome(outcome).value, verdict and Verdict(verdict).value, before_value,
         settle_until, refusal, detail, finished_at, list(watched) if watched else None],
    ).fetchall()[0]  # fmt: skip
    return Attempt.from_row(row)
