"""Health (/health?company=C): how every service is doing now, and how it got there."""

import streamlit as st

from calmops.ui import frame, health

company = frame.require_company()
tz = frame.viewer_tz()
refresh_s = frame.refresh_s()

st.markdown(f"## :material/monitor_heart: Health · {frame.company_name(company)}")
health.status_panel(company, tz, refresh_s=refresh_s)
st.markdown("##### Trends")
health.chart_panel(company, tz, refresh_s=refresh_s)
