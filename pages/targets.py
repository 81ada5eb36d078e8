"""Targets (/targets?company=C)."""

import streamlit as st

from calmops.ui import frame

company = frame.require_company()
st.markdown(f"## Targets · {frame.company_name(company)}")
