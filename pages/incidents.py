"""Incidents (/incidents?company=C): what is open, how bad, for how long; a row opens the incident."""

import streamlit as st

from calmops import clock, incidents
from calmops.companies import list_services
from calmops.ui import frame, health
from calmops.ui import incidents as view

company = frame.require_company()
view.open_created(company)
cur = frame.store()
tz = frame.viewer_tz()
refresh_s = frame.refresh_s()

st.markdown(f"## :material/report: Incidents · {frame.company_name(company)}")
had_incidents = bool(incidents.incident_counts(cur, company=company).total)
view.summary(
    company,
    had_incidents=had_incidents,
    health_of=lambda: health.read_health(company, clock.now()),
    refresh_s=refresh_s,
)
if had_incidents:
    filters = view.filter_bar(company, incidents.incident_services(cur, company=company), tz=tz)
    view.incident_list(company, filters, tz=tz, refresh_s=refresh_s)
view.manual_form(company, [s.service for s in list_services(cur, company=company)])
