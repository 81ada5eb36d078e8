"""`POST /api/ops/incidents/{id}/<verb>`: a person's decisions and changes (CONTRACT.md).

Views only parse and call `calmops.workflow`; a `WorkflowError` becomes its status and JSON body
(400 invalid, 404 unknown or another company's, 409 stale or already decided, 422 the golden rule).
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from calmops import workflow
from calmops.api.common import ApiError, check_company, endpoint, in_store
from calmops.api.incidents import full_json
from calmops.api.ingest import json_object
from calmops.store import get_db

ACTIONS: dict[str, tuple[Callable, tuple[str, ...]]] = {
    "acknowledge": (workflow.acknowledge, ("actor", "note", "expected_version")),
    "assign": (workflow.assign, ("assignee", "actor", "note", "expected_version")),
    "notes": (workflow.add_note, ("actor", "text")),
    "severity": (workflow.change_severity, ("severity", "actor", "note", "expected_version")),
    "approve": (workflow.approve, ("recommendation_id", "expected_version", "actor", "note", "confirm")),
    "decline": (workflow.decline, ("recommendation_id", "expected_version", "actor", "note")),
    "resolve": (
        workflow.resolve,
        ("actor", "note", "customer_impact", "root_cause_hint", "expected_version"),
    ),
    "reopen": (workflow.reopen, ("actor", "note", "expected_version")),
}


def _run(verb: str, incident_id: int, body: dict) -> dict:
    call, params = ACTIONS[verb]
    args = {name: body.get(name) for name in params}
    if "confirm" in args:
        args["confirm"] = body.get("confirm", False)
    result = call(get_db(), company=body["company"], incident_id=incident_id, **args)
    if isinstance(result, workflow.Decision):
        return result.to_json()
    return full_json(result)


def _check(verb: str, request: Request, body: dict) -> int:
    unknown = sorted(set(body) - {"company", *ACTIONS[verb][1]})
    if unknown:
        raise ApiError(400, f"unknown field {unknown[0]!r}", unknown[0])
    company = body.get("company")
    if not isinstance(company, str):
        raise ApiError(400, "company is required", "company")
    check_company(company)
    raw = request.path_params["incident_id"]
    if not raw.isdigit():
        raise ApiError(404, f"no incident {raw} in {company!r}", "id")
    return int(raw)


def _handler(verb: str):
    @endpoint
    async def handle(request: Request) -> JSONResponse:
        body = await json_object(request)
        incident_id = await in_store(_check, verb, request, body)
        try:
            return JSONResponse(await in_store(_run, verb, incident_id, body))
        except workflow.WorkflowError as exc:
            return JSONResponse(exc.to_json(), status_code=exc.status)

    handle.__name__ = f"post_{verb}"
    return handle


def routes() -> list[Route]:
    return [
        Route(f"/api/ops/incidents/{{incident_id}}/{verb}", _handler(verb), methods=["POST"])
        for verb in ACTIONS
    ]
