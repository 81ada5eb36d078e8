"""Escalation, notifications and customer messages over HTTP (CONTRACT.md, README "API").

`POST /api/ops/incidents/{id}/escalate`, `GET …/escalation`; `GET|POST /api/ops/notifications`
(a company's webhooks per channel and its recent notifications); `GET|POST
/api/ops/escalation-settings`; `GET|POST …/customer-message`, `POST …/customer-message/approve`,
`…/sent`, `…/send`. Views only parse and call `calmops.workflow` / `calmops.notify` as the
token's identity; a `WorkflowError` becomes its status and JSON body (``endpoint``).
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from calmops import notify
from calmops.api.common import (
    ApiError,
    authorize,
    check_fields,
    endpoint,
    identity,
    in_store,
    require_company,
)
from calmops.api.ingest import domain_errors, json_object
from calmops.auth import Identity, Permission
from calmops.store import cursor, get_db
from calmops.workflow import customer, escalation


def _incident_id(request: Request, company: str) -> int:
    raw = request.path_params["incident_id"]
    if not (raw.isascii() and raw.isdigit()):
        raise ApiError(404, f"no incident {raw} in {company!r}", "id")
    return int(raw)


Call = Callable[[str, int, dict, Identity], dict]


def _post(allowed: tuple[str, ...], permission: Permission, call: Call, status: int = 200):
    """A write on one incident: the caller's role checked, the body checked, then
    ``call(company, incident_id, body, identity)`` in a worker thread."""

    def run(request: Request, body: dict) -> JSONResponse:
        company = authorize(request, body.get("company"), permission)
        check_fields(body, allowed)
        incident_id = _incident_id(request, company)
        return JSONResponse(call(company, incident_id, body, identity(request)), status_code=status)

    @endpoint
    async def handle(request: Request) -> JSONResponse:
        body = await json_object(request)
        return await in_store(run, request, body)

    return handle


def _get(call: Callable[[str, int], dict]):
    def run(request: Request) -> JSONResponse:
        company = require_company(request)
        incident_id = _incident_id(request, company)
        return JSONResponse(call(company, incident_id))

    @endpoint
    async def handle(request: Request) -> JSONResponse:
        return await in_store(run, request)

    return handle


post_escalate = _post(
    ("reason", "note"),
    Permission.RESPOND,
    lambda company, incident_id, body, actor: escalation.escalate(
        get_db(), company=company, incident_id=incident_id, actor=actor, reason=body.get("reason"),
        note=body.get("note"),
    ),
)  # fmt: skip


def _escalation(company: str, incident_id: int) -> dict:
    cur = cursor()
    answer = escalation.escalation_json(cur, company=company, incident_id=incident_id)
    answer["form"] = {
        k: v
        for k, v in escalation.escalation_form_defaults(cur, company=company, incident_id=incident_id).items()
        if k != "state"
    }
    answer["notifications"] = [
        n.to_json() for n in notify.recent(cur, company=company, incident_id=incident_id, limit=20)
    ]
    return answer


get_escalation = _get(_escalation)

post_message = _post(
    ("text", "state"),
    Permission.RESPOND,
    lambda company, incident_id, body, actor: customer.draft(
        get_db(), company=company, incident_id=incident_id, text=body.get("text"), state=body.get("state"),
        actor=actor,
    ),
    status=201,
)  # fmt: skip


def _version_step(step: Callable):
    """Approving, marking sent and sending what customers read takes a lead (CUSTOMER_MESSAGES)."""
    return _post(
        ("version",),
        Permission.CUSTOMER_MESSAGES,
        lambda company, incident_id, body, actor: step(
            get_db(), company=company, incident_id=incident_id, version=body.get("version"), actor=actor,
        ),
    )  # fmt: skip


post_approve_message = _version_step(customer.approve_message)
post_message_sent = _version_step(customer.mark_sent)
post_send_message = _version_step(customer.send)


def _messages(company: str, incident_id: int) -> dict:
    cur = cursor()
    answer = customer.list_json(cur, company=company, incident_id=incident_id)
    answer["start"] = customer.starting_point(cur, company=company, incident_id=incident_id)
    return answer


get_messages = _get(_messages)


# --------------------------------------------------------------------------- company settings


def _notifications(request: Request) -> dict:
    company = require_company(request)
    raw = request.query_params.get("limit", "50")
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= notify.LIST_MAX:
        raise ApiError(400, f"limit must be a whole number from 1 to {notify.LIST_MAX}", "limit")
    cur = cursor()
    channels = notify.channels(cur, company=company)
    sent = [n.to_json() for n in notify.recent(cur, company=company, limit=int(raw))]
    if not identity(request).can(Permission.ADMINISTER, company):  # webhook URLs are credentials
        channels = [{**c, "url": notify.masked(c.get("url"))} for c in channels]
        sent = [{**n, "url": notify.masked(n.get("url"))} for n in sent]
    return {"channels": channels, "notifications": sent, "next": None}


@endpoint
async def get_notifications(request: Request) -> JSONResponse:
    """A company's notification channels and its recent notifications, newest first."""
    return JSONResponse(await in_store(_notifications, request))


def _set_channel(request: Request, body: dict) -> dict:
    company = authorize(request, body.get("company"), Permission.ADMINISTER)
    check_fields(body, ("channel", "url"))
    with domain_errors():
        return notify.set_channel(
            cursor(), company=company, channel=body.get("channel"), url=body.get("url"),
            actor=identity(request),
        )  # fmt: skip


@endpoint
async def post_notifications(request: Request) -> JSONResponse:
    """Set a channel's webhook ``{"company", "channel": oncall|lead|status_page, "url"}`` (an empty
    or null url removes it)."""
    body = await json_object(request)
    return JSONResponse(await in_store(_set_channel, request, body), status_code=201)


def _settings(request: Request) -> dict:
    company = require_company(request)
    return {"company": company, **escalation.settings(cursor(), company=company).to_json()}


@endpoint
async def get_escalation_settings(request: Request) -> JSONResponse:
    return JSONResponse(await in_store(_settings, request))


def _set_settings(request: Request, body: dict) -> JSONResponse:
    company = authorize(request, body.get("company"), Permission.TUNE)
    check_fields(body, ("critical_after_min", "remind_every_min"))
    changed = escalation.set_settings(
        cursor(), company=company, actor=identity(request), critical_after_min=body.get("critical_after_min"),
        remind_every_min=body.get("remind_every_min"),
    )  # fmt: skip
    return JSONResponse({"company": company, **changed.to_json()})


@endpoint
async def post_escalation_settings(request: Request) -> JSONResponse:
    """``{"company", "critical_after_min"?, "remind_every_min"?}`` (1 to 1440 minutes each)."""
    body = await json_object(request)
    return await in_store(_set_settings, request, body)


def routes() -> list[Route]:
    incident = "/api/ops/incidents/{incident_id}"
    return [
        Route(f"{incident}/escalate", post_escalate, methods=["POST"]),
        Route(f"{incident}/escalation", get_escalation, methods=["GET"]),
        Route(f"{incident}/customer-message", get_messages, methods=["GET"]),
        Route(f"{incident}/customer-message", post_message, methods=["POST"]),
        Route(f"{incident}/customer-message/approve", post_approve_message, methods=["POST"]),
        Route(f"{incident}/customer-message/sent", post_message_sent, methods=["POST"]),
        Route(f"{incident}/customer-message/send", post_send_message, methods=["POST"]),
        Route("/api/ops/notifications", get_notifications, methods=["GET"]),
        Route("/api/ops/notifications", post_notifications, methods=["POST"]),
        Route("/api/ops/escalation-settings", get_escalation_settings, methods=["GET"]),
        Route("/api/ops/escalation-settings", post_escalation_settings, methods=["POST"]),
    ]
