"""The gate: who is signed in, the sign-in page when nobody is, and the sidebar's "signed in as".

Every run of ``app.py`` resolves the identity afresh — from the session this tab signed in with,
else the ``calmops_session`` cookie the browser brought, else the SSO identity (``st.user``, when
``[auth]`` is configured) mapped to an account by its email — so a role taken away or a session
ended elsewhere counts at once. A Streamlit script cannot set a cookie: after the sign-in form
succeeds, an invisible image asks ``/auth/session`` (``calmops.auth.web``) to set it, carrying only
a one-time ticket, never the session itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

import streamlit as st

from calmops.auth import Identity, tickets
from calmops.auth import service as accounts
from calmops.auth.web import COOKIE, SESSION_PATH, SIGNOUT_PATH, XSRF_COOKIE
from calmops.errors import WorkflowError
from calmops.store import cursor
from calmops.store.db import Cursor
from calmops.ui.access import IDENTITY_KEY
from calmops.ui.style import md

SESSION_KEY = "_session_cookie"  # the session this tab acts under (server memory, never the page)
TICKET_KEY = "_session_ticket"  # the ticket the browser still has to redeem for its cookie
SIGNED_OUT_KEY = "_signed_out"  # clear the browser's cookie on the sign-in page
SSO_LOGOUT_KEY = "_sso_logout"
NAME_KEY = "_signin_last_name"
ERROR_KEY = "_signin_error"


def client() -> str:
    """Where the sign-in comes from, for the per-client attempt limit."""
    try:
        found = st.context.ip_address
    except Exception:
        found = None
    return found if isinstance(found, str) and found else "unknown"


def _browser_cookie() -> str | None:
    try:
        found = st.context.cookies.get(COOKIE)
    except Exception:
        found = None
    return found if isinstance(found, str) else None


def _browser() -> bytes | None:
    """This browser's Streamlit XSRF token: the session's ticket opens in this browser only."""
    try:
        return tickets.browser_token(st.context.cookies.get(XSRF_COOKIE))
    except Exception:
        return None


def _auth_section() -> Mapping:
    try:
        if not st.secrets.load_if_toml_exists():
            return {}
        section = st.secrets.get("auth")
    except Exception:
        return {}
    return section if isinstance(section, Mapping) else {}


def sso_provider() -> str | None:
    """The SSO provider to offer (``""`` for the default one), or None when ``[auth]`` is not set up."""
    section = _auth_section()
    if not section:
        return None
    if section.get("client_id"):
        return ""
    named = [name for name, value in section.items() if isinstance(value, Mapping)]
    return named[0] if named else None


def _sso_user() -> tuple[bool, str | None]:
    """Signed in with the provider, and the email it vouches for: none when the provider says the
    address is not verified (someone could have typed anyone's), else the email claim."""
    try:
        logged_in = bool(st.user.is_logged_in)
        email = st.user.get("email") if logged_in else None
        verified = st.user.get("email_verified", True) if logged_in else False
    except Exception:
        return False, None
    if verified is False or (isinstance(verified, str) and verified.lower() == "false"):
        email = None
    return logged_in, email if isinstance(email, str) and email else None


def _holds_a_role(identity: Identity | None) -> Identity | None:
    return identity if identity is not None and (identity.roles or identity.everywhere) else None


def resolve(cur: Cursor) -> Identity | None:
    """The identity this run acts as, kept for the pages (``calmops.ui.access``); None: sign in."""
    found = None
    session = st.session_state.get(SESSION_KEY)
    if session:
        found = accounts.identity_for_session(cur, session)
        if found is None:  # ended elsewhere, expired, or the account lost its last role
            for key in (SESSION_KEY, TICKET_KEY):
                st.session_state.pop(key, None)
    if found is None:
        cookie = _browser_cookie()
        if cookie and cookie != session:
            found = accounts.identity_for_session(cur, cookie)
            if found is not None:
                st.session_state[SESSION_KEY] = cookie
    if found is None and sso_provider() is not None:
        logged_in, email = _sso_user()
        if logged_in:
            found = _holds_a_role(accounts.identity_by_email(cur, email=email) if email else None)
            if found is None:
                st.session_state[ERROR_KEY] = (
                    f"Your single sign-on account ({email or 'no email given'}) has no CalmOps account. "
                    "Ask an admin to add one with this email, then sign in again."
                )
    if found is None:
        st.session_state.pop(IDENTITY_KEY, None)
    else:
        st.session_state[IDENTITY_KEY] = found
        st.session_state.pop(SIGNED_OUT_KEY, None)
    return found


def _beacon(src: str) -> None:
    """An invisible image the browser loads from this server (the only way to set a cookie here)."""
    st.html(f'<img src="{escape(src)}" alt="" width="1" height="1" style="position:absolute;opacity:0">')


def cookie_beacon() -> None:
    """While the browser has not fetched its session cookie yet, ask it to (once per ticket)."""
    ticket = st.session_state.get(TICKET_KEY)
    session = st.session_state.get(SESSION_KEY)
    if not ticket or not session:
        return
    state = tickets.state(ticket)
    if state == "redeemed":
        st.session_state.pop(TICKET_KEY, None)
        return
    if state == "gone":  # the image never loaded in time: one more chance
        ticket = st.session_state[TICKET_KEY] = tickets.issue(session, browser=_browser())
    with st.sidebar:
        _beacon(f"{SESSION_PATH}?ticket={ticket}")


def _submit(cur: Cursor, name: str, password: str) -> str | None:
    """Sign in, or say why not (wrong name or password — never which —, or too many attempts)."""
    st.session_state[NAME_KEY] = name.strip()
    try:
        found = accounts.authenticate(cur, name=name, password=password, client=client())
        session = accounts.open_session(cur, identity=found)
    except WorkflowError as exc:
        return exc.message[:1].upper() + exc.message[1:] + "."
    st.session_state.pop(SIGNED_OUT_KEY, None)
    st.session_state[SESSION_KEY] = session
    st.session_state[TICKET_KEY] = tickets.issue(session, browser=_browser())
    st.session_state[IDENTITY_KEY] = found
    st.rerun()
    return None


def sign_in_page(cur: Cursor, *, demo: bool = False) -> None:
    """The only page shown to nobody: name and password, and single sign-on when configured."""
    if st.session_state.pop(SSO_LOGOUT_KEY, False):
        st.logout()
    if st.session_state.get(SIGNED_OUT_KEY):
        _beacon(SIGNOUT_PATH)  # clears the browser's cookie (the store already ended the session)
    _, middle, _ = st.columns([1, 2, 1])
    with middle:
        st.markdown("## :material/self_improvement: Sign in to CalmOps")
        if st.session_state.get(SIGNED_OUT_KEY):
            st.info("You are signed out.", icon=":material/logout:")
        error = st.session_state.pop(ERROR_KEY, None)
        if error:
            st.error(md(error), icon=":material/lock:")
        with st.form("sign_in", clear_on_submit=True):
            name = st.text_input(
                "Name", value=st.session_state.get(NAME_KEY, ""), key="signin_name", autocomplete="username"
            )
            password = st.text_input(
                "Password", type="password", key="signin_password", autocomplete="current-password"
            )
            submitted = st.form_submit_button(
                "Sign in", type="primary", icon=":material/login:", width="stretch"
            )
        if submitted:
            refused = _submit(cur, name, password)
            if refused:
                st.error(md(refused), icon=":material/lock:")
        provider = sso_provider()
        if provider is not None:
            logged_in, _ = _sso_user()
            if logged_in:
                st.button("Sign out of single sign-on", key="sso_logout", on_click=st.logout)
            elif st.button("Sign in with SSO", key="sso_login", icon=":material/key:", width="stretch"):
                st.login(provider or None)
        if demo:
            st.caption(
                "Demo world: every demo account's password is `calmops-demo` — for example "
                "`bluebird-operator`, `bluebird-viewer`, `bluebird-lead`, `bluebird-admin`, or `admin` "
                "(every company)."
            )


def _sign_out() -> None:
    session = st.session_state.get(SESSION_KEY)
    if session:
        accounts.close_session(cursor(), session)
    sso, _ = _sso_user() if sso_provider() is not None else (False, None)
    st.session_state.clear()
    st.session_state[SIGNED_OUT_KEY] = True
    if sso:
        st.session_state[SSO_LOGOUT_KEY] = True


def who_panel(identity: Identity, company: str | None, company_name: str | None) -> None:
    """The sidebar's "signed in as": the account, its role in the current company, sign out."""
    role = identity.role_in(company) if company else None
    where = f" in {md(company_name or company)}" if company else ""
    everywhere = " (every company)" if identity.everywhere and role is identity.everywhere else ""
    with st.sidebar.container(border=True):
        st.markdown(f":material/account_circle: **{md(identity.name)}**")
        if role is not None:
            st.caption(f"{role.value.capitalize()}{where}{everywhere}")
        st.button("Sign out", key="sign_out", icon=":material/logout:", on_click=_sign_out, width="stretch")
