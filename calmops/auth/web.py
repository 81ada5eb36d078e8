"""The browser side of signing in that a Streamlit script cannot do: setting and clearing the cookie.

The sign-in form (``calmops.ui.signin``) opens a session and renders an image beacon
``/auth/session?ticket=…``; this route redeems the one-time ticket (``calmops.auth.tickets``) and
sets ``calmops_session`` — HttpOnly (no script reads it), SameSite=Lax, Secure over https — so a
reload finds the session. ``/auth/signout`` ends the session the browser carries and clears the
cookie. The session value itself never appears in a URL; both answers are never cached.
"""

from __future__ import annotations

import asyncio
import base64

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from calmops.auth import service, tickets

COOKIE = "calmops_session"
XSRF_COOKIE = "_streamlit_xsrf"  # Streamlit's own: its token tells one browser from another
SESSION_PATH = "/auth/session"
SIGNOUT_PATH = "/auth/signout"
MAX_AGE_S = int(service.SESSION_TTL.total_seconds())
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")  # 1×1 transparent GIF
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _pixel() -> Response:
    return Response(PIXEL, media_type="image/gif", headers=NO_STORE)


def _secure(request: Request) -> bool:
    """Secure cookies wherever the browser came over https (directly or through a proxy uvicorn trusts)."""
    return request.url.scheme == "https"


async def set_session(request: Request) -> Response:
    """Redeem ``?ticket=`` and hand its session to the browser as an HttpOnly cookie."""
    browser = tickets.browser_token(request.cookies.get(XSRF_COOKIE))
    value = tickets.redeem(request.query_params.get("ticket"), browser=browser)
    response = _pixel()
    if value is not None:
        response.set_cookie(
            COOKIE,
            value,
            max_age=MAX_AGE_S,
            path="/",
            secure=_secure(request),
            httponly=True,
            samesite="lax",
        )
    return response


def _close(cookie: str) -> None:
    from calmops.store import cursor

    service.close_session(cursor(), cookie)


async def sign_out(request: Request) -> Response:
    """End the session this browser carries (the store forgets it) and clear the cookie."""
    cookie = request.cookies.get(COOKIE)
    if cookie:
        await asyncio.to_thread(_close, cookie)
    response = _pixel()
    response.delete_cookie(COOKIE, path="/", secure=_secure(request), httponly=True, samesite="lax")
    return response


def routes() -> list[BaseRoute]:
    """The sign-in routes ``server.py`` adds to the ``st.App``."""
    return [
        Route(SESSION_PATH, set_session, methods=["GET"]),
        Route(SIGNOUT_PATH, sign_out, methods=["GET"]),
    ]
