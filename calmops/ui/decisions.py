"""The operator's forms on the Incident page: decide the recommendation, and move the incident on.

Views only parse and call `calmops.workflow`; a refusal (the golden rule, a stale version, someone
faster) shows its message and nothing is written. Every form carries the versions it was read at,
so a decision taken on an outdated brief is refused rather than applied to something else.
"""

from __future__ import annotations

import streamlit as st

from calmops import agent, workflow
from calmops.auth import Permission
from calmops.auth import service as accounts
from calmops.incidents import IncidentDetail
from calmops.store import cursor, get_db
from calmops.ui import access
from calmops.ui.brief import RISK_BADGE, action_words
from calmops.ui.style import md
from calmops.vocabulary import IncidentStatus, Severity

FLASH = "decision_flash"


def _flash(kind: str, text: str) -> None:
    st.session_state[FLASH] = (kind, text)


def show_flash() -> None:
    found = st.session_state.pop(FLASH, None)
    if found:
        kind, text = found
        (st.success if kind == "ok" else st.error)(md(text), icon=":material/info:")


def _attempt(call, done: str) -> None:
    """Run a workflow call; remember its outcome for the next run of the panel."""
    try:
        call()
    except workflow.WorkflowError as exc:
        _flash("error", access.refusal_text(exc))
        return
    _flash("ok", done)


def decision_form(detail: IncidentDetail, brief: dict | None) -> None:
    """Approve or decline the brief's recommendation (RUNBOOK step 4), or say who already did."""
    if brief is None:
        return
    rec, s = brief["recommendation"], detail.summary
    if rec["status"] != "proposed":
        found = agent.recommendations_by_id(cursor(), company=s.company, ids=[rec["id"]])
        by = f" by {md(found[0]['decided_by'])}" if found and found[0]["decided_by"] else ""
        st.caption(f"Recommendation {md(rec['status'])}{by}.")
        return
    if s.status == IncidentStatus.RESOLVED:
        return
    if not access.allowed(Permission.RESPOND, s.company, what="approve or decline the recommendation"):
        return
    me = access.actor()
    risky = rec["risk"] in ("medium", "high")
    may_approve = me.can(Permission.APPROVE_HIGH if risky else Permission.APPROVE_LOW, s.company)
    colour, icon = RISK_BADGE[rec["risk"]]
    with st.form(f"decide_{s.id}_{rec['id']}_{rec['version']}", border=True):
        st.markdown(
            f"**Decide:** {md(action_words(rec['action']))} :{colour}-badge[{icon} {rec['risk']} risk] "
            f":gray[as {md(me.name)}]"
        )
        note = st.text_input("Note", placeholder="Why (required to decline)", key=f"decide_note_{s.id}")
        confirm = False
        if risky and not may_approve:
            st.caption(
                f":material/lock: A {rec['risk']}-risk change needs a lead (your role is "
                f"{me.role_in(s.company).value}): decline it, or escalate to your lead."
            )
        elif risky:
            confirm = st.checkbox(
                f"I understand this is a {rec['risk']}-risk change and want it carried out",
                key=f"decide_confirm_{s.id}",
            )
        approve, decline = st.columns(2)
        approved = approve.form_submit_button(
            "Approve",
            type="primary",
            icon=":material/check:",
            width="stretch",
            disabled=not may_approve,
            help=None if may_approve else "needs a lead",
        )
        declined = decline.form_submit_button("Decline", icon=":material/close:", width="stretch")
    db = get_db()
    common = {"company": s.company, "incident_id": s.id, "recommendation_id": rec["id"],
              "expected_version": rec["version"], "actor": me}  # fmt: skip
    if approved:
        _attempt(
            lambda: workflow.approve(db, **common, note=note or None, confirm=confirm),
            f"Approved: {action_words(rec['action'])}. The outcome is on the timeline.",
        )
        st.rerun(scope="app")
    if declined:
        _attempt(
            lambda: workflow.decline(db, **common, note=note), f"Declined: {action_words(rec['action'])}."
        )
        st.rerun(scope="app")


def responders(company: str) -> list[str]:
    """The accounts that may act on incidents here: whom an incident can be handed over to."""
    return [
        u.name
        for u in accounts.list_users(cursor(), company=company)
        if not u.disabled and accounts.identity_of(u).can(Permission.RESPOND, company)
    ]


def incident_actions(detail: IncidentDetail) -> None:
    """Acknowledge, hand over, note, change severity, resolve or reopen — each a small form."""
    s = detail.summary
    with st.expander("Act on this incident", icon=":material/edit_note:", expanded=False):
        if not access.allowed(Permission.RESPOND, s.company, what="act on incidents"):
            return
        db = get_db()
        base = {"company": s.company, "incident_id": s.id, "actor": access.actor()}
        if s.status == IncidentStatus.RESOLVED:
            with st.form(f"reopen_{s.id}"):
                note = st.text_input("Why reopen?", key=f"reopen_note_{s.id}")
                if st.form_submit_button("Reopen", icon=":material/replay:"):
                    _attempt(
                        lambda: workflow.reopen(db, **base, note=note, expected_version=s.version),
                        "Reopened.",
                    )
                    st.rerun(scope="app")
            return
        ack, assign = st.columns(2)
        with ack.form(f"ack_{s.id}"):
            st.markdown("**Acknowledge**: it is yours; reminders stop.")
            if st.form_submit_button("Acknowledge", type="primary", icon=":material/visibility:"):
                _attempt(
                    lambda: workflow.acknowledge(db, **base, expected_version=s.version), "Acknowledged."
                )
                st.rerun(scope="app")
        with assign.form(f"assign_{s.id}"):
            people = responders(s.company)
            who = st.selectbox(
                "Hand over to",
                people,
                index=None,
                placeholder="Choose a person",
                key=f"assign_to_{s.id}",
                help="People who may act on incidents in this company",
            )
            if st.form_submit_button("Assign", icon=":material/person:"):
                _attempt(
                    lambda: workflow.assign(db, **base, assignee=who or "", expected_version=s.version),
                    f"Assigned to {who}.",
                )
                st.rerun(scope="app")
        note_col, severity_col = st.columns(2)
        with note_col.form(f"note_{s.id}", clear_on_submit=True):
            text = st.text_area("Note for the timeline", height=80, key=f"note_text_{s.id}")
            if st.form_submit_button("Add note", icon=":material/sticky_note_2:"):
                _attempt(lambda: workflow.add_note(db, **base, text=text), "Note added.")
                st.rerun(scope="app")
        with severity_col.form(f"severity_{s.id}"):
            levels = [v.value for v in Severity]
            level = st.selectbox("Severity", levels, index=levels.index(s.severity.value), key=f"sev_{s.id}")
            why = st.text_input("Why", key=f"sev_note_{s.id}")
            if st.form_submit_button("Change severity", icon=":material/priority_high:"):
                _attempt(
                    lambda: workflow.change_severity(
                        db, **base, severity=level, note=why, expected_version=s.version
                    ),
                    f"Severity now {level}.",
                )
                st.rerun(scope="app")
        with st.form(f"resolve_{s.id}"):
            st.markdown("**Resolve** — only a person resolves (RUNBOOK step 7).")
            note = st.text_input("Resolution note", key=f"resolve_note_{s.id}")
            impact = st.radio(
                "Were customers affected?",
                ["No", "Yes"],
                horizontal=True,
                index=None,
                key=f"resolve_impact_{s.id}",
            )
            hint = st.text_input("Root cause hint (for the review)", key=f"resolve_hint_{s.id}")
            if st.form_submit_button("Resolve", type="primary", icon=":material/check_circle:"):
                affected = None if impact is None else impact == "Yes"
                _attempt(
                    lambda: workflow.resolve(
                        db,
                        **base,
                        note=note,
                        customer_impact=affected,
                        root_cause_hint=hint,
                        expected_version=s.version,
                    ),
                    "Resolved. The post-incident review can be written now.",
                )
                st.rerun(scope="app")
