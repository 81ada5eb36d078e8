"""The post-incident review on the Incident page (runbook step 7): pre-filled from the data, edited
through a form, saved in versions; each threshold proposal with its numbers and an Apply button.

Every write goes through a form and acts as the signed-in identity; a refusal shows the
`WorkflowError`'s message. Everything that comes from data or people is escaped (`md`) or shown as plain text.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo

import streamlit as st

from calmops import review, timefmt
from calmops.auth import Identity, Permission
from calmops.incidents import IncidentDetail
from calmops.store import cursor, get_db
from calmops.timeio import parse_iso
from calmops.ui import access
from calmops.ui.style import md
from calmops.workflow.errors import WorkflowError

MOMENTS = (
    ("detected", "Detected", "time_to_detect_s"),
    ("acknowledged", "Acknowledged", "time_to_acknowledge_s"),
    ("first_action", "First action", None),
    ("mitigated", "Mitigated", "time_to_mitigate_s"),
    ("resolved", "Resolved", "time_to_resolve_s"),
)


def _flash_key(incident_id: int) -> str:
    return f"review_flash_{incident_id}"


def _error_key(incident_id: int) -> str:
    return f"review_error_{incident_id}"


def _lines(text: str) -> list[str]:
    return [line.strip(" -•\t") for line in (text or "").splitlines() if line.strip(" -•\t")]


def _when(value: str | None, tz: tzinfo) -> str:
    return "—" if not value else timefmt.local_text(parse_iso(value), tz)


def _attempt(incident_id: int, work: Callable[[], object], done: str) -> bool:
    """Run a write; a refusal is kept to show after the rerun, success leaves a message."""
    try:
        work()
    except WorkflowError as exc:
        st.session_state[_error_key(incident_id)] = access.refusal_text(exc)
        return False
    st.session_state[_flash_key(incident_id)] = done
    return True


def _messages(incident_id: int) -> None:
    error = st.session_state.pop(_error_key(incident_id), None)
    if error:
        st.error(md(error), icon=":material/error_outline:")
    flash = st.session_state.pop(_flash_key(incident_id), None)
    if flash:
        st.success(md(flash), icon=":material/check_circle:")


def key_moments(body: dict, tz: tzinfo) -> None:
    moments = body.get("key_moments") or {}
    columns = st.columns(len(MOMENTS))
    for column, (name, label, took) in zip(columns, MOMENTS, strict=True):
        after = moments.get(took) if took else None
        note = f"after {timefmt.duration(after)}" if after is not None else ""
        column.markdown(
            f":small[:gray[{label}]]  \n**{_when(moments.get(name), tz)}**  \n:small[:gray[{note}]]"
        )


def facts(body: dict, tz: tzinfo) -> None:
    """Root-cause evidence and what was tried: read-only, from the data."""
    cause = body.get("root_cause") or {}
    evidence = cause.get("evidence") or []
    if evidence:
        st.markdown("**Evidence** :gray[(from the brief at detection and at resolution)]")
        st.markdown(
            "\n".join(
                f"- {md(e.get('text', ''))} :gray[· {md(e.get('brief', ''))} · {_when(e.get('ts'), tz)}]"
                for e in evidence
            )
        )
    tried = body.get("tried") or {}
    lines = [
        f"- {md(a['action'].replace('_', ' '))} on {md(a['service'])} ({md(a['kind'])}): "
        f"{md(a['outcome'])}, verdict {md(a.get('verdict') or '—')}"
        for a in tried.get("actions") or []
    ]
    lines += [
        f"- {md(d['action'].replace('_', ' '))}: {md(d['status'])} by {md(d.get('decided_by') or '—')}"
        + (f" — “{md(d['note'])}”" if d.get("note") else "")
        for d in tried.get("decisions") or []
    ]
    st.markdown(
        "**What was tried**  \n"
        + ("\n".join(lines) if lines else ":gray[Nothing ran and nothing was decided.]")
    )


def proposals(detail: IncidentDetail, body: dict, name: Identity | None) -> None:
    """Each alert improvement; a threshold proposal with its numbers and an Apply form."""
    items = body.get("alert_improvements") or []
    st.markdown("**Alert improvements**")
    if not items:
        st.caption("No rule fired on this incident's service, so there is no threshold to tune.")
    s = detail.summary
    for item in items:
        kind = item.get("kind")
        if kind != "threshold":
            icon = ":material/info:" if kind == "keep" else ":material/edit_note:"
            st.markdown(f"{icon} {md(item.get('text', ''))}")
            continue
        history = item.get("history") or {}
        with st.container(border=True):
            st.markdown(f":material/tune: {md(item['text'])}")
            st.caption(
                f"Backtest over {md(history.get('since'))} – {md(history.get('until'))}: "
                f"{history.get('fires_current')} alert(s) today, {history.get('fires_proposed')} with the "
                f"proposal, across {history.get('services_watched')} service(s)."
            )
            if name is None:
                st.caption(":material/lock: Applying a proposal needs a lead.")
                continue
            with st.form(f"apply_{s.id}_{item['id']}", border=False):
                confirm = st.checkbox(
                    f"Change rule {md(item['rule'])} for every service it watches", value=False
                )
                submitted = st.form_submit_button("Apply", icon=":material/check:")
            if submitted:
                if not confirm:
                    st.session_state[_error_key(s.id)] = "Tick the box to confirm the rule change first."
                else:
                    _attempt(
                        s.id,
                        lambda item=item: review.apply_proposal(
                            get_db(), company=s.company, incident_id=s.id, proposal_id=item["id"],
                            actor=name, expected_rule_version=item["rule_version"],
                        ),
                        f"Applied: {item['rule']} is now {item['proposed']['threshold']:g} for "
                        f"{item['proposed']['for_s']} s.",
                    )  # fmt: skip
                st.rerun(scope="app")


def review_form(detail: IncidentDetail, body: dict, name: Identity) -> None:
    s = detail.summary
    read = st.session_state.setdefault(f"review_read_{s.id}", body.get("version") or 0)
    threshold_items = [p for p in body.get("alert_improvements") or [] if p.get("id")]
    notes_items = [p["text"] for p in body.get("alert_improvements") or [] if not p.get("id")]
    with st.form(f"review_form_{s.id}"):
        cause = st.text_area("Root cause", value=(body.get("root_cause") or {}).get("text", ""), height=90)
        prevention = st.text_area(
            "Prevention steps (one per line)", value="\n".join(body.get("prevention") or []), height=120
        )
        keep = [
            p["id"]
            for p in threshold_items
            if st.checkbox(f"Keep: {p['text']}", value=True, key=f"review_keep_{s.id}_{p['id']}")
        ]
        other = st.text_area(
            "Other alert improvements (one per line)", value="\n".join(notes_items), height=80
        )
        automation = st.text_area(
            "Automation suggestions (one per line)",
            value="\n".join(a.get("text", "") for a in body.get("automation") or []),
            height=110,
        )
        notes = st.text_area("Notes", value=body.get("notes") or "", height=80)
        pattern = (body.get("root_cause") or {}).get("pattern") or "unknown"
        to_runbook = st.checkbox(
            f"Also add the prevention steps to the runbook entry for {pattern.replace('_', ' ')}",
            value=False,
            key=f"review_runbook_{s.id}",
        )
        submitted = st.form_submit_button("Save review", type="primary", icon=":material/save:")
    if submitted:
        by_text = {a.get("text"): a for a in body.get("automation") or []}
        saved = _attempt(
            s.id,
            lambda: review.save_review(
                get_db(),
                company=s.company,
                incident_id=s.id,
                actor=name,
                root_cause=cause,
                prevention=_lines(prevention),
                alert_improvements=[{"id": pid} for pid in keep] + _lines(other),
                automation=[by_text.get(line, line) for line in _lines(automation)],
                notes=notes,
                expected_version=read,
            ),
            "Review saved.",
        )
        if saved and to_runbook and _lines(prevention):
            _attempt(
                s.id,
                lambda: review.add_from_review(
                    get_db(), company=s.company, incident_id=s.id, pattern=pattern, steps=_lines(prevention),
                    actor=name,
                ),
                "Review saved; its prevention steps are in the runbook entry.",
            )  # fmt: skip
        st.session_state.pop(f"review_read_{s.id}", None)  # next render reads the latest version
        st.rerun(scope="app")


def versions(body: dict, tz: tzinfo) -> None:
    history = body.get("history") or []
    if not history:
        return
    with st.expander(f"Saved versions ({len(history)})", icon=":material/history:"):
        st.markdown(
            "\n".join(
                f"- version {h['version']} · {md(h['author'])} · {_when(h['created_at'], tz)}"
                for h in history
            )
        )


def review_panel(detail: IncidentDetail, *, tz: tzinfo, now: datetime) -> None:
    """The review of a resolved incident; for an active one, a calm note that it opens later."""
    s = detail.summary
    st.markdown("##### :material/rate_review: Post-incident review")
    if s.active:
        st.caption(
            ":material/schedule: The post-incident review opens once the incident is resolved: it will be "
            "pre-filled from the timeline, the brief and the stored history."
        )
        return
    try:
        body = review.get_review(cursor(), company=s.company, incident_id=s.id)
    except WorkflowError as exc:
        st.info(md(exc.message))
        return
    _messages(s.id)
    if body.get("saved"):
        st.caption(
            f"Version {body['version']} saved by {md(body['author'])} · {_when(body['created_at'], tz)}"
        )
    else:
        st.caption(":material/auto_awesome: Pre-filled from the data; nothing is saved until you save it.")
    key_moments(body, tz)
    facts(body, tz)
    me = access.actor()
    proposals(detail, body, me if me.can(Permission.TUNE, s.company) else None)
    if access.allowed(Permission.RESPOND, s.company, what="edit and save the review"):
        review_form(detail, body, me)
    versions(body, tz)
