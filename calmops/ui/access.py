"""Who is signed in, and what the pages let them do: the one seam every form reads.

The gate (``calmops.ui.signin``) resolves the identity at the top of every run and keeps it here;
forms act as that identity and never ask for a name. The UI only hides or disables what the role
may not do, and says why; the service layer enforces the same rules (``calmops.auth.require``), and
its refusals are shown calmly by ``refusal``.
"""

from __future__ import annotations

import streamlit as st

from calmops.auth import Identity, Permission
from calmops.auth.models import MINIMUM, RANK, WORDS, Role
from calmops.errors import Forbidden, NotFound, WorkflowError
from calmops.ui.style import md

IDENTITY_KEY = "_identity"


def identity() -> Identity | None:
    """The identity this run acts as (None on the sign-in page)."""
    found = st.session_state.get(IDENTITY_KEY)
    return found if isinstance(found, Identity) else None


def actor() -> Identity:
    """The signed-in identity for a write; a run without one (impossible behind the gate) stops."""
    found = identity()
    if found is None:
        st.warning("Sign in first: every change records who made it.", icon=":material/lock:")
        st.stop()
    return found


def can(permission: Permission, company: str) -> bool:
    found = identity()
    return found is not None and found.can(permission, company)


def role_in(company: str) -> Role | None:
    found = identity()
    return None if found is None else found.role_in(company)


def needs(permission: Permission) -> str:
    """``needs a lead`` / ``needs an admin``: the lowest role that may."""
    role = MINIMUM[permission]
    article = "an" if role.value[0] in "aeiou" else "a"
    return f"needs {article} {role.value}"


def allowed(permission: Permission, company: str, *, what: str | None = None) -> bool:
    """Whether the signed-in role may; when not, a short caption says what it takes instead of a form."""
    if can(permission, company):
        return True
    role = role_in(company)
    doing = what or WORDS[permission]
    if role is Role.VIEWER:
        st.caption(f":material/visibility: You are a viewer here: read-only. To {doing} {needs(permission)}.")
    else:
        held = f"your role is {role.value}" if role else "you hold no role here"
        st.caption(f":material/lock: To {doing} {needs(permission)} ({held}).")
    return False


def read_only(company: str) -> bool:
    """True for a role that may only read here (a viewer)."""
    role = role_in(company)
    return role is None or RANK.get(role, 0) < RANK[Role.OPERATOR]


def refusal_text(exc: WorkflowError) -> str:
    """What a refusal says, made calm: a role too low or a company out of reach is not an error of
    the person's typing."""
    if isinstance(exc, Forbidden):
        return f"Not allowed for your role: {exc.message}."
    if isinstance(exc, NotFound) and exc.field == "company":
        return "That company is not known to you."
    return exc.message


def refusal(exc: WorkflowError) -> None:
    """Show a refusal from the service layer as a message next to the form, never a traceback."""
    if isinstance(exc, Forbidden | NotFound):
        st.warning(md(refusal_text(exc)), icon=":material/lock:")
    else:
        st.error(md(exc.message), icon=":material/error_outline:")
