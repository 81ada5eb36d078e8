"""The Incident page's pieces: the header an operator reads first, the timeline and the charts of
the metrics involved, with the incident's stretch of time shaded.

While the incident is not resolved the whole panel is a fragment that redraws itself, so the
timeline and the charts keep up without a full rerun (and without moving the page).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo

import streamlit as st

from calmops import agent, clock, incidents, timefmt
from calmops.health import charts as hc
from calmops.incidents import IncidentDetail
from calmops.store import cursor
from calmops.ui import charts, customer, decisions, escalation, report, review, timeline
from calmops.ui.brief import brief_card
from calmops.ui.incidents import FLASH_KEY, flag_look
from calmops.ui.style import INCIDENT_STATUS, SEVERITY, md
from calmops.vocabulary import metric_info

INCIDENTS_PAGE = "pages/incidents.py"
INCIDENT_PAGE = "pages/incident.py"
BEFORE = timedelta(hours=1)  # charts start this long before the incident did
AFTER = timedelta(minutes=30)  # and end this long after it was resolved (or now)
SOURCES = {"rule": "detected by a rule", "manual": "opened by hand", "alert": "from an alert"}


def parse_id(raw: str | None) -> int | None:
    """The ``id`` query parameter as an incident id; None when it is missing or not a number."""
    try:
        value = int((raw or "").strip())
    except ValueError:
        return None
    return value if value > 0 else None


def load(company: str, raw_id: str | None) -> IncidentDetail | None:
    """The incident the URL names, or None when there is none of that id *in this company*."""
    incident_id = parse_id(raw_id)
    if incident_id is None:
        return None
    return incidents.get_incident(cursor(), company=company, incident_id=incident_id)


def back_link(company: str) -> None:
    st.page_link(
        INCIDENTS_PAGE, label="All incidents", icon=":material/arrow_back:", query_params={"company": company}
    )


def not_found(company: str, company_name: str, raw_id: str | None) -> None:
    """The same calm answer for an id that does not exist and one that is another company's."""
    if not (raw_id or "").strip():
        st.info(
            f"**No incident chosen.** Open one from the list of {company_name}'s incidents.",
            icon=":material/search:",
        )
    else:
        st.info(
            f"**No incident {md(raw_id.strip())} in {company_name}.** The link may be mistyped, or "
            "the incident may belong to another company — choose the company in the sidebar, or "
            "open the incident from the list.",
            icon=":material/search_off:",
        )
    back_link(company)


def show_flash() -> None:
    """A message left by the page that sent us here (the incident just opened by hand)."""
    message = st.session_state.pop(FLASH_KEY, None)
    if message:
        st.success(md(message), icon=":material/check_circle:")


def _badges(detail: IncidentDetail) -> str:
    s = detail.summary
    severity, status = SEVERITY[s.severity], INCIDENT_STATUS[s.status]
    parts = [
        f":{severity.badge}-badge[{severity.icon} {severity.label}]",
        f":{status.badge}-badge[{status.icon} {status.label}]",
    ]
    for flag in s.flags:
        look = flag_look(flag)
        parts.append(f":{look.badge}-badge[{look.icon} {md(look.label)}]")
    return " ".join(parts)


def _fact(column, label: str, value: str, note: str = "") -> None:
    text = f":small[:gray[{label}]]  \n**{value}**"
    if note:
        text += f"  \n:small[:gray[{note}]]"
    column.markdown(text)


def _local(ts: datetime, tz: tzinfo, day_of: datetime) -> str:
    """``14:20`` on the viewer's clock, with the date when it is not ``day_of``'s."""
    local = timefmt.to_zone(ts, tz)
    same_day = local.date() == timefmt.to_zone(day_of, tz).date()
    return local.strftime("%H:%M" if same_day else "%b %d, %H:%M")


def _utc(ts: datetime) -> str:
    return timefmt.to_zone(ts, UTC).strftime("%H:%M UTC")


def _after(ts: datetime | None, tz: tzinfo, started: datetime) -> tuple[str, str]:
    """A later moment: its time, and how long after the start it came (with the UTC time)."""
    if ts is None:
        return "—", ""
    return _local(ts, tz, started), f"+{timefmt.duration(ts - started)} · {_utc(ts)}"


def header(detail: IncidentDetail, *, tz: tzinfo, now: datetime) -> None:
    """Title, badges, where it is, and the times that matter, in the order an operator asks them."""
    s = detail.summary
    st.markdown(f"## {md(s.title)}")
    where = f"**{md(s.service)}**"
    others = [a for a in detail.affected if a != s.service]
    if others:
        where += " · affected: " + ", ".join(md(a) for a in others)
    source = SOURCES.get(detail.source, md(detail.source))
    st.markdown(f"{_badges(detail)} &nbsp; {where} &nbsp; :gray[· #{s.id} · {source}]")
    if detail.description:
        st.markdown(f":gray[{md(' '.join(detail.description.split()))}]")
    with st.container(border=True):
        started, duration, detected, acknowledged, resolved, assignee = st.columns(6)
        _fact(
            started,
            "Started",
            timefmt.local_text(s.started_at, tz),
            _utc(s.started_at),
        )
        if s.resolved_at is None:
            _fact(duration, "Duration", timefmt.duration(now - s.started_at), "running")
        else:
            _fact(duration, "Duration", timefmt.duration(s.resolved_at - s.started_at), "until resolved")
        _fact(detected, "Detected", *_after(s.detected_at, tz, s.started_at))
        _fact(acknowledged, "Acknowledged", *_after(detail.acknowledged_at, tz, s.started_at))
        _fact(resolved, "Resolved", *_after(s.resolved_at, tz, s.started_at))
        _fact(assignee, "Assignee", md(s.assignee) if s.assignee else "nobody yet")
    if detail.previous_incident_id is not None:
        st.page_link(
            INCIDENT_PAGE,
            label=f"Follows incident #{detail.previous_incident_id}",
            icon=":material/history:",
            query_params={"company": s.company, "id": str(detail.previous_incident_id)},
        )


def chart_window(detail: IncidentDetail, now: datetime) -> hc.ChartWindow:
    """From an hour before it started to half an hour after it was resolved (or now)."""
    s = detail.summary
    end = min((s.resolved_at or now) + AFTER, now)
    return hc.window(hc.CUSTOM, now=now, start=s.started_at - BEFORE, end=end)


def involved_charts(detail: IncidentDetail, *, tz: tzinfo, now: datetime) -> None:
    """One chart per involved metric for the incident's services, its stretch of time shaded."""
    s = detail.summary
    services = [s.service, *(a for a in detail.affected if a != s.service)]
    metrics = list(incidents.involved_metrics(detail))
    try:
        win = chart_window(detail, now)
    except hc.WindowError:
        st.info(
            "No charts yet: the incident's start lies in the future by this server's clock "
            f"({timefmt.utc_text(s.started_at)}).",
            icon=":material/schedule:",
        )
        return
    charts.render_metric_charts(
        company=s.company,
        metrics=metrics,
        services=services,
        win=win,
        tz=tz,
        shade=(s.started_at, s.resolved_at or now),
    )
    names = ", ".join(metric_info(m).label for m in metrics)
    st.caption(
        f"{names} · from 1 h before the start to {'30 min after resolution' if s.resolved_at else 'now'}, "
        f"{timefmt.duration(win.bucket_s)} buckets · shaded: the incident · dashed: thresholds · "
        f"times in {timefmt.zone_label(tz, now)}, UTC on hover"
    )


def _panel(company: str, company_name: str, incident_id: int, tz: tzinfo, live: bool) -> None:
    now = clock.now()
    detail = incidents.get_incident(cursor(), company=company, incident_id=incident_id)
    if detail is None:
        not_found(company, company_name, str(incident_id))
        return
    if detail.summary.active != live:
        st.rerun(scope="app")  # resolved or reopened: the refresh timer follows
    header(detail, tz=tz, now=now)
    brief = agent.current_brief(cursor(), company=company, incident_id=incident_id)
    brief_card(brief, tz=tz, now=now)
    decisions.show_flash()
    decisions.decision_form(detail, brief)
    escalation.escalation_panel(detail, tz=tz, now=now)
    customer.customer_panel(detail, tz=tz, now=now)
    decisions.incident_actions(detail)
    left, right = st.columns([5, 6], gap="large")
    with left:
        st.markdown("##### :material/timeline: Timeline")
        timeline.render_timeline(detail.timeline, tz=tz, now=now, key=f"timeline_all_{incident_id}")
        timeline.raw_timeline(detail.timeline, tz=tz, key=f"raw_timeline_{incident_id}")
    with right:
        st.markdown("##### :material/query_stats: Metrics involved")
        involved_charts(detail, tz=tz, now=now)
    review.review_panel(detail, tz=tz, now=now)
    report.report_download(detail)


def incident_panel(detail: IncidentDetail, *, company_name: str, tz: tzinfo, refresh_s: float) -> None:
    """Everything about one incident; refreshes itself every ``refresh_s`` seconds until resolved."""
    live = detail.summary.active
    st.fragment(run_every=refresh_s if live else None)(_panel)(
        detail.summary.company, company_name, detail.summary.id, tz, live
    )
