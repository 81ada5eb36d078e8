"""`GET|POST|DELETE /api/ops/executors`: the webhook that carries out a company's actions.

Views only read the request and call ``calmops.actions``' commands, which validate, write in one
transaction and audit. A list never shows a secret; setting one without a secret answers the
generated secret once (201), the only time it leaves the store.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from calmops import actions
from calmops.api.common import ApiError, authorize, endpoint, identity, in_store, require_company
from calmops.api.ingest import as_object, domain_errors, json_object, read_body
from calmops.auth import Permission
from calmops.store import cursor


def _list(company: str) -> dict:
    return {
        "executors": [e.to_json() for e in actions.list_executors(cursor(), company=company)],
        "next": None,
    }


@endpoint
async def get_executors(request: Request) -> JSONResponse:
    company = await in_store(require_company, request)
    return JSONResponse(await in_store(_list, company))


def _set(request: Request, body: dict) -> dict:
    authorize(request, body.get("company"), Permission.ADMINISTER)
    generated = body.get("secret") in (None, "")
    with domain_errors():
        config = actions.set_executor(
            cursor(), company=body.get("company"), action=body.get("action"), url=body.get("url"),
            secret=body.get("secret"), timeout_s=body.get("timeout_s"), retries=body.get("retries"),
            actor=identity(request),
        )  # fmt: skip
    answer = config.to_json()
    if generated:
        answer["secret"] = config.secret
    return answer


@endpoint
async def post_executor(request: Request) -> JSONResponse:
    """Create or replace the webhook for ``{"company", "action"? ('*'), "url", "secret"?, "timeout_s"?,
    "retries"?}``."""
    body = await json_object(request)
    return JSONResponse(await in_store(_set, request, body), status_code=201)


def _remove(request: Request, company: object, action: object) -> None:
    if company is None:
        raise ApiError(400, "company is required (query parameter or body)", "company")
    authorize(request, company, Permission.ADMINISTER)
    with domain_errors():
        actions.remove_executor(cursor(), company=company, action=action, actor=identity(request))


@endpoint
async def delete_executor(request: Request) -> Response:
    """Remove a webhook: ``?company=&action=`` (no action: the '*' one), or the same in a JSON body."""
    params = request.query_params
    raw = await read_body(request)
    body = as_object(request, raw) if raw.strip() else {}
    company = params.get("company", body.get("company"))
    await in_store(_remove, request, company, params.get("action", body.get("action")))
    return Response(status_code=204)
