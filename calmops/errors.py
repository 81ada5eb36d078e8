"""Why a change was refused, in the contract's terms: each error knows its HTTP status. Shared by
the workflow and access control (``calmops.auth``), so neither imports the other to refuse.

The UI shows the message as it is, the API answers ``{"error", "field"?, …extra}`` with the status,
and the CLI prints it. Nothing is written when one is raised: the unit of work rolls back.
"""

from __future__ import annotations


class WorkflowError(Exception):
    status = 400

    def __init__(self, message: str, *, field: str | None = None, **extra: object) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.extra = extra

    def to_json(self) -> dict:
        body: dict = {"error": self.message}
        if self.field:
            body["field"] = self.field
        body.update(self.extra)
        return body


class Invalid(WorkflowError):
    """Malformed or out-of-range input (400)."""


class NotFound(WorkflowError):
    """No such incident, recommendation … in this company (404, as for another company's ids)."""

    status = 404


class Conflict(WorkflowError):
    """Someone changed it first: a stale version, or a decision already taken (409). ``extra``
    says who decided and when."""

    status = 409


class NotAllowed(WorkflowError):
    """Well-formed but against the rules: the golden rule, a medium/high risk approval without
    ``confirm`` (422). Refusals are audited."""

    status = 422


class Unauthenticated(WorkflowError):
    """No identity, or one that does not hold: a missing, wrong, revoked or expired token (401)."""

    status = 401


class Forbidden(WorkflowError):
    """A known identity whose role in this company is too low for the change (403). Never raised
    for a company the identity has no role in: that is a 404, as if the company did not exist."""

    status = 403
