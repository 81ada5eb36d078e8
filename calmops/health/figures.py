"""Plotly figures of one metric across services: buckets, min–max band, thresholds, deploy markers,
an incident's stretch of time shaded — as plain figure dicts, with no Streamlit import.

Shared by the dashboard (``calmops.ui.charts`` draws them with ``st.plotly_chart``) and the
post-incident report (``calmops.reports.html`` draws them with plotly.js inline), so both show the
same chart from the same query. Times are drawn on the viewer's wall clock (Plotly has no time
zones, so x values are converted and made naive); the hover carries the UTC time too.
"""

from __future__ import annotations

import html
from datetime import datetime, tzinfo

import numpy as np
import pandas as pd

from calmops import timefmt
from calmops.health.charts import ChangeEvent, ChartWindow, Threshold
from calmops.ui.style import SERIES_COLOURS, SEVERITY, rgba
from calmops.vocabulary import format_value, metric_info

# No mode bar: it covered the legend on hover; drag still zooms and a double click resets.
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True, "displayModeBar": False}
CHART_HEIGHT = 300
BAND_MAX_SERVICES = 3
EVENT_LOOK = {
    "deploy": ("Deploy", "Deploys", "triangle-down", "#5d6d7e"),
    "config_change": ("Config change", "Config changes", "diamond", "#8e5ea2"),
}
SHADE_COLOUR = "#c0392b"


def colour_for(service: str, services: list[str]) -> str:
    """The service's colour: its place among the chosen services, so it matches on every chart."""
    index = services.index(service) if service in services else len(services)
    return SERIES_COLOURS[index % len(SERIES_COLOURS)]


def _columns(frame: pd.DataFrame, tz: tzinfo) -> dict:
    """The frame as numpy arrays, converted once: local wall-clock x, UTC hover text, each
    service's row positions. Per-service pandas slicing cost more than the query."""
    if frame.empty:
        return {"rows": {}}
    utc = pd.DatetimeIndex(frame["bucket"])
    if utc.tz is None:
        utc = utc.tz_localize("UTC")
    return {
        "rows": frame.groupby("service", sort=False).indices,
        "local": utc.tz_convert(tz).tz_localize(None).to_numpy(),
        "utc": np.char.add(
            np.char.replace(np.datetime_as_string(utc.tz_convert(None).to_numpy(), unit="m"), "T", " "),
            " UTC",
        ),
        "avg": frame["avg"].to_numpy(dtype="float64"),
        "min": frame["min"].to_numpy(dtype="float64"),
        "max": frame["max"].to_numpy(dtype="float64"),
    }


def _local_one(ts: datetime, tz: tzinfo) -> datetime:
    return timefmt.to_zone(ts, tz).replace(tzinfo=None)


def _axis_title(metric: str) -> str:
    info = metric_info(metric)
    if metric == "error_rate":
        return f"{info.label} (%)"
    if metric == "up":
        return "Up (1 = answering)"
    return f"{info.label} ({info.unit})" if info.unit else info.label


def _hover_value(metric: str, field: str = "y") -> str:
    """A Plotly hover format for one value of ``metric``: units and the metric's decimals."""
    if metric == "error_rate":
        return f"%{{{field}:.2%}}"
    decimals = metric_info(metric).decimals
    unit = metric_info(metric).unit
    suffix = "%" if unit == "%" else (f" {unit}" if unit else "")
    return f"%{{{field}:,.{decimals}f}}{suffix}"


def _y_range(metric: str, data_max: float, data_min: float, lines: list[Threshold]) -> list[float]:
    """A range that shows the data and the first threshold, without squashing the data flat."""
    if metric == "up":
        return [-0.05, 1.08]
    top = data_max if np.isfinite(data_max) else 0.0
    if lines:
        top = max(top, lines[0].value)
    top = top * 1.15 if top > 0 else 1.0
    if metric_info(metric).unit == "%" and metric != "error_rate":
        top = min(max(top, 10.0), max(105.0, data_max * 1.05 if np.isfinite(data_max) else 0.0))
    bottom = min(0.0, data_min * 1.1) if np.isfinite(data_min) else 0.0
    return [bottom, top]


def metric_figure(
    metric: str,
    frame: pd.DataFrame,
    *,
    services: list[str],
    win: ChartWindow,
    tz: tzinfo,
    lines: list[Threshold],
    events: list[ChangeEvent],
    shade: tuple[datetime, datetime] | None = None,
) -> dict:
    """One metric for the chosen services, as a Plotly figure dict: an average line each, a shaded
    min–max band where a bucket holds several samples (and few services are shown), dashed
    threshold lines and vertical markers for deploys and config changes. ``shade`` tints a stretch
    of time behind the lines (an incident from its start to its resolution, or now).

    A plain dict, because building a ``go.Figure`` piece by piece validates every assignment and
    cost ~150 ms per chart; the tests validate the dict once with ``go.Figure(spec)``.
    """
    data: list[dict] = []
    shapes: list[dict] = []
    annotations: list[dict] = []
    data_max = float(frame["max"].max()) if not frame.empty else float("nan")
    data_min = float(frame["min"].min()) if not frame.empty else float("nan")
    band = (
        metric != "up"
        and not frame.empty
        and len(services) <= BAND_MAX_SERVICES
        and float(frame["samples"].max()) > 1
    )
    value_fmt = _hover_value(metric)
    range_text = (
        f"<br>min {_hover_value(metric, 'customdata[0]')} · max {_hover_value(metric, 'customdata[1]')}"
        if band
        else ""
    )
    columns = _columns(frame, tz)
    utc_shown = False
    for service in services:
        rows = columns["rows"].get(service)
        if rows is None or not len(rows):
            continue
        colour = colour_for(service, services)
        x = columns["local"][rows]
        lows, highs = columns["min"][rows], columns["max"][rows]
        if band:
            edge = {
                "type": "scatter",
                "x": x,
                "mode": "lines",
                "line": {"width": 0, "color": colour},
                "hoverinfo": "skip",
                "showlegend": False,
                "legendgroup": service,
            }
            data.append({**edge, "y": highs})
            data.append({**edge, "y": lows, "fill": "tonexty", "fillcolor": rgba(colour, 0.16)})
        trace = {
            "type": "scatter",
            "x": x,
            "y": columns["avg"][rows],
            "mode": "lines",
            "name": html.escape(service),
            "legendgroup": service,
            "line": {"width": 2, "color": colour, "shape": "hv" if metric == "up" else "linear"},
            "hovertemplate": f"<b>{html.escape(service)}</b> {value_fmt}{range_text}<extra></extra>",
        }
        if band:
            trace["customdata"] = np.column_stack([lows, highs])
        if not utc_shown:
            # The unified hover lists every trace at that time; the UTC time once is enough.
            trace["text"] = columns["utc"][rows]
            trace["hovertemplate"] = trace["hovertemplate"].replace("<extra>", "<br>%{text}<extra>")
            utc_shown = True
        data.append(trace)
    y_range = _y_range(metric, data_max, data_min, lines)
    for line in lines if metric != "up" else []:
        if not y_range[0] <= line.value <= y_range[1]:
            continue
        look = SEVERITY[line.severity]
        shapes.append(
            {
                "type": "line",
                "xref": "x domain",
                "x0": 0,
                "x1": 1,
                "yref": "y",
                "y0": line.value,
                "y1": line.value,
                "line": {"dash": "dash", "width": 1.2, "color": look.hex},
            }
        )
        text = f"{look.label.lower()} {html.escape(line.comparison)} {format_value(metric, line.value)}"
        annotations.append(
            {
                "xref": "x domain",
                "x": 0,
                "xanchor": "left",
                "yref": "y",
                "y": line.value,
                "yanchor": "bottom",
                "text": text,
                "showarrow": False,
                "font": {"size": 10, "color": look.hex},
            }
        )
    _add_events(data, shapes, events, tz=tz, y_top=y_range[1])
    if shade is not None:
        _add_shade(shapes, annotations, shade, tz=tz)
    info = metric_info(metric)
    x_range = [_local_one(win.start, tz), _local_one(win.end, tz)]
    layout = {
        "height": CHART_HEIGHT,
        "margin": {"l": 8, "r": 8, "t": 36, "b": 8},
        "title": {"text": f"<b>{info.label}</b>", "x": 0, "xanchor": "left", "font": {"size": 14}},
        "hovermode": "x unified",
        "legend": {
            "orientation": "h",
            "yanchor": "bottom",
            "y": 1.0,
            "xanchor": "right",
            "x": 1,
            "font": {"size": 11},
        },
        "xaxis": {"type": "date", "range": x_range, "showgrid": True},
        "yaxis": {"title": {"text": _axis_title(metric), "font": {"size": 11}}, "range": y_range},
        "shapes": shapes,
        "annotations": annotations,
    }
    if metric == "error_rate":
        layout["yaxis"]["tickformat"] = ".1%"
    elif info.unit == "%":
        layout["yaxis"]["ticksuffix"] = "%"
    return {"data": data, "layout": layout}


def _add_events(
    data: list[dict], shapes: list[dict], events: list[ChangeEvent], *, tz: tzinfo, y_top: float
) -> None:
    """Deploys and config changes: a dotted vertical line each and a marker carrying the details."""
    for kind, (label, legend, symbol, colour) in EVENT_LOOK.items():
        chosen = [e for e in events if e.kind == kind]
        if not chosen:
            continue
        xs = [_local_one(e.ts, tz) for e in chosen]
        shapes.extend(
            {
                "type": "line",
                "xref": "x",
                "x0": x,
                "x1": x,
                "yref": "paper",
                "y0": 0,
                "y1": 1,
                "line": {"dash": "dot", "width": 1, "color": colour},
            }
            for x in xs
        )
        texts = [
            f"<b>{label}</b> · {html.escape(e.service)}{' ' + html.escape(e.version) if e.version else ''}"
            f"<br>{html.escape(e.description)}<br>{timefmt.utc_text(e.ts)}"
            for e in chosen
        ]
        data.append(
            {
                "type": "scatter",
                "x": xs,
                "y": [y_top * 0.97] * len(xs),
                "mode": "markers",
                "name": legend,
                "marker": {"symbol": symbol, "size": 10, "color": colour},
                "hovertext": texts,
                "hovertemplate": "%{hovertext}<extra></extra>",
            }
        )


def _add_shade(
    shapes: list[dict], annotations: list[dict], shade: tuple[datetime, datetime], *, tz: tzinfo
) -> None:
    """A faint band behind the lines from ``shade[0]`` to ``shade[1]``, labelled inside its top right
    corner (a band that runs up to now ends at the chart's edge, where a label to its right would be cut)."""
    start, end = (_local_one(ts, tz) for ts in shade)
    shapes.append(
        {
            "type": "rect",
            "xref": "x",
            "x0": start,
            "x1": end,
            "yref": "paper",
            "y0": 0,
            "y1": 1,
            "fillcolor": rgba(SHADE_COLOUR, 0.08),
            "line": {"width": 0},
            "layer": "below",
        }
    )
    annotations.append(
        {
            "xref": "x",
            "x": end,
            "xanchor": "right",
            "yref": "paper",
            "y": 1,
            "yanchor": "top",
            "text": "incident",
            "showarrow": False,
            "font": {"size": 10, "color": SHADE_COLOUR},
        }
    )
