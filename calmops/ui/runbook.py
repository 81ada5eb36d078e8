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


def runbook_entries(company: str) -> None:
    """Per pattern, the recovery commands the brief shows: the saved entry, or the playbook's default;
    a form (for a lead) to save a new version under the signed-in name."""
    from calmops.auth import Permission
    from calmops.review import runbooks
    from calmops.store import cursor, get_db
    from calmops.ui import access
    from calmops.ui.style import md
    from calmops.workflow.errors import WorkflowError

    st.markdown("### :material/menu_book: Runbook entries per pattern")
    st.caption(
        "The recovery commands each incident's brief shows for its pattern. `{origin}` stands for the "
        "service the evidence points to, `{service}` for the incident's own."
    )
    error = st.session_state.pop("runbook_error", None)
    if error:
        st.error(md(error), icon=":material/error_outline:")
    flash = st.session_state.pop("runbook_flash", None)
    if flash:
        st.success(md(flash), icon=":material/check_circle:")
    entries = runbooks.list_runbooks(cursor(), company=company)
    labels = {e["pattern"]: e["label"] for e in entries}
    pattern = st.selectbox("Pattern", list(labels), format_func=labels.get, key=f"runbook_pattern_{company}")
    entry = next(e for e in entries if e["pattern"] == pattern)
    if entry["saved"]:
        st.caption(f"Version {entry['version']} by {md(entry['author'])} · {md(entry['created_at'])}")
    else:
        st.caption("No entry saved yet: these are the playbook's default commands.")
    st.code("\n".join(entry["commands"]), language=None)
    if entry["notes"]:
        st.text(entry["notes"])
    if not access.allowed(Permission.TUNE, company, what="update a runbook entry"):
        return
    name = access.actor()
    with st.form(f"runbook_form_{company}_{pattern}"):
        commands = st.text_area("Commands (one per line)", value="\n".join(entry["commands"]), height=140)
        notes = st.text_area("Notes", value=entry["notes"], height=80)
        submitted = st.form_submit_button("Save entry", type="primary", icon=":material/save:")
    if submitted:
        try:
            runbooks.save_runbook(
                get_db(), company=company, pattern=pattern, commands=commands.splitlines(), notes=notes,
                actor=name, expected_version=entry["version"] or 0,
            )  # fmt: skip
            st.session_state["runbook_flash"] = f"Saved the {entry['label']} entry."
        except WorkflowError as exc:
            st.session_state["runbook_error"] = access.refusal_text(exc)
        st.rerun()
    if len(entry["history"]) > 1:
        with st.expander(f"Saved versions ({len(entry['history'])})", icon=":material/history:"):
            st.markdown(
                "\n".join(
                    f"- version {h['version']} · {md(h['author'])} · {md(h['created_at'])}"
                    for h in entry["history"]
                )
            )
