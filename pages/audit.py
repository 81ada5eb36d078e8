"""Audit (/audit?company=C): every write, who made it, when, with the state before and after."""

import streamlit as st

from calmops import clock
from calmops.ui import audit as view
from calmops.ui import frame

company = frame.require_company()
st.markdown(f"## :material/history_edu: Audit log · {frame.company_name(company)}")
chosen = view.filters(company)
view.log(company, chosen, tz=frame.viewer_tz(), now=clock.now())
