"""`/api/ops/incidents`: the list, one incident with its timeline, and incidents opened by hand."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from calmops import agent, clock, incidents
from calmops.api.common import (
    ApiError,
    authorize,
    endpoint,
    id_cursor,
    identity,
    in_store,
    one_page,
    page,
    require_company,
    service_param,
)
from calmops.api.ingest import json_object
from calmops.auth import Permission
from calmops.store import cursor, get_db, unit_of_work
from calmops.timeio import BadTimeError, parse_iso, to_iso
from calmops.vocabulary import IncidentStatus, Severity


def summary_json(s: incidents.IncidentSummary) -> dict:
    return {
        "id": s.id,
        "company": s.company,
        "title": s.title,
        "service": s.service,
        "severity": s.severity.value,
        "status": s.status.value,
        "version": s.version,
        "started_at": to_iso(s.started_at),
        "detected_at": to_iso(s.detected_at),
        "resolved_at": to_iso(s.resolved_at),
        "flags": list(s.flags),
        "assignee": s.assignee,
    }


def detail_json(
    d: incidents.IncidentDetail, *, brief: dict | None = None, recommendations: list | None = None
) -> dict:
    """The contract's incident: its fields, the agent's current brief and every recommendation."""
    return {
        **summary_json(d.summary),
        "services": [d.summary.service, *d.affected],
        "description": d.description,
        "source": d.source,
        "acknowledged_at": to_iso(d.acknowledged_at),
        "previous_incident_id": d.previous_incident_id,
        "brief": brief,
        "recommendations": recommendations or [],
        "timeline": [
            {
                "id": e.id,
                "ts": to_iso(e.ts),
                "kind": e.kind,
                "actor": e.actor,
                "message": e.message,
                "outcome": e.outcome,
            }
            for e in d.timeline
        ],
    }


def _enum_list(request: Request, name: str, allowed: type[IncidentStatus] | type[Severity]) -> list[str]:
    values = [v for raw in request.query_params.getlist(name) for v in raw.split(",") if v]
    for value in values:
        if value not in {a.value for a in allowed}:
            raise ApiError(400, f"{name} must be one of {', '.join(a.value for a in allowed)}", name)
    return values


def query_time(request: Request, name: str):
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        return parse_iso(raw)
    except BadTimeError as exc:
        raise ApiError(400, str(exc), name) from None


def list_filters(request: Request) -> dict:
    """The list's filters from the query string (the page of the list and its CSV export alike)."""
    return {
        "status": _enum_list(request, "status", IncidentStatus),
        "severity": _enum_list(request, "severity", Severity),
        "service": service_param(request),
        "since": query_time(request, "since"),
        "until": query_time(request, "until"),
    }


def _list(request: Request) -> dict:
    company = require_company(request)
    limit, after = page(request)
    found = incidents.list_incidents(
        cursor(), company=company, **list_filters(request), limit=limit + 1, before_id=id_cursor(after)
    )
    found, nxt = one_page(found, limit, lambda s: s.id)
    briefs = agent.headlines(cursor(), company=company, incident_ids=[s.id for s in found])
    empty = {"pattern": None, "summary": None, "recommendation": None}
    rows = [{**summary_json(s), **(briefs[s.id].to_json() if s.id in briefs else empty)} for s in found]
    return {"incidents": rows, "next": nxt}


async def incidents_page(request: Request) -> JSONResponse:
    """One page of the list (unwrapped: the CSV route, already authenticated, answers it too)."""
    return JSONResponse(await in_store(_list, request))


get_incidents = endpoint(incidents_page)


def _one(request: Request) -> dict:
    company = require_company(request)
    raw = request.path_params["incident_id"]
    detail = (
        incidents.get_incident(cursor(), company=company, incident_id=int(raw))
        if raw.isascii() and raw.isdigit()
        else None
    )
    if detail is None:
        raise ApiError(404, f"no incident {raw} in {company!r}", "id")
    return full_json(detail)


def full_json(detail: incidents.IncidentDetail) -> dict:
    """The incident with its brief, recommendations and escalation (CONTRACT's `escalation`:
    ``{"at", "reason", …}`` once escalated, and whether the rules say it needs escalating)."""
    from calmops.workflow import escalation

    cur, company, incident_id = cursor(), detail.summary.company, detail.summary.id
    flagged = escalation.needs(cur, company=company, incident_id=incident_id)
    return {
        **detail_json(
            detail,
            brief=agent.current_brief(cur, company=company, incident_id=incident_id),
            recommendations=agent.recommendations(cur, company=company, incident_id=incident_id),
        ),
        "escalation": escalation.escalation_json(cur, company=company, incident_id=incident_id)["escalation"],
        "needs_escalation": {"flagged": flagged["needs_escalation"], "reasons": flagged["reasons"]},
    }


@endpoint
async def get_incident(request: Request) -> JSONResponse:
    return JSONResponse(await in_store(_one, request))


def _create(request: Request, body: dict) -> dict:
    company = authorize(request, body.get("company"), Permission.RESPOND)
    cur = cursor()
    try:
        with unit_of_work(cur):
            incident_id = incidents.create_manual(
                cur,
                company=company,
                title=body.get("title") if isinstance(body.get("title"), str) else "",
                service=str(body.get("service") or ""),
                severity=str(body.get("severity") or ""),
                description=body.get("description") if isinstance(body.get("description"), str) else "",
                customer_impact=body.get("customer_impact", False),
                actor=identity(request),
                now=clock.now(),
            )
    except incidents.InvalidIncidentError as exc:
        raise ApiError(400, str(exc), exc.field) from None
    agent.after_detection(get_db(), company=company, incident_ids=[incident_id], opened=[incident_id])
    return full_json(incidents.get_incident(cur, company=company, incident_id=incident_id))


@endpoint
async def post_incident(request: Request) -> JSONResponse:
    body = await json_object(request)
    return JSONResponse(await in_store(_create, request, body), status_code=201)
