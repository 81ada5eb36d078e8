"""The Incident page's escalation panel (RUNBOOK step 6): why the rules say the technical lead is
needed — calm, but clear — the escalation so far, and a form pre-filled with the documented
current state. Submitting escalates (one transaction, then the lead's notification) and says how
the notification went. Nothing user-supplied is rendered as markdown or HTML."""

from __future__ import annotations

from datetime import datetime, tzinfo

import streamlit as st

from calmops import timefmt
from calmops.auth import Permission
from calmops.incidents import IncidentDetail
from calmops.store import cursor, get_db
from calmops.ui import access
from calmops.ui.style import md
from calmops.workflow import escalation
from calmops.workflow.errors import WorkflowError

FLASH = "escalation_flash"
DELIVERY_WORDS = {
    "recorded": "recorded (not sent: demo world, or no lead webhook configured)",
    "pending": "being sent",
    "sent": "sent to the technical lead",
    "failed": "could not be delivered — call the technical lead",
}


def _when(value: str | None, tz: tzinfo, now: datetime) -> str:
    if not value:
        return ""
    at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return f"{timefmt.local_text(at, tz)} ({timefmt.ago(at, now)})"


def _show_flash(incident_id: int) -> None:
    found = st.session_state.pop(f"{FLASH}_{incident_id}", None)
    if found:
        kind, text = found
        (st.success if kind == "ok" else st.error)(md(text), icon=":material/campaign:")


def escalation_panel(detail: IncidentDetail, *, tz: tzinfo, now: datetime) -> None:
    """The needs-escalation reasons, the escalation so far, and the escalation form."""
    s = detail.summary
    cur = cursor()
    state = escalation.escalation_json(cur, company=s.company, incident_id=s.id)
    _show_flash(s.id)
    done = state["escalation"]
    if done:
        times = f" · escalated {done['count']} times" if done["count"] > 1 else ""
        st.info(
            f"**Escalated to the technical lead** at {_when(done['at'], tz, now)} "
            f"by {md(done['by'] or '?')}: {md(done['reason'] or '')}{times}",
            icon=":material/trending_up:",
        )
    if not s.active:
        return
    reasons = escalation.open_reasons(cur, detail=detail, now=now)
    if reasons:
        items = " · ".join(md(r["text"]) for r in reasons)
        st.warning(
            f"**The escalation rules apply** — bring in the technical lead: {items}",
            icon=":material/support_agent:",
        )
    with st.expander("Escalate to the technical lead", icon=":material/trending_up:", expanded=bool(reasons)):
        _form(detail, now=now)


def _form(detail: IncidentDetail, *, now: datetime) -> None:
    s = detail.summary
    if not access.allowed(Permission.RESPOND, s.company, what="escalate"):
        return
    defaults = escalation.escalation_form_defaults(cursor(), company=s.company, incident_id=s.id, now=now)
    reason_key, note_key = f"escalate_reason_{s.id}", f"escalate_note_{s.id}"
    st.session_state.setdefault(reason_key, defaults["reason"])
    st.session_state.setdefault(note_key, defaults["note"])
    st.caption(
        "The note documents the current state (RUNBOOK step 6): the brief's summary, what was tried and "
        "the open recommendations. Edit it before sending. Do not take destructive actions meanwhile."
    )
    with st.form(f"escalate_{s.id}"):
        reason = st.text_input("Reason", key=reason_key, max_chars=escalation.REASON_MAX)
        note = st.text_area("Note for the technical lead", key=note_key, height=220)
        submitted = st.form_submit_button("Escalate", type="primary", icon=":material/trending_up:")
    if not submitted:
        return
    try:
        answer = escalation.escalate(
            get_db(), company=s.company, incident_id=s.id, actor=access.actor(), reason=reason, note=note
        )
    except WorkflowError as exc:
        access.refusal(exc)
        return
    sent = (answer.get("notification") or {}).get("status", "recorded")
    st.session_state[f"{FLASH}_{s.id}"] = ("ok", f"Escalated; the notification was {DELIVERY_WORDS[sent]}.")
    for key in (reason_key, note_key):
        st.session_state.pop(key, None)
    st.rerun(scope="app")
