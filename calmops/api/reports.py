"""`GET /api/ops/incidents/{id}/report?company=C&format=md|html|pdf|json`: the post-incident report
as a file (its content type, ``Content-Disposition: attachment`` and the shared file name), and
`GET /api/ops/incidents?company=C&format=csv`: the incident list as CSV with the list's filters."""

from __future__ import annotations

import csv
import io

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from calmops import agent, incidents, reports
from calmops.api.common import ApiError, endpoint, in_store, require_company
from calmops.api.incidents import incidents_page, list_filters, summary_json
from calmops.csvcells import cell
from calmops.store import cursor

CSV_COLUMNS = ("id", "title", "service", "severity", "status", "started_at", "detected_at", "resolved_at",
               "assignee", "flags", "pattern", "summary", "recommendation")  # fmt: skip
CSV_MAX = 10_000


def _report(request: Request) -> tuple[bytes, str, str]:
    company = require_company(request)
    fmt = request.query_params.get("format", "json")
    if fmt not in reports.FORMATS:
        raise ApiError(400, f"format must be one of {', '.join(reports.FORMATS)}", "format")
    raw = request.path_params["incident_id"]
    if not (raw.isascii() and raw.isdigit()):
        raise ApiError(404, f"no incident {raw} in {company!r}", "id")
    return reports.build(cursor(), company=company, incident_id=int(raw), fmt=fmt)


@endpoint
async def get_report(request: Request) -> Response:
    body, content_type, name = await in_store(_report, request)
    return Response(
        body, media_type=content_type, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


def incidents_csv(rows: list[dict]) -> str:
    """The incident list as CSV; cells a spreadsheet would run as a formula start with ``'``."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([cell(row.get(c)) for c in CSV_COLUMNS])
    return out.getvalue()


def _all(request: Request) -> tuple[str, str]:
    """Every incident the list's filters match (an export, not a page: up to 10,000), newest first."""
    company = require_company(request)
    found = incidents.list_incidents(cursor(), company=company, **list_filters(request), limit=CSV_MAX)
    briefs = agent.headlines(cursor(), company=company, incident_ids=[s.id for s in found])
    rows = []
    for s in found:
        headline = briefs[s.id].to_json() if s.id in briefs else {}
        rec = headline.get("recommendation")
        if isinstance(rec, dict):
            headline["recommendation"] = f"{rec.get('action')} ({rec.get('risk')} risk, {rec.get('status')})"
        rows.append({**summary_json(s), "flags": ", ".join(s.flags), **headline})
    return company, incidents_csv(rows)


@endpoint
async def get_incidents_or_csv(request: Request) -> Response:
    """The incident list; ``format=csv`` answers it as a CSV file (json, the default, is the list)."""
    fmt = request.query_params.get("format", "json")
    if fmt == "json":
        return await incidents_page(request)
    if fmt != "csv":
        raise ApiError(400, "format must be json or csv", "format")
    company, text = await in_store(_all, request)
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="calmops-incidents-{company}.csv"'},
    )


def routes() -> list[Route]:
    """Registered before the generic incident routes, so ``format=csv`` is answered here."""
    return [
        Route("/api/ops/incidents/{incident_id}/report", get_report, methods=["GET"]),
        Route("/api/ops/incidents", get_incidents_or_csv, methods=["GET"]),
    ]
