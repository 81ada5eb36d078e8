"""The decision brief as a calm card: what is happening, what was done, what to do, what if not.

The order follows the runbook's "Read the Decision Summary": summary, window, automatic actions,
the system's state against thresholds and baseline, the recommendation with its risk, the risk of
doing nothing, confidence and the customer draft. Evidence and the runbook are one click away.
Everything shown comes from the stored brief (`calmops.agent.current_brief`).
"""

from __future__ import annotations

from datetime import datetime, tzinfo

import pandas as pd
import streamlit as st

from calmops import timefmt
from calmops.agent.brief import ACTION_WORDS
from calmops.timeio import parse_iso
from calmops.ui.style import md
from calmops.vocabulary import Action, Pattern, format_value, metric_info

RISK_BADGE = {"safe": ("green", ":material/verified_user:"), "low": ("blue", ":material/shield:"),
              "medium": ("orange", ":material/warning:"), "high": ("red", ":material/report:")}  # fmt: skip
CONFIDENCE_BADGE = {"high": "green", "medium": "orange", "low": "gray"}
OUTCOME_BADGE = {"succeeded": "green", "pending": "gray", "failed": "red", "skipped": "gray"}
VERDICT_BADGE = {"effective": "green", "no_effect": "orange", "worse": "red", "pending": "gray"}
STATE_BADGE = {
    "breaching": ("red", "breaching"),
    "elevated": ("orange", "elevated"),
    "normal": ("green", "normal"),
}
PATTERN_WORDS = {
    Pattern.QUEUE_BACKLOG: "Queue backlog",
    Pattern.DB_SATURATION: "Database saturation",
    Pattern.ERROR_SPIKE_AFTER_DEPLOY: "Error spike after deploy",
    Pattern.MEMORY_LEAK: "Memory leak",
    Pattern.DEPENDENCY_OUTAGE: "Dependency outage",
    Pattern.DISK_FILLING: "Disk filling",
    Pattern.SERVICE_DOWN: "Service down",
    Pattern.LATENCY_REGRESSION: "Latency regression",
    Pattern.UNKNOWN: "Not recognised",
}


def action_words(action: str) -> str:
    try:
        return ACTION_WORDS[Action(action)]
    except ValueError:
        return action.replace("_", " ")


def _badge(colour: str, text: str, icon: str = "") -> str:
    return f":{colour}-badge[{icon + ' ' if icon else ''}{md(text)}]"


def _time(value: str | None, tz: tzinfo) -> str:
    if not value:
        return "—"
    return timefmt.to_zone(parse_iso(value), tz).strftime("%H:%M")


def pending_brief() -> None:
    with st.container(border=True):
        st.markdown("##### :material/description: Brief")
        st.caption("The agent is writing the brief; it appears here within a collector round.")


def brief_card(brief: dict | None, *, tz: tzinfo, now: datetime) -> None:
    """The brief, leading the Incident page."""
    if brief is None:
        pending_brief()
        return
    rec = brief["recommendation"]
    with st.container(border=True, key="brief_card"):
        pattern = PATTERN_WORDS.get(Pattern(brief["pattern"]), brief["pattern"])
        confidence = brief["confidence"]
        updated = parse_iso(brief["generated_at"])
        st.markdown(
            f"##### :material/description: Brief &nbsp; {_badge('violet', pattern)} "
            f"{_badge(CONFIDENCE_BADGE[confidence], f'{confidence} confidence')} "
            f":gray[:small[v{brief.get('version', 1)} · as of {timefmt.ago(updated, now)}]]"
        )
        st.markdown(md(brief["summary"]))
        origin = brief.get("origin") or {}
        if origin.get("reason"):
            st.caption(f"Probable origin: **{md(origin['service'])}**. {md(origin['reason'])}")
        left, right = st.columns([1, 1], gap="medium")
        with left:
            _recommendation(rec)
        with right:
            _risk(brief)
            _window(brief["window"], tz)
        _auto_actions(brief["auto_actions"], tz)
        _system_state(brief["system_state"])
        if brief.get("customer_message"):
            _customer(brief["customer_message"])
        elif not brief.get("customer_impact"):
            st.caption(":material/groups: No customer impact seen so far: no customer message is drafted.")
        with st.expander(f"Evidence ({len(brief['evidence'])}) and runbook", icon=":material/fact_check:"):
            _evidence(brief["evidence"], tz)
            if brief.get("runbook"):
                st.markdown("**Runbook**")
                st.markdown("\n".join(f"{i}. {md(step)}" for i, step in enumerate(brief["runbook"], 1)))


def _recommendation(rec: dict) -> None:
    colour, icon = RISK_BADGE[rec["risk"]]
    with st.container(border=True, key="brief_recommendation"):
        st.markdown(
            f":small[:gray[Recommendation]]  \n**{md(action_words(rec['action']).capitalize())}** &nbsp; "
            f"{_badge(colour, rec['risk'] + ' risk', icon)} {_badge('gray', rec['status'])}"
        )
        st.markdown(f":small[**Why:** {md(rec['reason'])}]")
        st.markdown(f":small[**Expected effect:** {md(rec['expected_effect'])}]")


def _risk(brief: dict) -> None:
    risk = brief["risk_if_no_action"]
    projection = risk.get("projection")
    eta = ""
    if projection:
        label = metric_info(projection["metric"]).label.lower()
        eta = (
            f"  \n:orange-badge[:material/schedule: {md(label)} reaches "
            f"{md(format_value(projection['metric'], projection['threshold']))} in "
            f"~{timefmt.duration(projection['eta_s'])}]"
        )
    st.markdown(f":small[:gray[If nobody acts]]  \n{md(risk['text'])}{eta}")


def _window(window: dict, tz: tzinfo) -> None:
    st.markdown(
        f":small[:gray[Window]]  \nstarted {_time(window['started_at'], tz)} · detected "
        f"{_time(window['detected_at'], tz)} · lasting {timefmt.duration(window['duration_s'])}"
    )


def _auto_actions(attempts: list[dict], tz: tzinfo) -> None:
    if not attempts:
        st.markdown(
            ":small[:gray[Automatic actions]]  \nNone: nothing safe to do by itself for this pattern yet."
        )
        return
    lines = []
    for a in attempts:
        outcome = a.get("outcome") or "pending"
        verdict = a.get("verdict")
        text = f"{_time(a.get('at'), tz)} · {md(action_words(a['action']))}"
        if a.get("service"):
            text += f" on {md(a['service'])}"
        if a.get("kind") == "approved":
            text += f" :gray[(approved by {md(a.get('requested_by') or 'someone')})]"
        text += f" {_badge(OUTCOME_BADGE.get(outcome, 'gray'), outcome)}"
        if outcome == "succeeded" and verdict == "pending":
            text += f" {_badge('gray', 'checking the effect', ':material/hourglass_top:')}"
        elif outcome == "succeeded" and verdict:
            text += f" {_badge(VERDICT_BADGE.get(verdict, 'gray'), verdict.replace('_', ' '))}"
        elif outcome == "skipped" and a.get("refusal"):
            text += f" :gray[:small[{md(a['refusal'])}]]"
        lines.append(f"- {text}")
    st.markdown(":small[:gray[Actions taken]]\n" + "\n".join(lines))


def _system_state(rows: list[dict]) -> None:
    if not rows:
        return
    table = pd.DataFrame(
        {
            "Service": [r["service"] for r in rows],
            "Metric": [metric_info(r["metric"]).label for r in rows],
            "Now": [format_value(r["metric"], r["value"]) for r in rows],
            "Threshold": [
                format_value(r["metric"], r["threshold"]) if r["threshold"] is not None else "—" for r in rows
            ],
            "Usual": [
                format_value(r["metric"], r["baseline"]) if r["baseline"] is not None else "—" for r in rows
            ],
            "State": [STATE_BADGE[r["status"]][1] for r in rows],
        }
    )
    st.markdown(":small[:gray[Current state]]")
    st.dataframe(table, hide_index=True, width="stretch", height=min(36 * (len(rows) + 1) + 2, 260))


def _customer(message: dict) -> None:
    badges = f"{_badge('blue', message['state'])} {_badge('gray', message['status'])}"
    st.markdown(f":small[:gray[Customer message]] &nbsp; {badges}")
    st.info(md(message["text"]), icon=":material/campaign:")


def _evidence(items: list[dict], tz: tzinfo) -> None:
    if not items:
        st.caption("No single series stands out; the brief rests on the incident's own rule.")
        return
    lines = []
    for e in items:
        value = ""
        if e.get("metric") and e.get("value") is not None:
            value = f" · {md(format_value(e['metric'], e['value']))}"
        lines.append(f"- {_time(e['ts'], tz)} — {md(e['text'])}:gray[{value}]")
    st.markdown("\n".join(lines))
