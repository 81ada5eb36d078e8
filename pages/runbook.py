"""Runbook (/runbook): the operator runbook the product exists to serve, as written."""

from calmops.ui import frame
from calmops.ui.runbook import render_runbook

frame.ensure_framed()
render_runbook(frame.current_company())
