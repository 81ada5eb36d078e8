"""`python -m calmops …`: the command line (CONTRACT.md, "CLI").

Commands that change a live store go through the running server's HTTP API (DuckDB allows one
writing process per file); they open ``CALMOPS_DB`` themselves only when no server holds it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import requests

from calmops.config import settings
from calmops.timeio import BadTimeError, parse_iso


class ProgressBar:
    """A one-line progress bar on stderr (the first run's demo build takes a few seconds)."""

    def __init__(self, title: str, width: int = 30) -> None:
        self.title, self.width, self.started = title, width, time.monotonic()
        self.tty = sys.stderr.isatty()
        self._last = -1

    def __call__(self, fraction: float, message: str) -> None:
        fraction = min(max(fraction, 0.0), 1.0)
        percent = int(fraction * 100)
        if not self.tty and percent // 10 == self._last // 10 and percent < 100:
            return
        self._last = percent
        filled = int(fraction * self.width)
        bar = "#" * filled + "." * (self.width - filled)
        line = f"{self.title} [{bar}] {percent:3d}% {message[:40]:<40}"
        sys.stderr.write(("\r" + line) if self.tty else (line + "\n"))
        sys.stderr.flush()

    def done(self, message: str) -> None:
        elapsed = time.monotonic() - self.started
        sys.stderr.write(("\n" if self.tty else "") + f"{message} in {elapsed:.1f} s\n")


def _server_up(url: str) -> bool:
    try:
        return requests.get(f"{url}/_stcore/health", timeout=1.5).ok
    except requests.RequestException:
        return False


def cmd_demo(args: argparse.Namespace) -> int:
    from calmops.bootstrap import build_demo
    from calmops.store import Database, StoreLockedError

    path = Path(args.db or settings().db_path)
    if args.if_missing and (path.exists() or not settings().demo):
        return 0
    if path.exists():
        if not args.force:
            print(f"{path} already exists; use --force to rebuild it from scratch.", file=sys.stderr)
            return 2
        for stale in (path, Path(f"{path}.wal")):
            stale.unlink(missing_ok=True)
    try:
        now = parse_iso(args.now) if args.now else None
    except BadTimeError as exc:
        print(f"--now: {exc}", file=sys.stderr)
        return 2
    bar = ProgressBar("demo world")
    try:
        db = Database(path)
    except StoreLockedError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    try:
        summary = build_demo(
            db,
            days=args.days,
            companies=args.companies,
            services=args.services,
            step_s=args.step,
            seed=args.seed,
            now=now,
            progress=bar,
        )
    finally:
        db.close()
    bar.done(f"built {summary.rows:,} snapshots into {path}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    url = settings().base_url
    if _server_up(url):
        params = {"company": args.company} if args.company else {}
        answer = requests.get(f"{url}/api/ops/health", params=params, timeout=60)
        body = answer.json()
        if not answer.ok:
            print(f"error: {body.get('error', answer.text)}", file=sys.stderr)
            return 1
    else:
        body = _check_offline(args.company)
        if body is None:
            return 1
    if args.json:
        print(json.dumps(body, indent=2))
        return 0
    for company in body.get("companies", [body]):
        print(f"{company['company']}: {company['status']} ({company['open_incidents']} open incidents)")
        for svc in company["services"]:
            why = f" — {'; '.join(svc['reasons'])}" if svc.get("reasons") and svc["status"] != "ok" else ""
            print(f"  {svc['status']:<9} {svc['service']}{why}")
    return 0


def _check_offline(company: str | None) -> dict | None:
    """No server is up: judge the stored state straight from the database file."""
    from calmops import companies
    from calmops.api.health import health_json
    from calmops.health.service import company_health
    from calmops.store import Database, StoreLockedError

    path = settings().db_path
    if not path.exists():
        print(f"no server at {settings().base_url} and no database at {path}", file=sys.stderr)
        return None
    try:
        db = Database(path)
    except StoreLockedError as exc:
        print(str(exc), file=sys.stderr)
        return None
    try:
        cur = db.cursor()
        names = [company] if company else [c.company for c in companies.list_companies(cur)]
        interval = settings().collect_interval_s
        try:
            every = [health_json(company_health(cur, company=c, interval_s=interval)) for c in names]
        except companies.UnknownCompanyError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return None
    finally:
        db.close()
    print("(no server running: state read from the database, no round was run)", file=sys.stderr)
    return every[0] if company else {"companies": every}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m calmops", description="CalmOps command line.")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="build the demo TMS world into a new database")
    demo.add_argument("--days", type=float, default=14, help="days of history (default 14)")
    demo.add_argument("--companies", type=int, default=3, help="number of companies (default 3)")
    demo.add_argument("--services", type=int, default=8, help="services per company (default 8)")
    demo.add_argument("--step", type=int, default=60, help="seconds between snapshots (default 60)")
    demo.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    demo.add_argument("--now", help="end of the history, ISO 8601 with a zone (default: now)")
    demo.add_argument("--no-replay", action="store_true", help="do not replay history through detection")
    demo.add_argument("--db", help="database file (default: CALMOPS_DB or data/calmops.duckdb)")
    demo.add_argument("--force", action="store_true", help="replace an existing database file")
    demo.add_argument("--if-missing", action="store_true", help="build only when the file does not exist")
    demo.set_defaults(func=cmd_demo)

    check = sub.add_parser("check", help="run a health check now and print the state")
    check.add_argument("--company", help="one company (default: every company)")
    check.add_argument("--json", action="store_true", help="print the API's JSON answer")
    check.set_defaults(func=cmd_check)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    return args.func(args)
