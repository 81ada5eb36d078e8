"""`/api/ops/incidents/{id}/review` (GET the saved latest or the pre-filled draft, POST a new version),
`…/review/apply` (apply a threshold proposal) and `/api/ops/runbooks` (GET, PUT runbook entries).

Views only parse and call `calmops.review`; a `WorkflowError` becomes its status and JSON body.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from calmops import review
from calmops.api.common import ApiError, check_company, endpoint, in_store, require_company
from calmops.api.ingest import json_object
from calmops.store import cursor, get_db
from calmops.workflow.errors import WorkflowError

REVIEW_FIELDS = (
    "actor",
    "root_cause",
    "prevention",
    "alert_improvements",
    "automation",
    "notes",
    "expected_version",
)
APPLY_FIELDS = ("actor", "proposal_id", "expected_rule_version")
RUNBOOK_FIELDS = ("actor", "pattern", "commands", "notes", "expected_version")


def answer(work: Callable[[], object], status: int = 200) -> Callable:
    """Run ``work`` in the store's thread; a WorkflowError answers with its status and JSON."""

    async def run() -> JSONResponse:
        try:
            return JSONResponse(await in_store(work), status_code=status)
        except WorkflowError as exc:
            return JSONResponse(exc.to_json(), status_code=exc.status)

    return run


def body_company(body: dict, allowed: tuple[str, ...]) -> str:
    unknown = sorted(set(body) - {"company", *allowed})
    if unknown:
        raise ApiError(400, f"unknown field {unknown[0]!r}", unknown[0])
    company = body.get("company")
    if not isinstance(company, str):
        raise ApiError(400, "company is required", "company")
    check_company(company)
    return company


def _incident_id(request: Request, company: str) -> int:
    raw = request.path_params["incident_id"]
    if not raw.isdigit():
        raise ApiError(404, f"no incident {raw} in {company!r}", "id")
    return int(raw)


@endpoint
async def get_review(request: Request) -> JSONResponse:
    company = await in_store(require_company, request)
    incident_id = _incident_id(request, company)
    raw = request.query_params.get("version")
    if raw is not None:
        if not raw.isdigit():
            raise ApiError(400, "version must be a saved review's version number", "version")
        return await answer(
            lambda: review.get_version(cursor(), company=company, incident_id=incident_id, version=int(raw))
        )()
    return await answer(lambda: review.get_review(cursor(), company=company, incident_id=incident_id))()


@endpoint
async def post_review(request: Request) -> JSONResponse:
    body = await json_object(request)
    company = await in_store(body_company, body, REVIEW_FIELDS)
    incident_id = _incident_id(request, company)
    args = {name: body.get(name) for name in REVIEW_FIELDS}
    return await answer(
        lambda: review.save_review(get_db(), company=company, incident_id=incident_id, **args)
    )()


@endpoint
async def post_apply(request: Request) -> JSONResponse:
    body = await json_object(request)
    company = await in_store(body_company, body, APPLY_FIELDS)
    incident_id = _incident_id(request, company)
    args = {name: body.get(name) for name in APPLY_FIELDS}
    return await answer(
        lambda: review.apply_proposal(get_db(), company=company, incident_id=incident_id, **args)
    )()


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
    company = await in_store(body_company, body, RUNBOOK_FIELDS)
    if not body.get("pattern") and request.query_params.get("pattern"):
        body["pattern"] = request.query_params["pattern"]
    args = {name: body.get(name) for name in RUNBOOK_FIELDS}
    return await answer(lambda: review.save_runbook(get_db(), company=company, **args))()


def routes() -> list[Route]:
    return [
        Route("/api/ops/incidents/{incident_id}/review", get_review, methods=["GET"]),
        Route("/api/ops/incidents/{incident_id}/review", post_review, methods=["POST"]),
        Route("/api/ops/incidents/{incident_id}/review/apply", post_apply, methods=["POST"]),
        Route("/api/ops/runbooks", get_runbooks, methods=["GET"]),
        Route("/api/ops/runbooks", put_runbook, methods=["PUT"]),
    ]
