"""Times as an operator reads them: short humanised durations and the viewer's own time zone.

The store keeps UTC; people read their wall clock. Pages show local times and keep UTC one hover
away, so two people in different zones can still compare notes without arithmetic.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def _seconds(value: timedelta | float) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def duration(value: timedelta | float) -> str:
    """A duration in at most two units: ``45 s``, ``3 min``, ``2 h 5 min``, ``3 d 4 h``."""
    total = round(abs(_seconds(value)))
    if total < 60:
        return f"{total} s"
    minutes, _ = divmod(total, 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, mins = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    days, hrs = divmod(hours, 24)
    return f"{days} d {hrs} h" if hrs else f"{days} d"


def ago(ts: datetime | None, now: datetime) -> str:
    """How long ago ``ts`` was: ``just now``, ``3 min ago``, ``2 h 5 min ago``; ``never`` for None."""
    if ts is None:
        return "never"
    delta = (now - _aware(ts)).total_seconds()
    if delta < -5:
        return f"in {duration(-delta)}"
    if delta < 5:
        return "just now"
    return f"{duration(delta)} ago"


def zone(name: str | None) -> tzinfo:
    """The viewer's zone from its IANA name, or UTC when the name is missing or unknown."""
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def _aware(ts: datetime) -> datetime:
    """Naive datetimes from the store are UTC."""
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts


def to_zone(ts: datetime, tz: tzinfo) -> datetime:
    """``ts`` (aware, or naive meaning UTC) on the viewer's wall clock."""
    return _aware(ts).astimezone(tz)


def from_local(wall: datetime, tz: tzinfo) -> datetime:
    """A naive wall-clock time the viewer typed, in ``tz``, as aware UTC."""
    if wall.tzinfo is not None:
        return wall.astimezone(UTC)
    return wall.replace(tzinfo=tz).astimezone(UTC)


def zone_label(tz: tzinfo, at: datetime) -> str:
    """``Europe/Berlin (UTC+01:00)`` or ``UTC``: what the chart axes are in."""
    offset = _aware(at).astimezone(tz).utcoffset() or timedelta(0)
    name = getattr(tz, "key", None) or str(tz)
    if offset == timedelta(0) and name in ("UTC", "Etc/UTC", "UTC+00:00"):
        return "UTC"
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"{name} (UTC{sign}{hours:02d}:{mins:02d})"


def local_text(ts: datetime | None, tz: tzinfo, *, seconds: bool = False) -> str:
    """``2026-11-26 23:03`` on the viewer's clock; ``—`` for None."""
    if ts is None:
        return "—"
    return to_zone(ts, tz).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def utc_text(ts: datetime | None) -> str:
    """``2026-11-26 22:03:00 UTC``; ``—`` for None."""
    if ts is None:
        return "—"
    return to_zone(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def iso_z(ts: datetime) -> str:
    """ISO 8601 UTC with ``Z``, as the contract writes times out."""
    return to_zone(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def clock_time(ts: datetime) -> str:
    """``14:03 UTC``: a moment in text that travels (briefs, reports, messages) without a zone guess."""
    return f"{_aware(ts).astimezone(UTC):%H:%M} UTC"
