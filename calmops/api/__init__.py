"""The HTTP API under `/api/ops` (CONTRACT.md) and the runbook's `/company/<c>/ops/<page>` links.

Every `/api/ops` route, unknown ones included, answers only a valid bearer token (``endpoint``);
the page redirects and the demo world's `/demo/...` services are open (the pages have the
dashboard's sign-in, and the collector probes the demo services as any health endpoint)."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import BaseRoute, Route

from calmops.api import accounts, demo, escalation, reports, review, rules, workflow
from calmops.api.alerts import post_alerts
from calmops.api.audit import get_audit
from calmops.api.common import endpoint
from calmops.api.executors import delete_executor, get_executors, post_executor
from calmops.api.health import get_companies, get_health
from calmops.api.incidents import get_incident, get_incidents, post_incident
from calmops.api.ingest import post_event, post_snapshots
from calmops.api.period import get_period_report
from calmops.api.registry import (
    delete_target,
    get_services,
    get_targets,
    post_company,
    post_service,
    post_target,
)
from calmops.api.scenarios import get_scenarios, post_scenarios

PAGES = (
    "health", "incidents", "incident", "services", "targets", "rules", "runbook", "audit", "reports", "admin",
)  # fmt: skip


async def company_page(request: Request) -> RedirectResponse | JSONResponse:
    """`/company/<c>/ops/<page>` → `/<page>?company=<c>` (the path the runbook tells people to open);
    other query parameters (an incident's ``id``) go along."""
    page = request.path_params["page"]
    if page not in PAGES:
        return JSONResponse({"error": f"no page {page!r}; pages: {', '.join(PAGES)}"}, status_code=404)
    query = urlencode([("company", request.path_params["company"]), *request.query_params.multi_items()])
    return RedirectResponse(f"/{page}?{query}", status_code=307)


@endpoint
async def not_found(request: Request) -> JSONResponse:
    """Any other path or method under /api/ops: a JSON answer like every other error."""
    if request.method not in ("GET", "POST", "PUT", "DELETE"):
        return JSONResponse({"error": f"method {request.method} is not used by this API"}, status_code=405)
    return JSONResponse({"error": f"no such API route: {request.url.path}"}, status_code=404)


def routes() -> list[BaseRoute]:
    return [
        Route("/api/ops/health", get_health, methods=["GET"]),
        Route("/api/ops/companies", get_companies, methods=["GET"]),
        Route("/api/ops/companies", post_company, methods=["POST"]),
        Route("/api/ops/services", get_services, methods=["GET"]),
        Route("/api/ops/services", post_service, methods=["POST"]),
        Route("/api/ops/targets", get_targets, methods=["GET"]),
        Route("/api/ops/targets", post_target, methods=["POST"]),
        Route("/api/ops/targets", delete_target, methods=["DELETE"]),
        Route("/api/ops/snapshots", post_snapshots, methods=["POST"]),
        Route("/api/ops/events", post_event, methods=["POST"]),
        Route("/api/ops/alerts", post_alerts, methods=["POST"]),
        Route("/api/ops/audit", get_audit, methods=["GET"]),
        Route("/api/ops/reports/period", get_period_report, methods=["GET"]),
        *reports.routes(),  # the incident report, and the incident list as CSV (format=csv)
        Route("/api/ops/incidents", get_incidents, methods=["GET"]),
        Route("/api/ops/incidents", post_incident, methods=["POST"]),
        Route("/api/ops/incidents/{incident_id}", get_incident, methods=["GET"]),
        *workflow.routes(),
        *review.routes(),
        *rules.routes(),
        *escalation.routes(),
        Route("/company/{company}/ops/{page}", company_page, methods=["GET"]),
        Route("/company/{company}/ops", company_page_default, methods=["GET"]),
        Route("/api/ops/scenarios", get_scenarios, methods=["GET"]),
        Route("/api/ops/scenarios", post_scenarios, methods=["POST"]),
        Route("/api/ops/executors", get_executors, methods=["GET"]),
        Route("/api/ops/executors", post_executor, methods=["POST"]),
        Route("/api/ops/executors", delete_executor, methods=["DELETE"]),
        *accounts.routes(),
        *demo.routes(),
        Route(
            "/api/ops/{rest:path}", not_found, methods=["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]
        ),
    ]


async def company_page_default(request: Request) -> RedirectResponse:
    company = quote(request.path_params["company"], safe="")
    return RedirectResponse(f"/health?company={company}", status_code=307)
