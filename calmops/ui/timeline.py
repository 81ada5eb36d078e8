"""An incident's timeline: what happened, in order, in words an operator reads at a glance.

Each entry shows the viewer's wall-clock time, the kind as an icon and a word, who did it and the
message. Messages can come from webhooks, so every piece of data is escaped before it reaches
markdown. The raw rows (UTC, JSON data) sit in an expander, one click away.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, tzinfo

import pandas as pd
import streamlit as st

from calmops import timefmt
from calmops.incidents import TimelineEntry
from calmops.ui.style import md


@dataclass(frozen=True)
class KindLook:
    label: str
    icon: str
    colour: str  # a Streamlit markdown colour


KINDS: dict[str, KindLook] = {
    "detected": KindLook("Detected", ":material/notification_important:", "red"),
    "alert": KindLook("Alert", ":material/campaign:", "red"),
    "updated": KindLook("Updated", ":material/update:", "blue"),
    "flapping": KindLook("Flapping", ":material/sync_problem:", "orange"),
    "recovered": KindLook("Recovered", ":material/healing:", "green"),
    "brief": KindLook("Brief", ":material/description:", "blue"),
    "auto_action": KindLook("Auto-action", ":material/smart_toy:", "violet"),
    "verification": KindLook("Verification", ":material/fact_check:", "violet"),
    "approved": KindLook("Approved", ":material/thumb_up:", "green"),
    "declined": KindLook("Declined", ":material/thumb_down:", "gray"),
    "executed": KindLook("Executed", ":material/play_circle:", "violet"),
    "acknowledged": KindLook("Acknowledged", ":material/visibility:", "orange"),
    "assigned": KindLook("Assigned", ":material/person:", "blue"),
    "note": KindLook("Note", ":material/sticky_note_2:", "gray"),
    "severity_changed": KindLook("Severity changed", ":material/swap_vert:", "orange"),
    "escalated": KindLook("Escalated", ":material/trending_up:", "red"),
    "reminder": KindLook("Reminder", ":material/alarm:", "gray"),
    "customer_message": KindLook("Customer message", ":material/forum:", "blue"),
    "resolved": KindLook("Resolved", ":material/check_circle:", "green"),
    "reopened": KindLook("Reopened", ":material/replay:", "red"),
    "review": KindLook("Review", ":material/rate_review:", "blue"),
}
OUTCOME_COLOURS = {
    "succeeded": "green",
    "effective": "green",
    "resolved": "green",
    "failed": "red",
    "worse": "red",
    "no_effect": "orange",
    "pending": "gray",
    "skipped": "gray",
}
LONG_TIMELINE = 14  # entries; longer timelines scroll inside their own box
TIMELINE_HEIGHT = 620


def kind_look(kind: str) -> KindLook:
    """How a kind looks; a kind this version does not know still reads sensibly."""
    return KINDS.get(kind) or KindLook(md(kind.replace("_", " ").capitalize()), ":material/circle:", "gray")


def entry_markdown(entry: TimelineEntry, tz: tzinfo) -> str:
    """One entry as two lines of markdown: time, kind and message; then who, the outcome and UTC."""
    look = kind_look(entry.kind)
    local = timefmt.to_zone(entry.ts, tz).strftime("%H:%M")
    head = f"**{local}** &nbsp; :{look.colour}[{look.icon} **{look.label}**]"
    message = md(" ".join((entry.message or "").split())) or ":gray[(no message)]"
    meta = [f"by {md(entry.actor)}" if entry.actor else "", timefmt.utc_text(entry.ts)]
    outcome = ""
    if entry.outcome:
        colour = OUTCOME_COLOURS.get(entry.outcome, "gray")
        outcome = f" :{colour}-badge[{md(entry.outcome.replace('_', ' '))}]"
    return f"{head} &nbsp; {message}{outcome}  \n:small[:gray[{' · '.join(m for m in meta if m)}]]"


def _day(ts: datetime, tz: tzinfo) -> str:
    return timefmt.to_zone(ts, tz).strftime("%a %d %b %Y")


def render_timeline(timeline: tuple[TimelineEntry, ...], *, tz: tzinfo) -> None:
    """The entries oldest first, under a small date line whenever the viewer's day changes."""
    if not timeline:
        st.caption("Nothing recorded yet.")
        return
    long = len(timeline) > LONG_TIMELINE
    box = st.container(height=TIMELINE_HEIGHT if long else "content", border=False)
    day = None
    for entry in timeline:
        if _day(entry.ts, tz) != day:
            day = _day(entry.ts, tz)
            box.markdown(f":small[:gray[**{day}**]]")
        box.markdown(entry_markdown(entry, tz))


def timeline_frame(timeline: tuple[TimelineEntry, ...], tz: tzinfo) -> pd.DataFrame:
    """The timeline as plain rows: both clocks, the kind as stored, and the data as JSON."""
    return pd.DataFrame(
        [
            {
                "Time": timefmt.local_text(e.ts, tz, seconds=True),
                "UTC": timefmt.iso_z(e.ts),
                "Kind": e.kind,
                "Actor": e.actor,
                "Message": e.message,
                "Outcome": e.outcome or "",
                "Data": json.dumps(e.data, sort_keys=True) if e.data else "",
            }
            for e in timeline
        ],
        columns=["Time", "UTC", "Kind", "Actor", "Message", "Outcome", "Data"],
    )


def raw_timeline(timeline: tuple[TimelineEntry, ...], *, tz: tzinfo, key: str) -> None:
    """The raw rows, folded away and built only while open (the page refreshes while it is live)."""
    raw = st.expander(":material/table: Raw timeline", expanded=False, key=key, on_change="rerun")
    if not raw.open:
        return
    with raw:
        st.dataframe(
            timeline_frame(timeline, tz),
            hide_index=True,
            width="stretch",
            column_config={
                "Message": st.column_config.TextColumn("Message", width="large"),
                "Data": st.column_config.JsonColumn("Data", width="medium"),
            },
        )
