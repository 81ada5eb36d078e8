"""An incident's timeline: what happened, in order, in words an operator reads at a glance.

Each entry shows the viewer's wall-clock time, the kind as an icon and a word, who did it and the
message. Messages can come from webhooks, so every piece of data is escaped before it reaches
markdown. The raw rows (UTC, JSON data) sit in an expander, one click away.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

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
LONG_TIMELINE = 40  # entries; a longer timeline folds its middle away
FOLD_HEAD, FOLD_TAIL = 5, 25


def kind_look(kind: str) -> KindLook:
    """How a kind looks; a kind this version does not know still reads sensibly."""
    return KINDS.get(kind) or KindLook(md(kind.replace("_", " ").capitalize()), ":material/circle:", "gray")


def _message(entry: TimelineEntry, look: KindLook) -> str:
    """The message on one line, without a leading "Detected:" that only repeats the kind."""
    text = " ".join((entry.message or "").split())
    prefix = f"{look.label}:"
    if text.lower().startswith(prefix.lower()) and len(text) > len(prefix):
        text = text[len(prefix) :].lstrip()
    return md(text) if text else ":gray[(no message)]"


def entry_markdown(entry: TimelineEntry, tz: tzinfo) -> str:
    """One entry as two lines of markdown: time, kind and message; then who, the outcome, and the
    UTC time when the viewer's clock is not on UTC."""
    look = kind_look(entry.kind)
    local = timefmt.to_zone(entry.ts, tz)
    head = f"**{local.strftime('%H:%M')}** &nbsp; :{look.colour}[{look.icon} **{look.label}**]"
    meta = [f"by {md(entry.actor)}" if entry.actor else ""]
    if local.utcoffset():
        meta.append(timefmt.to_zone(entry.ts, UTC).strftime("%H:%M UTC"))
    outcome = ""
    if entry.outcome:
        colour = OUTCOME_COLOURS.get(entry.outcome, "gray")
        outcome = f" :{colour}-badge[{md(entry.outcome.replace('_', ' '))}]"
    line = " · ".join(m for m in meta if m)
    return f"{head} &nbsp; {_message(entry, look)}{outcome}" + (f"  \n:small[:gray[{line}]]" if line else "")


def _day(ts: datetime, tz: tzinfo) -> str:
    return timefmt.to_zone(ts, tz).strftime("%a %d %b %Y")


def render_timeline(timeline: tuple[TimelineEntry, ...], *, tz: tzinfo, now: datetime, key: str) -> None:
    """The entries oldest first, under a small date line whenever the viewer's day changes.

    A very long story (a service flapping for hours) shows its start and its latest entries; the
    middle is one toggle away, so the page stays readable and nothing is hidden for good.
    """
    if not timeline:
        st.caption("Nothing recorded yet.")
        return
    count = f"{len(timeline)} entries" if len(timeline) != 1 else "1 entry"
    st.caption(f"Oldest first · {count} · times in {timefmt.zone_label(tz, now)}")
    head, tail = list(timeline), []
    folded = len(timeline) - FOLD_HEAD - FOLD_TAIL
    if len(timeline) > LONG_TIMELINE and not st.session_state.get(key):
        head, tail = list(timeline[:FOLD_HEAD]), list(timeline[-FOLD_TAIL:])
    _entries(head, tz)
    if len(timeline) > LONG_TIMELINE:
        st.toggle(f"Show the {folded} entries in between", key=key)
    _entries(tail, tz, day=_day(head[-1].ts, tz))


def _entries(entries: list[TimelineEntry], tz: tzinfo, day: str | None = None) -> None:
    for entry in entries:
        if _day(entry.ts, tz) != day:
            day = _day(entry.ts, tz)
            st.markdown(f":small[:gray[**{day}**]]")
        st.markdown(entry_markdown(entry, tz))


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
