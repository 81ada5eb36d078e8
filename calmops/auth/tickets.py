"""One-time tickets that carry a new session cookie from the sign-in form to the browser.

A Streamlit script cannot set a cookie, but a route of the same process can. The sign-in form keeps
the session value here and puts only a random ticket in a URL the browser loads (``/auth/session``);
that route redeems the ticket once and sets the cookie. A ticket is useless after 60 seconds or one
use, so a URL in a log never opens a session. Kept in memory: the script and the route share the
process, and a restart only means signing in again.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass

TTL_S = 60.0


@dataclass(frozen=True)
class _Ticket:
    value: str
    expires: float


_lock = threading.Lock()
_open: dict[str, _Ticket] = {}
_redeemed: dict[str, float] = {}  # ticket → when it was used, so the form stops asking for it


def _sweep(now: float) -> None:
    for ticket in [t for t, found in _open.items() if found.expires <= now]:
        del _open[ticket]
    for ticket in [t for t, at in _redeemed.items() if at + TTL_S <= now]:
        del _redeemed[ticket]


def issue(value: str, *, ttl_s: float = TTL_S) -> str:
    """A new ticket for ``value`` (a session cookie), good once within ``ttl_s`` seconds."""
    ticket = secrets.token_urlsafe(24)
    now = time.monotonic()
    with _lock:
        _sweep(now)
        _open[ticket] = _Ticket(value, now + ttl_s)
    return ticket


def redeem(ticket: str | None) -> str | None:
    """The value a ticket stands for, once; None for an unknown, used or expired ticket."""
    if not ticket:
        return None
    now = time.monotonic()
    with _lock:
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
