"""The Health page's hands: run a health check now, and play live demo scenarios."""

from __future__ import annotations

import streamlit as st

from calmops import clock, runtime, timefmt
from calmops.auth import Permission
from calmops.demo import scenarios
from calmops.store import get_db
from calmops.ui import access

PATTERN_LABELS = {p: p.replace("_", " ").capitalize() for p in scenarios.PATTERNS}


def run_check_button(company: str) -> None:
    """Runbook step 2: "manually trigger health check" — a collector round for this company now."""
    if not st.button(
        "Run health check", icon=":material/refresh:", key="run_check", help="Probe every target now"
    ):
        return
    feeder = runtime.feeder()
    if feeder is None:
        st.info(
            "No collector runs in this process, so there is nothing to probe from here. "
            "Start the server with `make run` (or `python -m calmops check` against it).",
            icon=":material/info:",
        )
        return
    with st.spinner("Probing every target…"):
        feeder.run_round(company=company)
    st.toast(f"Health check done at {clock.now():%H:%M:%S} UTC", icon=":material/check_circle:")


def scenario_panel(company: str, services: list[str]) -> None:
    """Start or stop a live pattern on a demo service, and see what is playing (demo stores only;
    operators and up: it opens real incidents)."""
    db = get_db()
    if not scenarios.is_demo(db) or not access.can(Permission.RESPOND, company):
        return
    with st.expander(":material/science: Live demo scenarios", expanded=False):
        st.caption(
            "Make a demo service misbehave the way a real incident starts; the collector, the rules "
            "and the incident list react exactly as they would to a real service."
        )
        left, middle, right = st.columns([2, 2, 1], vertical_alignment="bottom")
        pattern = left.selectbox(
            "Pattern", scenarios.PATTERNS, format_func=PATTERN_LABELS.get, key="scn_pattern"
        )
        service = middle.selectbox("Service", services, key="scn_service")
        if right.button("Start", type="primary", key="scn_start"):
            try:
                scenarios.start(db, company=company, service=service, pattern=pattern, actor=access.actor())
                st.success(f"{PATTERN_LABELS[pattern]} started on {service}.", icon=":material/play_arrow:")
            except scenarios.ScenarioError as exc:
                st.error(str(exc), icon=":material/error:")
        playing = scenarios.live(db, company=company)
        if not playing:
            st.caption("Nothing is playing.")
        for episode in playing:
            cols = st.columns([4, 1], vertical_alignment="center")
            since = timefmt.ago(episode.started_at, clock.now())
            label = PATTERN_LABELS.get(episode.pattern.value, episode.pattern.value)
            cols[0].markdown(f"**{label}** on `{episode.service}` · since {since}")
            key = f"scn_stop_{episode.service}_{episode.pattern.value}"
            if cols[1].button("Stop", key=key):
                scenarios.stop(db, company=company, service=episode.service, pattern=episode.pattern.value,
                               actor=access.actor())  # fmt: skip
                st.rerun()
