"""Rules (/rules?company=C)."""

import streamlit as st

from calmops.ui import frame

company = frame.require_company()
st.markdown(f"## Rules · {frame.company_name(company)}")
