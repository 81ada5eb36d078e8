"""Post-incident reports: one data dict (``report_data``) rendered as JSON, Markdown, self-contained
HTML or PDF. Nothing here imports Streamlit: the API, the CLI and the Incident page all call
``render``, so a report downloaded anywhere is the same file.
"""

from __future__ import annotations

import json

from calmops.reports.incident import SCHEMA, report_data

FORMATS = ("md", "html", "pdf", "json")
CONTENT_TYPES = {
    "md": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "json": "application/json",
}

__all__ = ["CONTENT_TYPES", "FORMATS", "SCHEMA", "PdfUnavailable", "filename", "render", "report_data"]


class PdfUnavailable(Exception):
    """The PDF renderer (``calmops.reports.pdf``) is not installed yet: answered as 422."""


def filename(data: dict, fmt: str) -> str:
    """``calmops-incident-<id>-<company>.<ext>``: the same name from the API, the CLI and the page."""
    incident = data["incident"]
    return f"calmops-incident-{incident['id']}-{incident['company']}.{fmt}"


def to_json(data: dict) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def render(data: dict, fmt: str) -> tuple[bytes, str, str]:
    """The report in ``fmt`` (md, html, pdf, json): its bytes, content type and file name.
    ValueError for another format; PdfUnavailable while the PDF renderer is missing."""
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
        try:  # written alongside this module; imported lazily so md/html/json never wait for it
            from calmops.reports.pdf import to_pdf
        except ImportError as exc:
            raise PdfUnavailable("pdf not available yet: the PDF renderer is not installed") from exc
        body = to_pdf(data)
    return body, CONTENT_TYPES[fmt], filename(data, fmt)
