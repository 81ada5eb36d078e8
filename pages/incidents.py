"""Incidents (/incidents?company=C): what is open, how bad, and for how long."""

import streamlit as st

from calmops import clock, incidents
from calmops.ui import frame, health
from calmops.ui import incidents as view

company = frame.require_company()
cur = frame.store()
tz = frame.viewer_tz()
now = clock.now()

st.markdown(f"## :material/report: Incidents · {frame.company_name(company)}")
numbers = incidents.incident_counts(cur, company=company)
if numbers.total:
    view.counts(numbers)
if not numbers.active:
    view.empty_state(company, has_history=bool(numbers.total), health=health.read_health(company, now))
if numbers.total:
    scope = st.segmented_control(
        "Show",
        ["active", "all"],
        format_func={"active": "Active", "all": "All, newest first"}.get,
        default="active" if numbers.active else "all",
        required=True,
        key=f"incident_scope_{company}",
    )
    rows = incidents.list_incidents(cur, company=company, active_only=scope == "active", limit=200)
    if rows:
        view.incident_table(rows, now=now, tz=tz)
