"""The Health page's summary, service tiles and the raw latest-values table.

Summaries first: the company's state in one line, then a tile per service with problems first;
the raw numbers sit in an expander, one click away.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, tzinfo

import pandas as pd
import streamlit as st

from calmops import timefmt
from calmops.health.charts import KEY_METRICS, problems_first
from calmops.health.models import CompanyHealth, MetricState, ServiceHealth
from calmops.ui.style import HEALTH, SEVERITY, md
from calmops.vocabulary import HealthStatus, format_value, metric_info

TILE_METRICS = 4
INCIDENTS_PAGE = "pages/incidents.py"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def headline(health: CompanyHealth) -> str:
    """One sentence on how the company is doing, naming the services that need attention."""
    troubled = [s for s in problems_first(health.services) if s.status != HealthStatus.OK]
    total = len(health.services)
    if not total:
        return "No services have reported yet."
    if not troubled:
        return f"All {_plural(total, 'service')} are healthy."
    names = ", ".join(f"{md(s.service)} ({HEALTH[s.status].label.lower()})" for s in troubled[:4])
    more = f" and {len(troubled) - 4} more" if len(troubled) > 4 else ""
    return f"{len(troubled)} of {_plural(total, 'service')} need attention: {names}{more}."


def status_badges(health: CompanyHealth) -> str:
    """Services by status as badges; a zero stays grey so only real trouble draws the eye."""
    counts = Counter(s.status for s in health.services)
    badges = []
    for status in HealthStatus:
        look, n = HEALTH[status], counts.get(status, 0)
        colour = look.badge if n else "gray"
        badges.append(f":{colour}-badge[{look.icon} {n} {look.label.lower()}]")
    return " ".join(badges)


def summary(health: CompanyHealth, *, now: datetime) -> None:
    """The company's status in one line, services by status, open incidents and the data's age."""
    look = HEALTH[health.status]
    with st.container(border=True):
        with st.container(horizontal=True, vertical_alignment="center", gap="small"):
            st.markdown(f"#### :{look.badge}[{look.icon} {look.label}]", width="content")
            st.markdown(headline(health), width="content")
        with st.container(horizontal=True, vertical_alignment="center", gap="medium"):
            st.markdown(status_badges(health), width="content")
            incidents = health.open_incidents
            st.page_link(
                INCIDENTS_PAGE,
                label=f"{incidents} open incident{'' if incidents == 1 else 's'}",
                icon=":material/report:",
                query_params={"company": health.company},
                help="Incidents that are not resolved yet.",
            )
            newest = health.newest_snapshot
            age = f"newest data {timefmt.ago(newest, now)}" if newest else "no health data yet"
            st.caption(
                f":material/schedule: {age}",
                help=f"Newest health snapshot: {timefmt.utc_text(health.newest_snapshot)}",
                width="content",
            )


def tile_metrics(service: ServiceHealth, *, limit: int = TILE_METRICS) -> list[MetricState]:
    """The few metrics a tile shows: breached ones first, then the most telling ones; never `up`."""
    order = {m: i for i, m in enumerate(KEY_METRICS)}
    shown = [m for m in service.metrics.values() if m.metric != "up"]
    shown.sort(key=lambda m: (not m.breached, order.get(m.metric, len(order)), m.metric))
    return shown[:limit]


def metric_line(state: MetricState) -> str:
    """``Error rate 3.4% / limit 2.0%`` in markdown, coloured by the breach's severity."""
    info = metric_info(state.metric)
    value = format_value(state.metric, state.value)
    limit = ""
    if state.threshold is not None:
        word = "limit" if state.comparison in (">", ">=") else "min"
        limit = f" :gray[/ {word} {format_value(state.metric, state.threshold)}]"
    if state.breached_severity is not None:
        look = SEVERITY[state.breached_severity]
        colour = "red" if look.badge == "red" else "orange"
        return f":{colour}[{look.icon} {md(info.label)} **{md(value)}**]{limit}"
    return f"{md(info.label)} **{md(value)}**{limit}"


def service_tile(service: ServiceHealth, *, now: datetime, tz: tzinfo) -> None:
    look = HEALTH[service.status]
    st.markdown(f"**{md(service.service)}** &nbsp; :{look.badge}-badge[{look.icon} {look.label}]")
    marker = " · :blue[:material/groups: customer-facing]" if service.customer_facing else ""
    st.caption(
        f"{md(service.kind)}{marker} · seen {timefmt.ago(service.last_seen, now)}",
        help=f"Last reported {timefmt.local_text(service.last_seen, tz, seconds=True)} your time "
        f"({timefmt.utc_text(service.last_seen)})",
    )
    lines = [metric_line(m) for m in tile_metrics(service)]
    if "up" in service.metrics and service.metrics["up"].breached:
        lines.insert(0, ":red[:material/power_off: not answering its health check]")
    if service.status == HealthStatus.UNKNOWN:
        lines.insert(0, f":gray[{md(service.reasons[0] if service.reasons else 'no recent data')}]")
    st.markdown("  \n".join(lines) or ":gray[no metrics reported]")


def service_tiles(health: CompanyHealth, *, now: datetime, tz: tzinfo) -> None:
    """A tile per service, problems first, in a grid that reflows with the window width."""
    if not health.services:
        st.info(
            "No services have reported health data yet. They appear here after the first "
            "collection round or push.",
            icon=":material/hourglass_empty:",
        )
        return
    grid = st.grid("auto", min_column_width=250, border=True, gap="small")
    for service in problems_first(health.services):
        with grid.cell():
            service_tile(service, now=now, tz=tz)


def _threshold_text(state: MetricState) -> str:
    if state.threshold is None:
        return ""
    limit = f"{state.threshold:g}" if state.metric == "up" else format_value(state.metric, state.threshold)
    return f"{state.comparison} {limit}"


def latest_frame(health: CompanyHealth, tz: tzinfo) -> pd.DataFrame:
    """Every service's newest value per metric, as a plain table."""
    rows = []
    for service in problems_first(health.services):
        for state in service.metrics.values():
            info = metric_info(state.metric)
            rows.append(
                {
                    "Service": service.service,
                    "Metric": info.label,
                    "Value": format_value(state.metric, state.value),
                    "Raw": state.value,
                    "Threshold": _threshold_text(state),
                    "Breach": state.breached_severity.value if state.breached_severity else "",
                    "Updated": timefmt.local_text(state.ts, tz, seconds=True),
                    "Updated (UTC)": timefmt.utc_text(state.ts),
                }
            )
    return pd.DataFrame(rows)


def latest_values(health: CompanyHealth, *, tz: tzinfo) -> None:
    """The raw newest values, folded away: summaries lead, numbers are one click away."""
    raw = st.expander(
        ":material/table: Latest values (raw)", expanded=False, key="latest_values_open", on_change="rerun"
    )
    if not raw.open:
        return  # built only while open: every refresh would pay for a table nobody looks at
    with raw:
        frame = latest_frame(health, tz)
        if frame.empty:
            st.caption("Nothing reported yet.")
            return
        st.dataframe(
            frame,
            hide_index=True,
            width="stretch",
            key="latest_values",
            column_config={"Raw": st.column_config.NumberColumn("Raw", format="%.4g")},
        )
