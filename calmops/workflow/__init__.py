"""Every change a person makes to an incident: one transaction each, with an audit row, and the
golden rule enforced here rather than in the UI (RUNBOOK step 5)."""

from calmops.workflow.decisions import Decision, approve, decline
from calmops.workflow.errors import Conflict, Invalid, NotAllowed, NotFound, WorkflowError
from calmops.workflow.lifecycle import acknowledge, add_note, assign, change_severity, reopen, resolve

__all__ = [
    "Conflict",
    "Decision",
    "Invalid",
    "NotAllowed",
    "NotFound",
    "WorkflowError",
    "acknowledge",
    "add_note",
    "approve",
    "assign",
    "change_severity",
    "decline",
    "reopen",
    "resolve",
]
