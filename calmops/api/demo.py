"""The demo world's live endpoints: `/demo/<company>/<service>/health|metrics|actuator/health`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from calmops import clock
from calmops.api.common import in_store
from calmops.demo import endpoints
from calmops.store import cursor


def _answer(company: str, service: str, kind: str) -> endpoints.Answer | None:
    found = endpoints.values_now(cursor(), company=company, service=service, now=clock.now())
    if found is None:
        return None
    spec, values = found
    return endpoints.render(kind, spec, values, company=company)


def _route(kind: str):
    async def serve(request: Request) -> Response:
        company, service = request.path_params["company"], request.path_params["service"]
        answer = await in_store(_answer, company, service, kind)
        if answer is None:
            return JSONResponse({"error": f"no demo service {service!r} in {company!r}"}, status_code=404)
        return Response(answer.body, status_code=answer.status, media_type=answer.content_type)

    return serve


def routes() -> list[Route]:
    return [
        Route("/demo/{company}/{service}/health", _route("health"), methods=["GET"]),
        Route("/demo/{company}/{service}/metrics", _route("metrics"), methods=["GET"]),
        Route("/demo/{company}/{service}/actuator/health", _route("actuator"), methods=["GET"]),
    ]
