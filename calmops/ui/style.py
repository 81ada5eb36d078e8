"""Colours, icons and words for statuses and severities, shared by every page.

One place decides how "degraded" or "critical" looks, so a colour means the same thing on the
tiles, the charts and the incident list. Nothing here calls Streamlit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from calmops.vocabulary import HealthStatus, IncidentStatus, Severity


@dataclass(frozen=True)
class Look:
    label: str
    icon: str  # a Material Symbols name in Streamlit's ``:material/…:`` form
    badge: str  # a st.badge / markdown colour name
    hex: str  # for Plotly


HEALTH: dict[HealthStatus, Look] = {
    HealthStatus.OK: Look("OK", ":material/check_circle:", "green", "#2e7d5b"),
    HealthStatus.DEGRADED: Look("Degraded", ":material/warning:", "orange", "#c7791a"),
    HealthStatus.DOWN: Look("Down", ":material/error:", "red", "#c0392b"),
    HealthStatus.UNKNOWN: Look("Unknown", ":material/help:", "gray", "#7b8794"),
}

SEVERITY: dict[Severity, Look] = {
    Severity.CRITICAL: Look("Critical", ":material/error:", "red", "#c0392b"),
    Severity.HIGH: Look("High", ":material/priority_high:", "orange", "#d35400"),
    Severity.WARNING: Look("Warning", ":material/warning:", "yellow", "#c7961a"),
    Severity.INFO: Look("Info", ":material/info:", "blue", "#3b6ea8"),
}

INCIDENT_STATUS: dict[IncidentStatus, Look] = {
    IncidentStatus.OPEN: Look("Open", ":material/radio_button_checked:", "red", "#c0392b"),
    IncidentStatus.ACKNOWLEDGED: Look("Acknowledged", ":material/visibility:", "orange", "#c7791a"),
    IncidentStatus.MITIGATING: Look("Mitigating", ":material/build:", "violet", "#8e5ea2"),
    IncidentStatus.MONITORING: Look("Monitoring", ":material/monitoring:", "blue", "#3b6ea8"),
    IncidentStatus.RESOLVED: Look("Resolved", ":material/check_circle:", "green", "#2e7d5b"),
}

# Distinct, calm trace colours; a service keeps its colour on every chart of a page.
SERIES_COLOURS = (
    "#3b6ea8",
    "#d17a22",
    "#2e8b57",
    "#8e5ea2",
    "#b03a48",
    "#16a3a3",
    "#7f6a3b",
    "#5d6d7e",
)

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]#|<>~:$])")


def md(text: object) -> str:
    """Text from data (names, titles) made inert inside a line of Streamlit markdown: no emphasis,
    links, code, colour or icon directives, maths or HTML (line-start syntax cannot occur mid-line)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text))


def rgba(hex_colour: str, alpha: float) -> str:
    """``#rrggbb`` with an alpha, for Plotly's shaded bands."""
    value = hex_colour.lstrip("#")
    r, g, b = (int(value[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"
