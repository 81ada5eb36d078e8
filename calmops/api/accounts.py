"""`/api/ops/tokens` and `/api/ops/users`: API tokens and people's roles, for scripts (the admin page
and the CLI offline call ``calmops.auth.service`` directly; the CLI online calls these).

A company's admin manages its tokens and people (``?company=`` or ``"company"``); without a company,
only an installation-wide admin may (every company's). A token's secret leaves the server once,
in the answer that creates it; a list never shows it. Another company's token or person is
unknown (404), as one that does not exist.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from calmops.api.common import ApiError, authorize, check_fields, endpoint, identity, in_store
from calmops.api.ingest import json_object
from calmops.auth import Permission
from calmops.auth import service as accounts
from calmops.errors import NotFound
from calmops.store import cursor

TOKEN_FIELDS = ("role", "name")
USER_FIELDS = ("name", "role", "email", "display_name", "password")


def _scope(request: Request, company: object) -> str | None:
    """The company the request manages (its admin only), or None: every company, which takes an
    installation-wide admin (a company's admin is told to name their company)."""
    if company is None or company == "":
        if not identity(request).installation_admin:
            raise ApiError(400, "company is required (only an admin of every company may omit it)", "company")
        return None
    return authorize(request, company, Permission.ADMINISTER)


def _query_id(request: Request) -> int:
    raw = request.query_params.get("id")
    if raw is None:
        raise ApiError(400, "id is required (the token's id, from the list)", "id")
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise ApiError(400, "id must be a token's id (a whole number)", "id")
    return int(raw)


# --- tokens


def _list_tokens(request: Request) -> dict:
    company = _scope(request, request.query_params.get("company"))
    return {"tokens": [t.to_json() for t in accounts.list_tokens(cursor(), company=company)], "next": None}


@endpoint
async def get_tokens(request: Request) -> JSONResponse:
    """The company's tokens (never a secret: only its first characters, to recognise it)."""
    return JSONResponse(await in_store(_list_tokens, request))


def _create_token(request: Request, body: dict) -> dict:
    company = _scope(request, body.get("company"))
    check_fields(body, TOKEN_FIELDS)
    token, secret = accounts.create_token(
        cursor(), company=company, role=body.get("role"), name=body.get("name"), actor=identity(request)
    )
    return {"token": token.to_json(), "secret": secret}


@endpoint
async def post_token(request: Request) -> JSONResponse:
    """``{"company" (null: every company), "role", "name"}`` → 201 ``{"token", "secret"}``: the secret
    is shown this once."""
    body = await json_object(request)
    return JSONResponse(await in_store(_create_token, request, body), status_code=201)


def _revoke_token(request: Request) -> None:
    company = _scope(request, request.query_params.get("company"))
    accounts.revoke_token(cursor(), token_id=_query_id(request), company=company, actor=identity(request))


@endpoint
async def delete_token(request: Request) -> Response:
    """``?company=&id=``: the token stops working at once (204)."""
    await in_store(_revoke_token, request)
    return Response(status_code=204)


# --- users


def _list_users(request: Request) -> dict:
    company = _scope(request, request.query_params.get("company"))
    return {"users": [u.to_json() for u in accounts.list_users(cursor(), company=company)], "next": None}


@endpoint
async def get_users(request: Request) -> JSONResponse:
    """The people with a role in the company (installation-wide ones included), and their roles."""
    return JSONResponse(await in_store(_list_users, request))


def _add_user(request: Request, body: dict) -> dict:
    company = _scope(request, body.get("company"))
    check_fields(body, USER_FIELDS)
    password = body.get("password")
    if password is not None and not isinstance(password, str):
        raise ApiError(400, "password must be a string (empty: signs in through OIDC only)", "password")
    user, generated = accounts.add_user(
        cursor(), name=body.get("name"), company=company, role=body.get("role"), actor=identity(request),
        password=password, email=body.get("email"), display_name=body.get("display_name") or "",
    )  # fmt: skip
    return {"user": user.to_json(), "password": generated}


@endpoint
async def post_user(request: Request) -> JSONResponse:
    """``{"company", "name", "role", "email"?, "display_name"?, "password"?}`` → 201 ``{"user",
    "password"}`` (a generated password, shown this once, when none was given)."""
    body = await json_object(request)
    return JSONResponse(await in_store(_add_user, request, body), status_code=201)


def _remove_user(request: Request) -> None:
    company = _scope(request, request.query_params.get("company"))
    name = (request.query_params.get("name") or "").strip().lower()
    if not name:
        raise ApiError(400, "name is required", "name")
    # A person without a role here is answered alike whether or not they exist elsewhere.
    if company is not None and name not in {u.name for u in accounts.list_users(cursor(), company=company)}:
        raise NotFound(f"{name} has no role in {company}", field="name")
    accounts.remove_user(cursor(), name=name, company=company, actor=identity(request))


@endpoint
async def delete_user(request: Request) -> Response:
    """``?company=&name=``: their role in the company ends (204); without a company (an admin of
    every company), the account is disabled."""
    await in_store(_remove_user, request)
    return Response(status_code=204)


def routes() -> list[Route]:
    return [
        Route("/api/ops/tokens", get_tokens, methods=["GET"]),
        Route("/api/ops/tokens", post_token, methods=["POST"]),
        Route("/api/ops/tokens", delete_token, methods=["DELETE"]),
        Route("/api/ops/users", get_users, methods=["GET"]),
        Route("/api/ops/users", post_user, methods=["POST"]),
        Route("/api/ops/users", delete_user, methods=["DELETE"]),
    ]
