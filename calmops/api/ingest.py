"""`POST /api/ops/snapshots` and `POST /api/ops/events`, and the body handling every write shares.

Views read the body (at most 10 MB), hand it to a worker thread, and answer what the service
functions in ``calmops.ingest`` return; their validation errors become 400s naming the field.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import orjson
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse

from calmops import companies, ingest
from calmops.api.common import ApiError, authorize, endpoint, identity, in_store
from calmops.auth import Permission
from calmops.store import cursor

PROMETHEUS_TYPES = ("text/plain", "application/openmetrics-text")


@contextmanager
def domain_errors() -> Iterator[None]:
    """What the service functions raise for a client's mistake, as the contract's answers."""
    try:
        yield
    except companies.InvalidError as exc:
        raise ApiError(400, exc.message, exc.field) from None
    except companies.UnknownCompanyError as exc:
        raise ApiError(404, str(exc), "company") from None
    except companies.NotFoundError as exc:
        raise ApiError(404, str(exc), "id") from None
    except companies.AlreadyExistsError as exc:
        raise ApiError(409, str(exc)) from None


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def read_body(request: Request, *, limit: int = ingest.MAX_BODY_BYTES) -> bytes:
    """The raw body, refused with 413 as soon as it is known to exceed ``limit``."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"the body is larger than {limit // (1024 * 1024)} MB")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"the body is larger than {limit // (1024 * 1024)} MB")
        chunks.append(chunk)
    return b"".join(chunks)


def check_json_type(request: Request) -> None:
    kind = media_type(request)
    if kind and kind != "application/json" and not kind.endswith("+json"):
        raise ApiError(400, f"expected a JSON body (Content-Type: application/json), got {kind!r}")


def parse_json(raw: bytes) -> object:
    if not raw.strip():
        raise ApiError(400, "the body is empty; expected a JSON object")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, f"the body is not valid JSON: {exc}") from None


def as_object(request: Request, raw: bytes) -> dict:
    """A JSON object from ``raw`` (400 for another content type, malformed JSON or a non-object)."""
    check_json_type(request)
    body = parse_json(raw)
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object")
    return body


async def json_object(request: Request) -> dict:
    return as_object(request, await read_body(request))


Pushed = tuple[ingest.SnapshotBatch, ingest.PushResult]


def _push_json(request: Request, raw: bytes) -> Pushed:
    """Parse, validate and write a JSON push in the worker thread (a 10 MB body takes a while).
    Whether the token may push to the company is settled before the (long) validation."""
    body = parse_json(raw)
    if isinstance(body, dict):
        authorize(request, body.get("company"), Permission.INGEST)
    with domain_errors():
        batch = ingest.snapshot_batch(body)
        return batch, ingest.push(cursor(), batch=batch, actor=identity(request), detect=False)


def _push_text(
    request: Request, raw: bytes, content_type: str, company: str | None, service: str | None
) -> Pushed:
    """A Prometheus text push for one service of one company, all samples stamped now."""
    if not company:
        raise ApiError(400, "a Prometheus text push needs the company query parameter", "company")
    if not service:
        raise ApiError(400, "a Prometheus text push needs the service query parameter", "service")
    from calmops.health.parsers import ParseError, parse

    authorize(request, company, Permission.INGEST)
    with domain_errors():
        companies.check_service_name(service)
        try:
            parsed = parse(raw, content_type=content_type, declared="prometheus")
        except ParseError as exc:
            raise ApiError(400, f"the body is not Prometheus text: {exc}", "body") from None
        batch = ingest.samples_batch(
            company=company, service=service, samples=parsed.samples, notes=parsed.notes
        )
        return batch, ingest.push(cursor(), batch=batch, actor=identity(request), detect=False)


@endpoint
async def post_snapshots(request: Request) -> JSONResponse:
    """Store pushed snapshots: JSON ``{"company", "snapshots"}`` or Prometheus text for one service.

    The answer goes out as soon as the batch is stored; detection judges it right after, off the
    event loop, folded with other pushes for the company that arrive meanwhile.
    """
    kind = media_type(request)
    raw = await read_body(request)
    if kind in PROMETHEUS_TYPES:
        params = request.query_params
        batch, result = await in_store(
            _push_text,
            request,
            raw,
            request.headers["content-type"],
            params.get("company"),
            params.get("service"),
        )
    else:
        check_json_type(request)
        batch, result = await in_store(_push_json, request, raw)
    answer = {"accepted": result.accepted, "duplicates": result.duplicates}
    if result.skipped:
        answer["skipped"] = result.skipped
    if result.notes:
        answer["notes"] = list(result.notes)
    judge = None
    if result.accepted:
        judge = BackgroundTask(
            in_store, ingest.detect_soon, company=batch.company, services=batch.services, until=batch.newest
        )
    return JSONResponse(answer, background=judge)


def _record_event(request: Request, body: dict) -> dict:
    authorize(request, body.get("company"), Permission.INGEST)
    with domain_errors():
        event = ingest.event_in(body)
        return ingest.record_event(cursor(), event=event, actor=identity(request)).to_json()


@endpoint
async def post_event(request: Request) -> JSONResponse:
    """Record a deploy or config change (evidence for the agent, a marker on the charts)."""
    body = await json_object(request)
    return JSONResponse(await in_store(_record_event, request, body), status_code=201)
