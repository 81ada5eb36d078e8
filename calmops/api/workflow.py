"""`POST /api/ops/incidents/{id}/<verb>`: a person's decisions and changes (CONTRACT.md).

Views only parse and call `calmops.workflow` as the token's identity; a `WorkflowError` becomes its
status and JSON body (400 invalid, 403 role too low, 404 unknown or another company's, 409 stale or
already decided, 422 the golden rule). The role each verb takes is checked before the body is read.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from calmops import workflow
from calmops.api.common import ApiError, authorize, check_fields, endpoint, identity, in_store
from calmops.api.incidents import full_json
from calmops.api.ingest import json_object
from calmops.auth import Identity, Permission
from calmops.store import get_db

RESPOND = Permission.RESPOND
ACTIONS: dict[str, tuple[Callable, tuple[str, ...], Permission]] = {
    "acknowledge": (workflow.acknowledge, ("note", "expected_version"), RESPOND),
    "assign": (workflow.assign, ("assignee", "note", "expected_version"), RESPOND),
    "notes": (workflow.add_note, ("text",), RESPOND),
    "severity": (workflow.change_severity, ("severity", "note", "expected_version"), RESPOND),
    # a medium- or high-risk one takes APPROVE_HIGH too: the workflow knows the risk, and says so
    "approve": (
        workflow.approve,
        ("recommendation_id", "expected_version", "note", "confirm"),
        Permission.APPROVE_LOW,
    ),
    "decline": (workflow.decline, ("recommendation_id", "expected_version", "note"), RESPOND),
    "resolve": (
        workflow.resolve,
        ("note", "customer_impact", "root_cause_hint", "expected_version"),
        RESPOND,
    ),
    "reopen": (workflow.reopen, ("note", "expected_version"), RESPOND),
}


def _run(verb: str, incident_id: int, body: dict, actor: Identity) -> dict:
    call, params, _ = ACTIONS[verb]
    args = {name: body.get(name) for name in params}
    if "confirm" in args:
        args["confirm"] = body.get("confirm", False)
    result = call(get_db(), company=body["company"], incident_id=incident_id, actor=actor, **args)
    if isinstance(result, workflow.Decision):
        return result.to_json()
    return full_json(result)


def _check(verb: str, request: Request, body: dict) -> int:
    _, params, permission = ACTIONS[verb]
    company = authorize(request, body.get("company"), permission)
    check_fields(body, params)
    raw = request.path_params["incident_id"]
    if not (raw.isascii() and raw.isdigit()):
        raise ApiError(404, f"no incident {raw} in {company!r}", "id")
    return int(raw)


def _handler(verb: str):
    @endpoint
    async def handle(request: Request) -> JSONResponse:
        body = await json_object(request)
        incident_id = await in_store(_check, verb, request, body)
        return JSONResponse(await in_store(_run, verb, incident_id, body, identity(request)))

    handle.__name__ = f"post_{verb}"
    return handle


def routes() -> list[Route]:
    return [
        Route(f"/api/ops/incidents/{{incident_id}}/{verb}", _handler(verb), methods=["POST"])
        for verb in ACTIONS
    ]
