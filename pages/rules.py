"""Rules (/rules?company=C): the threshold rules that open incidents, by metric family, each editable
through a validated form that records who changed it, when, why and from where."""

import streamlit as st

from calmops import clock
from calmops.companies import list_services
from calmops.detect.rules import list_rules
from calmops.review.rules import last_changes
from calmops.ui import frame
from calmops.ui import rules as view

company = frame.require_company()
cur = frame.store()

st.markdown(f"## :material/rule: Rules · {frame.company_name(company)}")
rules = list_rules(cur, company=company)
opened = view.incidents_by_family(cur, company=company, now=clock.now())
if not rules:
    st.info("**This company has no threshold rules.** Nothing opens incidents from health data.")
    st.stop()
view.summary(rules, opened)
view.rule_cards(rules, opened)
view.edit_forms(company, rules, last_changes(cur, company=company))
view.new_rule_form(company, [s.service for s in list_services(cur, company=company)])
