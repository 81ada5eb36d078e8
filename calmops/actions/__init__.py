"""The action catalogue at work: guard rails, executors and verify-after-act (DESIGN.md steps 3, 5).

The loop: ``plan_auto`` (guard rails, in the caller's transaction) or ``execute_approved`` records
an attempt; ``dispatch`` carries it out through the company's webhook or the demo world and puts
the outcome on the timeline; ``verify_due`` judges it once its settle time has passed.
"""

from calmops.actions.attempts import Attempt, Kind, Outcome, Verdict, get_attempt, list_attempts
from calmops.actions.catalogue import DEFAULT_RAILS, RECOMMEND_ONLY, GuardRails
from calmops.actions.dispatch import dispatch, execute_approved
from calmops.actions.executors import (
    ExecutorConfig,
    list_executors,
    remove_executor,
    set_executor,
    sign,
    verify_signature,
)
from calmops.actions.plan import plan_auto
from calmops.actions.verify import verify_due

__all__ = [
    "DEFAULT_RAILS",
    "RECOMMEND_ONLY",
    "Attempt",
    "ExecutorConfig",
    "GuardRails",
    "Kind",
    "Outcome",
    "Verdict",
    "dispatch",
    "execute_approved",
    "get_attempt",
    "list_attempts",
    "list_executors",
    "plan_auto",
    "remove_executor",
    "set_executor",
    "sign",
    "verify_due",
    "verify_signature",
]
