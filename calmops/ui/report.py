"""The Incident page's "Report" section: pick a format, generate the post-incident report on
demand (never on every refresh: the panel redraws itself while the incident is live), download it.

The file is the one the API and the CLI give (``calmops.reports.build``); it is kept in the session
per incident, so the page's auto-refresh does not lose it before the operator clicks Download.
"""

from __future__ import annotations

import streamlit as st

from calmops import clock, timefmt
from calmops.incidents import IncidentDetail
from calmops.reports import FORMATS, Progress, build
from calmops.store import cursor
from calmops.ui.style import md
from calmops.workflow.errors import WorkflowError

LABELS = {
    "html": "HTML (self-contained, with charts)",
    "md": "Markdown",
    "pdf": "PDF",
    "json": "JSON (schema calmops.incident-report/1)",
}
ORDER = ("html", "pdf", "md", "json")


def progress_to(bar) -> Progress:
    """A report's progress shown on a ``st.progress`` bar: how far, and what it is doing."""

    def show(fraction: float, message: str) -> None:
        bar.progress(min(max(fraction, 0.0), 1.0), text=message.capitalize() + "…")

    return show


def _file_key(incident_id: int) -> str:
    return f"report_file_{incident_id}"


def report_download(detail: IncidentDetail) -> None:
    """Format picker, a Generate button (with a progress bar), then the download of that file."""
    s = detail.summary
    st.markdown("##### :material/description: Report")
    picker, make, download = st.columns([3, 2, 3], vertical_alignment="bottom")
    fmt = picker.selectbox(
        "Report format",
        [f for f in ORDER if f in FORMATS],
        format_func=LABELS.get,
        key=f"report_format_{s.id}",
    )
    if make.button("Generate report", key=f"report_make_{s.id}", icon=":material/description:"):
        bar = st.progress(0.0, text="Building the report…")
        try:
            body, mime, name = build(
                cursor(), company=s.company, incident_id=s.id, fmt=fmt, progress=progress_to(bar)
            )
        except WorkflowError as exc:
            bar.empty()
            st.warning(md(exc.message))
            return
        bar.empty()
        st.session_state[_file_key(s.id)] = {"fmt": fmt, "body": body, "mime": mime, "name": name,
                                             "at": clock.now()}  # fmt: skip
    ready = st.session_state.get(_file_key(s.id))
    if ready and ready["fmt"] == fmt:
        download.download_button(
            f"Download {ready['name']}",
            data=ready["body"],
            file_name=ready["name"],
            mime=ready["mime"],
            on_click="ignore",
            key=f"report_download_{s.id}",
            icon=":material/download:",
        )
        st.caption(
            f"Generated {timefmt.utc_text(ready['at'])} · {len(ready['body']) / 1024:,.0f} KB · "
            f"the same file as `GET /api/ops/incidents/{s.id}/report?format={fmt}` and "
            f"`python -m calmops report {s.id}`"
        )
    else:
        st.caption("Generated on demand: choose a format, then Generate report.")
