"""Plotly charts of one metric across services: buckets, min–max band, thresholds, deploy markers.

Times are drawn on the viewer's wall clock (Plotly has no time zones, so x values are converted
and made naive); the hover carries the UTC time too. Each trace is SQL buckets, never raw rows.
"""

from __future__ import annotations

from contextlib import nullcontext
from datetime import datetime, tzinfo

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from calmops.detect.rules import list_rules
from calmops.health import charts as hc
from calmops.health.charts import ChangeEvent, ChartWindow, Threshold
from calmops.health.figures import (  # noqa: F401 (re-exported: the figure builder lives there now)
    BAND_MAX_SERVICES,
    CHART_HEIGHT,
    EVENT_LOOK,
    PLOTLY_CONFIG,
    SHADE_COLOUR,
    colour_for,
    metric_figure,
)
from calmops.store import cursor
from calmops.vocabulary import metric_info


def render_metric_chart(
    metric: str,
    frame: pd.DataFrame,
    *,
    services: list[str],
    win: ChartWindow,
    tz: tzinfo,
    lines: list[Threshold],
    events: list[ChangeEvent],
    shade: tuple[datetime, datetime] | None = None,
) -> None:
    """Draw one metric's chart, or say calmly that the chosen services sent nothing in the window."""
    if frame.empty:
        with st.container(border=True, height=CHART_HEIGHT):
            st.markdown(f"**{metric_info(metric).label}**")
            st.caption("No data from the chosen services in this window.")
        return
    spec = metric_figure(
        metric, frame, services=services, win=win, tz=tz, lines=lines, events=events, shade=shade
    )
    st.plotly_chart(
        go.Figure(spec, _validate=False),
        config=PLOTLY_CONFIG,
        key=f"chart_{metric}",
        width="stretch",
        theme="streamlit",
    )


def render_metric_charts(
    *,
    company: str,
    metrics: list[str],
    services: list[str],
    win: ChartWindow,
    tz: tzinfo,
    shade: tuple[datetime, datetime] | None = None,
    columns: int = 1,
) -> list[ChangeEvent]:
    """One chart per metric for ``services``: the buckets of every metric in one query, the rules'
    thresholds and the deploys in the window; two to a row when ``columns`` is 2. Returns the
    change events drawn, for the page's caption."""
    cur = cursor()
    series = hc.metrics_series(cur, company=company, metrics=metrics, services=services, win=win)
    rules = list_rules(cur, company=company, enabled_only=True)
    events = hc.change_events(cur, company=company, start=win.start, end=win.end, services=services)
    grid = st.grid(columns, min_column_width=460, gap="small") if columns > 1 else None
    for metric in metrics:
        with grid.cell() if grid is not None else nullcontext():
            render_metric_chart(
                metric,
                series.get(metric, hc.empty_series()),
                services=services,
                win=win,
                tz=tz,
                lines=hc.thresholds(rules, metric=metric, services=services),
                events=events,
                shade=shade,
            )
    return events
