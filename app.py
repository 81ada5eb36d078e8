"""CalmOps: the frame around every page — the sign-in gate, page config, the company in the URL,
freshness, navigation.

Each page's url_path equals its file stem in pages/ (otherwise a cold deep link to it fails while
Streamlit still knows only the auto-discovered pages; notes §1.1). The default page is served at
"/" only, so "/" is a hidden home that forwards to /health: that way /health itself is a real path
(the runbook's /company/<c>/ops/health redirects there). Navigation is declared before anything
that may stop the run, so a stopped frame never leaves Streamlit running a page without it.
Nobody signed in: every page is hidden and only the sign-in page runs, at the URL asked for, so
signing in lands where the link pointed.
"""

import streamlit as st

from calmops.auth import Permission
from calmops.demo.records import load_params
from calmops.store import StoreLockedError, cursor
from calmops.ui import frame, signin

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

try:
    identity = signin.resolve(cursor())
except StoreLockedError:
    identity = None  # the frame's store() says so below
administers = identity is not None and (
    identity.installation_admin or any(identity.can(Permission.ADMINISTER, c) for c in identity.roles)
)
admin = st.Page(
    "pages/admin.py",
    title="Admin",
    icon=":material/admin_panel_settings:",
    url_path="admin",
    visibility="visible" if administers else "hidden",
)


def home() -> None:
    """ "/" shows the Health page, at its own URL."""
    company = frame.current_company()
    st.switch_page(health, query_params={"company": company} if company else None)


page = st.navigation(
    {
        "": [st.Page(home, title="Home", url_path="home", default=True, visibility="hidden")],
        "Operations": [health, incidents, incident, reports, audit],
        "Setup": [services, targets, rules, admin],
        "Help": [runbook],
    },
    position="sidebar" if identity is not None else "hidden",
)

if identity is None:
    cur = frame.store()
    signin.sign_in_page(cur, demo=load_params(cur) is not None)
    st.stop()
signin.cookie_beacon()
company = frame.choose_company(frame.store(), identity)
signin.who_panel(identity, company.company if company else None, company.name if company else None)
if company is not None:
    frame.unknown_company_notice(company)
    frame.freshness_banner(company.company)
page.run()
