"""Health (/health?company=C): how every service is doing now, and how it got there."""

import streamlit as st

from calmops.ui import checks, frame, health

company = frame.require_company()
tz = frame.viewer_tz()
refresh_s = frame.refresh_s()

title, action = st.columns([5, 1], vertical_alignment="bottom")
title.markdown(f"## :material/monitor_heart: Health · {frame.company_name(company)}")
with action:
    checks.run_check_button(company)
health.status_panel(company, tz, refresh_s=refresh_s)
st.markdown("##### Trends")
health.chart_panel(company, tz, refresh_s=refresh_s)
checks.scenario_panel(company, health.service_names(company))
