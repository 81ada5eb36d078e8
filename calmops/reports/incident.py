"""The post-incident report's data: one dict (schema ``calmops.incident-report/1``) that every format
renders, so the Markdown, the HTML, the PDF and the JSON can never tell different stories.

Everything is read for one company: an incident id of another company answers ``NotFound`` exactly
like one that does not exist, and every query below is scoped by that company. The charts come from
the same bucket query and window rule as the Incident page's charts (``calmops.health.charts``).
"""

from __future__ import annotations

import json
import math
import os
from datetime import datetime
from urllib.parse import urlencode

import pandas as pd

from calmops import agent, clock, companies, incidents
from calmops.actions.attempts import list_attempts
from calmops.detect.rules import list_rules
from calmops.health import charts as hc
from calmops.incidents import IncidentDetail
from calmops.store.db import Cursor, first
from calmops.timeio import to_iso
from calmops.vocabulary import IncidentStatus, metric_info
from calmops.workflow import customer, escalation
from calmops.workflow.errors import NotFound, WorkflowError

SCHEMA = "calmops.incident-report/1"


def public_url() -> str:
    """Where readers of a mailed report can open the dashboard: ``CALMOPS_PUBLIC_URL`` when the
    server sits behind a proxy, else the address ``make run`` serves on."""
    configured = os.environ.get("CALMOPS_PUBLIC_URL", "").strip().rstrip("/")
    if configured:
        return configured
    return f"http://127.0.0.1:{os.environ.get('PORT', '8501')}"


def incident_link(*, company: str, incident_id: int) -> str:
    return f"{public_url()}/incident?{urlencode({'company': company, 'id': incident_id})}"


def report_data(cur: Cursor, *, company: str, incident_id: int, now: datetime | None = None) -> dict:
    """Everything the post-incident report says about one incident of ``company``, as plain JSON
    values (times ISO 8601 UTC). Raises ``NotFound`` for an unknown or another company's id."""
    if not isinstance(incident_id, int) or isinstance(incident_id, bool) or incident_id <= 0:
        raise NotFound(f"no incident {incident_id} in {company!r}", field="id")
    try:
        company_name = companies.get_company(cur, company=company).name
    except companies.UnknownCompanyError:
        raise NotFound(f"unknown company {company!r}", field="company") from None
    detail = incidents.get_incident(cur, company=company, incident_id=incident_id)
    if detail is None:
        raise NotFound(f"no incident {incident_id} in {company!r}", field="id")
    now = now or clock.now()
    s = detail.summary
    return {
        "schema": SCHEMA,
        "generated_at": to_iso(now),
        "link": incident_link(company=company, incident_id=s.id),
        "incident": _incident(detail, company_name),
        "brief_at_detection": _first_brief(cur, company=company, incident_id=s.id),
        "brief_at_resolution": (
            agent.current_brief(cur, company=company, incident_id=s.id)
            if s.status == IncidentStatus.RESOLVED
            else None
        ),
        "timeline": [
            {"ts": to_iso(e.ts), "kind": e.kind, "actor": e.actor, "message": e.message, "outcome": e.outcome}
            for e in detail.timeline
        ],
        "decisions": _decisions(cur, company=company, incident_id=s.id),
        "actions": _actions(cur, company=company, incident_id=s.id),
        "escalations": _escalations(cur, detail),
        "customer_messages": _messages(cur, company=company, incident_id=s.id),
        "charts": chart_data(cur, detail=detail, now=now),
        "review": _review(cur, detail),
    }


def _seconds(start: datetime | None, end: datetime | None) -> int | None:
    return None if start is None or end is None else max(0, round((end - start).total_seconds()))


def _incident(detail: IncidentDetail, company_name: str) -> dict:
    s = detail.summary
    return {
        "id": s.id,
        "company": s.company,
        "company_name": company_name,
        "title": s.title,
        "service": s.service,
        "services": [s.service, *(a for a in detail.affected if a != s.service)],
        "severity": s.severity.value,
        "status": s.status.value,
        "started_at": to_iso(s.started_at),
        "detected_at": to_iso(s.detected_at),
        "acknowledged_at": to_iso(detail.acknowledged_at),
        "resolved_at": to_iso(s.resolved_at),
        "time_to_acknowledge_s": _seconds(s.started_at, detail.acknowledged_at),
        "time_to_resolve_s": _seconds(s.started_at, s.resolved_at),
        "assignee": s.assignee,
        "flags": list(s.flags),
    }


def _first_brief(cur: Cursor, *, company: str, incident_id: int) -> dict | None:
    """Version 1 of the brief, as it was written at detection (its recommendation's status then)."""
    row = first(
        cur,
        """SELECT version, body FROM briefs WHERE company = ? AND incident_id = ?
           ORDER BY version LIMIT 1""",
        [company, incident_id],
    )
    return {**json.loads(row[1]), "version": row[0]} if row else None


def _decisions(cur: Cursor, *, company: str, incident_id: int) -> list[dict]:
    """Who approved or declined which recommendation, when, and why: the decided ones only."""
    recs = agent.recommendations(cur, company=company, incident_id=incident_id)
    decided = [r for r in recs if r.get("decided_at")]
    return [
        {
            "recommendation_id": r["id"],
            "action": r["action"],
            "risk": r["risk"],
            "status": r["status"],
            "decided_by": r["decided_by"],
            "decided_at": r["decided_at"],
            "note": r["note"],
        }
        for r in sorted(decided, key=lambda r: (r["decided_at"], r["id"]))
    ]


def _actions(cur: Cursor, *, company: str, incident_id: int) -> list[dict]:
    return [
        {
            "action": a.action,
            "kind": a.kind,
            "service": a.service,
            "at": to_iso(a.at),
            "outcome": a.outcome,
            "verdict": a.verdict,
            "metric": a.metric,
            "before_value": _number(a.before_value),
            "after_value": _number(a.after_value),
            "requested_by": a.requested_by,
        }
        for a in list_attempts(cur, company=company, incident_id=incident_id)
    ]


def _escalations(cur: Cursor, detail: IncidentDetail) -> list[dict]:
    """Every escalation on the timeline; an escalation flag without one (set before events carried
    it) still shows, from the incident's own record."""
    found = [
        {
            "at": to_iso(e.ts),
            "by": e.actor,
            "reason": (e.data or {}).get("reason"),
            "note": (e.data or {}).get("note"),
        }
        for e in detail.timeline
        if e.kind == "escalated"
    ]
    s = detail.summary
    if not found and s.escalated_at is not None:
        latest = escalation.escalation_json(cur, company=s.company, incident_id=s.id)["escalation"] or {}
        found.append({"at": to_iso(s.escalated_at), "by": latest.get("by"), "reason": latest.get("reason"),
                      "note": latest.get("note")})  # fmt: skip
    return found


def _messages(cur: Cursor, *, company: str, incident_id: int) -> list[dict]:
    """Every version of the customer message, oldest first; ``sent`` marks what customers read."""
    found = customer.versions(cur, company=company, incident_id=incident_id)
    return [
        {
            "version": m.version,
            "state": m.state,
            "status": m.status,
            "sent": m.sent_at is not None,
            "text": m.text,
            "author": m.author,
            "created_at": to_iso(m.created_at),
            "approved_by": m.approved_by,
            "approved_at": to_iso(m.approved_at),
            "sent_at": to_iso(m.sent_at),
        }
        for m in reversed(found)
    ]


def _review(cur: Cursor, detail: IncidentDetail) -> dict | None:
    """The saved review, else the pre-filled draft; none before the incident is resolved."""
    if detail.summary.status != IncidentStatus.RESOLVED:
        return None
    from calmops import review

    try:
        return review.get_review(cur, company=detail.summary.company, incident_id=detail.summary.id)
    except WorkflowError:
        return None


def _number(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def chart_data(cur: Cursor, *, detail: IncidentDetail, now: datetime) -> list[dict]:
    """The Incident page's charts as data: each involved metric of the incident's services over the
    same window (1 h before the start to 30 min after resolution), from the same bucket query, with
    the enabled rules' thresholds. Empty when the incident starts in the future by this clock."""
    s = detail.summary
    services = [s.service, *(a for a in detail.affected if a != s.service)]
    metrics = list(incidents.involved_metrics(detail))
    try:
        win = hc.incident_window(started_at=s.started_at, resolved_at=s.resolved_at, now=now)
    except hc.WindowError:
        return []
    series = hc.metrics_series(cur, company=s.company, metrics=metrics, services=services, win=win)
    rules = list_rules(cur, company=s.company, enabled_only=True)
    events = hc.change_events(cur, company=s.company, start=win.start, end=win.end, services=services)
    out = []
    for metric in metrics:
        info = metric_info(metric)
        lines = hc.thresholds(rules, metric=metric, services=services)
        out.append(
            {
                "metric": metric,
                "label": info.label,
                "unit": info.unit,
                "window": {"start": to_iso(win.start), "end": to_iso(win.end), "bucket_s": win.bucket_s},
                "incident": {"start": to_iso(s.started_at), "end": to_iso(s.resolved_at or now)},
                "thresholds": [
                    {"value": t.value, "severity": t.severity.value, "comparison": t.comparison}
                    for t in lines
                ],
                "events": [
                    {
                        "ts": to_iso(e.ts),
                        "service": e.service,
                        "kind": e.kind,
                        "description": e.description,
                        "version": e.version,
                    }
                    for e in events
                ],
                "series": _series(series.get(metric, hc.empty_series()), services),
            }
        )
    return out


def _series(frame: pd.DataFrame, services: list[str]) -> list[dict]:
    """``[{service, points: [[ts, avg, min, max], …]}]``; a gap in the data is a point of nulls."""
    if frame.empty:
        return []
    stamps = [to_iso(ts) for ts in pd.DatetimeIndex(frame["bucket"]).to_pydatetime()]
    rows = frame.groupby("service", sort=False).indices
    avg, low, high = (frame[c].to_numpy(dtype="float64") for c in ("avg", "min", "max"))
    return [
        {
            "service": service,
            "points": [
                [stamps[i], _number(avg[i]), _number(low[i]), _number(high[i])] for i in rows[service]
            ],
        }
        for service in services
        if service in rows
    ]
