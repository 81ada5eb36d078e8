"""Services (/services?company=C): what the company runs, what depends on what, and how each is now."""

import streamlit as st

from calmops.auth import Permission
from calmops.companies import list_services
from calmops.ui import access, frame
from calmops.ui import services as view

company = frame.require_company()
cur = frame.store()

st.markdown(f"## :material/hub: Services · {frame.company_name(company)}")
view.flash()
view.overview(company, refresh_s=frame.refresh_s())
if access.allowed(Permission.ADMINISTER, company, what="register services"):
    view.register_service_form(company, [s.service for s in list_services(cur, company=company)])
if access.actor().installation_admin:
    view.register_company_form()
