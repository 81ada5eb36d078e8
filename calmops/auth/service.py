"""Accounts, roles, API tokens, browser sessions and sign-in, on the store.

Every change is one unit of work with an audit row (in the company it concerns; ``*`` for the
installation). Secrets never reach the store or a log: passwords are scrypt hashes, tokens and
session ids SHA-256 digests; a token or a generated password is returned once, to be shown once.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta

from calmops import clock, companies
from calmops.auth.models import Identity, Permission, Role, require
from calmops.auth.passwords import check_strength, generate_password, hash_password, verify_password
from calmops.errors import Conflict, Forbidden, Invalid, NotFound, Unauthenticated
from calmops.incidents import audit
from calmops.store.db import RACES, Cursor, unit_of_work

INSTALLATION = "*"  # the audit log's company for installation-wide changes
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}$")
TOKEN_PREFIX = "cot_"
SESSION_TTL = timedelta(days=7)
# Sign-in limits: failures in the window before a name (or a client) must wait.
WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_NAME = 5
MAX_FAILURES_PER_CLIENT = 20


@dataclass(frozen=True)
class User:
    id: int
    name: str
    email: str | None
    display_name: str
    roles: dict[str, Role]  # company → role; "*" = every company
    has_password: bool
    created_at: datetime
    disabled: bool

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "email": self.email,
            "display_name": self.display_name,
            "roles": {c: r.value for c, r in self.roles.items()},
            "has_password": self.has_password,
            "disabled": self.disabled,
        }


@dataclass(frozen=True)
class Token:
    id: int
    company: str | None  # None: every company
    role: Role
    name: str
    prefix: str
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    def to_json(self) -> dict:
        from calmops.timeio import to_iso

        return {
            "id": self.id,
            "company": self.company,
            "role": self.role.value,
            "name": self.name,
            "prefix": self.prefix,
            "created_by": self.created_by,
            "created_at": to_iso(self.created_at),
            "last_used_at": to_iso(self.last_used_at) if self.last_used_at else None,
            "revoked": self.revoked_at is not None,
        }


class LoginRefused(Unauthenticated):
    """Wrong name or password (never which), a disabled account, or too many attempts."""


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _role(value: object) -> Role:
    try:
        return Role(str(value))
    except ValueError:
        raise Invalid(f"role must be one of {', '.join(r.value for r in Role)}", field="role") from None


def _check_company(cur: Cursor, company: str | None) -> None:
    if company is not None:
        try:
            companies.get_company(cur, company=company)
        except companies.UnknownCompanyError:
            raise NotFound(f"unknown company {company!r}", field="company") from None


def _may_administer(actor: Identity, company: str | None) -> str:
    """Managing people and tokens of one company takes its admin; of every company, an
    installation-wide admin."""
    if company is None:
        if not actor.installation_admin:
            raise Forbidden(
                f"{actor.name} is not an installation-wide admin: only one may manage accounts or "
                "tokens for every company",
                needs="admin of every company",
            )
        return actor.name
    return require(actor, Permission.ADMINISTER, company)


# --- users


def _users(cur: Cursor, where: str = "", params: list | None = None) -> list[User]:
    rows = cur.execute(
        f"""SELECT u.id, u.name, u.email, u.display_name, u.password_hash IS NOT NULL, u.created_at,
                  u.disabled_at IS NOT NULL,
                  list(coalesce(r.company, '*') ORDER BY r.company) FILTER (WHERE r.role IS NOT NULL),
                  list(r.role ORDER BY r.company) FILTER (WHERE r.role IS NOT NULL)
           FROM users u LEFT JOIN user_roles r ON r.user_id = u.id
           {where} GROUP BY ALL ORDER BY u.name""",
        params or [],
    ).fetchall()
    return [
        User(id=r[0], name=r[1], email=r[2], display_name=r[3], has_password=r[4], created_at=r[5],
             disabled=r[6], roles={c: Role(role) for c, role in zip(r[7] or [], r[8] or [], strict=True)})
        for r in rows
    ]  # fmt: skip


def get_user(cur: Cursor, *, name: str) -> User:
    found = _users(cur, "WHERE u.name = ?", [name])
    if not found:
        raise NotFound(f"no user {name!r}", field="name")
    return found[0]


def list_users(cur: Cursor, *, company: str | None = None) -> list[User]:
    """Every account, or those holding a role in ``company`` (installation-wide ones included)."""
    users = _users(cur)
    if company is None:
        return users
    return [u for u in users if company in u.roles or INSTALLATION in u.roles]


def add_user(
    cur: Cursor,
    *,
    name: object,
    company: str | None,
    role: object,
    actor: Identity,
    password: str | None = None,
    email: object = None,
    display_name: object = "",
) -> tuple[User, str | None]:
    """Create an account with its first role (``company`` None: every company), or give an existing
    one a role in another company. Returns the user and, when no password was given and none is
    set yet, a generated one to show once. ``password=""`` makes an OIDC-only account."""
    if not isinstance(name, str) or not NAME.match(name.strip().lower()):
        raise Invalid("name must be 2–63 characters: a-z, 0-9, '.', '_', '-'", field="name")
    name = name.strip().lower()
    granted = _role(role)
    if granted is Role.INGEST:
        raise Invalid("ingest is for machines: give it to an API token; a person is viewer or above",
                      field="role")  # fmt: skip
    if email is not None and email != "":
        if not isinstance(email, str) or not EMAIL.match(email.strip()):
            raise Invalid("email must look like name@example.com", field="email")
        email = email.strip().lower()
    else:
        email = None
    display = companies.check_text(display_name or "", field="display_name", required=False)
    generated = None
    if password is None:
        generated = password = generate_password()
    elif password:
        try:
            check_strength(password)
        except ValueError as exc:
            raise Invalid(str(exc), field="password") from None
    with unit_of_work(cur):
        who = _may_administer(actor, company)
        _check_company(cur, company)
        now = clock.now()
        existing = cur.execute("SELECT id FROM users WHERE name = ?", [name]).fetchall()
        if existing:
            user_id = existing[0][0]
            generated = None  # an existing account keeps its password
        else:
            if email and cur.execute("SELECT 1 FROM users WHERE email = ?", [email]).fetchall():
                raise Conflict(f"another account already has the email {email}", field="email")
            user_id = cur.execute(
                "INSERT INTO users (name, email, display_name, password_hash, created_at) "
                "VALUES (?, ?, ?, ?, ?) RETURNING id",
                [name, email, display, hash_password(password) if password else None, now],
            ).fetchall()[0][0]
        _grant(cur, user_id=user_id, company=company, role=granted, by=who, now=now)
        audit(cur, company=company or INSTALLATION, ts=now, actor=who, action="user.add", entity="user",
              entity_id=name, after={"name": name, "email": email, "role": granted.value,
                                     "company": company or INSTALLATION})  # fmt: skip
    return get_user(cur, name=name), generated


def _grant(cur: Cursor, *, user_id: int, company: str | None, role: Role, by: str, now: datetime) -> None:
    cur.execute(
        "DELETE FROM user_roles WHERE user_id = ? AND coalesce(company, '*') = coalesce(?, '*')",
        [user_id, company],
    )
    cur.execute("INSERT INTO user_roles VALUES (?, ?, ?, ?, ?)", [user_id, company, role.value, by, now])


def remove_user(cur: Cursor, *, name: str, actor: Identity, company: str | None = None) -> User:
    """Take away the user's role in ``company``; with no company (an installation admin only), the
    whole account: disabled (its name stays on past timelines), every session ended."""
    user = get_user(cur, name=name)
    with unit_of_work(cur):
        who = _may_administer(actor, company)
        now = clock.now()
        if company is not None:
            if company not in user.roles:
                raise NotFound(f"{name} has no role in {company}", field="company")
            cur.execute("DELETE FROM user_roles WHERE user_id = ? AND company = ?", [user.id, company])
        else:
            cur.execute("DELETE FROM user_roles WHERE user_id = ?", [user.id])
            cur.execute("UPDATE users SET disabled_at = ? WHERE id = ?", [now, user.id])
            _end_sessions(cur, user_id=user.id, now=now)
        audit(cur, company=company or INSTALLATION, ts=now, actor=who, action="user.remove", entity="user",
              entity_id=name, before=user.to_json())  # fmt: skip
    return get_user(cur, name=name)


def set_password(cur: Cursor, *, name: str, password: str, actor: Identity) -> None:
    """A new password (the person themself, or an installation admin); ends their other sessions."""
    user = get_user(cur, name=name)
    if actor.user_id != user.id:
        _may_administer(actor, None)
    try:
        check_strength(password)
    except ValueError as exc:
        raise Invalid(str(exc), field="password") from None
    with unit_of_work(cur):
        now = clock.now()
        cur.execute("UPDATE users SET password_hash = ? WHERE id = ?", [hash_password(password), user.id])
        _end_sessions(cur, user_id=user.id, now=now)
        audit(cur, company=INSTALLATION, ts=now, actor=actor.name, action="user.password", entity="user",
              entity_id=name)  # fmt: skip


def _end_sessions(cur: Cursor, *, user_id: int, now: datetime) -> None:
    cur.execute("UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL", [now, user_id])


def identity_of(user: User) -> Identity:
    roles = {c: r for c, r in user.roles.items() if c != INSTALLATION}
    return Identity(name=user.name, kind="user", roles=roles, everywhere=user.roles.get(INSTALLATION),
                    user_id=user.id)  # fmt: skip


def identity_by_email(cur: Cursor, *, email: str) -> Identity | None:
    """The account an OIDC identity maps to (by its email), if one is enabled."""
    found = _users(cur, "WHERE u.email = ? AND u.disabled_at IS NULL", [email.strip().lower()])
    return identity_of(found[0]) if found else None


# --- signing in


def _recent_failures(cur: Cursor, *, column: str, value: str, since: datetime) -> int:
    """Failures since the last success (for the name) within the window."""
    return cur.execute(
        f"""SELECT count(*) FROM login_attempts WHERE {column} = ? AND ts >= ? AND NOT ok
            AND id > coalesce((SELECT max(id) FROM login_attempts WHERE {column} = ? AND ok), 0)""",
        [value, since, value],
    ).fetchall()[0][0]


def authenticate(cur: Cursor, *, name: str, password: str, client: str) -> Identity:
    """The identity of a local account whose password matches. Refused alike for an unknown name and
    a wrong password; after 5 failures for a name (or 20 from one client) in 15 minutes, refused
    until the window passes, whatever the password. Every attempt is recorded."""
    name = (name or "").strip().lower()[:64]
    now = clock.now()
    since = now - WINDOW
    if (
        _recent_failures(cur, column="name", value=name, since=since) >= MAX_FAILURES_PER_NAME
        or _recent_failures(cur, column="client", value=client, since=since) >= MAX_FAILURES_PER_CLIENT
    ):
        raise LoginRefused("too many failed sign-ins: wait 15 minutes, then try again", field="password")
    found = _users(cur, "WHERE u.name = ? AND u.disabled_at IS NULL", [name])
    user = found[0] if found else None
    stored = None
    if user is not None:
        stored = cur.execute("SELECT password_hash FROM users WHERE id = ?", [user.id]).fetchall()[0][0]
    ok = verify_password(password or "", stored) and user is not None and bool(user.roles)
    with unit_of_work(cur):
        cur.execute(
            "INSERT INTO login_attempts (name, client, ts, ok) VALUES (?, ?, ?, ?)", [name, client, now, ok]
        )
    if not ok:
        raise LoginRefused("wrong name or password", field="password")
    return identity_of(user)


# --- sessions (the browser's signed cookie)


def installation_secret(cur: Cursor) -> bytes:
    """The key that signs session cookies: made once per store, kept in ``store_state``."""
    found = cur.execute("SELECT value FROM store_state WHERE key = 'auth_secret'").fetchall()
    if found:
        return bytes.fromhex(found[0][0])
    made = secrets.token_hex(32)
    cur.execute("INSERT INTO store_state VALUES ('auth_secret', ?) ON CONFLICT DO NOTHING", [made])
    stored = cur.execute("SELECT value FROM store_state WHERE key = 'auth_secret'").fetchall()[0][0]
    return bytes.fromhex(stored)


def _sign(cur: Cursor, value: str) -> str:
    return hmac.new(installation_secret(cur), value.encode(), hashlib.sha256).hexdigest()


def open_session(cur: Cursor, *, identity: Identity, ttl: timedelta = SESSION_TTL) -> str:
    """A new browser session for a signed-in person: the cookie value (``id.signature``)."""
    if identity.user_id is None:
        raise Invalid("only a person's account can open a browser session", field="identity")
    session_id = secrets.token_urlsafe(32)
    now = clock.now()
    with unit_of_work(cur):
        cur.execute(
            "INSERT INTO sessions (digest, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
            [_digest(session_id), identity.user_id, now, now + ttl],
        )
    return f"{session_id}.{_sign(cur, session_id)}"


def identity_for_session(cur: Cursor, cookie: str | None) -> Identity | None:
    """The person a session cookie belongs to; None for a forged, expired, ended or unknown one."""
    if not cookie or "." not in cookie:
        return None
    session_id, signature = cookie.rsplit(".", 1)
    if not hmac.compare_digest(_sign(cur, session_id), signature):
        return None
    found = cur.execute(
        """SELECT s.user_id FROM sessions s JOIN users u ON u.id = s.user_id
           WHERE s.digest = ? AND s.revoked_at IS NULL AND s.expires_at > ? AND u.disabled_at IS NULL""",
        [_digest(session_id), clock.now()],
    ).fetchall()
    if not found:
        return None
    users = _users(cur, "WHERE u.id = ?", [found[0][0]])
    return identity_of(users[0]) if users and users[0].roles else None


def close_session(cur: Cursor, cookie: str | None) -> None:
    """Sign out: the session ends in the store, so a copied cookie stops working too."""
    if not cookie or "." not in cookie:
        return
    session_id = cookie.rsplit(".", 1)[0]
    with unit_of_work(cur):
        cur.execute(
            "UPDATE sessions SET revoked_at = ? WHERE digest = ? AND revoked_at IS NULL",
            [clock.now(), _digest(session_id)],
        )


# --- API tokens


def _tokens(cur: Cursor, where: str = "", params: list | None = None) -> list[Token]:
    rows = cur.execute(
        "SELECT id, company, role, name, prefix, created_by, created_at, last_used_at, revoked_at "
        f"FROM api_tokens {where} ORDER BY id",
        params or [],
    ).fetchall()
    return [Token(r[0], r[1], Role(r[2]), r[3], r[4], r[5], r[6], r[7], r[8]) for r in rows]


def create_token(
    cur: Cursor, *, company: str | None, role: object, name: object, actor: Identity
) -> tuple[Token, str]:
    """A new token for ``company`` (None: every company) and ``role``; the secret is returned once
    and only its digest is kept."""
    granted = _role(role)
    label = companies.check_text(name or f"{granted.value} token", field="name")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with unit_of_work(cur):
        who = _may_administer(actor, company)
        _check_company(cur, company)
        now = clock.now()
        token_id = cur.execute(
            "INSERT INTO api_tokens (company, role, name, prefix, digest, created_by, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            [company, granted.value, label, secret[:10], _digest(secret), who, now],
        ).fetchall()[0][0]
        audit(cur, company=company or INSTALLATION, ts=now, actor=who, action="token.create", entity="token",
              entity_id=str(token_id), after={"name": label, "role": granted.value,
                                              "company": company or INSTALLATION})  # fmt: skip
    return _tokens(cur, "WHERE id = ?", [token_id])[0], secret


def list_tokens(cur: Cursor, *, company: str | None = None) -> list[Token]:
    """Every token (``company`` None), or one company's (installation-wide ones are not listed)."""
    if company is None:
        return _tokens(cur)
    return _tokens(cur, "WHERE company = ?", [company])


def revoke_token(cur: Cursor, *, token_id: int, actor: Identity, company: str | None = None) -> Token:
    """End a token now. ``company`` scopes the lookup: another company's token is unknown (404)."""
    found = _tokens(cur, "WHERE id = ?", [token_id])
    if not found or (company is not None and found[0].company != company):
        raise NotFound(f"no token {token_id}", field="id")
    token = found[0]
    with unit_of_work(cur):
        who = _may_administer(actor, token.company)
        now = clock.now()
        cur.execute(
            "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?", [now, token_id]
        )
        audit(cur, company=token.company or INSTALLATION, ts=now, actor=who, action="token.revoke",
              entity="token", entity_id=str(token_id), before=token.to_json())  # fmt: skip
    for digest in [d for d, (known, _) in _known.items() if known.id == token_id]:
        _known.pop(digest, None)  # this process stops accepting it at once
    return _tokens(cur, "WHERE id = ?", [token_id])[0]


_last_used: dict[int, datetime] = {}
_known: dict[str, tuple[Token, float]] = {}  # digest → the token, and when it was read (monotonic)
TOKEN_CACHE_S = 30.0


def identity_for_token(cur: Cursor, secret: str | None) -> Identity | None:
    """The identity a bearer token stands for; None for an unknown or revoked one. A known token is
    remembered for 30 s (every API call asks; a revocation through this process forgets it at once),
    and its ``last_used_at`` is written at most once a minute (a push per second must not pay a
    commit)."""
    if not secret or not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    digest = _digest(secret)
    cached = _known.get(digest)
    if cached is not None and time.monotonic() - cached[1] < TOKEN_CACHE_S:
        token = cached[0]
    else:
        found = _tokens(cur, "WHERE digest = ? AND revoked_at IS NULL", [digest])
        if not found:
            _known.pop(digest, None)
            return None
        token = found[0]
        _known[digest] = (token, time.monotonic())
    now = clock.now()
    if now - _last_used.get(token.id, datetime.min.replace(tzinfo=now.tzinfo)) > timedelta(minutes=1):
        _last_used[token.id] = now
        with suppress(*RACES):  # best effort: two requests at once must not fail over a timestamp
            cur.execute("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", [now, token.id])
    name = f"token:{token.name}"
    if token.company is None:
        return Identity(name=name, kind="token", everywhere=token.role)
    return Identity(name=name, kind="token", roles={token.company: token.role})
