"""The Health page's two live panels: the state right now, and charts over a chosen window.

Both are fragments that redraw themselves every refresh interval, so the page stays current
without a full rerun and without touching the operator's selections (kept in session state,
per company). The chart panel only refreshes while its window ends now; a fixed custom range
has nothing new to show.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

import streamlit as st

from calmops import clock, runtime, timefmt
from calmops.companies import list_services
from calmops.config import settings
from calmops.health import charts as hc
from calmops.health.models import CompanyHealth
from calmops.health.service import company_health
from calmops.store import cursor
from calmops.ui import charts, tiles
from calmops.vocabulary import metric_info

HEALTH_KEY = "_health_{company}"


def _key(name: str, company: str) -> str:
    return f"health_{name}_{company}"


def read_health(company: str, now: datetime) -> CompanyHealth:
    """The company's state now; kept in the session so the chart controls can offer its services."""
    health = company_health(
        cursor(),
        company=company,
        interval_s=settings().collect_interval_s,
        now=now,
        collector=runtime.collector_state(),
    )
    st.session_state[HEALTH_KEY.format(company=company)] = health
    return health


def _status_panel(company: str, tz: tzinfo) -> None:
    now = clock.now()
    health = read_health(company, now)
    tiles.summary(health, now=now)
    st.markdown("##### Services")
    tiles.service_tiles(health, now=now, tz=tz)
    tiles.latest_values(health, tz=tz)


def status_panel(company: str, tz: tzinfo, *, refresh_s: float) -> None:
    """Summary, service tiles and the raw latest values, redrawn every ``refresh_s`` seconds."""
    st.fragment(run_every=refresh_s)(_status_panel)(company, tz)


def _init(key: str, value: object) -> None:
    if key not in st.session_state:
        st.session_state[key] = value


def _keep_valid(key: str, options: list[str]) -> None:
    """Drop remembered choices that are no longer offered (a service removed, a metric gone)."""
    if key in st.session_state:
        st.session_state[key] = [v for v in st.session_state[key] if v in options]


def _custom_range(company: str, tz: tzinfo, now: datetime) -> tuple[datetime, datetime]:
    start_key, end_key = _key("from", company), _key("to", company)
    local_now = timefmt.to_zone(now, tz).replace(tzinfo=None, second=0, microsecond=0)
    _init(start_key, local_now - timedelta(hours=24))
    _init(end_key, local_now)
    left, right = st.columns(2)
    start = left.datetime_input("From", key=start_key, format="YYYY-MM-DD", step=timedelta(minutes=15))
    end = right.datetime_input("To", key=end_key, format="YYYY-MM-DD", step=timedelta(minutes=15))
    return timefmt.from_local(start, tz), timefmt.from_local(end, tz)


def _chart_panel(company: str, tz: tzinfo, live: bool, refresh_s: float) -> None:
    now = clock.now()
    health = st.session_state.get(HEALTH_KEY.format(company=company)) or read_health(company, now)
    window_key = _key("window", company)
    services_key = _key("services", company)
    metrics_key = _key("metrics", company)
    all_services = sorted(s.service for s in health.services)
    if not all_services:
        return
    _init(window_key, hc.DEFAULT_WINDOW)
    _init(services_key, hc.default_services(health.services))
    _keep_valid(services_key, all_services)

    choice = (
        st.segmented_control(
            "Window",
            list(hc.WINDOW_LABELS),
            format_func=hc.WINDOW_LABELS.get,
            key=window_key,
            required=True,
            persist_state="session",
        )
        or hc.DEFAULT_WINDOW
    )
    if (choice != hc.CUSTOM) != live:
        st.rerun()  # the whole page: the panel's refresh timer follows the window's liveness
    controls = st.columns(2)
    chosen = controls[0].multiselect(
        "Services",
        all_services,
        key=services_key,
        placeholder="Choose services to chart",
        persist_state="session",
    )
    available = hc.chartable_metrics(health.services, chosen)
    _init(metrics_key, hc.default_metrics(health.services, chosen))
    _keep_valid(metrics_key, available)
    metrics = controls[1].multiselect(
        "Metrics",
        available,
        key=metrics_key,
        format_func=lambda m: metric_info(m).label,
        placeholder="Choose metrics",
        persist_state="session",
    )
    try:
        if choice == hc.CUSTOM:
            start, end = _custom_range(company, tz, now)
            win = hc.window(hc.CUSTOM, now=now, start=start, end=end)
        else:
            win = hc.window(choice, now=now)
    except hc.WindowError as exc:
        st.warning(f"Cannot chart that range: {exc}.", icon=":material/date_range:")
        return
    if not chosen or not metrics:
        st.info("Choose at least one service and one metric to chart.", icon=":material/query_stats:")
        return

    refresh = f" · refreshes every {timefmt.duration(refresh_s)}" if win.live else ""
    st.caption(
        f"{win.label.capitalize()} in {timefmt.duration(win.bucket_s)} buckets: line = average, "
        f"shaded = min–max · times in {timefmt.zone_label(tz, now)}, UTC on hover{refresh}"
    )
    events = charts.render_metric_charts(
        company=company, metrics=metrics, services=chosen, win=win, tz=tz, columns=2
    )
    if events:
        st.caption(
            f":material/rocket_launch: {len(events)} deploy or config change(s) in this window, "
            "marked on the charts."
        )


def chart_panel(company: str, tz: tzinfo, *, refresh_s: float) -> None:
    """Window, services and metrics controls over one chart per metric; live windows self-refresh."""
    live = st.session_state.get(_key("window", company), hc.DEFAULT_WINDOW) != hc.CUSTOM
    st.fragment(run_every=refresh_s if live else None)(_chart_panel)(company, tz, live, refresh_s)


def service_names(company: str) -> list[str]:
    """The company's services, from the state the status panel just read (no second query)."""
    health = st.session_state.get(HEALTH_KEY.format(company=company))
    if health is None:
        return sorted(s.service for s in list_services(cursor(), company=company))
    return sorted(s.service for s in health.services)
