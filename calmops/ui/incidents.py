"""The Incidents page's pieces: counts, filters, the live list, a calm empty state, and a form to
open an incident by hand.

Filters live in session state per company (and in the URL, so a filtered list can be shared), so
they survive the list's own refresh, a trip to an incident and back, and a change of company.
The list is a fragment that redraws itself; the filters sit outside it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

import pandas as pd
import streamlit as st

from calmops import agent, clock, incidents, timefmt
from calmops.auth import Permission
from calmops.errors import WorkflowError
from calmops.health.models import CompanyHealth
from calmops.incidents import IncidentCounts, IncidentSummary, InvalidIncidentError
from calmops.store import cursor, get_db, unit_of_work
from calmops.ui import access, tiles
from calmops.ui.brief import action_words
from calmops.ui.style import INCIDENT_STATUS, SEVERITY, md
from calmops.vocabulary import HealthStatus, IncidentStatus, Severity
from calmops.workflow import escalation

HEALTH_PAGE = "pages/health.py"
INCIDENT_PAGE = "pages/incident.py"
WARNING_ICON = ":material/warning:"
LIST_LIMIT = 500
VISIBLE_ROWS = 15  # then the table scrolls
ROW_PX = TABLE_HEADER_PX = 35
FLASH_KEY = "_incident_flash"  # a message the Incident page shows once, after a switch


@dataclass(frozen=True)
class FlagLook:
    label: str
    icon: str  # for badges
    badge: str
    symbol: str  # for table cells, where markdown does not render


FLAGS: dict[str, FlagLook] = {
    "flapping": FlagLook("flapping", ":material/sync_problem:", "orange", "⚑"),
    "customer_impact": FlagLook("customer impact", ":material/groups:", "violet", "◉"),
    "escalated": FlagLook("escalated", ":material/trending_up:", "red", "▲"),
    "needs_escalation": FlagLook("needs escalation", ":material/support_agent:", "orange", "△"),
    "stale_data": FlagLook("stale data", ":material/visibility_off:", "gray", "◌"),
}


def flag_look(flag: str) -> FlagLook:
    return FLAGS.get(flag) or FlagLook(flag.replace("_", " "), ":material/flag:", "gray", "•")


def flag_text(flags: tuple[str, ...]) -> str:
    """Flags for a table cell: ``⚑ flapping · ◉ customer impact``."""
    return " · ".join(f"{flag_look(f).symbol} {flag_look(f).label}" for f in flags)


def _badge(look, n: int, word: str) -> str:
    return f":{look.badge if n else 'gray'}-badge[{look.icon} {n} {word}]"


def counts(numbers: IncidentCounts) -> None:
    """Incidents by status, and the active ones by severity, as badges (a zero stays grey)."""
    with st.container(border=True):
        by_status = [
            _badge(INCIDENT_STATUS[s], numbers.by_status.get(s.value, 0), s.value)
            for s in IncidentStatus
            if s != IncidentStatus.RESOLVED
        ]
        resolved = numbers.by_status.get(IncidentStatus.RESOLVED.value, 0)
        resolved_text = f":gray[· {resolved} resolved]"
        st.markdown(f"**{numbers.active} active** &nbsp; {' '.join(by_status)} &nbsp; {resolved_text}")
        by_severity = [
            _badge(SEVERITY[s], numbers.active_by_severity.get(s.value, 0), s.value)
            for s in sorted(Severity, key=lambda s: -s.rank)
        ]
        st.markdown("Active by severity &nbsp; " + " ".join(by_severity))


# --- Filters: one session key per control and company; the URL mirrors them.

RANGES: dict[str, str] = {
    "24h": "Last 24 h",
    "7d": "Last 7 d",
    "30d": "Last 30 d",
    "all": "All time",
    "custom": "Custom",
}
RANGE_SPANS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
ANY_SERVICE = ""
DEFAULTS: dict[str, object] = {"status": [], "severity": [], "service": ANY_SERVICE, "range": "all"}
URL_PARAMS = tuple(DEFAULTS)
URL_STAMP_KEY = "_incidents_url_stamp"  # the filters this session last wrote into the URL


@dataclass(frozen=True)
class Filters:
    """What the operator asked to see; time bounds are worked out at each refresh."""

    status: tuple[str, ...] = ()
    severity: tuple[str, ...] = ()
    service: str | None = None
    range: str = "all"
    start_day: date | None = None
    end_day: date | None = None

    @property
    def narrowed(self) -> bool:
        return bool(self.status or self.severity or self.service or self.range != "all")

    def bounds(self, now: datetime, tz: tzinfo) -> tuple[datetime | None, datetime | None]:
        """``since``/``until`` for ``started_at``: a preset counts back from now; a custom range
        covers whole days on the viewer's clock."""
        if self.range in RANGE_SPANS:
            return now - RANGE_SPANS[self.range], None
        if self.range == "custom":
            since = (
                timefmt.from_local(datetime.combine(self.start_day, time()), tz) if self.start_day else None
            )
            until = (
                timefmt.from_local(datetime.combine(self.end_day + timedelta(days=1), time()), tz)
                if self.end_day
                else None
            )
            return since, until
        return None, None


def filter_key(name: str, company: str) -> str:
    return f"incidents_{name}_{company}"


def _parse_url(name: str, raw: str, services: list[str]) -> object | None:
    """A URL filter value as the control holds it; None when it is not one the control offers."""
    if name in ("status", "severity"):
        allowed = [s.value for s in (IncidentStatus if name == "status" else Severity)]
        chosen = [v for v in raw.split(",") if v in allowed]
        return sorted(chosen, key=allowed.index)
    if name == "service":
        return raw if raw in services else None
    return raw if raw in RANGES else None


def _url_value(name: str, value: object) -> str | None:
    if value == DEFAULTS[name] or value is None:
        return None
    return ",".join(value) if isinstance(value, list) else str(value)


def _url_now() -> tuple[str | None, ...]:
    return tuple(st.query_params.get(name) for name in URL_PARAMS)


def stamp_url(company: str) -> None:
    """Write the company's filters into the query string (defaults leave no trace)."""
    for name in URL_PARAMS:
        text = _url_value(name, st.session_state.get(filter_key(name, company), DEFAULTS[name]))
        if text is None:
            st.query_params.pop(name, None)
        elif st.query_params.get(name) != text:
            st.query_params[name] = text
    st.session_state[URL_STAMP_KEY] = _url_now()


def _adopt_url(company: str, services: list[str]) -> None:
    """A link that carries filters (``?status=open``) sets them; what the operator chose stays otherwise.

    Controls stamp the URL whenever they change, so filters in the URL that this session did not
    stamp come from a link or a reload. (What it did stamp may be another company's, just left
    behind by a switch of company: those are not adopted.)
    """
    if _url_now() == st.session_state.get(URL_STAMP_KEY):
        return
    for name in URL_PARAMS:
        raw = st.query_params.get(name)
        if raw is None:
            continue
        value = _parse_url(name, raw, services)
        if value is not None and st.session_state.get(filter_key(name, company)) != value:
            st.session_state[filter_key(name, company)] = value


def reset_filters(company: str) -> None:
    """Back to every incident of the company, in the session and the URL."""
    for name, value in DEFAULTS.items():
        st.session_state[filter_key(name, company)] = value
    for name in ("from", "to"):
        st.session_state.pop(filter_key(name, company), None)
    stamp_url(company)


def _init(key: str, value: object) -> None:
    if key not in st.session_state:
        st.session_state[key] = value


def read_filters(company: str) -> Filters:
    """The company's filters as the session holds them (the controls write there)."""
    state = st.session_state
    chosen_range = state.get(filter_key("range", company), DEFAULTS["range"])
    custom = chosen_range == "custom"
    return Filters(
        tuple(state.get(filter_key("status", company)) or ()),
        tuple(state.get(filter_key("severity", company)) or ()),
        state.get(filter_key("service", company)) or None,
        chosen_range,
        state.get(filter_key("from", company)) if custom else None,
        state.get(filter_key("to", company)) if custom else None,
    )


def filter_bar(company: str, services: list[str], *, tz: tzinfo) -> Filters:
    """Status, severity, service and time range controls; returns what they ask for."""
    _adopt_url(company, services)
    for name, value in DEFAULTS.items():
        _init(filter_key(name, company), value)
    service_key = filter_key("service", company)
    if st.session_state[service_key] not in [ANY_SERVICE, *services]:
        st.session_state[service_key] = ANY_SERVICE
    common = {"on_change": stamp_url, "args": (company,), "persist_state": "session"}
    status_col, severity_col, service_col, range_col = st.columns([3, 3, 2, 2])
    status = status_col.multiselect(
        "Status",
        [s.value for s in IncidentStatus],
        format_func=lambda s: INCIDENT_STATUS[IncidentStatus(s)].label,
        key=filter_key("status", company),
        placeholder="Any status",
        **common,
    )
    severity = severity_col.multiselect(
        "Severity",
        [s.value for s in sorted(Severity, key=lambda s: -s.rank)],
        format_func=lambda s: SEVERITY[Severity(s)].label,
        key=filter_key("severity", company),
        placeholder="Any severity",
        **common,
    )
    service = service_col.selectbox(
        "Service",
        [ANY_SERVICE, *services],
        format_func=lambda s: s or "Any service",
        key=service_key,
        **common,
    )
    chosen_range = range_col.selectbox(
        "Started", list(RANGES), format_func=RANGES.get, key=filter_key("range", company), **common
    )
    start_day = end_day = None
    if chosen_range == "custom":
        today = timefmt.to_zone(clock.now(), tz).date()
        _init(filter_key("from", company), today - timedelta(days=7))
        _init(filter_key("to", company), today)
        left, right, _ = st.columns([2, 2, 6])
        start_day = left.date_input("From", key=filter_key("from", company), persist_state="session")
        end_day = right.date_input("To", key=filter_key("to", company), persist_state="session")
    stamp_url(company)  # navigation clears the query string; the session still holds the filters
    return Filters(tuple(status), tuple(severity), service or None, chosen_range, start_day, end_day)


# --- The list.


def _age(incident: IncidentSummary, now: datetime) -> str:
    if incident.resolved_at is not None:
        return timefmt.duration(incident.resolved_at - incident.started_at)
    return timefmt.duration(now - incident.started_at)


def incident_url(company: str, incident_id: int) -> str:
    """The Incident page's address, relative to the app, for links that open in a new tab."""
    return f"/incident?company={company}&id={incident_id}"


def ordered(rows: list[IncidentSummary]) -> list[IncidentSummary]:
    """Active incidents first (worst first), then the rest; newest first within each."""
    active = sorted(
        (i for i in rows if i.active), key=lambda i: (-i.severity.rank, -i.started_at.timestamp(), -i.id)
    )
    return active + [i for i in rows if not i.active]


def incident_frame(
    rows: list[IncidentSummary],
    *,
    affected: dict[int, tuple[str, ...]],
    briefs: dict[int, agent.Headline],
    now: datetime,
    escalate: dict[int, list[dict]] | None = None,
    tz: tzinfo,
    company: str,
) -> pd.DataFrame:
    """The list as a table: what, where, how bad, where it stands, for how long, what the agent
    recommends, its brief's summary, and its flags."""
    columns = ["#", "Title", "Service", "Severity", "Status", "Age", "Recommended", "Summary", "Flags",
               "Started", "Affected"]  # fmt: skip
    return pd.DataFrame(
        [
            {
                "#": incident_url(company, i.id),
                "Title": i.title,
                "Service": i.service,
                "Severity": [SEVERITY[i.severity].label],
                "Status": [INCIDENT_STATUS[i.status].label],
                "Age": _age(i, now),
                "Recommended": _recommended(briefs.get(i.id)),
                "Summary": briefs[i.id].summary if i.id in briefs else "",
                "Flags": flag_text(i.flags)
                + "".join(f" · {r['text']}" for r in (escalate or {}).get(i.id, [])),
                "Started": timefmt.to_zone(i.started_at, tz).replace(tzinfo=None),
                "Affected": ", ".join(s for s in affected.get(i.id, ()) if s != i.service),
            }
            for i in rows
        ],
        columns=columns,
    )


def _recommended(headline: agent.Headline | None) -> str:
    """``pause batch jobs · low`` (with its decision once taken), or blank before the first brief."""
    if headline is None or headline.action is None:
        return ""
    text = f"{action_words(headline.action)} · {headline.risk}"
    if headline.status and headline.status != "proposed":
        text += f" · {headline.status}"
    return text


def _chips(label: str, looks: dict, width: int) -> st.column_config.MultiselectColumn:
    """A read-only coloured chip per row, in the colours the badges use."""
    return st.column_config.MultiselectColumn(
        label,
        options=[look.label for look in looks.values()],
        color=[look.badge for look in looks.values()],
        disabled=True,
        width=width,
    )


def _column_config() -> dict:
    return {
        "#": st.column_config.LinkColumn(
            "#", display_text=r"id=(\d+)$", width=48, help="The incident's number; opens it in a new tab"
        ),
        "Title": st.column_config.TextColumn("Title", width=238),
        "Service": st.column_config.TextColumn("Service", width=108),
        "Severity": _chips("Severity", SEVERITY, 76),
        "Status": _chips("Status", INCIDENT_STATUS, 106),
        "Age": st.column_config.TextColumn(
            "Age", width=84, help="How long it has been going on; once resolved, how long it lasted"
        ),
        "Recommended": st.column_config.TextColumn(
            "Recommended", width=150, help="The agent's recommendation and its risk (decided ones say so)"
        ),
        "Summary": st.column_config.TextColumn(
            "Summary", width=260, help="The brief's summary; hover to read it"
        ),
        "Flags": st.column_config.TextColumn(
            "Flags", width=120, help="Flags, and why the escalation rules say to escalate (hover to read)"
        ),
        "Started": st.column_config.DatetimeColumn("Started", format="D MMM HH:mm", width=92),
        "Affected": st.column_config.TextColumn(
            "Also affected", width=106, help="Other services that joined the incident"
        ),
    }


def table_key(company: str) -> str:
    return f"incident_table_{company}"


def _shown_key(company: str) -> str:
    return f"_incident_rows_{company}"


def _incident_list(company: str, filters: Filters, tz: tzinfo, refresh_s: float) -> None:
    if read_filters(company) != filters:
        st.rerun(scope="app")  # changed from inside this fragment (a reset): redraw the controls too
    now = clock.now()
    cur = cursor()
    since, until = filters.bounds(now, tz)
    rows = incidents.list_incidents(
        cur,
        company=company,
        status=filters.status or None,
        severity=filters.severity or None,
        service=filters.service,
        since=since,
        until=until,
        limit=LIST_LIMIT,
    )
    if not rows:
        no_match(company)
        return
    rows = ordered(rows)
    ids = [i.id for i in rows]
    affected = incidents.affected_services(cur, company=company, incident_ids=ids)
    briefs = agent.headlines(cur, company=company, incident_ids=ids)
    escalate = escalation.needs_many(cur, company=company, incident_ids=ids)
    frame = incident_frame(
        rows, affected=affected, briefs=briefs, now=now, tz=tz, company=company, escalate=escalate
    )
    shown_before = st.session_state.get(_shown_key(company))
    event = st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        height=TABLE_HEADER_PX + ROW_PX * min(len(frame), VISIBLE_ROWS) + 2,
        key=table_key(company),
        on_select="rerun",
        selection_mode="single-row",
        column_config=_column_config(),
    )
    st.session_state[_shown_key(company)] = ids
    picked = event.selection.rows if event is not None else []
    if picked:
        # Row positions refer to the table the operator clicked, which a refresh may have changed.
        clicked = shown_before or ids
        if picked[0] < len(clicked):
            st.switch_page(INCIDENT_PAGE, query_params={"company": company, "id": str(clicked[picked[0]])})
    more = f" · the newest {LIST_LIMIT} shown" if len(rows) >= LIST_LIMIT else ""
    total = incidents.incident_counts(cur, company=company).total
    found = f"{len(rows)} of {total} incidents match" if filters.narrowed else f"{len(rows)} incidents"
    st.caption(
        f"{found}{more}, active first · tick a row to open "
        f"it, or click its number for a new tab · times on your clock: {timefmt.zone_label(tz, now)} · "
        f"refreshes every {timefmt.duration(refresh_s)}"
    )


def incident_list(company: str, filters: Filters, *, tz: tzinfo, refresh_s: float) -> None:
    """The filtered list, redrawn by itself every ``refresh_s`` seconds; a row click opens it."""
    st.fragment(run_every=refresh_s)(_incident_list)(company, filters, tz, refresh_s)


def no_match(company: str) -> None:
    """Incidents exist, but none match: say so, and offer the way back to all of them."""
    with st.container(border=True):
        st.markdown(":gray[:material/filter_alt_off:] **No incidents match these filters.**")
        st.caption("Widen the time range, or clear the filters to see every incident of this company.")
        st.button(
            "Reset filters",
            icon=":material/restart_alt:",
            key=f"reset_filters_{company}",
            on_click=reset_filters,
            args=(company,),
        )


def _summary(company: str, had_incidents: bool, health_of: Callable[[], CompanyHealth]) -> None:
    numbers = incidents.incident_counts(cursor(), company=company)
    if bool(numbers.total) != had_incidents:
        st.rerun(scope="app")  # the first incident arrived: the filters and the list appear
    if numbers.total:
        counts(numbers)
    if not numbers.active:
        empty_state(company, has_history=bool(numbers.total), health=health_of())


def summary(
    company: str, *, had_incidents: bool, health_of: Callable[[], CompanyHealth], refresh_s: float
) -> None:
    """Counts (or the calm empty state), redrawn by itself every ``refresh_s`` seconds."""
    st.fragment(run_every=refresh_s)(_summary)(company, had_incidents, health_of)


def empty_state(company: str, *, has_history: bool, health: CompanyHealth | None = None) -> None:
    """No active incident: what the runbook says to do next, with the way to the Health page.

    When the Health page shows trouble that no incident covers yet, say so first: that is exactly
    the runbook's "if no incident exists" case.
    """
    headline = "No active incidents." if has_history else "No incidents."
    trouble = health is not None and any(s.status != HealthStatus.OK for s in health.services)
    with st.container(border=True):
        mark = ":gray[:material/info:]" if trouble else ":green[:material/check_circle:]"
        st.markdown(f"#### {mark} {headline}")
        if trouble:
            st.warning(f"**The Health page shows trouble.** {tiles.headline(health)}", icon=WARNING_ICON)
        lead = (
            "No incident covers it yet. Follow the runbook (step 2, *if no incident exists*):"
            if trouble
            else "Nothing has been detected or reported for this company. If something still seems "
            "wrong, follow the runbook (step 2, *if no incident exists*):"
        )
        st.markdown(
            f"{lead}\n"
            "1. **Check the Health page** for services that are degraded, down or not reporting.\n"
            f"2. **Trigger a health check now:** `GET /api/ops/health?company={company}` "
            f"(or `python -m calmops check --company {company}`).\n"
            "3. **Open an incident by hand** below if you still see a problem "
            "(or `POST /api/ops/incidents`).\n\n"
            "Take a breath — stay with the summaries and let the system do the legwork."
        )
        st.page_link(
            HEALTH_PAGE,
            label="Open the Health page",
            icon=":material/monitor_heart:",
            query_params={"company": company},
        )


# --- Opening an incident by hand (runbook step 2: "manually create incident if needed").

FIELD_LABELS = {
    "title": "Title",
    "service": "Service",
    "severity": "Severity",
    "description": "Description",
    "customer_impact": "Customers are affected",
}


def manual_key(name: str) -> str:
    return f"manual_{name}"


def _error_key(company: str) -> str:
    return f"_manual_error_{company}"


def _created_key(company: str) -> str:
    return f"_manual_created_{company}"


def open_created(company: str) -> None:
    """After the form opened an incident, go to it (the first thing the page does)."""
    created = st.session_state.pop(_created_key(company), None)
    if created is not None:
        st.switch_page(INCIDENT_PAGE, query_params={"company": company, "id": str(created)})


def manual_form(company: str, services: list[str], *, expanded: bool = False) -> None:
    """Title, service, severity, description and customer impact; on submit the incident is opened
    (as the signed-in person) in one transaction and the Incident page shows it. Operators and up.

    The work happens in the submit button's callback, which runs before the page does: a rerun
    of the page (the frame may ask for one) cannot lose the click.
    """
    if not access.can(Permission.RESPOND, company):
        return
    error = st.session_state.pop(_error_key(company), None)
    with st.expander(
        ":material/add_circle: Open an incident by hand", expanded=expanded or error is not None
    ):
        st.caption(
            "Runbook step 2: if you see a problem that no incident covers, open one here. "
            "CalmOps records it on the timeline with your name."
        )
        with st.form(f"manual_incident_{company}", border=False):
            st.text_input("Title", key=manual_key("title"), placeholder="What is wrong, in a few words")
            left, right = st.columns(2)
            left.selectbox(
                "Service", services, index=None, key=manual_key("service"), placeholder="Choose a service"
            )
            right.selectbox(
                "Severity",
                [s.value for s in sorted(Severity, key=lambda s: -s.rank)],
                index=2,
                format_func=lambda s: SEVERITY[Severity(s)].label,
                key=manual_key("severity"),
            )
            st.text_area(
                "Description", key=manual_key("description"), placeholder="What you see, and since when"
            )
            st.checkbox("Customers are affected", key=manual_key("customer_impact"))
            st.form_submit_button(
                "Open incident", type="primary", icon=":material/add:", on_click=_submit, args=(company,)
            )
        if error is not None:
            field, message = error
            label = FIELD_LABELS.get(field, field)
            st.error(f"**{label}:** {md(message)}", icon=":material/error_outline:")


def _submit(company: str) -> None:
    """Open the incident the form describes, or leave the first problem found for the form to show."""
    state = st.session_state
    service = state.get(manual_key("service"))
    title = state.get(manual_key("title")) or ""
    if not service:
        state[_error_key(company)] = ("service", "choose the service that has the problem")
        return
    try:
        with unit_of_work() as cur:
            incident_id = incidents.create_manual(
                cur,
                company=company,
                title=title,
                service=service,
                severity=state.get(manual_key("severity")) or "",
                description=state.get(manual_key("description")) or "",
                customer_impact=bool(state.get(manual_key("customer_impact"))),
                actor=access.actor(),
                now=clock.now(),
            )
    except InvalidIncidentError as exc:
        state[_error_key(company)] = (exc.field, str(exc))
        return
    except WorkflowError as exc:
        state[_error_key(company)] = ("", access.refusal_text(exc))
        return
    agent.after_detection(get_db(), company=company, incident_ids=[incident_id], opened=[incident_id])
    state[FLASH_KEY] = f"Incident {incident_id} opened: {title.strip()}"
    state[_created_key(company)] = incident_id
