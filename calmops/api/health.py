"""`GET /api/ops/health` and `GET /api/ops/companies`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from calmops import clock, companies, runtime
from calmops.api.common import ApiError, endpoint, in_store, require_company
from calmops.config import settings
from calmops.health.models import CompanyHealth
from calmops.health.service import company_health
from calmops.store import cursor
from calmops.timeio import to_iso


def health_json(health: CompanyHealth) -> dict:
    collector = health.collector
    return {
        "company": health.company,
        "name": health.name,
        "status": health.status.value,
        "checked_at": to_iso(health.checked_at),
        "newest_snapshot_at": to_iso(health.newest_snapshot),
        "stale": health.stale,
        "open_incidents": health.open_incidents,
        "collector": {
            "last_round_at": to_iso(collector.last_round_at) if collector else None,
            "ok": bool(collector and collector.ok and collector.running),
            "running": bool(collector and collector.running),
            "error": collector.error if collector else "no collector runs in this process",
        },
        "services": [
            {
                "service": s.service,
                "status": s.status.value,
                "last_seen": to_iso(s.last_seen),
                "reasons": list(s.reasons),
                "metrics": {name: m.value for name, m in sorted(s.metrics.items())},
            }
            for s in health.services
        ],
    }


def _check_now(company: str | None) -> dict:
    """Run a round now, then judge the fresh state (one company, or all of them)."""
    feeder = runtime.feeder()
    if feeder is not None:
        feeder.run_round(company=company)
    cur = cursor()
    interval = settings().collect_interval_s
    state = runtime.collector_state()
    if company is not None:
        return health_json(company_health(cur, company=company, interval_s=interval, collector=state))
    every = [
        health_json(company_health(cur, company=c.company, interval_s=interval, collector=state))
        for c in companies.list_companies(cur)
    ]
    return {"checked_at": to_iso(clock.now()), "companies": every}


@endpoint
async def get_health(request: Request) -> JSONResponse:
    """Run a health round now and answer the current system state."""
    company = None
    if "company" in request.query_params:
        company = await in_store(require_company, request)
    return JSONResponse(await in_store(_check_now, company))


def _companies() -> dict:
    return {"companies": [{"company": c.company, "name": c.name} for c in companies.list_companies(cursor())]}


@endpoint
async def get_companies(request: Request) -> JSONResponse:
    if request.query_params.get("company") == "":
        raise ApiError(400, "company must not be empty", "company")
    return JSONResponse(await in_store(_companies))
