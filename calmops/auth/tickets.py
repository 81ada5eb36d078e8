"""One-time tickets that carry a new session cookie from the sign-in form to the browser.

A Streamlit script cannot set a cookie, but a route of the same process can. The sign-in form keeps
the session value here and puts only a random ticket in a URL the browser loads (``/auth/session``);
that route redeems the ticket once and sets the cookie. A ticket is useless after 60 seconds or one
use, so a URL in a log never opens a session; and it opens only in the browser that signed in (the
one carrying the same Streamlit XSRF token), so nobody can hand their own session to someone else.
Kept in memory: the script and the route share the process, and a restart only means signing in
again.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass

TTL_S = 60.0


@dataclass(frozen=True)
class _Ticket:
    value: str
    expires: float
    browser: bytes | None  # the signing-in browser's XSRF token; None: not known (no cookie)


def browser_token(xsrf_cookie: str | None) -> bytes | None:
    """The token inside Streamlit's ``_streamlit_xsrf`` cookie (``2|mask|masked|time``: the mask
    changes from response to response, the token does not), or the cookie itself (older form)."""
    if not xsrf_cookie:
        return None
    value = xsrf_cookie.strip("\"'")
    try:
        if value.startswith("2|"):
            _, mask_hex, masked_hex, _ = value.split("|")
            mask, masked = bytes.fromhex(mask_hex), bytes.fromhex(masked_hex)
            return bytes(b ^ mask[i % 4] for i, b in enumerate(masked))
    except ValueError:
        return None
    return value.encode() or None


_lock = threading.Lock()
_open: dict[str, _Ticket] = {}
_redeemed: dict[str, float] = {}  # ticket → when it was used, so the form stops asking for it


def _sweep(now: float) -> None:
    for ticket in [t for t, found in _open.items() if found.expires <= now]:
        del _open[ticket]
    for ticket in [t for t, at in _redeemed.items() if at + TTL_S <= now]:
        del _redeemed[ticket]


def issue(value: str, *, browser: bytes | None = None, ttl_s: float = TTL_S) -> str:
    """A new ticket for ``value`` (a session cookie), good once within ``ttl_s`` seconds, in the
    browser whose XSRF token is ``browser`` (when it is known)."""
    ticket = secrets.token_urlsafe(24)
    now = time.monotonic()
    with _lock:
        _sweep(now)
        _open[ticket] = _Ticket(value, now + ttl_s, browser)
    return ticket


def redeem(ticket: str | None, *, browser: bytes | None = None) -> str | None:
    """The value a ticket stands for, once; None for an unknown, used or expired ticket, or one
    brought by another browser than the one that signed in (it stays for its own browser)."""
    if not ticket:
        return None
    now = time.monotonic()
    with _lock:
        found = _open.get(ticket)
        bound = found.browser if found is not None else None
        if bound is not None and (browser is None or not hmac.compare_digest(bound, browser)):
            return None
        found = _open.pop(ticket, None)
        _sweep(now)
        if found is None or found.expires <= now:
            return None
        _redeemed[ticket] = now
    return found.value


def state(ticket: str) -> str:
    """``open`` (not used yet), ``redeemed`` (recently used) or ``gone`` (expired or unknown)."""
    now = time.monotonic()
    with _lock:
        found = _open.get(ticket)
        if found is not None and found.expires > now:
            return "open"
        return "redeemed" if ticket in _redeemed else "gone"
