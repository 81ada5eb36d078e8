"""`GET /api/ops/health` and `GET /api/ops/companies`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from calmops import clock, companies, runtime
from calmops.api.common import ApiError, endpoint, in_store, readable, require_company
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


def _check_now(company: str | None, visible: list[str]) -> dict:
    """Run a round now, then judge the fresh state (one company, or every one the caller reads)."""
    feeder = runtime.feeder()
    cur = cursor()
    if feeder is not None:
        if company is not None or len(visible) == len(companies.list_companies(cur)):
            feeder.run_round(company=company)  # one round probes every target at once
        else:
            for one in visible:
                feeder.run_round(company=one)
    interval = settings().collect_interval_s
    state = runtime.collector_state()
    if company is not None:
        return health_json(company_health(cur, company=company, interval_s=interval, collector=state))
    every = [
        health_json(company_health(cur, company=c, interval_s=interval, collector=state)) for c in visible
    ]
    return {"checked_at": to_iso(clock.now()), "companies": every}


@endpoint
async def get_health(request: Request) -> JSONResponse:
    """Run a health round now and answer the current system state (without ``company``: of every
    company the caller may read, and no other)."""
    company, visible = None, []
    if "company" in request.query_params:
        company = await in_store(require_company, request)
    else:
        visible = await in_store(readable, request)
    return JSONResponse(await in_store(_check_now, company, visible))


def _companies(request: Request) -> dict:
    """Only the companies the caller may read: another company does not exist for it."""
    mine = set(readable(request))
    found = [c for c in companies.list_companies(cursor()) if c.company in mine]
    return {"companies": [{"company": c.company, "name": c.name} for c in found]}


@endpoint
async def get_companies(request: Request) -> JSONResponse:
    if request.query_params.get("company") == "":
        raise ApiError(400, "company must not be empty", "company")
    return JSONResponse(await in_store(_companies, request))
