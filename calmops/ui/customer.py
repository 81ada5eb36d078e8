"""The Incident page's customer-message panel (RUNBOOK: "Customer impact → review the customer
message draft, approve if safe"): the latest version with who approved and sent it, an edit form
(text and Statuspage state) that saves a new version, approve, and send or mark sent. Every write
is a form; message text is shown as plain text, never as markdown or HTML."""

from __future__ import annotations

from datetime import datetime, tzinfo

import pandas as pd
import streamlit as st

from calmops import agent, timefmt
from calmops.auth import Identity, Permission
from calmops.incidents import IncidentDetail
from calmops.store import cursor, get_db
from calmops.ui import access
from calmops.ui.style import md
from calmops.workflow import customer
from calmops.workflow.errors import WorkflowError

FLASH = "customer_flash"
STATUS_BADGE = {"draft": "gray", "approved": "blue", "sent": "green"}


def _show_flash(incident_id: int) -> None:
    found = st.session_state.pop(f"{FLASH}_{incident_id}", None)
    if found:
        kind, text = found
        (st.success if kind == "ok" else st.error)(md(text), icon=":material/campaign:")


def _attempt(incident_id: int, call, done: str) -> bool:
    try:
        call()
    except WorkflowError as exc:
        access.refusal(exc)
        return False
    st.session_state[f"{FLASH}_{incident_id}"] = ("ok", done)
    return True


def customer_panel(detail: IncidentDetail, *, tz: tzinfo, now: datetime) -> None:
    """The customer message: current version, versions, edit, approve, send or mark sent."""
    s = detail.summary
    cur = cursor()
    found = customer.versions(cur, company=s.company, incident_id=s.id)
    brief = agent.current_brief(cur, company=s.company, incident_id=s.id) or {}
    impact = bool(brief.get("customer_impact")) or "customer_impact" in s.flags
    if not found and not impact:
        return  # nothing for customers to read about
    with st.expander("Customer message", icon=":material/campaign:", expanded=True):
        _show_flash(s.id)
        if found:
            latest = found[0]
            who = []
            if latest.approved_by:
                who.append(f"approved by {md(latest.approved_by)} {timefmt.ago(latest.approved_at, now)}")
            if latest.sent_at:
                who.append(f"sent by {md(latest.sent_by or '?')} {timefmt.ago(latest.sent_at, now)}")
            st.markdown(
                f":{STATUS_BADGE[latest.status]}-badge[{latest.status}] &nbsp; version {latest.version} · "
                f"Statuspage state **{latest.state}** · written by {md(latest.author)}"
                + (" · " + " · ".join(who) if who else "")
            )
            st.text(latest.text)
        else:
            st.caption(
                "Customers are affected and no message has been written yet; the agent's draft is below."
            )
        if not s.active and not found:
            return
        if not access.allowed(Permission.RESPOND, s.company, what="write the customer message"):
            if len(found) > 1:
                _versions(found, tz)
            return
        name = access.actor()
        if (
            found
            and found[0].status in ("draft", "approved")
            and access.allowed(
                Permission.CUSTOMER_MESSAGES, s.company, what="approve or send what customers read"
            )
        ):
            if found[0].status == "draft":
                _approve(detail, found[0], name)
            else:
                _send(detail, found[0], name)
        _edit(detail, name)
        if len(found) > 1:
            _versions(found, tz)


def _approve(detail: IncidentDetail, latest: customer.Message, name: Identity) -> None:
    s = detail.summary
    with st.form(f"customer_approve_{s.id}", border=False):
        submitted = st.form_submit_button(
            f"Approve version {latest.version}", type="primary", icon=":material/check:"
        )
    if submitted and _attempt(
        s.id,
        lambda: customer.approve_message(
            get_db(), company=s.company, incident_id=s.id, version=latest.version, actor=name
        ),
        f"Version {latest.version} approved.",
    ):
        st.rerun(scope="app")


def _send(detail: IncidentDetail, latest: customer.Message, name: Identity) -> None:
    s = detail.summary
    with st.form(f"customer_send_{s.id}", border=False):
        left, right = st.columns(2)
        send = left.form_submit_button("Send to the status page", type="primary", icon=":material/send:")
        mark = right.form_submit_button("Mark as sent (posted by hand)", icon=":material/done_all:")
    if send:
        answer: dict = {}

        def call() -> None:
            answer.update(
                customer.send(
                    get_db(), company=s.company, incident_id=s.id, version=latest.version, actor=name
                )
            )

        if _attempt(s.id, call, f"Version {latest.version} sent."):
            if answer.get("status") != "sent":
                error = ((answer.get("delivery") or {}).get("response") or {}).get("error") or "no 2xx answer"
                st.session_state[f"{FLASH}_{s.id}"] = ("error", f"The status page did not take it: {error}")
            st.rerun(scope="app")
    if mark and _attempt(
        s.id,
        lambda: customer.mark_sent(
            get_db(), company=s.company, incident_id=s.id, version=latest.version, actor=name
        ),
        f"Version {latest.version} marked as sent.",
    ):
        st.rerun(scope="app")


def _edit(detail: IncidentDetail, name: Identity) -> None:
    s = detail.summary
    start = customer.starting_point(cursor(), company=s.company, incident_id=s.id)
    text_key, state_key = f"customer_text_{s.id}", f"customer_state_{s.id}"
    st.session_state.setdefault(text_key, start["text"])
    st.session_state.setdefault(state_key, start["state"])
    title = "Write the first version" if start["source"] in ("brief", "blank") else "Edit: save a new version"
    with st.form(f"customer_edit_{s.id}"):
        st.markdown(
            f"**{title}**" + (" — starting from the agent's draft" if start["source"] == "brief" else "")
        )
        text = st.text_area("Message", key=text_key, max_chars=customer.TEXT_MAX, height=140)
        state = st.selectbox("Statuspage state", customer.STATES, key=state_key)
        submitted = st.form_submit_button("Save version", icon=":material/save:")
    if submitted and _attempt(
        s.id,
        lambda: customer.draft(
            get_db(), company=s.company, incident_id=s.id, text=text, state=state, actor=name
        ),
        "Saved a new version.",
    ):
        for key in (text_key, state_key):
            st.session_state.pop(key, None)
        st.rerun(scope="app")


def _versions(found: list[customer.Message], tz: tzinfo) -> None:
    rows = [
        {
            "Version": m.version,
            "Status": m.status,
            "State": m.state,
            "Text": m.text,
            "Author": m.author,
            "Written": timefmt.local_text(m.created_at, tz),
            "Approved by": m.approved_by or "",
            "Sent": timefmt.local_text(m.sent_at, tz) if m.sent_at else "",
        }
        for m in found
    ]
    with st.expander(f"All {len(found)} versions"):
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
