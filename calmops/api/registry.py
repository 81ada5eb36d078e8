"""`POST /api/ops/companies`, `GET|POST /api/ops/services`, `GET|POST|DELETE /api/ops/targets`.

Views only read the request and call the commands in ``calmops.companies`` and ``calmops.targets``,
which validate, write in one transaction and audit.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from calmops import companies, targets
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
from calmops.api.ingest import as_object, domain_errors, json_object, read_body
from calmops.auth import Identity, Permission
from calmops.store import cursor

# --- companies


def _add_company(body: dict, actor: Identity) -> dict:
    with domain_errors():
        created = companies.add_company(
            cursor(), company=body.get("company"), name=body.get("name"), actor=actor
        )
    return {"company": created.company, "name": created.name}


@endpoint
async def post_company(request: Request) -> JSONResponse:
    body = await json_object(request)
    return JSONResponse(await in_store(_add_company, body, identity(request)), status_code=201)


# --- services


def _list_services(company: str, limit: int, after: str | None) -> dict:
    every = companies.list_services(cursor(), company=company)
    chosen, nxt = one_page(
        [s for s in every if after is None or s.service > after], limit, lambda s: s.service
    )
    return {"services": [companies.service_json(s) for s in chosen], "next": nxt}


@endpoint
async def get_services(request: Request) -> JSONResponse:
    limit, _ = page(request)
    after = service_param(request, "cursor")
    company = await in_store(require_company, request)
    return JSONResponse(await in_store(_list_services, company, limit, after))


def _add_service(request: Request, body: dict) -> dict:
    authorize(request, body.get("company"), Permission.ADMINISTER)
    with domain_errors():
        created = companies.register_service(
            cursor(), company=body.get("company"), service=body.get("service"), kind=body.get("kind"),
            depends_on=body.get("depends_on"), customer_facing=body.get("customer_facing", False),
            description=body.get("description"), actor=identity(request),
        )  # fmt: skip
    return companies.service_json(created)


@endpoint
async def post_service(request: Request) -> JSONResponse:
    body = await json_object(request)
    return JSONResponse(await in_store(_add_service, request, body), status_code=201)


# --- targets


def _list_targets(company: str, limit: int, after: str | None) -> dict:
    found = targets.target_states(cursor(), company=company, after_id=id_cursor(after), limit=limit + 1)
    found, nxt = one_page(found, limit, lambda t: t.id)
    return {"targets": [t.to_json() for t in found], "next": nxt}


@endpoint
async def get_targets(request: Request) -> JSONResponse:
    limit, after = page(request)
    company = await in_store(require_company, request)
    return JSONResponse(await in_store(_list_targets, company, limit, after))


def _add_target(request: Request, body: dict) -> dict:
    authorize(request, body.get("company"), Permission.ADMINISTER)
    with domain_errors():
        created = targets.add_target(
            cursor(), company=body.get("company"), service=body.get("service"), url=body.get("url"),
            format=body.get("format"), timeout_s=body.get("timeout_s"), interval_s=body.get("interval_s"),
            actor=identity(request),
        )  # fmt: skip
    return created.to_json()


@endpoint
async def post_target(request: Request) -> JSONResponse:
    body = await json_object(request)
    return JSONResponse(await in_store(_add_target, request, body), status_code=201)


def _remove_target(request: Request, company: object, target_id: object) -> None:
    if company is None:
        raise ApiError(400, "company is required (query parameter or body)", "company")
    authorize(request, company, Permission.ADMINISTER)
    if target_id is None:
        raise ApiError(400, "id is required (query parameter or body)", "id")
    with domain_errors():
        targets.remove_target(cursor(), company=company, id=target_id, actor=identity(request))


@endpoint
async def delete_target(request: Request) -> Response:
    """Remove a target: ``?company=&id=``, or the same in a JSON body."""
    params = request.query_params
    raw = await read_body(request)
    body = as_object(request, raw) if raw.strip() else {}
    company = params.get("company", body.get("company"))
    target_id = params.get("id", body.get("id"))
    await in_store(_remove_target, request, company, target_id)
    return Response(status_code=204)
