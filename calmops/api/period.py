"""`GET /api/ops/reports/period?company=C&since=&until=&format=md|html|pdf|json`: the period report."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from calmops.api.common import ApiError, endpoint, in_store, require_company
from calmops.api.incidents import query_time
from calmops.reports import period
from calmops.store import cursor


def _build(request: Request) -> tuple[bytes, str, str]:
    company = require_company(request)
    fmt = request.query_params.get("format", "json")
    if fmt not in period.FORMATS:
        raise ApiError(400, f"format must be one of {', '.join(period.FORMATS)}", "format")
    since, until = query_time(request, "since"), query_time(request, "until")
    for name, value in (("since", since), ("until", until)):
        if value is None:
            raise ApiError(400, f"the {name} query parameter is required (ISO 8601 with a zone)", name)
    try:
        body, name = period.build(cursor(), company=company, since=since, until=until, fmt=fmt)
    except period.PeriodError as exc:
        raise ApiError(400, exc.message, exc.field) from None
    return body, period.CONTENT_TYPES[fmt], name


@endpoint
async def get_period_report(request: Request) -> Response:
    body, media_type, name = await in_store(_build, request)
    return Response(
        body, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
