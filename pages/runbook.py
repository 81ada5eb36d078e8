"""Runbook (/runbook): the operator runbook the product exists to serve, as written, and the company's
runbook entries per pattern (the recovery commands the brief shows), editable in versions."""

from calmops.ui import frame
from calmops.ui.runbook import render_runbook, runbook_entries

frame.ensure_framed()
company = frame.current_company()
render_runbook(company)
if company:
    runbook_entries(company)
