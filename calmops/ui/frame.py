"""The frame around every page: the store, the company in the URL, freshness, the viewer's zone.

``app.py`` calls these on every run before the page; pages read the chosen company back with
``current_company()``. The company lives in a non-widget session key and is re-stamped into
``?company=`` on every run, because navigation clears query params (notes §1.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from calmops import clock, runtime, timefmt
from calmops.auth import Identity, Permission
from calmops.companies import Company, list_companies
from calmops.config import settings
from calmops.health.models import CollectorState
from calmops.health.service import STALE_INTERVALS, expected_interval
from calmops.store import StoreLockedError, cursor
from calmops.store import snapshots as snapshot_store
from calmops.store.db import Cursor
from calmops.ui.style import md

COMPANY_KEY = "company"
UNKNOWN_KEY = "_unknown_company"
WIDGET_KEY = "_company_widget"
NAME_KEY = "_company_name"
MIN_REFRESH_S = 5.0


def ensure_framed() -> None:
    """Make sure app.py's frame runs around this page; the first call of every page.

    With a ``pages/`` folder Streamlit starts in its legacy multipage mode: until some run calls
    ``st.navigation`` (and in every AppTest run), a deep link such as ``/health`` executes the page
    file alone, without app.py — no company, no freshness banner. Leave that mode the way
    ``st.navigation`` itself does and rerun the same page, this time inside the frame.
    """
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def store() -> Cursor:
    """This thread's cursor; a store held by another process ends the run with a clear message."""
    try:
        return cursor()
    except StoreLockedError as exc:
        st.error(
            f"**The CalmOps database is in use by another process.** {md(exc)}",
            icon=":material/lock:",
        )
        st.stop()
        raise


def refresh_s() -> float:
    """How often live parts redraw: the collection interval, never faster than every 5 s."""
    return max(MIN_REFRESH_S, settings().collect_interval_s)


def viewer_tz() -> tzinfo:
    """The browser's time zone (UTC when Streamlit does not know it)."""
    try:
        name = st.context.timezone
    except Exception:
        name = None
    return timefmt.zone(name)


def _company_changed() -> None:
    chosen = st.session_state[WIDGET_KEY]
    st.session_state[COMPANY_KEY] = chosen
    st.session_state.pop(UNKNOWN_KEY, None)
    st.query_params["company"] = chosen


def choose_company(cur: Cursor, identity: Identity) -> Company | None:
    """The company this run shows: the URL's on arrival or after a link, else the session's.

    Only the companies the identity holds a role in exist here: one it has no role in is answered
    exactly like one that does not exist. An unknown company in the URL is remembered for
    ``unknown_company_notice`` and the frame falls back to the session's company or the first one.
    Returns None when the identity sees no company (an empty store, or no role anywhere).
    """
    companies = [c for c in list_companies(cur) if identity.can(Permission.READ, c.company)]
    if not companies:
        st.session_state.pop(COMPANY_KEY, None)
        st.session_state.pop(NAME_KEY, None)
        return None
    by_slug = {c.company: c for c in companies}
    current = st.session_state.get(COMPANY_KEY)
    wanted = st.query_params.get("company")
    if wanted and wanted != current:
        if wanted in by_slug:
            current = wanted
            st.session_state.pop(UNKNOWN_KEY, None)
        else:
            st.session_state[UNKNOWN_KEY] = wanted
    if current not in by_slug:
        current = companies[0].company
    st.session_state[COMPANY_KEY] = current
    st.session_state[NAME_KEY] = by_slug[current].name
    st.session_state[WIDGET_KEY] = current
    st.sidebar.selectbox(
        "Company",
        list(by_slug),
        format_func=lambda slug: by_slug[slug].name,
        key=WIDGET_KEY,
        on_change=_company_changed,
        help="Every page shows this company's data only; the choice stays in the URL (?company=).",
    )
    if st.query_params.get("company") != current:
        st.query_params["company"] = current
    return by_slug[current]


def current_company() -> str | None:
    """The company the frame chose for this run (None when the store has none)."""
    return st.session_state.get(COMPANY_KEY)


def require_company() -> str:
    """The chosen company, or (none to show) why not and how to add data, ending the run."""
    ensure_framed()
    company = current_company()
    if company is None:
        if list_companies(store()):
            st.info(
                "**Your account holds no role in any company yet.** Ask an admin to give you one.",
                icon=":material/lock:",
            )
        else:
            empty_store()
        st.stop()
    return company


def company_name(company: str) -> str:
    """The chosen company's display name, made safe for markdown."""
    return md(st.session_state.get(NAME_KEY) or company)


def unknown_company_notice(company: Company) -> None:
    """Say plainly that the URL named a company that does not exist, and what is shown instead."""
    unknown = st.session_state.get(UNKNOWN_KEY)
    if not unknown:
        return
    st.warning(
        f"**There is no company called “{md(unknown)}”.** Showing **{md(company.name)}** "
        f"(`{company.company}`) instead — choose another company in the sidebar, "
        "or check the link you followed.",
        icon=":material/domain_disabled:",
    )


def empty_store() -> None:
    """A friendly explanation for a store with no companies: how data gets in."""
    st.markdown("## Welcome to CalmOps")
    st.info(
        "**There is no data here yet.** CalmOps shows the health of your companies' services "
        "once something reports it.",
        icon=":material/info:",
    )
    st.markdown(
        """
**Try the demo world** — a transport management system with three tenants, two weeks of
history and live scenarios. Start the server with a database file that does not exist yet:

```bash
CALMOPS_DB=data/demo.duckdb make run        # CALMOPS_DEMO=1 is the default
python -m calmops demo --days 14            # or build it into CALMOPS_DB with the CLI
```

**Or add your own** company, services and health endpoints:

```bash
python -m calmops company add acme --name "Acme Logistics"
python -m calmops service add --company acme --service api --kind api --customer-facing
python -m calmops target add --company acme --service api --url https://api.example.com/health
```

Services can also push snapshots to `POST /api/ops/snapshots`. This page fills in by itself as
soon as the first company exists — reload it.
"""
    )


@dataclass(frozen=True)
class Freshness:
    """Whether what the dashboard shows is current, and if not, why (a blind dashboard is not green)."""

    stale: bool
    reasons: tuple[str, ...]
    newest: datetime | None
    collector: CollectorState | None


def judge_freshness(
    newest: datetime | None,
    *,
    now: datetime,
    interval_s: float,
    collector: CollectorState | None,
) -> Freshness:
    """Stale when the newest snapshot is older than three intervals or the feeder is not running well.

    With no feeder registered (AppTest, no server) only the age of the data decides.
    """
    reasons = []
    if collector is not None and not collector.running:
        reasons.append("the collector is not running, so no new health data is arriving")
    elif collector is not None and not collector.ok:
        error = f": {collector.error}" if collector.error else ""
        reasons.append(f"the last collection round failed{error}")
    limit = timedelta(seconds=STALE_INTERVALS * interval_s)
    if newest is None:
        reasons.append("no health data has arrived yet")
    elif now - newest > limit:
        reasons.append(
            f"the newest health data is {timefmt.duration(now - newest)} old "
            f"(expected every {timefmt.duration(interval_s)})"
        )
    return Freshness(bool(reasons), tuple(reasons), newest, collector)


def freshness(cur: Cursor, company: str) -> Freshness:
    """Judge ``company``'s data now: one small query on the latest-values table."""
    return judge_freshness(
        snapshot_store.newest_ts(cur, company=company),
        now=clock.now(),
        interval_s=expected_interval(cur, company=company, collect_s=settings().collect_interval_s),
        collector=runtime.collector_state(),
    )


def _freshness_banner(company: str) -> None:
    state = freshness(cursor(), company)
    now = clock.now()
    if state.stale:
        why = "; ".join(state.reasons)
        st.warning(
            f"**Data may be out of date — don't read green as healthy.** {why[:1].upper()}{why[1:]}. "
            "Check that the CalmOps server and its collector are running; "
            "what you see reflects the last data received.",
            icon=":material/visibility_off:",
        )
    age = f"newest data {timefmt.ago(state.newest, now)}" if state.newest else "no data yet"
    if state.stale:
        st.sidebar.caption(f":orange[:material/visibility_off: Stale · {age}]")
    else:
        st.sidebar.caption(f":material/sensors: Live · {age}")


def freshness_banner(company: str) -> None:
    """The stale-data banner on the page (and a quiet "live" line in the sidebar), redrawn by itself
    every refresh interval."""
    st.fragment(run_every=refresh_s())(_freshness_banner)(company)
