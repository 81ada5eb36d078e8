"""Admin (/admin?company=C): the company's people and their roles, and its API tokens (admins only)."""

import streamlit as st

from calmops.ui import admin as view
from calmops.ui import frame

company = frame.require_company()
name = frame.company_name(company)
st.markdown(f"## :material/admin_panel_settings: Admin · {name}")
if not view.gate(company, name):
    st.stop()
view.messages()
tz = frame.viewer_tz()
view.users_section(company, tz)
view.tokens_section(company, tz)
