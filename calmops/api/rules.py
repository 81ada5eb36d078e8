"""`/api/ops/rules`: the company's threshold rules (GET), a new rule (POST, 201), a change to one
(PUT, with the ``expected_version`` read: 409 when stale; 400 for nonsense, naming the field)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from calmops.api.common import endpoint, identity, in_store, require_company
from calmops.api.ingest import json_object
from calmops.api.review import answer, body_company
from calmops.auth import Permission
from calmops.review import rules as rule_edit
from calmops.store import cursor, get_db

PUT_FIELDS = ("id", "expected_version", "reason", *rule_edit.EDITABLE)
POST_FIELDS = (
    "metric",
    "service",
    "comparison",
    "threshold",
    "clear_threshold",
    "for_s",
    "recovery_count",
    "severity",
    "name",
    "reason",
)


@endpoint
async def get_rules(request: Request) -> JSONResponse:
    company = await in_store(require_company, request)
    return await answer(lambda: {"rules": rule_edit.rules_json(cursor(), company=company), "next": None})()


@endpoint
async def put_rule(request: Request) -> JSONResponse:
    body = await json_object(request)
    company = await in_store(body_company, request, body, PUT_FIELDS, Permission.TUNE)
    fields = {k: body[k] for k in rule_edit.EDITABLE if k in body}
    actor = identity(request)
    return await answer(
        lambda: rule_edit.update_rule(
            get_db(),
            company=company,
            rule_id=body.get("id"),
            expected_version=body.get("expected_version"),
            actor=actor,
            reason=body.get("reason"),
            **fields,
        )
    )()


@endpoint
async def post_rule(request: Request) -> JSONResponse:
    body = await json_object(request)
    company = await in_store(body_company, request, body, POST_FIELDS, Permission.TUNE)
    args = {k: body[k] for k in POST_FIELDS if k in body}
    actor = identity(request)
    return await answer(
        lambda: rule_edit.create_rule(get_db(), company=company, actor=actor, **args), status=201
    )()


def routes() -> list[Route]:
    return [
        Route("/api/ops/rules", get_rules, methods=["GET"]),
        Route("/api/ops/rules", post_rule, methods=["POST"]),
        Route("/api/ops/rules", put_rule, methods=["PUT"]),
    ]
