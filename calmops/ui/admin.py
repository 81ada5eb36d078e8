"""The Admin page's pieces: the company's people and their roles, and its API tokens.

Everything goes through ``calmops.auth.service``, which checks the admin role itself; this page
only spares a non-admin the forms. A generated password or a new token is shown once, right after
it was made, and never again: the store keeps only its hash or digest.
"""

from __future__ import annotations

from datetime import tzinfo

import pandas as pd
import streamlit as st

from calmops import timefmt
from calmops.auth import Permission, Role
from calmops.auth import service as accounts
from calmops.errors import WorkflowError
from calmops.store import cursor
from calmops.ui import access
from calmops.ui.style import md

PERSON_ROLES = [Role.VIEWER.value, Role.OPERATOR.value, Role.LEAD.value, Role.ADMIN.value]
TOKEN_ROLES = [Role.INGEST.value, *PERSON_ROLES]
ROLE_HELP = {
    "viewer": "reads everything, changes nothing",
    "operator": "acts on incidents, approves safe and low-risk recommendations",
    "lead": "also approves medium/high risk, customer messages, rules and runbooks",
    "admin": "also people, tokens, services, targets and executors",
    "ingest": "pushes snapshots, events and alerts only (for collectors and Alertmanager)",
}
FLASH = "admin_flash"
SECRET = "admin_secret"  # (title, secret): shown once, right after it was made


def _when(value, tz: tzinfo) -> str:
    return timefmt.local_text(value, tz) if value else ""


def _attempt(work, done: str) -> object | None:
    """Run one change; a refusal is shown next to the form, success after the rerun."""
    try:
        result = work()
    except WorkflowError as exc:
        access.refusal(exc)
        return None
    st.session_state[FLASH] = done
    return result


def messages() -> None:
    """The last change's outcome, and a secret to copy now (it is not shown again)."""
    done = st.session_state.pop(FLASH, None)
    if done:
        st.success(done, icon=":material/check_circle:")
    secret = st.session_state.pop(SECRET, None)
    if secret:
        title, value = secret
        with st.container(border=True):
            st.markdown(f":material/key: **{md(title)}** — copy it now: it is not shown again.")
            st.code(value, language=None)
            st.caption("The copy button sits at the right of the box when you point at it.")


def gate(company: str, company_name: str) -> bool:
    """Admins only; anyone else reads why."""
    if access.can(Permission.ADMINISTER, company):
        return True
    role = access.role_in(company)
    held = f"you are {role.value} in {company_name}" if role else "you hold no role here"
    st.info(
        f"**The Admin page is for the admin role.** It manages {company_name}'s people and API tokens; "
        f"{held}.",
        icon=":material/lock:",
    )
    return False


def users_section(company: str, tz: tzinfo) -> None:
    """Who holds a role here, and the forms that add, grant and remove."""
    st.markdown("#### :material/group: People")
    people = accounts.list_users(cursor(), company=company)
    rows = [
        {
            "Name": u.name,
            "Display name": u.display_name,
            "Email": u.email or "",
            "Role here": (
                u.roles[company].value
                if company in u.roles
                else f"{u.roles[accounts.INSTALLATION].value} (every company)"
            ),
            "Sign-in": "password" if u.has_password else "single sign-on",
            "Created": _when(u.created_at, tz),
        }
        for u in people
        if not u.disabled
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="admin_users")
    left, right = st.columns(2)
    with left:
        _add_user_form(company)
    with right:
        _grant_form(company)
        _remove_form(company, [u.name for u in people if company in u.roles and not u.disabled])


def _add_user_form(company: str) -> None:
    with st.form("admin_add_user", border=True):
        st.markdown("**Add an account** with a role here")
        name = st.text_input("Name", key="admin_new_name", placeholder="ada.lovelace", help="a-z, 0-9, . _ -")
        email = st.text_input(
            "Email (optional)", key="admin_new_email", help="Single sign-on finds the account by it"
        )
        display = st.text_input("Display name (optional)", key="admin_new_display")
        role = st.selectbox(
            "Role", PERSON_ROLES, index=1, key="admin_new_role", format_func=lambda r: f"{r} — {ROLE_HELP[r]}"
        )
        how = st.radio(
            "Password",
            ["Generate one", "Type one", "None (single sign-on only)"],
            horizontal=True,
            key="admin_new_how",
        )
        typed = st.text_input(
            "Password (when typed)", type="password", key="admin_new_password", autocomplete="new-password"
        )
        submitted = st.form_submit_button("Add account", type="primary", icon=":material/person_add:")
    if not submitted:
        return
    password = {"Generate one": None, "Type one": typed, "None (single sign-on only)": ""}[how]
    if how == "Type one" and not typed:
        st.error("Type the password, or choose to generate one.", icon=":material/error_outline:")
        return
    if accounts.NAME.match((name or "").strip().lower()) and _exists(name):
        st.error(
            f"An account called {md(name.strip())} already exists: give it a role here instead.",
            icon=":material/error_outline:",
        )
        return
    made = _attempt(
        lambda: accounts.add_user(
            cursor(), name=name, company=company, role=role, actor=access.actor(), password=password,
            email=email or None, display_name=display,
        ),
        f"Added {name.strip().lower()} as {role}.",
    )  # fmt: skip
    if made is None:
        return
    _, generated = made
    if generated:
        st.session_state[SECRET] = (f"Password for {name.strip().lower()}", generated)
    st.rerun()


def _exists(name: str) -> bool:
    try:
        accounts.get_user(cursor(), name=name.strip().lower())
    except WorkflowError:
        return False
    return True


def _grant_form(company: str) -> None:
    with st.form("admin_grant", border=True):
        st.markdown("**Give an existing account a role here**")
        name = st.text_input("Account name", key="admin_grant_name")
        role = st.selectbox("Role", PERSON_ROLES, index=0, key="admin_grant_role")
        submitted = st.form_submit_button("Give role", icon=":material/add_moderator:")
    if not submitted:
        return
    if not _exists(name or ""):
        st.error(f"There is no account called {md((name or '').strip())}.", icon=":material/error_outline:")
        return
    if _attempt(
        lambda: accounts.add_user(cursor(), name=name, company=company, role=role, actor=access.actor()),
        f"{name.strip().lower()} is now {role} here.",
    ):
        st.rerun()


def _remove_form(company: str, names: list[str]) -> None:
    me = access.actor().name
    with st.form("admin_remove", border=True):
        st.markdown("**Remove a role here** (the account and its history stay)")
        name = st.selectbox("Account", names, index=None, key="admin_remove_name", placeholder="Choose")
        submitted = st.form_submit_button("Remove role", icon=":material/person_remove:")
    if not submitted:
        return
    if not name:
        st.error("Choose the account first.", icon=":material/error_outline:")
        return
    if name == me:
        st.error("You cannot remove your own role here: ask another admin.", icon=":material/error_outline:")
        return
    if _attempt(
        lambda: accounts.remove_user(cursor(), name=name, company=company, actor=access.actor()),
        f"{name} no longer holds a role here.",
    ):
        st.rerun()


def tokens_section(company: str, tz: tzinfo) -> None:
    """The company's API tokens: the list, a new one (shown once), revoke."""
    st.markdown("#### :material/key: API tokens")
    st.caption(
        "For the CLI (`CALMOPS_TOKEN`), collectors and Alertmanager: `Authorization: Bearer <token>`. "
        "Only the first characters are kept in the clear."
    )
    found = accounts.list_tokens(cursor(), company=company)
    rows = [
        {
            "Name": t.name,
            "Prefix": f"{t.prefix}…",
            "Role": t.role.value,
            "Created by": t.created_by,
            "Created": _when(t.created_at, tz),
            "Last used": _when(t.last_used_at, tz) or "never",
            "Revoked": _when(t.revoked_at, tz),
        }
        for t in found
    ]
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="admin_tokens")
    else:
        st.caption("No tokens yet.")
    left, right = st.columns(2)
    with left.form("admin_new_token", border=True):
        st.markdown("**Create a token**")
        name = st.text_input("Name", key="admin_token_name", placeholder="alertmanager")
        role = st.selectbox(
            "Role", TOKEN_ROLES, key="admin_token_role", format_func=lambda r: f"{r} — {ROLE_HELP[r]}"
        )
        create = st.form_submit_button("Create token", type="primary", icon=":material/add:")
    if create:
        made = _attempt(
            lambda: accounts.create_token(
                cursor(), company=company, role=role, name=name, actor=access.actor()
            ),
            f"Token {name or role} created.",
        )
        if made is not None:
            token, secret = made
            st.session_state[SECRET] = (f"Token {token.name} ({token.role.value})", secret)
            st.rerun()
    active = {t.id: t for t in found if t.revoked_at is None}
    with right.form("admin_revoke_token", border=True):
        st.markdown("**Revoke a token** (it stops working at once)")
        chosen = st.selectbox(
            "Token",
            list(active),
            index=None,
            key="admin_revoke_id",
            format_func=lambda i: f"{active[i].name} · {active[i].prefix}… · {active[i].role.value}",
            placeholder="Choose",
        )
        revoke = st.form_submit_button("Revoke", icon=":material/block:")
    if revoke:
        if chosen is None:
            st.error("Choose the token first.", icon=":material/error_outline:")
        elif _attempt(
            lambda: accounts.revoke_token(cursor(), token_id=chosen, company=company, actor=access.actor()),
            f"Token {active[chosen].name} revoked.",
        ):
            st.rerun()
