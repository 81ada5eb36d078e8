"""`/api/ops/scenarios`: start and stop live demo scenarios (any pattern on a demo service)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from calmops.api.common import ApiError, authorize, endpoint, identity, in_store, require_company
from calmops.api.ingest import json_object
from calmops.auth import Permission
from calmops.demo import scenarios
from calmops.demo.episodes import Episode
from calmops.store import get_db
from calmops.timeio import to_iso
from calmops.vocabulary import Pattern

ACTIONS = ("start", "stop")


def episode_json(e: Episode) -> dict:
    return {
        "company": e.company,
        "service": e.service,
        "pattern": e.pattern.value,
        "started_at": to_iso(e.started_at),
        "ended_at": to_iso(e.ended_at),
        "note": e.note,
    }


def _list(company: str) -> dict:
    try:
        ongoing = scenarios.live(get_db(), company=company)
    except scenarios.NoDemoWorldError as exc:
        raise ApiError(409, str(exc)) from None
    return {"scenarios": [episode_json(e) for e in ongoing], "patterns": list(scenarios.PATTERNS)}


@endpoint
async def get_scenarios(request: Request) -> JSONResponse:
    company = await in_store(require_company, request)
    return JSONResponse(await in_store(_list, company))


def _change(request: Request, body: dict) -> tuple[int, dict]:
    """Starting or stopping trouble in the demo world takes what acting on incidents does (RESPOND),
    as on the Checks page."""
    company = authorize(request, body.get("company"), Permission.RESPOND)
    service, pattern, action = (body.get(k) for k in ("service", "pattern", "action"))
    if action not in ACTIONS:
        raise ApiError(400, "action must be 'start' or 'stop'", "action")
    if pattern not in {p.value for p in Pattern}:
        raise ApiError(400, f"pattern must be one of {', '.join(p.value for p in Pattern)}", "pattern")
    if not isinstance(service, str) or not service:
        raise ApiError(400, "service is required", "service")
    try:
        if action == "start":
            started = scenarios.start(
                get_db(), company=company, service=service, pattern=pattern, actor=identity(request)
            )
            return 201, {"scenario": episode_json(started)}
        stopped = scenarios.stop(
            get_db(), company=company, service=service, pattern=pattern, actor=identity(request)
        )
    except scenarios.NoDemoWorldError as exc:
        raise ApiError(409, str(exc)) from None
    except scenarios.ScenarioError as exc:
        raise ApiError(400, str(exc), "service") from None
    return 200, {"stopped": [episode_json(e) for e in stopped]}


@endpoint
async def post_scenarios(request: Request) -> JSONResponse:
    status, body = await in_store(_change, request, await json_object(request))
    return JSONResponse(body, status_code=status)
