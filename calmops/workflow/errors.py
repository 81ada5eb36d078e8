"""The refusals of the workflow (``calmops.errors``), under the name the workflow modules use."""

from calmops.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotAllowed,
    NotFound,
    Unauthenticated,
    WorkflowError,
)

__all__ = ["Conflict", "Forbidden", "Invalid", "NotAllowed", "NotFound", "Unauthenticated", "WorkflowError"]
