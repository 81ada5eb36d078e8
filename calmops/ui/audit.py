"""The Audit page's pieces: filters, the log as a table, and its CSV export."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, tzinfo

import pandas as pd
import streamlit as st

from calmops import audit, timefmt
from calmops.store import cursor

RANGES = {"Last 24 h": timedelta(days=1), "Last 7 days": timedelta(days=7), "All time": None}
ANY = "Any"


def _compact(value: dict | None) -> str:
    return "" if value is None else json.dumps(value, sort_keys=True, ensure_ascii=False)[:400]


def filters(company: str) -> dict:
    actors, actions, entities = audit.facets(cursor(), company=company)
    who, what, which, when = st.columns([2, 3, 2, 2])
    actor = who.selectbox("Who", [ANY, *actors], key=f"audit_actor_{company}")
    action = what.selectbox("What", [ANY, *actions], key=f"audit_action_{company}")
    entity = which.selectbox("On", [ANY, *entities], key=f"audit_entity_{company}")
    span = when.selectbox("When", list(RANGES), index=1, key=f"audit_range_{company}")
    return {
        "actor": None if actor == ANY else actor,
        "action": None if action == ANY else action,
        "entity": None if entity == ANY else entity,
        "span": RANGES[span],
    }


def log(company: str, chosen: dict, *, tz: tzinfo, now: datetime) -> None:
    since = now - chosen["span"] if chosen["span"] else None
    rows = audit.entries(
        cursor(), company=company, actor=chosen["actor"], action=chosen["action"], entity=chosen["entity"],
        since=since, limit=audit.MAX_ROWS,
    )  # fmt: skip
    if not rows:
        st.info("**Nothing recorded for these filters.** Widen the time range or clear a filter.",
                icon=":material/search_off:")  # fmt: skip
        return
    frame = pd.DataFrame(
        {
            "When": [timefmt.to_zone(e.ts, tz).replace(tzinfo=None) for e in rows],
            "Who": [e.actor for e in rows],
            "What": [e.action for e in rows],
            "On": [f"{e.entity} {e.entity_id or ''}".strip() for e in rows],
            "Before": [_compact(e.before) for e in rows],
            "After": [_compact(e.after) for e in rows],
        }
    )
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        height=min(36 * (len(frame) + 1) + 2, 640),
        column_config={
            "When": st.column_config.DatetimeColumn("When", format="D MMM HH:mm:ss", width=130),
            "Before": st.column_config.TextColumn("Before", width=260),
            "After": st.column_config.TextColumn("After", width=320),
        },
    )
    st.download_button(
        "Download CSV", audit.to_csv(rows), file_name=f"calmops-audit-{company}.csv", mime="text/csv",
        icon=":material/download:",
    )  # fmt: skip
    st.caption(
        f"{len(rows):,} entries, newest first · append-only: nothing here is ever changed or deleted · "
        f"times in {timefmt.zone_label(tz, now)}"
    )
