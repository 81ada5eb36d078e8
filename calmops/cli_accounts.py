"""`python -m calmops user add|list|remove` and `token create|list|revoke`: accounts and API tokens.

Through the running server's API when one is up (CALMOPS_TOKEN must then be an admin's token), else
straight on ``CALMOPS_DB`` as ``cli:<login>`` — which is how a store without the demo world gets its
first admin: ``python -m calmops user add NAME --company C --role admin`` with the server stopped.
A generated password or a new token is printed once, on standard output, and never stored.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from calmops.auth.models import Role
from calmops.cli import CommandError, _api, _local, _refused, _via
from calmops.store.db import Cursor

ROLES = [r.value for r in Role]


def _company(args: argparse.Namespace) -> str | None:
    """``--company C``, or None with ``--all-companies``; exactly one of them."""
    if getattr(args, "all_companies", False):
        if args.company:
            raise CommandError("give --company or --all-companies, not both", "company")
        return None
    if not args.company:
        raise CommandError("--company is required (or --all-companies for every company)", "company")
    return args.company


def _where(company: str | None) -> str:
    return "every company" if company in (None, "*") else company


def roles_text(roles: dict[str, str]) -> str:
    """``lead in bluebird-logistics, operator in cedar-couriers`` (``*``: every company)."""
    return ", ".join(f"{role} in {_where(company)}" for company, role in roles.items())


def _ask_password(args: argparse.Namespace) -> str | None:
    """A password typed twice at a terminal; None (generate one) when asked to or not at a terminal."""
    if args.generate_password or not sys.stdin.isatty():
        return None
    first = getpass.getpass("Password (empty: generate one): ")
    if not first:
        return None
    if getpass.getpass("Again: ") != first:
        raise CommandError("the two passwords differ", "password")
    return first


def cmd_user_add(args: argparse.Namespace) -> int:
    from calmops.auth import service

    try:
        company = _company(args)
        password = "" if args.oidc_only else _ask_password(args)
        body = {"company": company, "name": args.name, "role": args.role, "email": args.email,
                "display_name": args.display_name or "", "password": password}  # fmt: skip

        def offline(cur: Cursor) -> dict:
            user, generated = service.add_user(cur, company=company, name=args.name, role=args.role,
                                               actor=_local(), password=password, email=args.email,
                                               display_name=args.display_name or "")  # fmt: skip
            return {"user": user.to_json(), "password": generated}

        answer = _via(lambda: _api("POST", "users", body=body), offline)
    except CommandError as exc:
        return _refused(exc)
    user = answer["user"]
    where = company or "every company"
    print(f"user {user['name']}: {args.role} in {where}")
    if answer.get("password"):
        print(f"password (shown once): {answer['password']}")
    return 0


def cmd_user_list(args: argparse.Namespace) -> int:
    from calmops.auth import service

    def offline(cur: Cursor) -> dict:
        return {"users": [u.to_json() for u in service.list_users(cur, company=args.company)]}

    params = {"company": args.company} if args.company else None
    try:
        users = _via(lambda: _api("GET", "users", params=params), offline)["users"]
    except CommandError as exc:
        return _refused(exc)
    for user in users:
        roles = roles_text(user["roles"])
        state = " (disabled)" if user.get("disabled") else ""
        email = f" · {user['email']}" if user.get("email") else ""
        print(f"{user['name']}{state}: {roles or 'no role'}{email}")
    return 0


def cmd_user_remove(args: argparse.Namespace) -> int:
    from calmops.auth import service

    def offline(cur: Cursor) -> dict:
        user = service.remove_user(cur, name=args.name, company=args.company, actor=_local())
        return {"user": user.to_json()}

    params = {"name": args.name, **({"company": args.company} if args.company else {})}
    try:
        _via(lambda: _api("DELETE", "users", params=params), offline)
    except CommandError as exc:
        return _refused(exc)
    print(f"removed {args.name}'s role in {args.company}" if args.company else f"disabled {args.name}")
    return 0


def cmd_token_create(args: argparse.Namespace) -> int:
    from calmops.auth import service

    try:
        company = _company(args)
        body = {"company": company, "role": args.role, "name": args.name}

        def offline(cur: Cursor) -> dict:
            token, secret = service.create_token(cur, company=company, role=args.role, name=args.name,
                                                 actor=_local())  # fmt: skip
            return {"token": token.to_json(), "secret": secret}

        answer = _via(lambda: _api("POST", "tokens", body=body), offline)
    except CommandError as exc:
        return _refused(exc)
    token = answer["token"]
    print(
        f"token {token['id']} ({token['name']}): {token['role']} in {company or 'every company'}; "
        "shown once, keep it somewhere safe:",
        file=sys.stderr,
    )
    print(answer["secret"])
    return 0


def cmd_token_list(args: argparse.Namespace) -> int:
    from calmops.auth import service

    def offline(cur: Cursor) -> dict:
        return {"tokens": [t.to_json() for t in service.list_tokens(cur, company=args.company)]}

    params = {"company": args.company} if args.company else None
    try:
        tokens = _via(lambda: _api("GET", "tokens", params=params), offline)["tokens"]
    except CommandError as exc:
        return _refused(exc)
    for t in tokens:
        state = "revoked" if t["revoked"] else f"last used {t['last_used_at'] or 'never'}"
        print(f"{t['id']}\t{t['prefix']}…\t{t['role']} in {_where(t['company'])}\t{t['name']}\t{state}")
    return 0


def cmd_token_revoke(args: argparse.Namespace) -> int:
    from calmops.auth import service

    def offline(cur: Cursor) -> dict:
        token = service.revoke_token(cur, token_id=args.id, company=args.company, actor=_local())
        return {"token": token.to_json()}

    params = {"id": args.id, **({"company": args.company} if args.company else {})}
    try:
        _via(lambda: _api("DELETE", "tokens", params=params), offline)
    except CommandError as exc:
        return _refused(exc)
    print(f"revoked token {args.id}")
    return 0


def add_account_commands(sub: argparse._SubParsersAction) -> None:
    user = sub.add_parser("user", help="people's accounts and their role in each company")
    user_sub = user.add_subparsers(dest="action", required=True)
    add = user_sub.add_parser("add", help="add an account, or give an existing one a role in a company")
    add.add_argument("name", help="the login, e.g. maria.lopez (what timelines record)")
    add.add_argument("--company", help="the company the role is in")
    add.add_argument("--all-companies", action="store_true", help="the role in every company")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--email", help="for signing in through OIDC")
    add.add_argument("--display-name")
    add.add_argument("--generate-password", action="store_true", help="generate one and print it once")
    add.add_argument("--oidc-only", action="store_true", help="no password: signs in through OIDC only")
    add.set_defaults(func=cmd_user_add)
    listing = user_sub.add_parser("list", help="accounts and their roles")
    listing.add_argument("--company", help="only those with a role in this company")
    listing.set_defaults(func=cmd_user_list)
    remove = user_sub.add_parser("remove", help="remove a role (--company), or disable the account")
    remove.add_argument("name")
    remove.add_argument("--company", help="remove only the role in this company")
    remove.set_defaults(func=cmd_user_remove)

    token = sub.add_parser("token", help="API tokens for scripts and machines")
    token_sub = token.add_subparsers(dest="action", required=True)
    create = token_sub.add_parser("create", help="a new token, printed once")
    create.add_argument("--company", help="the company it acts in")
    create.add_argument("--all-companies", action="store_true", help="an installation-wide token")
    create.add_argument(
        "--role", required=True, choices=ROLES, help="ingest: push snapshots, events and alerts only"
    )
    create.add_argument("--name", help="what it is for, e.g. alertmanager-prod")
    create.set_defaults(func=cmd_token_create)
    listing = token_sub.add_parser("list", help="tokens (never their secret)")
    listing.add_argument("--company", help="only this company's")
    listing.set_defaults(func=cmd_token_list)
    revoke = token_sub.add_parser("revoke", help="end a token now")
    revoke.add_argument("id", type=int)
    revoke.add_argument("--company", help="the company the token belongs to")
    revoke.set_defaults(func=cmd_token_revoke)
