"""The operator runbook, shipped inside the package so the product's help page can always show it."""

from __future__ import annotations

from importlib import resources

import streamlit as st


def runbook_text() -> str:
    """The runbook's Markdown (calmops/runbook.md)."""
    return resources.files("calmops").joinpath("runbook.md").read_text(encoding="utf-8")


def render_runbook(company: str | None) -> None:
    """The runbook as written, with direct links to this company's Incidents and Health pages."""
    if company:
        with st.container(horizontal=True, gap="small"):
            st.page_link(
                "pages/incidents.py",
                label="Incidents",
                icon=":material/report:",
                query_params={"company": company},
            )
            st.page_link(
                "pages/health.py",
                label="Health",
                icon=":material/monitor_heart:",
                query_params={"company": company},
            )
    with st.container(width=900):
        st.markdown(runbook_text())
