"""Reports (/reports?company=C): a company's period report — incidents by pattern, service and
severity, time to acknowledge and resolve, automatic actions, escalations, open threshold proposals —
and its download as PDF, HTML, Markdown or JSON."""

import streamlit as st

from calmops import clock
from calmops.ui import frame
from calmops.ui import reports as view

company = frame.require_company()
st.markdown(f"## :material/summarize: Period report · {frame.company_name(company)}")
view.page(company, tz=frame.viewer_tz(), now=clock.now())
