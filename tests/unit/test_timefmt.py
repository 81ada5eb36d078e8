"""Humanised durations and the viewer's time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from calmops import timefmt

NOW = datetime(2026, 11, 26, 22, 3, tzinfo=UTC)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 s"),
        (45, "45 s"),
        (59.6, "1 min"),
        (180, "3 min"),
        (3599, "59 min"),
        (3600, "1 h"),
        (7500, "2 h 5 min"),
        (86400, "1 d"),
        (3 * 86400 + 4 * 3600 + 59, "3 d 4 h"),
        (-90, "1 min"),
    ],
)
def test_duration_uses_at_most_two_units(seconds: float, text: str) -> None:
    assert timefmt.duration(seconds) == text
    assert timefmt.duration(timedelta(seconds=seconds)) == text


@pytest.mark.parametrize(
    ("ago", "text"),
    [(timedelta(seconds=2), "just now"), (timedelta(minutes=3), "3 min ago"),
     (timedelta(hours=2, minutes=5), "2 h 5 min ago"), (timedelta(minutes=-10), "in 10 min")],
)  # fmt: skip
def test_ago(ago: timedelta, text: str) -> None:
    assert timefmt.ago(NOW - ago, NOW) == text


def test_ago_of_nothing_is_never_and_naive_times_are_utc() -> None:
    assert timefmt.ago(None, NOW) == "never"
    assert timefmt.ago(datetime(2026, 11, 26, 22, 0), NOW) == "3 min ago"


def test_zone_falls_back_to_utc() -> None:
    assert timefmt.zone(None) is UTC
    assert timefmt.zone("") is UTC
    assert timefmt.zone("Not/AZone") is UTC
    assert timefmt.zone("../etc/passwd") is UTC
    assert timefmt.zone("Europe/Berlin") == ZoneInfo("Europe/Berlin")


def test_conversions_between_utc_and_the_viewers_clock() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    assert timefmt.to_zone(NOW, berlin).hour == 23
    assert timefmt.local_text(NOW, berlin) == "2026-11-26 23:03"
    assert timefmt.local_text(NOW, berlin, seconds=True) == "2026-11-26 23:03:00"
    assert timefmt.from_local(datetime(2026, 11, 26, 23, 3), berlin) == NOW
    assert timefmt.from_local(NOW, berlin) == NOW
    assert timefmt.utc_text(NOW) == "2026-11-26 22:03:00 UTC"
    assert timefmt.iso_z(NOW) == "2026-11-26T22:03:00Z"
    assert timefmt.local_text(None, berlin) == timefmt.utc_text(None) == "—"


def test_zone_label_names_the_offset_in_force() -> None:
    assert timefmt.zone_label(UTC, NOW) == "UTC"
    assert timefmt.zone_label(ZoneInfo("UTC"), NOW) == "UTC"
    assert timefmt.zone_label(ZoneInfo("Europe/Berlin"), NOW) == "Europe/Berlin (UTC+01:00)"
    summer = datetime(2026, 7, 1, tzinfo=UTC)
    assert timefmt.zone_label(ZoneInfo("Europe/Berlin"), summer) == "Europe/Berlin (UTC+02:00)"
    assert timefmt.zone_label(ZoneInfo("America/St_Johns"), NOW) == "America/St_Johns (UTC-03:30)"
