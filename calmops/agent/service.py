"""The agent's writes: briefs with their versions, the recommendation, safe auto-actions.

`refresh` runs in the caller's transaction: it reads the incident's situation, classifies it,
composes the brief and stores it — a new version when its substance changed (with a `brief` event
on the timeline), else the latest version refreshed in place — and keeps the incident's one live
recommendation: same action, same id and version; another action, the old one is `superseded`.
`after_detection` is the flow the detector hands over to: each touched incident in a transaction
of its own, then the planned auto-actions dispatched outside any transaction (they may call out).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from calmops import actions, clock, incidents, review
from calmops.agent.brief import ACTION_WORDS, Draft, compose
from calmops.agent.evidence import read_situation
from calmops.agent.patterns import classify
from calmops.store.db import Cursor, Database, first, retry_conflicts, unit_of_work
from calmops.timeio import to_iso
from calmops.vocabulary import ACTION_RISK, Action, IncidentStatus, RecommendationStatus

log = logging.getLogger(__name__)
ACTOR = "agent"
REFRESH_EVERY = timedelta(seconds=60)  # active incidents nobody touched get a fresh reading this often


@dataclass(frozen=True)
class Stored:
    incident_id: int
    version: int
    new_version: bool
    draft: Draft
    recommendation: dict
    planned: tuple[int, ...] = ()  # auto-action attempts to dispatch after the transaction


def fingerprint(draft: Draft, recommendation_id: int) -> str:
    """What makes a new version: a different story, not a newer reading of the same one."""
    parts = [
        draft.pattern.value,
        draft.origin,
        str(recommendation_id),
        draft.recommended.action.value,
        draft.confidence.value,
        str(draft.customer_impact),
        draft.stage,
        "|".join(f"{a.get('id')}:{a.get('outcome')}:{a.get('verdict')}" for a in draft.auto_actions),
    ]
    return hashlib.sha1("/".join(parts).encode()).hexdigest()[:16]


def _recommendation_json(row: tuple) -> dict:
    (
        rec_id,
        action,
        risk,
        reason,
        effect,
        status,
        version,
        confidence,
        created,
        decided_by,
        decided_at,
        note,
        incident_id,
    ) = row
    return {
        "id": rec_id,
        "incident_id": incident_id,
        "action": action,
        "risk": risk,
        "reason": reason,
        "expected_effect": effect,
        "status": status,
        "version": version,
        "confidence": confidence,
        "created_at": to_iso(created),
        "decided_by": decided_by,
        "decided_at": to_iso(decided_at),
        "note": note,
    }


_REC_COLUMNS = """id, action, risk, reason, expected_effect, status, version, confidence, created_at,
    decided_by, decided_at, note, incident_id"""


def recommendations(cur: Cursor, *, company: str, incident_id: int) -> list[dict]:
    """Every recommendation the agent made for the incident, oldest first."""
    rows = cur.execute(
        f"SELECT {_REC_COLUMNS} FROM recommendations WHERE company = ? AND incident_id = ?",
        [company, incident_id],
    ).fetchall()
    return [_recommendation_json(r) for r in sorted(rows, key=lambda r: r[0])]


def recommendations_by_id(cur: Cursor, *, company: str, ids: list[int]) -> list[dict]:
    """Recommendations of ``company`` by id (another company's ids are simply not found)."""
    if not ids:
        return []
    marks = ", ".join("?" for _ in ids)
    rows = cur.execute(
        f"SELECT {_REC_COLUMNS} FROM recommendations WHERE company = ? AND id IN ({marks})", [company, *ids]
    ).fetchall()
    return [_recommendation_json(r) for r in rows]


def _keep_recommendation(cur: Cursor, *, company: str, incident_id: int, draft: Draft, now: datetime) -> dict:
    """The incident's current recommendation for ``draft``: the proposed one when it recommends
    the same action (its reasons refreshed), else a new one, the old proposal superseded. An action
    a person already decided on is not proposed again."""
    rec = draft.recommended
    existing = recommendations(cur, company=company, incident_id=incident_id)
    same = [r for r in existing if r["action"] == rec.action.value and r["status"] != "superseded"]
    if same:
        current = same[-1]
        if current["status"] == RecommendationStatus.PROPOSED.value:
            cur.execute(
                "UPDATE recommendations SET reason = ?, expected_effect = ?, confidence = ? WHERE id = ?",
                [rec.reason, rec.expected_effect, draft.confidence.value, current["id"]],
            )
            current = {**current, "reason": rec.reason, "expected_effect": rec.expected_effect}
        return current
    for old in existing:
        if old["status"] == RecommendationStatus.PROPOSED.value:
            cur.execute(
                "UPDATE recommendations SET status = 'superseded', version = version + 1 WHERE id = ?",
                [old["id"]],
            )
            incidents.add_event(
                cur, company=company, incident_id=incident_id, ts=now, kind="updated", actor=ACTOR,
                message=f"Recommendation to {ACTION_WORDS[Action(old['action'])]} superseded: the agent now "
                f"recommends to {ACTION_WORDS[rec.action]}",
                data={"recommendation_id": old["id"], "superseded_by": rec.action.value},
            )  # fmt: skip
    row = cur.execute(
        f"""INSERT INTO recommendations (company, incident_id, action, risk, reason, expected_effect,
               confidence, status, version, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, 'proposed', 1, ?) RETURNING {_REC_COLUMNS}""",
        [company, incident_id, rec.action.value, ACTION_RISK[rec.action].value, rec.reason,
         rec.expected_effect, draft.confidence.value, now],
    ).fetchall()[0]  # fmt: skip
    return _recommendation_json(row)


def latest_brief(cur: Cursor, *, company: str, incident_id: int) -> tuple[int, dict, datetime] | None:
    """The newest stored brief of an incident: (version, body, updated_at)."""
    row = first(
        cur,
        """SELECT version, body, updated_at FROM briefs WHERE company = ? AND incident_id = ?
           ORDER BY version DESC LIMIT 1""",
        [company, incident_id],
    )
    return (row[0], json.loads(row[1]), row[2]) if row else None


def current_brief(cur: Cursor, *, company: str, incident_id: int) -> dict | None:
    """The brief as the API answers it, its recommendation's status read fresh from the store."""
    found = latest_brief(cur, company=company, incident_id=incident_id)
    if found is None:
        return None
    version, body, _ = found
    rec_id = (body.get("recommendation") or {}).get("id")
    if rec_id is not None:
        fresh = [
            r for r in recommendations(cur, company=company, incident_id=incident_id) if r["id"] == rec_id
        ]
        if fresh:
            body["recommendation"] = _public_recommendation(fresh[0])
    return {**body, "version": version}


def _public_recommendation(rec: dict) -> dict:
    keys = ("id", "action", "risk", "reason", "expected_effect", "status", "version")
    return {k: rec[k] for k in keys}


def refresh(
    cur: Cursor, *, company: str, incident_id: int, now: datetime | None = None, act: bool = True
) -> Stored | None:
    """Write the incident's brief as of ``now`` (in the caller's transaction); None if unknown.

    With ``act``, the pattern's safe actions are asked for first (the guard rails decide), so the
    brief already lists what is being done; the attempts are dispatched after the transaction.
    """
    now = now or clock.now()
    detail = incidents.get_incident(cur, company=company, incident_id=incident_id)
    if detail is None:
        return None
    until = detail.summary.resolved_at or now
    sit = read_situation(cur, detail=detail, now=until)
    finding, others = classify(sit)
    attempts = _attempts(cur, company, incident_id)
    saved = review.runbook_for(cur, company=company, pattern=finding.pattern.value)
    draft = compose(sit, finding, others, attempts, saved)
    planned: tuple[int, ...] = ()
    if act and detail.summary.status not in (IncidentStatus.RESOLVED, IncidentStatus.MONITORING):
        planned = _plan_auto(cur, company=company, incident_id=incident_id, draft=draft, now=now)
        after = _attempts(cur, company, incident_id)
        if after != attempts:  # asked for, or refused on record: the brief says so
            draft = compose(sit, finding, others, after, saved)
    rec = _keep_recommendation(cur, company=company, incident_id=incident_id, draft=draft, now=now)
    body = draft.to_json(recommendation=_public_recommendation(rec))
    mark = fingerprint(draft, rec["id"])
    previous = first(
        cur,
        """SELECT version, fingerprint FROM briefs WHERE company = ? AND incident_id = ?
           ORDER BY version DESC LIMIT 1""",
        [company, incident_id],
    )
    if previous is not None and previous[1] == mark:
        cur.execute(
            "UPDATE briefs SET body = ?, updated_at = ? WHERE incident_id = ? AND version = ?",
            [json.dumps(body), now, incident_id, previous[0]],
        )
        return Stored(incident_id, previous[0], False, draft, rec, planned)
    version = (previous[0] if previous else 0) + 1
    cur.execute(
        """INSERT INTO briefs (company, incident_id, version, pattern, confidence, fingerprint, body,
               created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [
            company,
            incident_id,
            version,
            draft.pattern.value,
            draft.confidence.value,
            mark,
            json.dumps(body),
            now,
            now,
        ],
    )
    cur.execute(
        "UPDATE incidents SET pattern = ? WHERE id = ? AND company = ?",
        [draft.pattern.value, incident_id, company],
    )
    incidents.add_event(
        cur, company=company, incident_id=incident_id, ts=now, kind="brief", actor=ACTOR,
        message=f"Brief v{version} ({draft.confidence.value} confidence): {draft.summary}",
        data={"version": version, "pattern": draft.pattern.value, "recommendation_id": rec["id"],
              "action": rec["action"], "confidence": draft.confidence.value},
    )  # fmt: skip
    return Stored(incident_id, version, True, draft, rec, planned)


def _attempts(cur: Cursor, company: str, incident_id: int) -> list[dict]:
    return [a.to_json() for a in actions.list_attempts(cur, company=company, incident_id=incident_id)]


def _plan_auto(
    cur: Cursor, *, company: str, incident_id: int, draft: Draft, now: datetime
) -> tuple[int, ...]:
    """Ask for the pattern's safe actions on the origin service; `calmops.actions`' guard rails
    (safe only, rate limit, cooldown, no repeat of what did not help) decide whether each runs."""
    planned = []
    for action in draft.auto_planned:
        attempt = actions.plan_auto(
            cur, company=company, incident_id=incident_id, service=draft.origin, action=action,
            reason=draft.headline, metric=draft.metric or None, now=now,
        )  # fmt: skip
        if attempt is not None:
            planned.append(attempt.id)
    return tuple(planned)


def _stale_active(cur: Cursor, *, company: str, now: datetime) -> list[int]:
    rows = cur.execute(
        """SELECT i.id, max(b.updated_at) FROM incidents i LEFT JOIN briefs b ON b.incident_id = i.id
           WHERE i.company = ? AND i.status <> 'resolved' GROUP BY i.id""",
        [company],
    ).fetchall()
    return [r[0] for r in rows if r[1] is None or now - r[1] >= REFRESH_EVERY]


def after_detection(
    db: Database,
    *,
    company: str,
    incident_ids: Iterable[int],
    now: datetime | None = None,
    cur: Cursor | None = None,
    opened: Iterable[int] = (),
) -> list[Stored]:
    """Brief every incident detection touched, and every active one whose brief is getting old;
    verify earlier auto-actions whose settle time has come; then run the planned safe actions
    (outside any transaction: an executor may call out). Then the people: the on-call channel
    hears of the ``opened`` incidents, and escalation flags and reminders follow the new briefs.
    ``cur`` defaults to this thread's."""
    now = now or clock.now()
    cur = cur or db.cursor()
    opened = list(opened)
    with unit_of_work(cur):
        actions.verify_due(cur, company=company, now=now)
        wanted = sorted(set(incident_ids) | set(_stale_active(cur, company=company, now=now)))
    done: list[Stored] = []
    planned: list[int] = []
    for incident_id in wanted:
        try:
            stored = retry_conflicts(
                lambda i=incident_id: _refresh_one(cur, company=company, incident_id=i, now=now)
            )
        except Exception:
            log.exception("brief for incident %s of %s failed", incident_id, company)
            continue
        if stored is not None:
            done.append(stored)
            planned += stored.planned
    if planned:
        actions.dispatch(db, attempt_ids=planned, now=now)
        for stored in [s for s in done if s.planned]:  # the brief says how the actions went
            retry_conflicts(
                lambda i=stored.incident_id: _refresh_one(
                    cur, company=company, incident_id=i, now=now, act=False
                )
            )
    _people(db, company=company, opened=opened, now=now)
    return done


def _people(db: Database, *, company: str, opened: list[int], now: datetime) -> None:
    """Notifications and escalation read the briefs just written; their failure never undoes them."""
    from calmops import notify
    from calmops.workflow import escalation

    for step in (
        lambda: notify.after_detection(db, company=company, opened=opened, now=now),
        lambda: escalation.after_detection(db, company=company, now=now),
    ):
        try:
            step()
        except Exception:
            log.exception("notifying or escalating after detection failed for %s", company)


def _refresh_one(
    cur: Cursor, *, company: str, incident_id: int, now: datetime, act: bool = True
) -> Stored | None:
    with unit_of_work(cur):
        return refresh(cur, company=company, incident_id=incident_id, now=now, act=act)


@dataclass(frozen=True)
class Headline:
    """What a list row shows of an incident's brief: the summary and the recommendation."""

    pattern: str
    summary: str
    action: str | None
    risk: str | None
    status: str | None

    def to_json(self) -> dict:
        recommendation = None
        if self.action:
            recommendation = {"action": self.action, "risk": self.risk, "status": self.status}
        return {"pattern": self.pattern, "summary": self.summary, "recommendation": recommendation}


def headlines(cur: Cursor, *, company: str, incident_ids: list[int]) -> dict[int, Headline]:
    """The newest brief's summary and recommendation of each listed incident (two queries a page)."""
    if not incident_ids:
        return {}
    marks = ", ".join("?" for _ in incident_ids)
    rows = cur.execute(
        f"""SELECT incident_id, arg_max(pattern, version), arg_max(body->>'summary', version),
                   arg_max(CAST(body->'recommendation'->>'id' AS BIGINT), version)
            FROM briefs WHERE company = ? AND incident_id IN ({marks}) GROUP BY incident_id""",
        [company, *incident_ids],
    ).fetchall()
    rec_ids = [r[3] for r in rows if r[3] is not None]
    recs = {}
    if rec_ids:
        marks = ", ".join("?" for _ in rec_ids)
        recs = {
            r[0]: r[1:]
            for r in cur.execute(
                f"SELECT id, action, risk, status FROM recommendations WHERE company = ? AND id IN ({marks})",
                [company, *rec_ids],
            ).fetchall()
        }
    out = {}
    for incident_id, pattern, text, rec_id in rows:
        action, risk, status = recs.get(rec_id, (None, None, None))
        out[incident_id] = Headline(pattern, text or "", action, risk, status)
    return out
