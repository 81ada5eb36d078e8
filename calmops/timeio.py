"""Times in and out of the public contract: ISO 8601 UTC with ``Z`` out; ISO 8601 with a zone in."""

from __future__ import annotations

from datetime import UTC, datetime


class BadTimeError(ValueError):
    """A time that is not ISO 8601 with a zone."""


def to_iso(ts: datetime | None) -> str | None:
    """``2026-11-26T22:03:00Z`` (UTC, whole seconds), or None."""
    if ts is None:
        return None
    if ts.tzinfo is None:
        raise ValueError("naive datetimes never leave the store")
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: object) -> datetime:
    """An aware UTC datetime from ISO 8601 text with a zone; anything else raises BadTimeError."""
    if not isinstance(text, str) or not text.strip():
        raise BadTimeError("expected an ISO 8601 time with a zone, e.g. 2026-11-26T22:03:00Z")
    try:
        parsed = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError as exc:
        raise BadTimeError(f"not an ISO 8601 time: {text!r}") from exc
    if parsed.tzinfo is None:
        raise BadTimeError(f"time {text!r} has no zone; add Z or an offset like +01:00")
    return parsed.astimezone(UTC)
