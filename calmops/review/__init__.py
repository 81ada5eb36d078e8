"""After resolution (DESIGN.md step 7): the post-incident review pre-filled from the data and edited
by a person, threshold proposals backed by the stored history and applied to the rules, rule editing,
and the operators' runbook entries per pattern."""

from calmops.review.runbooks import add_from_review, get_runbook, list_runbooks, runbook_for, save_runbook
from calmops.review.service import apply_proposal, get_review, get_version, review_of, save_review

__all__ = [
    "add_from_review",
    "apply_proposal",
    "get_review",
    "get_runbook",
    "get_version",
    "list_runbooks",
    "review_of",
    "runbook_for",
    "save_review",
    "save_runbook",
]
