"""The Incidents page's pieces: counts, the list, and a calm empty state that says what to do."""

from __future__ import annotations

from datetime import datetime, tzinfo

import pandas as pd
import streamlit as st

from calmops import timefmt
from calmops.health.models import CompanyHealth
from calmops.incidents import IncidentCounts, IncidentSummary
from calmops.ui import tiles
from calmops.ui.style import INCIDENT_STATUS, SEVERITY
from calmops.vocabulary import HealthStatus, IncidentStatus, Severity

HEALTH_PAGE = "pages/health.py"
WARNING_ICON = ":material/warning:"


def _badge(look, n: int, word: str) -> str:
    return f":{look.badge if n else 'gray'}-badge[{look.icon} {n} {word}]"


def counts(numbers: IncidentCounts) -> None:
    """Incidents by status, and the active ones by severity, as badges (a zero stays grey)."""
    with st.container(border=True):
        by_status = [
            _badge(INCIDENT_STATUS[s], numbers.by_status.get(s.value, 0), s.value)
            for s in IncidentStatus
            if s != IncidentStatus.RESOLVED
        ]
        resolved = numbers.by_status.get(IncidentStatus.RESOLVED.value, 0)
        resolved_text = f":gray[· {resolved} resolved]"
        st.markdown(f"**{numbers.active} active** &nbsp; {' '.join(by_status)} &nbsp; {resolved_text}")
        by_severity = [
            _badge(SEVERITY[s], numbers.active_by_severity.get(s.value, 0), s.value)
            for s in sorted(Severity, key=lambda s: -s.rank)
        ]
        st.markdown("Active by severity &nbsp; " + " ".join(by_severity))


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
            "#": st.column_config.NumberColumn("#", format="%d", width=45),
            "Title": st.column_config.TextColumn("Title", width=300),
            "Service": st.column_config.TextColumn("Service", width=120),
            "Severity": st.column_config.TextColumn("Severity", width=75),
            "Status": st.column_config.TextColumn("Status", width=105),
            "Age": st.column_config.TextColumn("Age", width=80),
            "Started": st.column_config.TextColumn("Started", width=125),
        },
    )
    st.caption(f"Times on your clock: {timefmt.zone_label(tz, now)}.")


def empty_state(company: str, *, has_history: bool, health: CompanyHealth | None = None) -> None:
    """No active incident: what the runbook says to do next, with the way to the Health page.

    When the Health page shows trouble that no incident covers yet, say so first: that is exactly
    the runbook's "if no incident exists" case.
    """
    headline = "No active incidents." if has_history else "No incidents."
    trouble = health is not None and any(s.status != HealthStatus.OK for s in health.services)
    with st.container(border=True):
        mark = ":gray[:material/info:]" if trouble else ":green[:material/check_circle:]"
        st.markdown(f"#### {mark} {headline}")
        if trouble:
            st.warning(f"**The Health page shows trouble.** {tiles.headline(health)}", icon=WARNING_ICON)
        lead = (
            "No incident covers it yet. Follow the runbook (step 2, *if no incident exists*):"
            if trouble
            else "Nothing has been detected or reported for this company. If something still seems "
            "wrong, follow the runbook (step 2, *if no incident exists*):"
        )
        st.markdown(
            f"{lead}\n"
            "1. **Check the Health page** for services that are degraded, down or not reporting.\n"
            f"2. **Trigger a health check now:** `GET /api/ops/health?company={company}` "
            f"(or `python -m calmops check --company {company}`).\n"
            "3. **Create an incident by hand** if you still see a problem: `POST /api/ops/incidents`.\n\n"
            "Take a breath — stay with the summaries and let the system do the legwork."
        )
        st.page_link(
            HEALTH_PAGE,
            label="Open the Health page",
            icon=":material/monitor_heart:",
            query_params={"company": company},
        )
