"""Incident (/incident?company=C&id=N): one incident's story — header, timeline, the metrics involved."""

import streamlit as st

from calmops.ui import frame
from calmops.ui import incident as view

company = frame.require_company()
frame.store()
name = frame.company_name(company)
raw_id = st.query_params.get("id")
detail = view.load(company, raw_id)
if detail is None:
    st.markdown("## :material/report: Incident")
    view.not_found(company, name, raw_id)
    st.stop()
view.back_link(company)
view.show_flash()
view.incident_panel(detail, company_name=name, tz=frame.viewer_tz(), refresh_s=frame.refresh_s())
