"""`POST /api/ops/alerts?company=C`: Alertmanager (v4) and Grafana (v1) webhooks.

The token may come as ``?token=`` too: Alertmanager's and Grafana's webhook settings cannot always
set a header. It is read like the header's and never written to a log."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from calmops import agent, alerts, clock
from calmops.api.common import ApiError, endpoint, identity, in_store, require_company
from calmops.api.ingest import json_object
from calmops.auth import Identity, Permission
from calmops.store import cursor, get_db, unit_of_work


def _receive(company: str, parsed: list[alerts.Alert], truncated: int, actor: Identity) -> dict:
    cur = cursor()
    with unit_of_work(cur):
        result = alerts.receive(
            cur, company=company, alerts=parsed, truncated=truncated, now=clock.now(), actor=actor
        )
    if result.incidents:
        agent.after_detection(
            get_db(), company=company, incident_ids=result.incidents, opened=result.incidents
        )
    return {"incidents": result.incidents, "duplicates": result.duplicates, "truncated": result.truncated}


@endpoint(token_in_query=True)
async def post_alerts(request: Request) -> JSONResponse:
    """Validate the whole payload first; nothing is written unless every alert in it is readable."""
    company = await in_store(require_company, request, Permission.INGEST)
    body = await json_object(request)
    try:
        parsed, truncated = alerts.parse(body)
    except alerts.AlertError as exc:
        raise ApiError(400, str(exc), exc.field) from None
    return JSONResponse(await in_store(_receive, company, parsed, truncated, identity(request)))
