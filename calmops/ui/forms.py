"""What the pages' forms share: an error kept across the rerun that follows a submit and shown next
to the form with its field named, and a success message shown once."""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st

from calmops.ui.style import md


def show_error(key: str, labels: Mapping[str, str]) -> None:
    """The error stored under ``key`` as (field, message), once, with the field's label in bold."""
    error = st.session_state.pop(key, None)
    if error is None:
        return
    field, message = error
    label = labels.get((field or "").split("[")[0], field or "")
    prefix = f"**{md(label)}:** " if label else ""
    st.error(f"{prefix}{md(message)}", icon=":material/error_outline:")


def show_flash(key: str) -> None:
    """The success message stored under ``key``, once."""
    message = st.session_state.pop(key, None)
    if message:
        st.success(message, icon=":material/check_circle:")
