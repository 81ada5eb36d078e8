"""`GET /api/ops/audit?company=C[&format=csv]`: the append-only audit log, filtered and paged."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from calmops import audit
from calmops.api.common import ApiError, endpoint, id_cursor, in_store, one_page, page, require_company
from calmops.api.incidents import query_time
from calmops.store import cursor

FORMATS = ("json", "csv")


def _read(request: Request) -> tuple[str, list[audit.Entry], str | None, str]:
    company = require_company(request)
    params = request.query_params
    kind = params.get("format", "json")
    if kind not in FORMATS:
        raise ApiError(400, "format must be json or csv", "format")
    limit, after = page(request)
    if kind == "csv":  # an export: everything that matches, not a page
        limit, after = audit.MAX_ROWS, None
    rows = audit.entries(
        cursor(), company=company, actor=params.get("actor") or None, action=params.get("action") or None,
        entity=params.get("entity") or None, entity_id=params.get("entity_id") or None,
        since=query_time(request, "since"), until=query_time(request, "until"), limit=limit + 1,
        before_id=id_cursor(after),
    )  # fmt: skip
    rows, nxt = one_page(rows, limit, lambda e: e.id)
    return company, rows, nxt, kind


@endpoint
async def get_audit(request: Request) -> Response:
    company, rows, nxt, kind = await in_store(_read, request)
    if kind == "csv":
        return Response(
            audit.to_csv(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="calmops-audit-{company}.csv"'},
        )
    return JSONResponse({"audit": [e.to_json() for e in rows], "next": nxt})
