"""Escalation (RUNBOOK step 6): when to bring in the technical lead, and doing it.

The rules flag an active incident when it is critical and unresolved for 30 minutes (per company),
has customer impact, waits on a recommendation beyond safe stabilisation (a ``proposed`` one of
risk ``medium`` or ``high``), or the brief's confidence is low. The reasons are kept in
``escalation_flags`` and the incident carries the ``needs_escalation`` flag while a reason is not
covered by an actual escalation. ``escalate`` documents the current state (brief, what was tried,
open recommendations), records an ``escalated`` event, sets the ``escalated`` flag and notifies the
``lead`` channel; while an escalated or new incident is not acknowledged, ``remind_due`` reminds
every 15 minutes (per company).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb

from calmops import agent, clock, incidents, notify
from calmops.auth import Identity, Permission
from calmops.incidents import SYSTEM, IncidentDetail
from calmops.store.db import RACES, Cursor, Database, first, retry_conflicts, unit_of_work
from calmops.timeio import to_iso
from calmops.workflow import common
from calmops.workflow.errors import Invalid, NotAllowed

NEEDS = "needs_escalation"
ESCALATED = "escalated"
CRITICAL_AFTER_MIN = 30
REMIND_EVERY_MIN = 15
REASON_MAX = 500
BEYOND_SAFE = ("medium", "high")
LIMITS_MIN = (1, 24 * 60)


@dataclass(frozen=True)
class Settings:
    critical_after: timedelta
    remind_every: timedelta

    def to_json(self) -> dict:
        return {
            "critical_after_min": int(self.critical_after.total_seconds() // 60),
            "remind_every_min": int(self.remind_every.total_seconds() // 60),
        }


def settings(cur: Cursor, *, company: str) -> Settings:
    row = first(
        cur,
        "SELECT critical_after_min, remind_every_min FROM escalation_settings WHERE company = ?",
        [company],
    )
    critical, remind = row if row else (CRITICAL_AFTER_MIN, REMIND_EVERY_MIN)
    return Settings(timedelta(minutes=critical), timedelta(minutes=remind))


def _minutes(value: object, field: str) -> int | None:
    if value is None:
        return None
    low, high = LIMITS_MIN
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise Invalid(f"{field} must be a whole number of minutes from {low} to {high}", field=field)
    return value


def set_settings(
    cur: Cursor,
    *,
    company: str,
    actor: Identity,
    critical_after_min: object = None,
    remind_every_min: object = None,
) -> Settings:
    """Change a company's escalation timing (what is not given stays); one transaction, audited."""
    who = common.acting(actor, Permission.TUNE, company)
    critical = _minutes(critical_after_min, "critical_after_min")
    remind = _minutes(remind_every_min, "remind_every_min")
    now = clock.now()

    def work() -> Settings:
        with unit_of_work(cur):
            before = settings(cur, company=company)
            after = Settings(
                timedelta(minutes=critical) if critical is not None else before.critical_after,
                timedelta(minutes=remind) if remind is not None else before.remind_every,
            )
            values = after.to_json()
            cur.execute(
                """INSERT INTO escalation_settings (company, critical_after_min, remind_every_min, updated_at,
                       updated_by) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET
                       critical_after_min = excluded.critical_after_min,
                       remind_every_min = excluded.remind_every_min, updated_at = excluded.updated_at,
                       updated_by = excluded.updated_by""",
                [company, values["critical_after_min"], values["remind_every_min"], now, who],
            )
            incidents.audit(
                cur, company=company, ts=now, actor=who, action="escalation_settings.set",
                entity="company", entity_id=company, before=before.to_json(), after=values,
            )  # fmt: skip
        return after

    return retry_conflicts(work, on=(duckdb.TransactionException, duckdb.ConstraintException))


# --------------------------------------------------------------------------- the rules


def _minutes_text(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def reasons_for(
    cur: Cursor, *, detail: IncidentDetail, now: datetime, brief: dict | None = None
) -> list[dict]:
    """Why the rules say this incident needs the technical lead: ``[{"code", "text"}]``, in the
    runbook's order; empty for a resolved incident."""
    s = detail.summary
    if not s.active:
        return []
    company, incident_id = s.company, s.id
    if brief is None:
        brief = agent.current_brief(cur, company=company, incident_id=incident_id) or {}
    found = []
    timing = settings(cur, company=company)
    age = now - s.started_at
    if s.severity.value == "critical" and age >= timing.critical_after:
        found.append({
            "code": "critical_unresolved",
            "text": f"Critical and unresolved for {_minutes_text(age)} "
            f"(the rule: {_minutes_text(timing.critical_after)})",
        })  # fmt: skip
    if brief.get("customer_impact") or "customer_impact" in s.flags:
        found.append({"code": "customer_impact", "text": "Customers are affected"})
    beyond = [
        r
        for r in agent.recommendations(cur, company=company, incident_id=incident_id)
        if r["status"] == "proposed" and r["risk"] in BEYOND_SAFE
    ]
    if beyond:
        words = ", ".join(f"{r['action'].replace('_', ' ')} ({r['risk']} risk)" for r in beyond)
        found.append({
            "code": "beyond_safe_stabilisation",
            "text": f"Waits on an action beyond safe stabilisation: {words}",
        })  # fmt: skip
    if brief.get("confidence") == "low":
        found.append(
            {"code": "low_confidence", "text": "The agent's confidence is low: the situation is unclear"}
        )
    return found


def flags_for(cur: Cursor, *, company: str, incident_id: int, now: datetime | None = None) -> list[dict]:
    """The escalation reasons of one incident as of ``now`` (NotFound when unknown)."""
    detail = common.load(cur, company=company, incident_id=incident_id)
    return reasons_for(cur, detail=detail, now=now or clock.now())


def _stored(cur: Cursor, incident_id: int) -> tuple[list[dict], list[str], datetime | None] | None:
    row = first(
        cur,
        "SELECT reasons, escalated_codes, since FROM escalation_flags WHERE incident_id = ?",
        [incident_id],
    )
    if row is None:
        return None
    return json.loads(row[0]), list(row[1] or []), row[2]


def _set_flags(
    cur: Cursor, *, detail: IncidentDetail, add: tuple[str, ...] = (), remove: tuple[str, ...] = ()
) -> list[str]:
    """Change the incident's flags without touching its version: these flags are derived state,
    and an operator's form read at the current version must not go stale because of them."""
    old = list(detail.summary.flags)
    new = [f for f in old if f not in remove]
    new += [f for f in add if f not in new]
    if new != old:
        cur.execute(
            "UPDATE incidents SET flags = ? WHERE id = ? AND company = ?",
            [new, detail.summary.id, detail.summary.company],
        )
    return new


def refresh_one(cur: Cursor, *, detail: IncidentDetail, now: datetime) -> list[dict]:
    """Re-judge one incident in the caller's transaction: store its reasons, set or clear the
    ``needs_escalation`` flag (audited when it changes). Answers the reasons not yet covered."""
    s = detail.summary
    reasons = reasons_for(cur, detail=detail, now=now)
    stored = _stored(cur, s.id)
    covered = stored[1] if stored else []
    codes = [r["code"] for r in reasons]
    if stored is None:
        if reasons:
            cur.execute(
                """INSERT INTO escalation_flags
                       (company, incident_id, reasons, escalated_codes, since, updated_at)
                   VALUES (?, ?, ?, [], ?, ?)""",
                [s.company, s.id, json.dumps(reasons), now, now],
            )
    elif stored[0] != reasons:
        since = stored[2] if [r["code"] for r in stored[0]] == codes and stored[2] else now
        cur.execute(
            "UPDATE escalation_flags SET reasons = ?, since = ?, updated_at = ? WHERE incident_id = ?",
            [json.dumps(reasons), since if reasons else None, now, s.id],
        )
    open_reasons = [r for r in reasons if r["code"] not in covered]
    had = NEEDS in s.flags
    if open_reasons and not had:
        _set_flags(cur, detail=detail, add=(NEEDS,))
        incidents.audit(
            cur, company=s.company, ts=now, actor=SYSTEM, action="escalation.flag", entity="incident",
            entity_id=s.id, before={"flags": list(s.flags)}, after={"needs_escalation": open_reasons},
        )  # fmt: skip
    elif had and not open_reasons:
        _set_flags(cur, detail=detail, remove=(NEEDS,))
        incidents.audit(
            cur, company=s.company, ts=now, actor=SYSTEM, action="escalation.unflag", entity="incident",
            entity_id=s.id, before={"flags": list(s.flags)}, after={"needs_escalation": []},
        )  # fmt: skip
    return open_reasons


def refresh_escalation_flags(
    db: Database, *, company: str, now: datetime | None = None
) -> dict[int, list[dict]]:
    """Re-judge every active incident of ``company`` (and clear the flag of resolved ones), each in
    a transaction of its own. Answers the incidents that need escalation, with their open reasons."""
    now = now or clock.now()
    cur = db.cursor()
    rows = cur.execute(
        "SELECT id FROM incidents WHERE company = ? AND (status <> 'resolved' OR list_contains(flags, ?))",
        [company, NEEDS],
    ).fetchall()
    out: dict[int, list[dict]] = {}
    for (incident_id,) in rows:

        def work(i: int = incident_id) -> list[dict]:
            with unit_of_work(cur):
                detail = incidents.get_incident(cur, company=company, incident_id=i)
                return [] if detail is None else refresh_one(cur, detail=detail, now=now)

        reasons = retry_conflicts(work, on=RACES)
        if reasons:
            out[incident_id] = reasons
    return out


def needs(cur: Cursor, *, company: str, incident_id: int) -> dict:
    """What the list and the page show: ``{"needs_escalation": bool, "reasons": [...] (not yet
    covered), "all_reasons": [...], "since"}``, as last judged."""
    stored = _stored(cur, incident_id)
    if stored is None:
        return {"needs_escalation": False, "reasons": [], "all_reasons": [], "since": None}
    reasons, covered, since = stored
    open_reasons = [r for r in reasons if r["code"] not in covered]
    return {
        "needs_escalation": bool(open_reasons),
        "reasons": open_reasons,
        "all_reasons": reasons,
        "since": to_iso(since),
    }


def open_reasons(cur: Cursor, *, detail: IncidentDetail, now: datetime) -> list[dict]:
    """The reasons the rules give right now that no escalation covered yet (what the page shows,
    without waiting for the next detection round to store them)."""
    stored = _stored(cur, detail.summary.id)
    covered = stored[1] if stored else []
    return [r for r in reasons_for(cur, detail=detail, now=now) if r["code"] not in covered]


def needs_many(cur: Cursor, *, company: str, incident_ids: list[int]) -> dict[int, list[dict]]:
    """The open reasons of each listed incident that needs escalation (one query for a list page)."""
    if not incident_ids:
        return {}
    marks = ", ".join("?" for _ in incident_ids)
    rows = cur.execute(
        f"""SELECT incident_id, reasons, escalated_codes FROM escalation_flags
            WHERE company = ? AND incident_id IN ({marks})""",
        [company, *incident_ids],
    ).fetchall()
    out = {}
    for incident_id, reasons, covered in rows:
        open_reasons = [r for r in json.loads(reasons) if r["code"] not in (covered or [])]
        if open_reasons:
            out[incident_id] = open_reasons
    return out


# --------------------------------------------------------------------------- the documented state


def _tried(cur: Cursor, *, detail: IncidentDetail, brief: dict) -> list[str]:
    """What was tried: the automatic actions with their outcome and verdict, and people's decisions."""
    lines = []
    for a in brief.get("auto_actions") or []:
        verdict = f", verdict {a['verdict']}" if a.get("verdict") else ""
        lines.append(
            f"{str(a.get('action', '?')).replace('_', ' ')} (automatic): {a.get('outcome', '?')}{verdict}"
        )
    for r in agent.recommendations(cur, company=detail.summary.company, incident_id=detail.summary.id):
        if r["status"] in ("approved", "declined", "executing", "succeeded", "failed"):
            who = f" by {r['decided_by']}" if r.get("decided_by") else ""
            lines.append(f"{r['action'].replace('_', ' ')} ({r['risk']} risk): {r['status']}{who}")
    return lines


def _open_recommendations(cur: Cursor, *, detail: IncidentDetail) -> list[str]:
    return [
        f"{r['action'].replace('_', ' ')} ({r['risk']} risk): {r['reason']}".rstrip(": ")
        for r in agent.recommendations(cur, company=detail.summary.company, incident_id=detail.summary.id)
        if r["status"] == "proposed"
    ]


def current_state(cur: Cursor, *, detail: IncidentDetail, now: datetime) -> dict:
    """The documented current state (RUNBOOK step 6.1–6.2): summary, what was tried, open
    recommendations, the escalation reasons."""
    s = detail.summary
    brief = agent.current_brief(cur, company=s.company, incident_id=s.id) or {}
    return {
        "summary": brief.get("summary") or detail.description or s.title,
        "confidence": brief.get("confidence"),
        "tried": _tried(cur, detail=detail, brief=brief),
        "open_recommendations": _open_recommendations(cur, detail=detail),
        "reasons": reasons_for(cur, detail=detail, now=now, brief=brief),
    }


def state_text(detail: IncidentDetail, state: dict) -> str:
    s = detail.summary
    lines = [
        f"Incident #{s.id}: [{s.severity.value}] {s.title} — {s.service}, {s.status.value}",
        f"Summary: {state['summary']}",
        "What was tried:",
        *([f"- {t}" for t in state["tried"]] or ["- nothing yet"]),
        "Open recommendations:",
        *([f"- {r}" for r in state["open_recommendations"]] or ["- none"]),
    ]
    return "\n".join(lines)


def escalation_form_defaults(
    cur: Cursor, *, company: str, incident_id: int, now: datetime | None = None
) -> dict:
    """The escalation form pre-filled: ``reason`` from the rules, ``note`` the documented current
    state, and the pieces (``state``) the page may show on their own."""
    now = now or clock.now()
    detail = common.load(cur, company=company, incident_id=incident_id)
    state = current_state(cur, detail=detail, now=now)
    reason = "; ".join(r["text"] for r in state["reasons"]) or "Unclear situation: a second opinion is needed"
    return {"reason": reason, "note": state_text(detail, state), "state": state}


# --------------------------------------------------------------------------- escalate


def escalation_json(cur: Cursor, *, company: str, incident_id: int, notification: dict | None = None) -> dict:
    """The incident's escalation: its flags and version, the latest escalation, how many there were,
    and why the rules flag it."""
    detail = common.load(cur, company=company, incident_id=incident_id)
    s = detail.summary
    row = first(
        cur, "SELECT escalation_reason FROM incidents WHERE id = ? AND company = ?", [incident_id, company]
    )
    events = [e for e in detail.timeline if e.kind == "escalated"]
    last = events[-1] if events else None
    escalation = None
    if s.escalated_at is not None:
        escalation = {
            "at": to_iso(s.escalated_at),
            "reason": row[0] if row else None,
            "by": last.actor if last else None,
            "note": (last.data or {}).get("note") if last else None,
            "count": len(events),
        }
    out = {
        "id": s.id,
        "company": company,
        "status": s.status.value,
        "severity": s.severity.value,
        "version": s.version,
        "flags": list(s.flags),
        "assignee": s.assignee,
        "acknowledged_at": to_iso(detail.acknowledged_at),
        "escalation": escalation,
        **needs(cur, company=company, incident_id=incident_id),
    }
    if notification is not None:
        out["notification"] = notification
    return out


def check_reason(value: object) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise Invalid("reason is required: why the technical lead is needed", field="reason")
    if not isinstance(value, str):
        raise Invalid("reason must be text", field="reason")
    text = value.strip()
    if len(text) > REASON_MAX:
        raise Invalid(f"reason must be at most {REASON_MAX} characters", field="reason")
    return text


def escalate_in(
    cur: Cursor,
    *,
    company: str,
    incident_id: object,
    actor: Identity,
    reason: object,
    note: object,
    now: datetime,
) -> int | None:
    """The escalation in the caller's transaction (approving ``escalate_to_lead`` can call this in
    its own): validated, the event, the audit row, the flags and the lead's notification recorded.
    Answers the notification's id, for ``notify.deliver`` once the transaction committed."""
    who = common.acting(actor, Permission.RESPOND, company)
    why = check_reason(reason)
    words = common.note(note)
    detail = common.load(cur, company=company, incident_id=incident_id)
    s = detail.summary
    if not s.active:
        raise NotAllowed(f"incident {s.id} is resolved; reopen it before escalating", field="id")
    state = current_state(cur, detail=detail, now=now)
    again = s.escalated_at is not None
    flags = [f for f in s.flags if f != NEEDS]
    if ESCALATED not in flags:
        flags.append(ESCALATED)
    cur.execute(
        """UPDATE incidents SET escalated_at = ?, escalation_reason = ?, flags = ?, version = version + 1,
               updated_at = ? WHERE id = ? AND company = ?""",
        [now, why, flags, now, s.id, company],
    )
    codes = [r["code"] for r in state["reasons"]]
    if _stored(cur, s.id) is None:
        cur.execute(
            """INSERT INTO escalation_flags
                       (company, incident_id, reasons, escalated_codes, since, updated_at)
               VALUES (?, ?, ?, ?, ?, ?)""",
            [company, s.id, json.dumps(state["reasons"]), codes, now if codes else None, now],
        )
    else:
        cur.execute(
            "UPDATE escalation_flags SET reasons = ?, escalated_codes = ?, updated_at = ? "
            "WHERE incident_id = ?",
            [json.dumps(state["reasons"]), codes, now, s.id],
        )
    verb = "Re-escalated" if again else "Escalated"
    message = f"{verb} to the technical lead by {who}: {why}"
    common.record(
        cur, detail=detail, kind="escalated", actor=who, message=message, now=now, action="escalate",
        before={"escalated_at": to_iso(s.escalated_at), "flags": list(s.flags)},
        after={"escalated_at": to_iso(now), "reason": why, "flags": flags},
        data={"reason": why, "note": words, "again": again, "reasons": state["reasons"]},
    )  # fmt: skip
    text = "\n".join(
        [
            f"▲ {verb}: [{s.severity.value}] {s.title} — {s.service} (incident #{s.id}, {company})",
            f"Why: {why}",
            *([f"Note from {who}: {words}"] if words else []),
            f"Summary: {state['summary']}",
            "What was tried:",
            *([f"- {t}" for t in state["tried"]] or ["- nothing yet"]),
            "Open recommendations:",
            *([f"- {r}" for r in state["open_recommendations"]] or ["- none"]),
            f"Escalated by {who} at {to_iso(now)}. Please acknowledge on the incident page.",
        ]
    )
    return notify.record(
        cur, company=company, incident_id=s.id, channel="lead", kind="escalation", text=text, now=now
    )


def escalate(
    db: Database,
    *,
    company: str,
    incident_id: object,
    actor: Identity,
    reason: object,
    note: object = None,
    now: datetime | None = None,
) -> dict:
    """Escalate to the technical lead: one transaction (event, audit, flags, the notification on
    record), then the notification sent. A second escalation is a re-escalation, recorded too.
    Answers ``escalation_json`` with the notification."""
    now = now or clock.now()
    cur = db.cursor()

    def work() -> int | None:
        with unit_of_work(cur):
            return escalate_in(
                cur, company=company, incident_id=incident_id, actor=actor, reason=reason, note=note, now=now
            )

    notification_id = retry_conflicts(work)
    sent = notify.deliver(db, [notification_id])
    return escalation_json(
        cur, company=company, incident_id=incident_id, notification=sent[0].to_json() if sent else None
    )


# --------------------------------------------------------------------------- reminders


def _reminder_targets(cur: Cursor, *, company: str) -> list[tuple]:
    return cur.execute(
        """SELECT id, status, severity, title, service, detected_at, escalated_at FROM incidents
           WHERE company = ? AND status <> 'resolved' AND acknowledged_at IS NULL
             AND (status = 'open' OR escalated_at IS NOT NULL)""",
        [company],
    ).fetchall()


def remind_due(db: Database, *, company: str, now: datetime | None = None) -> list[int]:
    """Remind about every incident nobody acknowledged — escalated ones to the lead, new ones to
    on call — once per interval (15 minutes unless the company set another) since the last
    notice (the incident's detection, its escalation or the previous reminder). A check that
    runs late sends one reminder, not the ones it missed. Answers the notifications written."""
    now = now or clock.now()
    cur = db.cursor()
    every = settings(cur, company=company).remind_every
    written = []
    for target in _reminder_targets(cur, company=company):
        incident_id, _status, severity, title, service, detected_at, escalated_at = target
        last = first(
            cur,
            "SELECT max(created_at) FROM notifications WHERE incident_id = ? AND kind = 'reminder'",
            [incident_id],
        )
        since = max(t for t in (detected_at, escalated_at, last[0] if last else None) if t is not None)
        if now - since < every:
            continue
        channel = "lead" if escalated_at is not None else "oncall"
        waited = _minutes_text(now - (escalated_at or detected_at))
        what = "escalated" if escalated_at is not None else "open"
        text = (
            f"Reminder: [{severity}] {title} — {service} (incident #{incident_id}, {company}) is {what} "
            f"and nobody has acknowledged it for {waited}."
        )

        def work(
            i: int = incident_id, t: str = text, c: str = channel, w: str = waited, at: datetime = since
        ) -> int | None:
            with unit_of_work(cur):
                detail = incidents.get_incident(cur, company=company, incident_id=i)
                if detail is None or detail.acknowledged_at is not None:
                    return None
                notification_id = notify.record(
                    cur, company=company, incident_id=i, channel=c, kind="reminder", text=t, now=now,
                    dedupe=f"reminder:{i}:{to_iso(at)}",
                )  # fmt: skip
                if notification_id is not None:
                    incidents.add_event(
                        cur, company=company, incident_id=i, ts=now, kind="reminder", actor=SYSTEM,
                        message=f"Reminder sent to {'the technical lead' if c == 'lead' else 'on call'}: "
                        f"not acknowledged for {w}",
                        data={"channel": c, "notification_id": notification_id},
                    )  # fmt: skip
                return notification_id

        notification_id = retry_conflicts(work, on=RACES)
        if notification_id is not None:
            written.append(notification_id)
    notify.deliver(db, written)
    return written


def after_detection(db: Database, *, company: str, now: datetime | None = None) -> dict:
    """The hook the agent flow calls after each detection round: re-judge the escalation flags,
    then send the reminders that are due. Answers ``{"flagged": {id: reasons}, "reminders": [ids]}``."""
    now = now or clock.now()
    flagged = refresh_escalation_flags(db, company=company, now=now)
    reminders = remind_due(db, company=company, now=now)
    return {"flagged": flagged, "reminders": reminders}
