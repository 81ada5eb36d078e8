"""Post-incident reports: one data dict (``report_data``) rendered as JSON, Markdown, self-contained
HTML or PDF. Nothing here imports Streamlit: the API, the CLI and the Incident page all call
``build``, so a report downloaded anywhere is the same file.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from calmops.reports.incident import SCHEMA, report_data
from calmops.store.db import Cursor

FORMATS = ("md", "html", "pdf", "json")
CONTENT_TYPES = {
    "md": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "json": "application/json",
}

Progress = Callable[[float, str], None]
"""Told how far a long export has got: the fraction done (0 to 1) and what it is doing now."""

__all__ = ["CONTENT_TYPES", "FORMATS", "SCHEMA", "Progress", "build", "filename", "render", "report_data"]


def quiet(fraction: float, message: str) -> None:
    """The progress callback when nobody watches."""


def filename(data: dict, fmt: str) -> str:
    """``calmops-incident-<id>-<company>.<ext>``: the same name from the API, the CLI and the page."""
    incident = data["incident"]
    return f"calmops-incident-{incident['id']}-{incident['company']}.{fmt}"


def to_json(data: dict) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def render(data: dict, fmt: str, progress: Progress = quiet) -> tuple[bytes, str, str]:
    """The report in ``fmt`` (md, html, pdf, json): its bytes, content type and file name.
    ValueError for another format."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    if fmt == "json":
        body = to_json(data).encode()
    elif fmt == "md":
        from calmops.reports.markdown import to_markdown

        body = to_markdown(data).encode()
    elif fmt == "html":
        from calmops.reports.html import to_html

        body = to_html(data).encode()
    else:
        from calmops.reports.pdf import to_pdf

        body = to_pdf(data, progress)
    return body, CONTENT_TYPES[fmt], filename(data, fmt)


def build(
    cur: Cursor, *, company: str, incident_id: int, fmt: str, progress: Progress = quiet
) -> tuple[bytes, str, str]:
    """Read the incident and render it: what every download does, telling ``progress`` as it goes
    (reading the store, drawing each chart, laying out)."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    progress(0.0, f"reading incident {incident_id}")
    data = report_data(cur, company=company, incident_id=incident_id)
    progress(0.4, f"rendering {fmt}")
    made = render(data, fmt, lambda f, m: progress(0.4 + 0.6 * f, m))
    progress(1.0, "done")
    return made
