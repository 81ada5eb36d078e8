"""CalmOps: the frame around every page — page config, the company in the URL, freshness, navigation.

Each page's url_path equals its file stem in pages/ (otherwise a cold deep link to it fails while
Streamlit still knows only the auto-discovered pages; notes §1.1). The default page is served at
"/" only, so "/" is a hidden home that forwards to /health: that way /health itself is a real path
(the runbook's /company/<c>/ops/health redirects there). Navigation is declared before anything
that may stop the run, so a stopped frame never leaves Streamlit running a page without it.
"""

import streamlit as st

from calmops.ui import frame

st.set_page_config(page_title="CalmOps", page_icon="🧘", layout="wide")

health = st.Page("pages/health.py", title="Health", icon=":material/monitor_heart:", url_path="health")
incidents = st.Page("pages/incidents.py", title="Incidents", icon=":material/report:", url_path="incidents")
incident = st.Page(
    "pages/incident.py",
    title="Incident",
    icon=":material/emergency:",
    url_path="incident",
    visibility="hidden",
)
runbook = st.Page("pages/runbook.py", title="Runbook", icon=":material/menu_book:", url_path="runbook")
services = st.Page("pages/services.py", title="Services", icon=":material/hub:", url_path="services")
targets = st.Page("pages/targets.py", title="Targets", icon=":material/radar:", url_path="targets")
rules = st.Page("pages/rules.py", title="Rules", icon=":material/rule:", url_path="rules")
audit = st.Page("pages/audit.py", title="Audit log", icon=":material/history_edu:", url_path="audit")
reports = st.Page("pages/reports.py", title="Reports", icon=":material/summarize:", url_path="reports")


def home() -> None:
    """ "/" shows the Health page, at its own URL."""
    company = frame.current_company()
    st.switch_page(health, query_params={"company": company} if company else None)


page = st.navigation(
    {
        "": [st.Page(home, title="Home", url_path="home", default=True, visibility="hidden")],
        "Operations": [health, incidents, incident, reports, audit],
        "Setup": [services, targets, rules],
        "Help": [runbook],
    }
)

company = frame.choose_company(frame.store())
if company is not None:
    frame.unknown_company_notice(company)
    frame.freshness_banner(company.company)
page.run()
