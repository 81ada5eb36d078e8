"""`python -m calmops notify set|list|remove`: where a company's notifications go.

Like every command that changes a live store, it goes through the running server's API
(`GET|POST /api/ops/notifications`) when one is up, else opens ``CALMOPS_DB`` itself.
"""

from __future__ import annotations

import argparse

from calmops.cli import CommandError, _api, _local, _refused, _via
from calmops.store.db import Cursor


def cmd_notify(args: argparse.Namespace) -> int:
    """Set, list or remove a company's notification webhooks (oncall, lead, status_page)."""
    from calmops import companies, notify

    if args.action_ == "list":

        def offline(cur: Cursor) -> dict:
            companies.check_slug(args.company)
            companies.get_company(cur, company=args.company)
            return {
                "channels": notify.channels(cur, company=args.company),
                "notifications": [n.to_json() for n in notify.recent(cur, company=args.company, limit=10)],
            }

        online = lambda: _api("GET", "notifications", params={"company": args.company, "limit": "10"})  # noqa: E731
    else:
        url = args.url if args.action_ == "set" else None
        body = {"company": args.company, "channel": args.channel, "url": url}

        def offline(cur: Cursor) -> dict:
            return notify.set_channel(
                cur, company=args.company, channel=args.channel, url=url, actor=_local()
            )

        online = lambda: _api("POST", "notifications", body=body)  # noqa: E731
    try:
        answer = _via(online, offline)
    except CommandError as exc:
        return _refused(exc)
    if args.action_ == "list":
        for c in answer["channels"]:
            print(f"{c['channel']:<12} {c['url'] or '(not set: notifications are only recorded)'}")
        for n in answer["notifications"]:
            first_line = n["text"].splitlines()[0] if n["text"] else ""
            print(f"  {n['created_at']}  {n['kind']:<16} {n['channel']:<12} {n['status']:<9} {first_line}")
    elif answer.get("url"):
        print(f"{answer['channel']} notifications of {args.company} are POSTed to {answer['url']}")
    else:
        print(f"{answer['channel']} notifications of {args.company} are only recorded now")
    return 0


def add_notify_commands(sub: argparse._SubParsersAction) -> None:
    notify = sub.add_parser("notify", help="where a company's notifications go (Slack-compatible webhooks)")
    notify_sub = notify.add_subparsers(dest="action_", required=True)
    change = notify_sub.add_parser("set", help="POST a channel's notifications to a webhook")
    change.add_argument("--company", required=True)
    change.add_argument("--channel", required=True, choices=("oncall", "lead", "status_page"))
    change.add_argument("--url", required=True, help='the http(s) URL the {"text": …} JSON is POSTed to')
    change.set_defaults(func=cmd_notify)
    remove = notify_sub.add_parser("remove", help="stop sending a channel (notifications stay recorded)")
    remove.add_argument("--company", required=True)
    remove.add_argument("--channel", required=True, choices=("oncall", "lead", "status_page"))
    remove.set_defaults(func=cmd_notify)
    listing = notify_sub.add_parser("list", help="a company's channels and its latest notifications")
    listing.add_argument("--company", required=True)
    listing.set_defaults(func=cmd_notify)
