"""Targets (/targets?company=C): what the collector probes, how each probe went, and a probe on demand."""

import streamlit as st

from calmops.auth import Permission
from calmops.companies import list_services
from calmops.targets import target_states
from calmops.ui import access, frame
from calmops.ui import targets as view

company = frame.require_company()
cur = frame.store()
tz = frame.viewer_tz()

st.markdown(f"## :material/radar: Targets · {frame.company_name(company)}")
view.flash()
view.target_table(company, tz=tz, refresh_s=frame.refresh_s())
states = target_states(cur, company=company)
if access.can(Permission.RESPOND, company):
    view.probe_panel(company, states, tz=tz)
view.probe_history(company, states, tz=tz)
if access.allowed(Permission.ADMINISTER, company, what="add or remove targets"):
    view.add_form(company, [s.service for s in list_services(cur, company=company)], tz=tz)
    view.remove_form(company, states)
