"""`/api/ops/incidents/{id}/review` (GET the saved latest or the pre-filled draft, POST a new version),
`…/review/apply` (apply a threshold proposal) and `/api/ops/runbooks` (GET, PUT runbook entries).

Views only parse and call `calmops.review` as the token's identity; a `WorkflowError` becomes its
status and JSON body (``endpoint``).
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from calmops import review
from calmops.api.common import (
    ApiError,
    authorize,
    check_fields,
    endpoint,
    identity,
    in_store,
    require_company,
)
from calmops.api.ingest import json_object
from calmops.auth import Permission
from calmops.store import cursor, get_db

REVIEW_FIELDS = (
    "root_cause",
    "prevention",
    "alert_improvements",
    "automation",
    "notes",
    "expected_version",
)
APPLY_FIELDS = ("proposal_id", "expected_rule_version")
RUNBOOK_FIELDS = ("pattern", "commands", "notes", "expected_version")


def answer(work: Callable[[], object], status: int = 200) -> Callable:
    """Run ``work`` in the store's thread (its WorkflowError is answered by ``endpoint``)."""

    async def run() -> JSONResponse:
        return JSONResponse(await in_store(work), status_code=status)

    return run


def body_company(request: Request, body: dict, allowed: tuple[str, ...], permission: Permission) -> str:
    """The body's company, once the caller may do ``permission`` there; then its fields checked."""
    company = authorize(request, body.get("company"), permission)
    check_fields(body, allowed)
    return company


def _incident_id(request: Request, company: str) -> int:
    raw = request.path_params["incident_id"]
    if not (raw.isascii() and raw.isdigit()):
        raise ApiError(404, f"no incident {raw} in {company!r}", "id")
    return int(raw)


@endpoint
async def get_review(request: Request) -> JSONResponse:
    company = await in_store(require_company, request)
    incident_id = _incident_id(request, company)
    raw = request.query_params.get("version")
    if raw is not None:
        if not (raw.isascii() and raw.isdigit()):
            raise ApiError(400, "version must be a saved review's version number", "version")
        return await answer(
            lambda: review.get_version(cursor(), company=company, incident_id=incident_id, version=int(raw))
        )()
    return await answer(lambda: review.get_review(cursor(), company=company, incident_id=incident_id))()


async def _incident_write(
    request: Request, fields: tuple[str, ...], permission: Permission, write
) -> JSONResponse:
    """A write on one incident's review: the body's ``fields``, checked against ``permission``,
    handed to ``write`` with the incident and the caller."""
    body = await json_object(request)
    company = await in_store(body_company, request, body, fields, permission)
    incident_id = _incident_id(request, company)
    args = {name: body.get(name) for name in fields}
    actor = identity(request)
    return await answer(
        lambda: write(get_db(), company=company, incident_id=incident_id, actor=actor, **args)
    )()


@endpoint
async def post_review(request: Request) -> JSONResponse:
    return await _incident_write(request, REVIEW_FIELDS, Permission.RESPOND, review.save_review)


@endpoint
async def post_apply(request: Request) -> JSONResponse:
    return await _incident_write(request, APPLY_FIELDS, Permission.TUNE, review.apply_proposal)


@endpoint
async def get_runbooks(request: Request) -> JSONResponse:
    company = await in_store(require_company, request)
    pattern = request.query_params.get("pattern")
    if pattern:
        return await answer(lambda: review.get_runbook(cursor(), company=company, pattern=pattern))()
    return await answer(lambda: {"runbooks": review.list_runbooks(cursor(), company=company), "next": None})()


@endpoint
async def put_runbook(request: Request) -> JSONResponse:
    body = await json_object(request)
    company = await in_store(body_company, request, body, RUNBOOK_FIELDS, Permission.TUNE)
    if not body.get("pattern") and request.query_params.get("pattern"):
        body["pattern"] = request.query_params["pattern"]
    args = {name: body.get(name) for name in RUNBOOK_FIELDS}
    actor = identity(request)
    return await answer(lambda: review.save_runbook(get_db(), company=company, actor=actor, **args))()


def routes() -> list[Route]:
    return [
        Route("/api/ops/incidents/{incident_id}/review", get_review, methods=["GET"]),
        Route("/api/ops/incidents/{incident_id}/review", post_review, methods=["POST"]),
        Route("/api/ops/incidents/{incident_id}/review/apply", post_apply, methods=["POST"]),
        Route("/api/ops/runbooks", get_runbooks, methods=["GET"]),
        Route("/api/ops/runbooks", put_runbook, methods=["PUT"]),
    ]
