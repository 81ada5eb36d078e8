"""The HTTP API under `/api/ops` (CONTRACT.md) and the runbook's `/company/<c>/ops/<page>` links."""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import BaseRoute, Route

from calmops.api.health import get_companies, get_health

PAGES = ("health", "incidents", "runbook")


async def company_page(request: Request) -> RedirectResponse | JSONResponse:
    """`/company/<c>/ops/<page>` → `/<page>?company=<c>` (the path the runbook tells people to open)."""
    page = request.path_params["page"]
    if page not in PAGES:
        return JSONResponse({"error": f"no page {page!r}; pages: {', '.join(PAGES)}"}, status_code=404)
    company = quote(request.path_params["company"], safe="")
    return RedirectResponse(f"/{page}?company={company}", status_code=307)


async def not_found(request: Request) -> JSONResponse:
    return JSONResponse({"error": f"no such API route: {request.url.path}"}, status_code=404)


def routes() -> list[BaseRoute]:
    return [
        Route("/api/ops/health", get_health, methods=["GET"]),
        Route("/api/ops/companies", get_companies, methods=["GET"]),
        Route("/company/{company}/ops/{page}", company_page, methods=["GET"]),
        Route("/company/{company}/ops", company_page_default, methods=["GET"]),
        Route("/api/ops/{rest:path}", not_found, methods=["GET", "POST", "PUT", "DELETE"]),
    ]


async def company_page_default(request: Request) -> RedirectResponse:
    company = quote(request.path_params["company"], safe="")
    return RedirectResponse(f"/health?company={company}", status_code=307)
