"""What every route shares: JSON answers, errors as CONTRACT.md defines them, store work off the loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse

from calmops import companies
from calmops.store import cursor

T = TypeVar("T")


class ApiError(Exception):
    """A client's mistake: answered with its status and ``{"error", "field"?}``, never a 5xx."""

    def __init__(self, status: int, error: str, field: str | None = None) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.field = field

    def response(self) -> JSONResponse:
        body = {"error": self.error}
        if self.field:
            body["field"] = self.field
        return JSONResponse(body, status_code=self.status)


async def in_store(fn: Callable[..., T], *args, **kwargs) -> T:
    """Run store work in a worker thread (its own cursor): DuckDB must never block the event loop."""
    return await asyncio.to_thread(fn, *args, **kwargs)


def require_company(request: Request) -> str:
    """The ``company`` query parameter, which must name a known company (else 400 / 404)."""
    company = request.query_params.get("company")
    if not company:
        raise ApiError(400, "the company query parameter is required", "company")
    check_company(company)
    return company


def check_company(company: str) -> None:
    if not companies.valid_slug(company):
        raise ApiError(400, "company must be a slug like 'acme-freight' ([a-z0-9][a-z0-9-]{1,62})", "company")
    try:
        companies.get_company(cursor(), company=company)
    except companies.UnknownCompanyError:
        raise ApiError(404, f"unknown company {company!r}", "company") from None


def endpoint(handler: Callable):
    """Wrap a route so ApiError becomes its JSON answer."""

    async def wrapped(request: Request):
        try:
            return await handler(request)
        except ApiError as exc:
            return exc.response()

    wrapped.__name__ = handler.__name__
    wrapped.__doc__ = handler.__doc__
    return wrapped


DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


def page(request: Request) -> tuple[int, str | None]:
    """``limit`` (default 100, at most 1000) and ``cursor`` from the query string."""
    raw = request.query_params.get("limit")
    limit = DEFAULT_LIMIT
    if raw is not None:
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
            raise ApiError(400, f"limit must be a whole number from 1 to {MAX_LIMIT}", "limit")
        limit = int(raw)
    return limit, request.query_params.get("cursor") or None


def id_cursor(after: str | None) -> int | None:
    """A cursor that is the previous page's last id (400 when it is anything else)."""
    if after is None:
        return None
    if not after.isdigit():
        raise ApiError(400, "cursor must be the value of 'next' from the previous page", "cursor")
    return int(after)


def one_page(items: list[T], limit: int, next_of: Callable[[T], object]) -> tuple[list[T], str | None]:
    """Lists fetch one item more than asked: the first ``limit`` of them and the next page's cursor."""
    if len(items) <= limit:
        return items, None
    items = items[:limit]
    return items, str(next_of(items[-1]))
