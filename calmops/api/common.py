"""What every route shares: who is asking (a bearer token), what they may see, JSON answers and
errors as CONTRACT.md defines them, store work off the event loop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from calmops import companies
from calmops.auth import Identity, Permission, allows, require
from calmops.auth.service import identity_for_token
from calmops.errors import WorkflowError
from calmops.store import cursor

log = logging.getLogger("calmops.api")

T = TypeVar("T")
Handler = Callable[[Request], Awaitable[Response]]

# What a body may still carry though it is not read: "actor" names the writer no more (the token does).
IGNORED_FIELDS = ("actor",)
CHALLENGE = {"WWW-Authenticate": "Bearer"}


class ApiError(WorkflowError):
    """A client's mistake found by the HTTP layer: answered with its status and ``{"error",
    "field"?}``, never a 5xx. A kind of ``WorkflowError``, so the CLI, which borrows some API
    helpers when it works on the store, reports it like any other refusal."""

    def __init__(self, status: int, error: str, field: str | None = None) -> None:
        super().__init__(error, field=field)
        self.status = status
        self.error = error

    def response(self) -> JSONResponse:
        body = {"error": self.error}
        if self.field:
            body["field"] = self.field
        return JSONResponse(body, status_code=self.status, headers=CHALLENGE if self.status == 401 else None)


def refusal(exc: WorkflowError) -> JSONResponse:
    """A service function's refusal as its status and JSON body (401 with the Bearer challenge)."""
    headers = CHALLENGE if exc.status == 401 else None
    return JSONResponse(exc.to_json(), status_code=exc.status, headers=headers)


async def in_store(fn: Callable[..., T], *args, **kwargs) -> T:
    """Run store work in a worker thread (its own cursor): DuckDB must never block the event loop."""
    return await asyncio.to_thread(fn, *args, **kwargs)


# --- who is asking


def bearer(request: Request, *, token_in_query: bool = False) -> str | None:
    """The token of ``Authorization: Bearer <token>``; where allowed (webhooks whose senders cannot
    set a header), ``?token=`` instead. Never logged, never echoed in an answer."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if token_in_query:
        return request.query_params.get("token") or None
    return None


def _identity(secret: str) -> Identity | None:
    return identity_for_token(cursor(), secret)


async def authenticate(request: Request, *, token_in_query: bool = False) -> Identity:
    """The identity of the request's token, kept on ``request.state.identity``; 401 without one."""
    secret = bearer(request, token_in_query=token_in_query)
    found = await in_store(_identity, secret) if secret else None
    if found is None:
        if secret:
            raise ApiError(401, "the API token is not valid (mistyped, revoked or from another installation)")
        raise ApiError(401, "no API token: send 'Authorization: Bearer <token>'")
    request.state.identity = found
    return found


def identity(request: Request) -> Identity:
    """Who the request acts as (set by ``endpoint`` before the handler runs)."""
    return request.state.identity


def endpoint(handler: Handler | None = None, *, token_in_query: bool = False):
    """Wrap a route: authenticate first (401 without a valid token), then answer ApiError and
    WorkflowError (401/403/404/409/422 …) as their JSON. ``token_in_query``: ``?token=`` is accepted
    as well (the alert webhook)."""

    def wrap(handle: Handler) -> Handler:
        async def wrapped(request: Request) -> Response:
            try:
                await authenticate(request, token_in_query=token_in_query)
                return await handle(request)
            except ApiError as exc:
                return exc.response()
            except WorkflowError as exc:
                return refusal(exc)
            except Exception:  # our bug, not the client's: logged, and still a JSON answer
                log.exception("API %s %s failed", request.method, request.url.path)
                return JSONResponse(
                    {"error": "internal error: the server could not answer this"}, status_code=500
                )

        wrapped.__name__ = handle.__name__
        wrapped.__doc__ = handle.__doc__
        wrapped.token_in_query = token_in_query  # type: ignore[attr-defined]
        return wrapped

    return wrap(handler) if handler is not None else wrap


# --- what they may see and do


def unknown_company(company: str) -> ApiError:
    """The answer for a company that does not exist, and alike for one the caller holds no role in."""
    return ApiError(404, f"unknown company {company!r}", "company")


def authorize(request: Request, company: object, permission: Permission = Permission.READ) -> str:
    """``company`` when the caller may do ``permission`` there (in a worker thread: it reads the
    store). 400 not a slug; 404 unknown or no role there, the two alike; 403 a role too low."""
    if not isinstance(company, str) or not company:
        raise ApiError(400, "company is required", "company")
    if not companies.valid_slug(company):
        raise ApiError(400, "company must be a slug like 'acme-freight' ([a-z0-9][a-z0-9-]{1,62})", "company")
    who = identity(request)
    if not who.sees(company):
        raise unknown_company(company)
    try:
        companies.get_company(cursor(), company=company)
    except companies.UnknownCompanyError:
        raise unknown_company(company) from None
    require(who, permission, company)
    return company


def require_company(request: Request, permission: Permission = Permission.READ) -> str:
    """The ``company`` query parameter, which the caller must be allowed to ``permission`` in
    (READ by default): 400 missing or not a slug, 404 unknown or not theirs, 403 role too low."""
    company = request.query_params.get("company")
    if not company:
        raise ApiError(400, "the company query parameter is required", "company")
    return authorize(request, company, permission)


def readable(request: Request) -> list[str]:
    """The companies the caller may read, in order; 403 for an identity that reads none (an
    ingest token pushes and reads nothing)."""
    who = identity(request)
    roles = [who.everywhere, *who.roles.values()]
    if not any(allows(role, Permission.READ) for role in roles):
        raise ApiError(403, f"{who.name} may push data but not read it: reading takes a viewer or above")
    return [c.company for c in companies.list_companies(cursor()) if who.can(Permission.READ, c.company)]


def service_param(request: Request, name: str = "service") -> str | None:
    """A filter or cursor that names a service: a service name, or 400 (never a string to match)."""
    value = request.query_params.get(name) or None
    if value is not None and not companies.SERVICE_NAME.match(value):
        what = "a service name" if name == "service" else "the value of 'next' from the previous page"
        raise ApiError(400, f"{name} must be {what}", name)
    return value


def check_fields(body: dict, allowed: tuple[str, ...]) -> None:
    """400 naming the first field the route does not know (``company`` and ``actor`` are known)."""
    unknown = sorted(set(body) - {"company", *IGNORED_FIELDS, *allowed})
    if unknown:
        raise ApiError(400, f"unknown field {unknown[0]!r}", unknown[0])


DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


def page(request: Request) -> tuple[int, str | None]:
    """``limit`` (default 100, at most 1000) and ``cursor`` from the query string."""
    raw = request.query_params.get("limit")
    limit = DEFAULT_LIMIT
    if raw is not None:
        if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_LIMIT:
            raise ApiError(400, f"limit must be a whole number from 1 to {MAX_LIMIT}", "limit")
        limit = int(raw)
    return limit, request.query_params.get("cursor") or None


def id_cursor(after: str | None) -> int | None:
    """A cursor that is the previous page's last id (400 when it is anything else)."""
    if after is None:
        return None
    if not (after.isascii() and after.isdigit()):
        raise ApiError(400, "cursor must be the value of 'next' from the previous page", "cursor")
    return int(after)


def one_page(items: list[T], limit: int, next_of: Callable[[T], object]) -> tuple[list[T], str | None]:
    """Lists fetch one item more than asked: the first ``limit`` of them and the next page's cursor."""
    if len(items) <= limit:
        return items, None
    items = items[:limit]
    return items, str(next_of(items[-1]))
