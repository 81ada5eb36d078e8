"""Who is acting in this browser session: the one seam every form reads.

Until accounts exist, the operator types a name once per session (kept in session state); forms
that write ask for it first. Accounts replace the body of `current_operator` and nothing else.
"""

from __future__ import annotations

import streamlit as st

from calmops.companies import check_actor

KEY = "operator_name"


def current_operator() -> str | None:
    """The name this session acts under, or None before it was given."""
    return st.session_state.get(KEY)


def ask_operator(*, key: str) -> str | None:
    """The operator's name; asks for it (once per session) when it is not known yet."""
    name = current_operator()
    if name:
        return name
    with st.form(f"operator_{key}", border=False):
        typed = st.text_input("Your name", placeholder="e.g. maria.lopez", help="Recorded with each decision")
        if st.form_submit_button("Continue", type="primary"):
            try:
                st.session_state[KEY] = check_actor(typed.strip() or None, default="")
            except ValueError as exc:
                st.error(str(exc))
                return None
            if not st.session_state[KEY]:
                st.error("Type your name: every decision records who took it.")
                return None
            st.rerun(scope="fragment")
    return None
