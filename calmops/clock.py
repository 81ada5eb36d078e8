"""The one source of "now". Tests (and the demo's --now) move it instead of waiting in real time."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

_lock = threading.Lock()
_frozen: datetime | None = None
_offset = timedelta(0)


def now() -> datetime:
    """Current time, timezone-aware UTC, truncated to microseconds as DuckDB stores it."""
    with _lock:
        if _frozen is not None:
            return _frozen
        return datetime.now(UTC) + _offset


def freeze(at: datetime) -> None:
    """Stop the clock at ``at`` (aware)."""
    global _frozen
    if at.tzinfo is None:
        raise ValueError("clock.freeze needs a timezone-aware datetime")
    with _lock:
        _frozen = at.astimezone(UTC)


def advance(delta: timedelta) -> None:
    """Move time forward: the frozen instant, or the offset of the running clock."""
    global _frozen, _offset
    with _lock:
        if _frozen is not None:
            _frozen = _frozen + delta
        else:
            _offset = _offset + delta


def reset() -> None:
    """Back to the wall clock."""
    global _frozen, _offset
    with _lock:
        _frozen = None
        _offset = timedelta(0)
