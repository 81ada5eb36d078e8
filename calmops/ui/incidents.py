"""The Incidents page's pieces: counts, the list, and a calm empty state that says what to do."""

from __future__ import annotations

from datetime import datetime, tzinfo

import pandas as pd
import streamlit as st

from calmops import timefmt
from calmops.incidents import IncidentCounts, IncidentSummary
from calmops.ui.style import INCIDENT_STATUS, SEVERITY
from calmops.vocabulary import IncidentStatus, Severity

HEALTH_PAGE = "pages/health.py"


def counts(numbers: IncidentCounts) -> None:
    """Incidents by status, and the active ones by severity."""
    with st.container(border=True):
        cells = st.columns(len(IncidentStatus))
        for cell, status in zip(cells, IncidentStatus, strict=True):
            look = INCIDENT_STATUS[status]
            label = f"{look.label} (all time)" if status == IncidentStatus.RESOLVED else look.label
            cell.metric(label, numbers.by_status.get(status.value, 0))
        badges = []
        for severity in sorted(Severity, key=lambda s: -s.rank):
            n = numbers.active_by_severity.get(severity.value, 0)
            look = SEVERITY[severity]
            colour = look.badge if n else "gray"
            badges.append(f":{colour}-badge[{look.icon} {n} {look.label.lower()}]")
        st.markdown("Active by severity: " + " ".join(badges))


def _age(incident: IncidentSummary, now: datetime) -> str:
    if incident.resolved_at is not None:
        return f"resolved after {timefmt.duration(incident.resolved_at - incident.started_at)}"
    return timefmt.duration(now - incident.started_at)


def incident_frame(incidents: list[IncidentSummary], *, now: datetime, tz: tzinfo) -> pd.DataFrame:
    """The list as a table: what, where, how bad, where it stands, for how long, and its flags."""
    frame = pd.DataFrame(
        [
            {
                "#": i.id,
                "Title": i.title,
                "Service": i.service,
                "Severity": f"{SEVERITY[i.severity].label}",
                "Status": INCIDENT_STATUS[i.status].label,
                "Age": _age(i, now),
                "Started": timefmt.local_text(i.started_at, tz),
                "Flags": ", ".join(f.replace("_", " ") for f in i.flags),
                "Assignee": i.assignee or "—",
            }
            for i in incidents
        ]
    )
    if not any(i.assignee for i in incidents):
        frame = frame.drop(columns="Assignee")
    return frame


def incident_table(incidents: list[IncidentSummary], *, now: datetime, tz: tzinfo) -> None:
    st.dataframe(
        incident_frame(incidents, now=now, tz=tz),
        hide_index=True,
        width="stretch",
        key="incident_list",
        column_config={
            "#": st.column_config.NumberColumn("#", format="%d", width="small"),
            "Title": st.column_config.TextColumn("Title", width="large"),
        },
    )
    st.caption(f"Times on your clock: {timefmt.zone_label(tz, now)}.")


def empty_state(company: str, *, has_history: bool) -> None:
    """No active incident: what the runbook says to do next, with the way to the Health page."""
    headline = "No active incidents." if has_history else "No incidents."
    with st.container(border=True):
        st.markdown(f"#### :green[:material/check_circle:] {headline}")
        st.markdown(
            "Nothing has been detected or reported for this company. If something still seems "
            "wrong, follow the runbook (step 2, *if no incident exists*):\n"
            "1. **Check the Health page** for services that are degraded, down or not reporting.\n"
            f"2. **Trigger a health check now:** `GET /api/ops/health?company={company}` "
            f"(or `python -m calmops check --company {company}`).\n"
            "3. **Create an incident by hand** if you still see a problem: "
            "`POST /api/ops/incidents`.\n\n"
            "Take a breath — stay with the summaries and let the system do the legwork."
        )
        st.page_link(
            HEALTH_PAGE,
            label="Open the Health page",
            icon=":material/monitor_heart:",
            query_params={"company": company},
        )
