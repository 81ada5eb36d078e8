"""The Targets page's pieces: what the collector probes and how each probe went, the probe log with
failures first, a probe on demand, and the forms that add and remove targets.

"Test" probes once, right now, from this process with the target's own timeout, and shows what
the collector would have read: an operator can check a URL before trusting it with an incident.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, tzinfo
from urllib.parse import urljoin

import pandas as pd
import streamlit as st
from streamlit import config as st_config

from calmops import clock, timefmt
from calmops.companies import AlreadyExistsError, InvalidError, NotFoundError
from calmops.config import settings
from calmops.errors import WorkflowError
from calmops.health.probe import ProbeResult, Target, new_session, probe
from calmops.store import cursor
from calmops.store.db import Cursor
from calmops.targets import (
    DEFAULT_INTERVAL_S,
    DEFAULT_TIMEOUT_S,
    FORMATS,
    INTERVAL_RANGE_S,
    TIMEOUT_RANGE_S,
    ProbeRecord,
    TargetState,
    add_target,
    check_url,
    probe_log,
    remove_target,
    target_states,
)
from calmops.ui import access, forms
from calmops.ui.style import md

DETECT = "detect"
LOG_LIMIT = 200
RESULT_LOOKS = {"OK": "green", "Failed": "red", "Not probed yet": "gray"}
FIELD_LABELS = {
    "service": "Service",
    "url": "URL",
    "format": "Format",
    "timeout_s": "Timeout",
    "interval_s": "Interval",
    "id": "Target",
    "company": "Company",
}


def _key(name: str) -> str:
    return f"tgt_{name}"


def _result_key(company: str, where: str) -> str:
    return f"_tgt_probe_{where}_{company}"


def _error_key(form: str) -> str:
    return f"_tgt_error_{form}"


# --- reading


def result_word(state: TargetState) -> str:
    if state.last_probe_at is None:
        return "Not probed yet"
    return "OK" if state.last_ok else "Failed"


def failing_first(states: list[TargetState]) -> list[TargetState]:
    """Failed targets first, then the ones never probed, then the healthy; by service within."""
    rank = {"Failed": 0, "Not probed yet": 1, "OK": 2}
    return sorted(states, key=lambda s: (rank[result_word(s)], s.service, s.url))


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f} ms"


def targets_frame(states: list[TargetState], *, now: datetime, tz: tzinfo) -> pd.DataFrame:
    """One row per target: what is probed, how often, and how its newest probe went."""
    rows = [
        {
            "Service": s.service,
            "URL": s.url,
            "Format": s.format or DETECT,
            "Every": f"{timefmt.duration(s.interval_s)} / {s.timeout_s:g} s",
            "Last probe": [result_word(s)] if s.enabled else ["Paused"],
            "Reason": s.last_reason or "",
            "Latency": _ms(s.last_latency_ms),
            "When": timefmt.ago(s.last_probe_at, now),
        }
        for s in failing_first(states)
    ]
    return pd.DataFrame(rows)


def _chips(label: str, width: int) -> st.column_config.MultiselectColumn:
    looks = {**RESULT_LOOKS, "Paused": "gray"}
    return st.column_config.MultiselectColumn(
        label, options=list(looks), color=list(looks.values()), disabled=True, width=width
    )


def _target_table(company: str, tz: tzinfo) -> None:
    states = target_states(cursor(), company=company)
    if not states:
        st.info(
            "**No targets yet.** Add a health endpoint below and the collector probes it every "
            "interval; its answers become the service's health.",
            icon=":material/radar:",
        )
        return
    now = clock.now()
    failed = sum(1 for s in states if s.enabled and result_word(s) == "Failed")
    never = sum(1 for s in states if result_word(s) == "Not probed yet")
    parts = [f"**{len(states)} target{'' if len(states) == 1 else 's'}**"]
    if failed:
        parts.append(f":red[:material/error: {failed} failing]")
    if never:
        parts.append(f":gray[{never} not probed yet]")
    if not failed and not never:
        parts.append(":green[:material/check_circle: every last probe answered]")
    st.markdown(" · ".join(parts))
    st.dataframe(
        targets_frame(states, now=now, tz=tz),
        hide_index=True,
        width="stretch",
        key=f"target_table_{company}",
        column_config={
            "Service": st.column_config.TextColumn("Service", width=115),
            "URL": st.column_config.TextColumn("URL", width=250),
            "Format": st.column_config.TextColumn("Format", width=85, help="“detect”: read from the answer"),
            "Every": st.column_config.TextColumn(
                "Every / timeout", width=100, help="How often it is probed, and how long a probe may take"
            ),
            "Last probe": _chips("Last probe", 95),
            "Reason": st.column_config.TextColumn("Reason", width=165, help="Why the newest probe failed"),
            "Latency": st.column_config.TextColumn("Latency", width=70),
            "When": st.column_config.TextColumn("When", width=85, help="When the newest probe ran"),
        },
    )


def target_table(company: str, *, tz: tzinfo, refresh_s: float) -> None:
    """The company's targets, failing ones first, redrawn every ``refresh_s`` seconds as the
    collector's probes come in."""
    st.fragment(run_every=refresh_s)(_target_table)(company, tz)


def recent_failures(cur: Cursor, *, company: str, limit: int = LOG_LIMIT) -> list[ProbeRecord]:
    """The newest failed probes: a failure an hour ago is buried under hundreds of good probes."""
    rows = cur.execute(
        "SELECT target_id, company, service, ts, ok, reason, latency_ms, http_status, format "
        "FROM probe_log WHERE company = ? AND NOT ok ORDER BY ts DESC LIMIT ?",
        [company, limit],
    ).fetchall()
    return [ProbeRecord(*r) for r in rows]


def log_frame(records: list[ProbeRecord], urls: dict[int, str], *, now: datetime, tz: tzinfo) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "When": timefmt.ago(r.ts, now),
                "At": timefmt.local_text(r.ts, tz, seconds=True),
                "Service": r.service,
                "Result": ["OK" if r.ok else "Failed"],
                "Reason": r.reason,
                "HTTP": str(r.http_status) if r.http_status is not None else "—",
                "Format": r.format or "—",
                "Latency": _ms(r.latency_ms),
                "URL": urls.get(r.target_id, f"target {r.target_id} (removed)"),
            }
            for r in records
        ],
        columns=["When", "At", "Service", "Result", "Reason", "HTTP", "Format", "Latency", "URL"],
    )


def _log_table(frame: pd.DataFrame, key: str) -> None:
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        key=key,
        column_config={"Result": _chips("Result", 80), "At": st.column_config.TextColumn("At (your time)")},
    )


def probe_history(company: str, states: list[TargetState], *, tz: tzinfo) -> None:
    """The probe log, one click away: recent failures first, then every recent probe."""
    cur = cursor()
    failures = recent_failures(cur, company=company)
    label = (
        f":material/history: Probe log · {len(failures)} recent failure{'' if len(failures) == 1 else 's'}"
    )
    log = st.expander(label, expanded=False, key=f"probe_log_open_{company}", on_change="rerun")
    if not log.open:
        return  # built only while open
    urls = {s.id: s.url for s in states}
    now = clock.now()
    with log:
        fails, everything = st.tabs([f"Failures ({len(failures)})", "All recent probes"])
        with fails:
            if failures:
                _log_table(log_frame(failures, urls, now=now, tz=tz), f"probe_failures_{company}")
            else:
                st.caption("No failed probes on record.")
        with everything:
            records = probe_log(cur, company=company, limit=LOG_LIMIT)
            if records:
                _log_table(log_frame(records, urls, now=now, tz=tz), f"probe_all_{company}")
                st.caption(f"The newest {len(records)} probes, newest first.")
            else:
                st.caption("Nothing probed yet.")


# --- probing now


def base_url() -> str:
    """Where this server answers, for targets stored as a path on it (the demo's ``/demo/...``)."""
    port = st_config.get_option("server.port") or settings().port
    return f"http://127.0.0.1:{port}/"


def resolve(target: Target) -> Target:
    """A target whose URL is a path on this server, made absolute (as the collector does)."""
    if target.url.startswith("/"):
        return replace(target, url=urljoin(base_url(), target.url.lstrip("/")))
    return target


def probe_now(target: Target) -> ProbeResult:
    """One probe, bounded by the target's own timeout; never raises (the probe's promise)."""
    session = new_session()
    try:
        return probe(resolve(target), session=session)
    finally:
        session.close()


def samples_frame(result: ProbeResult) -> pd.DataFrame:
    return pd.DataFrame(
        [{"Metric": s.metric, "Labels": s.labels, "Value": s.value} for s in result.samples],
        columns=["Metric", "Labels", "Value"],
    )


def outcome(result: ProbeResult, *, key: str, tz: tzinfo) -> None:
    """What one probe found: ok or why not, the HTTP status, the format read, the latency, what the
    service says of itself, the samples it gave and the parser's notes."""
    http = f"HTTP {result.http_status}" if result.http_status is not None else "no HTTP answer"
    facts = [] if result.reason == http else [http]  # a failed status is the reason already
    if result.format:
        facts.append(f"format {md(result.format)}")
    facts.append(f"{result.latency_ms:,.0f} ms")
    if result.status:
        facts.append(f"the service says **{md(result.status)}**")
    line = " · ".join(facts)
    where = f"`{result.target.url}`" if "`" not in result.target.url else md(result.target.url)
    with st.container(border=True):
        if result.ok:
            st.markdown(f":green[:material/check_circle: **OK**] · {line}")
        else:
            st.markdown(
                f":red[:material/error: **Failed:** {md(result.reason or 'no reason given')}] · {line}"
            )
        st.caption(
            f"Probed {where} at {timefmt.local_text(result.checked_at, tz, seconds=True)} your time",
            help=timefmt.utc_text(result.checked_at),
        )
        if result.samples:
            st.dataframe(
                samples_frame(result),
                hide_index=True,
                width="stretch",
                key=key,
                column_config={"Value": st.column_config.NumberColumn("Value", format="%.6g")},
            )
        for note in result.notes:
            st.caption(f":material/info: {md(note)}")


def _target_label(states: dict[int, TargetState]) -> Callable[[int], str]:
    def label(target_id: int) -> str:
        s = states[target_id]
        return f"{s.service} · {s.url}"

    return label


def probe_panel(company: str, states: list[TargetState], *, tz: tzinfo) -> None:
    """Pick a target (failing ones first) and probe it once, now."""
    if not states:
        return
    by_id = {s.id: s for s in failing_first(states)}
    with st.container(border=True):
        st.markdown("##### :material/network_check: Test a target now")
        choice, button = st.columns([5, 1], vertical_alignment="bottom")
        target_id = choice.selectbox(
            "Target", list(by_id), format_func=_target_label(by_id), key=_key(f"test_{company}")
        )
        if button.button("Test this target", icon=":material/play_arrow:", key=_key("test_button")):
            with st.spinner(f"Probing (gives up after {by_id[target_id].timeout_s:g} s)…"):
                st.session_state[_result_key(company, "target")] = probe_now(by_id[target_id].probe_target())
        result = st.session_state.get(_result_key(company, "target"))
        if result is not None and result.target.id in by_id:
            outcome(result, key=f"probe_samples_target_{company}", tz=tz)


# --- writing


def _show_error(form: str) -> None:
    forms.show_error(_error_key(form), FIELD_LABELS)


def flash() -> None:
    """What the last add or remove did, once."""
    forms.show_flash("_tgt_flash")


def add_form(company: str, services: list[str], *, tz: tzinfo) -> None:
    """Service, URL, format, timeout and interval → ``add_target``; or probe the typed URL first."""
    errored = st.session_state.get(_error_key("add")) is not None
    tested = st.session_state.get(_result_key(company, "url"))
    with st.expander(":material/add_circle: Add a target", expanded=errored or tested is not None):
        if not services:
            st.caption("Register a service first (Services page): a target belongs to a service.")
            return
        with st.form(f"add_target_{company}", border=False):
            left, right = st.columns([1, 3])
            left.selectbox("Service", services, key=_key("service"))
            right.text_input(
                "URL",
                key=_key("url"),
                placeholder="https://api.example.com/health",
                help="An http(s) URL, or a path on this server such as /demo/…",
            )
            fmt, timeout, interval = st.columns(3)
            fmt.selectbox(
                "Format",
                [DETECT, *FORMATS],
                key=_key("format"),
                help="“detect” reads the format from the answer's content type and body",
            )
            timeout.number_input(
                "Timeout (s)",
                min_value=TIMEOUT_RANGE_S[0],
                max_value=TIMEOUT_RANGE_S[1],
                value=DEFAULT_TIMEOUT_S,
                step=1.0,
                format="%.1f",
                key=_key("timeout"),
            )
            interval.number_input(
                "Interval (s)",
                min_value=INTERVAL_RANGE_S[0],
                max_value=INTERVAL_RANGE_S[1],
                value=DEFAULT_INTERVAL_S,
                step=5.0,
                format="%.0f",
                key=_key("interval"),
            )
            with st.container(horizontal=True):
                st.form_submit_button(
                    "Add target", type="primary", icon=":material/add:", on_click=_submit_add, args=(company,)
                )
                test = st.form_submit_button("Test this URL", icon=":material/network_check:")
        if test:
            _test_typed(company)
        _show_error("add")
        tested = st.session_state.get(_result_key(company, "url"))
        if tested is not None:
            outcome(tested, key=f"probe_samples_url_{company}", tz=tz)


def _typed_format() -> str | None:
    chosen = st.session_state.get(_key("format"))
    return None if chosen in (None, DETECT) else chosen


def _test_typed(company: str) -> None:
    state = st.session_state
    state.pop(_result_key(company, "url"), None)
    try:
        url = check_url(state.get(_key("url")))
    except InvalidError as exc:
        state[_error_key("add")] = (exc.field, exc.message)
        return
    timeout = float(state.get(_key("timeout")) or DEFAULT_TIMEOUT_S)
    target = Target(0, company, state.get(_key("service")) or "", url, _typed_format(), timeout)
    with st.spinner(f"Probing (gives up after {timeout:g} s)…"):
        state[_result_key(company, "url")] = probe_now(target)


def _submit_add(company: str) -> None:
    state = st.session_state
    state.pop(_result_key(company, "url"), None)
    try:
        created = add_target(
            cursor(),
            company=company,
            service=state.get(_key("service")),
            url=state.get(_key("url")),
            format=_typed_format(),
            timeout_s=state.get(_key("timeout")),
            interval_s=state.get(_key("interval")),
            actor=access.actor(),
        )
    except InvalidError as exc:
        state[_error_key("add")] = (exc.field, exc.message)
        return
    except WorkflowError as exc:
        state[_error_key("add")] = (None, access.refusal_text(exc))
        return
    except AlreadyExistsError as exc:
        state[_error_key("add")] = ("url", str(exc))
        return
    state[_key("url")] = ""
    state["_tgt_flash"] = (
        f"Target added for **{md(created.service)}**: the collector probes it within "
        f"{timefmt.duration(created.interval_s)}."
    )


def remove_form(company: str, states: list[TargetState]) -> None:
    """Pick a target, confirm, remove it (its probe log stays)."""
    if not states:
        return
    errored = st.session_state.get(_error_key("remove")) is not None
    with st.expander(":material/delete: Remove a target", expanded=errored):
        by_id = {s.id: s for s in sorted(states, key=lambda s: (s.service, s.url))}
        st.selectbox("Target", list(by_id), format_func=_target_label(by_id), key=_key("remove_id"))
        confirm = st.checkbox(
            "Yes, stop probing this target", key=_key("remove_confirm"), help="Its probe log stays on record"
        )
        st.button(
            "Remove target",
            icon=":material/delete:",
            disabled=not confirm,
            key=_key("remove_button"),
            on_click=_submit_remove,
            args=(company,),
        )
        _show_error("remove")


def _submit_remove(company: str) -> None:
    state = st.session_state
    if not state.get(_key("remove_confirm")):
        return
    try:
        removed = remove_target(
            cursor(), company=company, id=state.get(_key("remove_id")), actor=access.actor()
        )
    except (InvalidError, NotFoundError) as exc:
        state[_error_key("remove")] = ("id", getattr(exc, "message", str(exc)))
        return
    except WorkflowError as exc:
        state[_error_key("remove")] = (None, access.refusal_text(exc))
        return
    state[_key("remove_confirm")] = False
    state["_tgt_flash"] = f"Target removed: **{md(removed.service)}** · {md(removed.url)}"
