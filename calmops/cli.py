"""`python -m calmops …`: the command line (CONTRACT.md, "CLI").

Commands that change a live store go through the running server's HTTP API (DuckDB allows one
writing process per file); they open ``CALMOPS_DB`` themselves only when no server holds it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

import requests

from calmops import auth
from calmops.auth import Identity
from calmops.config import settings
from calmops.store.db import Cursor
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
        if percent == self._last == 100 or (
            not self.tty and percent // 10 == self._last // 10 and percent < 100
        ):
            return
        self._last = percent
        filled = int(fraction * self.width)
        bar = "#" * filled + "." * (self.width - filled)
        line = f"{self.title} [{bar}] {percent:3d}% {message[:40]:<40}"
        end = "\n" if percent == 100 or not self.tty else ""
        sys.stderr.write(("\r" if self.tty else "") + line + end)
        sys.stderr.flush()

    def done(self, message: str) -> None:
        elapsed = time.monotonic() - self.started
        sys.stderr.write(f"{message} in {elapsed:.1f} s\n")


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
        _print_accounts(path)
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
    bar, replay_bar = ProgressBar("demo world"), ProgressBar("history   ")
    try:
        db = Database(path)
    except StoreLockedError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    try:
        summary, replayed = build_demo(
            db,
            days=args.days,
            companies=args.companies,
            services=args.services,
            step_s=args.step,
            seed=args.seed,
            now=now,
            progress=bar,
            replay=not args.no_replay,
            replay_progress=replay_bar,
        )
    finally:
        db.close()
    if replayed is not None:
        replay_bar.done(
            f"replayed the history through detection: {replayed.incidents} incidents "
            f"({replayed.resolved} resolved, {replayed.active} active)"
        )
    bar.done(f"built {summary.rows:,} snapshots into {path}")
    _print_accounts(path)
    return 0


def _print_accounts(path: Path) -> None:
    """Who can sign in to a demo store (its accounts share the demo password); nothing for a store
    without the demo world, or one a server holds open."""
    import duckdb

    from calmops.auth import service as accounts
    from calmops.cli_accounts import roles_text
    from calmops.demo.accounts import PASSWORD
    from calmops.demo.records import load_params

    if not path.exists():
        return
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            if load_params(con) is None:
                return
            users = [u for u in accounts.list_users(con) if not u.disabled and u.roles]
    except duckdb.Error:
        return
    print(f"Demo accounts (password {PASSWORD!r}; the demo world only):", file=sys.stderr)
    for user in users:
        print(f"  {user.name:<20} {roles_text(user.to_json()['roles'])}", file=sys.stderr)


def cmd_check(args: argparse.Namespace) -> int:
    url = settings().base_url
    if _server_up(url):
        params = {"company": args.company} if args.company else {}
        answer = requests.get(f"{url}/api/ops/health", params=params, headers=_headers(), timeout=60)
        body = answer.json()
        if not answer.ok:
            print(f"error: {_error_text(answer.status_code, body)}", file=sys.stderr)
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
    add_registry_commands(sub)
    from calmops.cli_notify import add_notify_commands  # it imports this module's helpers

    add_notify_commands(sub)
    from calmops.cli_report import add_report_command

    add_report_command(sub)
    from calmops.cli_period import add_period_command

    add_period_command(sub)
    from calmops.cli_accounts import add_account_commands

    add_account_commands(sub)
    return parser


# --- registry and ingest: `company add`, `service add`, `target add|list|remove`, `ingest FILE`.
# Each goes through the running server's API when one is up, else straight to CALMOPS_DB with the
# same service functions, so both paths validate and answer alike.


class CommandError(Exception):
    """A refused command: the server's or the store's reason, printed as ``error: …``."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message, self.field = message, field


def _local() -> Identity:
    """Who acts when the CLI opens the store itself: whoever may open its file may change anything
    in it (as with any database file), recorded as ``cli:<login>``. Through the server, the
    identity is the token's (CALMOPS_TOKEN)."""
    try:
        import getpass

        login = getpass.getuser()
    except (ImportError, KeyError, OSError):
        login = "unknown"
    return auth.system(f"cli:{login}")


def _headers() -> dict[str, str]:
    token = os.environ.get("CALMOPS_TOKEN")
    return {"Authorization": f"Bearer {token}"} if token else {}


def _api(method: str, path: str, *, params: dict | None = None, body: dict | None = None,
         data: bytes | None = None, content_type: str | None = None) -> dict | None:  # fmt: skip
    """One API call; a refusal raises CommandError with the server's error and field."""
    headers = _headers()
    if content_type:
        headers["Content-Type"] = content_type
    answer = requests.request(
        method, f"{settings().base_url}/api/ops/{path}", params=params, json=body, data=data,
        headers=headers, timeout=120,
    )  # fmt: skip
    payload = None
    if answer.content:
        try:
            payload = answer.json()
        except ValueError:
            payload = {"error": answer.text[:300]}
    if not answer.ok:
        payload = payload or {}
        raise CommandError(_error_text(answer.status_code, payload), payload.get("field"))
    return payload


def _error_text(status: int, payload: dict) -> str:
    """The server's reason; for a 401, also how to get a token."""
    text = payload.get("error") or f"HTTP {status}"
    if status == 401:
        text += (
            f" — the server at {settings().base_url} needs an API token in CALMOPS_TOKEN: an admin "
            "creates one on the Admin page, or with `python -m calmops token create` while the server "
            "is stopped"
        )
    return text


def _download(
    path: str, *, params: dict, fallback_name: str, progress: ProgressBar, timeout: float = 300
) -> tuple[bytes, str]:
    """A file from the API (a report): its bytes and the file name the server chose. The server
    renders it first (the wait is shown), then the bytes are counted in as they arrive."""
    progress(0.05, "the server is rendering")
    answer = requests.get(
        f"{settings().base_url}/api/ops/{path}",
        params=params,
        headers=_headers(),
        timeout=timeout,
        stream=True,
    )
    if not answer.ok:
        try:
            payload = answer.json()
        except ValueError:
            payload = {"error": answer.text[:300]}
        raise CommandError(_error_text(answer.status_code, payload), payload.get("field"))
    size = int(answer.headers.get("Content-Length") or 0)
    chunks: list[bytes] = []
    got = 0
    for chunk in answer.iter_content(chunk_size=256 * 1024):
        chunks.append(chunk)
        got += len(chunk)
        progress(0.5 + 0.5 * (got / size if size else 0.5), f"received {got / 1024:,.0f} KB")
    found = re.search(r'filename="([^"]+)"', answer.headers.get("Content-Disposition", ""))
    return b"".join(chunks), found.group(1) if found else fallback_name


def _write_report(label: str, fetch: Callable[[ProgressBar], tuple[bytes, str]], output: str | None) -> int:
    """Fetch a report file, showing how far it has got on standard error, and write it to
    ``output`` (``-``: standard output; none: its own name)."""
    bar = ProgressBar(label)
    try:
        body, name = fetch(bar)
    except CommandError as exc:
        return _refused(exc)
    bar(1.0, "done")
    if output == "-":
        sys.stdout.buffer.write(body)
        sys.stdout.flush()
        target = "standard output"
    else:
        path = Path(output or name)
        path.write_bytes(body)
        target = str(path)
    bar.done(f"{label}: wrote {len(body):,} bytes to {target}")
    return 0


def _offline(work: Callable[[Cursor], object]) -> object:
    """Run ``work`` on CALMOPS_DB itself (no server holds it); a new file gets the demo world
    unless CALMOPS_DEMO=0, as when the server starts on it."""
    from calmops import companies
    from calmops.bootstrap import prepare_store
    from calmops.errors import WorkflowError
    from calmops.store import StoreLockedError, close_db

    path = settings().db_path
    try:
        db = prepare_store(path, progress=ProgressBar("demo world") if not path.exists() else None)
    except StoreLockedError as exc:
        raise CommandError(str(exc)) from None
    print(f"(no server at {settings().base_url}: working on {path} directly)", file=sys.stderr)
    try:
        return work(db.cursor())
    except companies.InvalidError as exc:
        raise CommandError(exc.message, exc.field) from None
    except (companies.UnknownCompanyError, companies.NotFoundError, companies.AlreadyExistsError) as exc:
        raise CommandError(str(exc)) from None
    except WorkflowError as exc:  # the workflow's refusals, and the API helpers' (ApiError)
        raise CommandError(exc.message, exc.field) from None
    finally:
        close_db()


def _via(online: Callable[[], object], offline: Callable[[Cursor], object]) -> object:
    return online() if _server_up(settings().base_url) else _offline(offline)


def _refused(exc: CommandError) -> int:
    print(f"error: {exc.message}" + (f" (field {exc.field})" if exc.field else ""), file=sys.stderr)
    return 1


def cmd_company_add(args: argparse.Namespace) -> int:
    from calmops import companies

    body = {"company": args.slug, "name": args.name}

    def offline(cur: Cursor) -> dict:
        created = companies.add_company(cur, company=args.slug, name=args.name, actor=_local())
        return {"company": created.company, "name": created.name}

    try:
        created = _via(lambda: _api("POST", "companies", body=body), offline)
    except CommandError as exc:
        return _refused(exc)
    print(f"added company {created['company']} ({created['name']})")
    return 0


def cmd_service_add(args: argparse.Namespace) -> int:
    from calmops import companies

    depends_on = [s.strip() for s in (args.depends_on or "").split(",") if s.strip()]
    body = {"company": args.company, "service": args.service, "kind": args.kind, "depends_on": depends_on,
            "customer_facing": args.customer_facing}  # fmt: skip
    if args.description:
        body["description"] = args.description

    def offline(cur: Cursor) -> dict:
        fields = dict(body)
        return companies.service_json(companies.register_service(cur, **fields, actor=_local()))

    try:
        created = _via(lambda: _api("POST", "services", body=body), offline)
    except CommandError as exc:
        return _refused(exc)
    upstream = f", depends on {', '.join(created['depends_on'])}" if created["depends_on"] else ""
    facing = ", customer-facing" if created["customer_facing"] else ""
    print(f"added service {created['service']} ({created['kind']}{facing}{upstream}) to {created['company']}")
    return 0


def cmd_target_add(args: argparse.Namespace) -> int:
    from calmops import targets

    body = {"company": args.company, "service": args.service, "url": args.url, "format": args.format,
            "timeout_s": args.timeout, "interval_s": args.interval}  # fmt: skip

    def offline(cur: Cursor) -> dict:
        fields = dict(body)
        return targets.add_target(cur, **fields, actor=_local()).to_json()

    try:
        created = _via(lambda: _api("POST", "targets", body=body), offline)
    except CommandError as exc:
        return _refused(exc)
    every = f"every {created['interval_s']:g} s"
    print(f"added target {created['id']}: {created['service']} at {created['url']} {every}")
    return 0


def cmd_target_list(args: argparse.Namespace) -> int:
    from calmops import companies, targets

    def online() -> list[dict]:
        found, cursor = [], None
        while True:
            params = {"company": args.company, "limit": 1000, **({"cursor": cursor} if cursor else {})}
            page = _api("GET", "targets", params=params)
            found += page["targets"]
            cursor = page["next"]
            if not cursor:
                return found

    def offline(cur: Cursor) -> list[dict]:
        companies.check_slug(args.company)
        companies.get_company(cur, company=args.company)
        return [t.to_json() for t in targets.target_states(cur, company=args.company)]

    try:
        found = _via(online, offline)
    except CommandError as exc:
        return _refused(exc)
    if args.json:
        print(json.dumps({"targets": found}, indent=2))
        return 0
    if not found:
        print(f"{args.company} has no targets")
    for t in found:
        state = "never probed" if t["last_probe_at"] is None else ("ok" if t["last_ok"] else "failing")
        why = f" — {t['last_reason']}" if t["last_reason"] and not t["last_ok"] else ""
        print(f"{t['id']:>6}  {t['service']:<20} {t['url']}  [{t['format'] or 'auto'}, every "
              f"{t['interval_s']:g} s]  {state}{why}")  # fmt: skip
    return 0


def cmd_target_remove(args: argparse.Namespace) -> int:
    from calmops import targets

    def offline(cur: Cursor) -> None:
        targets.remove_target(cur, company=args.company, id=args.id, actor=_local())

    try:
        _via(lambda: _api("DELETE", "targets", params={"company": args.company, "id": args.id}), offline)
    except CommandError as exc:
        return _refused(exc)
    print(f"removed target {args.id} from {args.company}")
    return 0


def _ingest_body(text: str, args: argparse.Namespace) -> dict:
    """A JSON push body from the file, with ``--company`` (and ``--service`` for items without one)."""
    try:
        body = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommandError(f"the file starts like JSON but is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise CommandError('expected a JSON object {"company", "snapshots": [...]}, as the API takes')
    if body.setdefault("company", args.company) != args.company:
        raise CommandError(f"the file is for company {body['company']!r}, not {args.company!r}", "company")
    if args.service and isinstance(body.get("snapshots"), list):
        for item in body["snapshots"]:
            if isinstance(item, dict):
                item.setdefault("service", args.service)
    return body


def cmd_ingest(args: argparse.Namespace) -> int:
    """Push a file of snapshots: the API's JSON body, or Prometheus text for one service."""
    from calmops import ingest
    from calmops.health.parsers import ParseError, parse

    try:
        raw = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as exc:
        print(f"error: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 1
    is_json = raw.lstrip()[:1] in (b"{", b"[")
    text_type = "text/plain; version=0.0.4"
    try:
        if is_json:
            body = _ingest_body(raw.decode("utf-8-sig", errors="replace"), args)

            def online() -> dict:
                return _api("POST", "snapshots", body=body)

            def offline(cur: Cursor) -> dict:
                result = ingest.push(cur, batch=ingest.snapshot_batch(body), actor=_local())
                return {"accepted": result.accepted, "duplicates": result.duplicates}

        else:
            if not args.service:
                raise CommandError("Prometheus text needs --service (which service these samples are from)")

            def online() -> dict:
                params = {"company": args.company, "service": args.service}
                return _api("POST", "snapshots", params=params, data=raw, content_type=text_type)

            def offline(cur: Cursor) -> dict:
                try:
                    parsed = parse(raw, content_type=text_type, declared="prometheus")
                except ParseError as exc:
                    raise CommandError(f"the file is not Prometheus text: {exc}") from None
                batch = ingest.samples_batch(
                    company=args.company, service=args.service, samples=parsed.samples, notes=parsed.notes
                )
                result = ingest.push(cur, batch=batch, actor=_local())
                answer = {"accepted": result.accepted, "duplicates": result.duplicates}
                return {**answer, "notes": list(result.notes)} if result.notes else answer

        answer = _via(online, offline)
    except CommandError as exc:
        return _refused(exc)
    print(f"accepted {answer['accepted']:,} snapshots, {answer['duplicates']:,} duplicates ({args.company})")
    for note in answer.get("notes", []):
        print(f"  note: {note}")
    return 0


def cmd_scenario(args: argparse.Namespace) -> int:
    """Start, stop or list live demo scenarios (through the server, or on the store directly)."""
    from calmops.demo import scenarios
    from calmops.store import get_db

    if args.action == "list":

        def offline(cur: Cursor) -> dict:
            ongoing = scenarios.live(get_db(), company=args.company)
            return {"scenarios": [{"service": e.service, "pattern": e.pattern.value} for e in ongoing]}

        online = lambda: _api("GET", "scenarios", params={"company": args.company})  # noqa: E731
    else:
        body = {
            "company": args.company,
            "service": args.service,
            "pattern": args.pattern,
            "action": args.action,
        }

        def offline(cur: Cursor) -> dict:
            change = scenarios.start if args.action == "start" else scenarios.stop
            change(get_db(), company=args.company, service=args.service, pattern=args.pattern, actor=_local())
            return {}

        online = lambda: _api("POST", "scenarios", body=body)  # noqa: E731
    try:
        answer = _via(online, offline)
    except (scenarios.ScenarioError, scenarios.NoDemoWorldError) as exc:
        return _refused(CommandError(str(exc)))
    except CommandError as exc:
        return _refused(exc)
    if args.action == "list":
        playing = answer["scenarios"]
        print("\n".join(f"{e['pattern']} on {e['service']}" for e in playing) or "nothing is playing")
    else:
        done = "started" if args.action == "start" else "stopped"
        print(f"{args.pattern} {done} on {args.service} ({args.company})")
    return 0


def cmd_executor(args: argparse.Namespace) -> int:
    """Set, list or remove the webhook that carries out a company's actions."""
    from calmops import actions, companies

    if args.action_ == "list":

        def offline(cur: Cursor) -> dict:
            companies.check_slug(args.company)
            companies.get_company(cur, company=args.company)
            return {"executors": [e.to_json() for e in actions.list_executors(cur, company=args.company)]}

        online = lambda: _api("GET", "executors", params={"company": args.company})  # noqa: E731
    elif args.action_ == "set":
        body = {"company": args.company, "action": args.action or "*", "url": args.url, "secret": args.secret,
                "timeout_s": args.timeout, "retries": args.retries}  # fmt: skip

        def offline(cur: Cursor) -> dict:
            fields = dict(body)
            config = actions.set_executor(cur, **fields, actor=_local())
            return {**config.to_json(), **({"secret": config.secret} if not args.secret else {})}

        online = lambda: _api("POST", "executors", body=body)  # noqa: E731
    else:
        params = {"company": args.company, "action": args.action or "*"}

        def offline(cur: Cursor) -> dict:
            actions.remove_executor(cur, company=args.company, action=params["action"], actor=_local())
            return {}

        online = lambda: _api("DELETE", "executors", params=params)  # noqa: E731
    try:
        answer = _via(online, offline)
    except CommandError as exc:
        return _refused(exc)
    if args.action_ == "list":
        found = answer["executors"]
        if not found:
            print(f"{args.company} has no executor webhooks")
        for e in found:
            print(f"{e['action']:<28} {e['url']}  [timeout {e['timeout_s']:g} s, {e['retries']} retries, "
                  f"secret {e['secret_hint']}]")  # fmt: skip
    elif args.action_ == "set":
        print(f"{answer['action']} of {args.company} is POSTed to {answer['url']}")
        if answer.get("secret"):
            print(f"secret (shown only now; the receiver checks signatures with it): {answer['secret']}")
    else:
        print(f"removed the executor for {params['action']} from {args.company}")
    return 0


def cmd_decide(args: argparse.Namespace) -> int:
    """Approve (or decline) a recommendation of an incident, under the same golden rule as the UI."""
    from calmops import agent, workflow
    from calmops.store import get_db

    verb = args.command
    base = {"company": args.company, "recommendation_id": args.recommendation,
            "note": args.note}  # fmt: skip
    if verb == "approve":
        base["confirm"] = args.confirm

    def version(recs: list[dict]) -> int | None:
        return next((r["version"] for r in recs if r["id"] == args.recommendation), None)

    def online() -> dict:
        found = _api("GET", f"incidents/{args.incident}", params={"company": args.company})
        body = {**base, "expected_version": version(found["recommendations"])}
        return _api("POST", f"incidents/{args.incident}/{verb}", body=body)

    def offline(_: Cursor) -> dict:
        db = get_db()
        recs = agent.recommendations(db.cursor(), company=args.company, incident_id=args.incident)
        call = workflow.approve if verb == "approve" else workflow.decline
        args_ = {k: v for k, v in base.items() if k != "company"}
        try:
            return call(db, company=args.company, incident_id=args.incident, expected_version=version(recs),
                        actor=_local(), **args_).to_json()  # fmt: skip
        except workflow.WorkflowError as exc:
            raise CommandError(exc.message, exc.field) from None

    try:
        answer = _via(online, offline)
    except CommandError as exc:
        return _refused(exc)
    rec, run = answer["recommendation"], answer.get("execution")
    print(f"recommendation {rec['id']} ({rec['action']}, {rec['risk']} risk): {rec['status']}")
    if run:
        print(f"execution: {run['outcome']}" + (f" — {run['detail']}" if run.get("detail") else ""))
    return 0


def add_registry_commands(sub: argparse._SubParsersAction) -> None:
    company = sub.add_parser("company", help="register companies (tenants)")
    company_sub = company.add_subparsers(dest="action", required=True)
    add = company_sub.add_parser("add", help="register a company")
    add.add_argument("slug", help="the company's slug, e.g. acme-freight")
    add.add_argument("--name", required=True, help="its display name")
    add.set_defaults(func=cmd_company_add)

    service = sub.add_parser("service", help="register services")
    service_sub = service.add_subparsers(dest="action", required=True)
    add = service_sub.add_parser("add", help="register a service of a company")
    add.add_argument("--company", required=True)
    add.add_argument("--service", required=True, help="its name, e.g. api or dispatch-worker")
    add.add_argument("--kind", required=True, help="web|api|worker|database|cache|queue|external|other")
    add.add_argument("--depends-on", help="comma-separated upstream services it calls (registered already)")
    add.add_argument("--customer-facing", action="store_true", help="customers notice when it degrades")
    add.add_argument("--description", help="one line on what it does")
    add.set_defaults(func=cmd_service_add)

    target = sub.add_parser("target", help="health-check targets the collector probes")
    target_sub = target.add_subparsers(dest="action", required=True)
    add = target_sub.add_parser("add", help="probe a service's health endpoint")
    add.add_argument("--company", required=True)
    add.add_argument("--service", required=True)
    add.add_argument("--url", required=True, help="http:// or https:// health endpoint")
    add.add_argument("--format", help="json, health+json, spring or prometheus (default: detect)")
    add.add_argument("--timeout", type=float, help="seconds, 0.1 to 60 (default 5)")
    add.add_argument("--interval", type=float, help="seconds between probes, 5 to 3600 (default 30)")
    add.set_defaults(func=cmd_target_add)
    listing = target_sub.add_parser("list", help="a company's targets and their last probe")
    listing.add_argument("--company", required=True)
    listing.add_argument("--json", action="store_true", help="print the API's JSON")
    listing.set_defaults(func=cmd_target_list)
    remove = target_sub.add_parser("remove", help="stop probing a target (its probe log stays)")
    remove.add_argument("id", type=int, help="the target's id (see target list)")
    remove.add_argument("--company", required=True)
    remove.set_defaults(func=cmd_target_remove)

    scenario = sub.add_parser("scenario", help="live demo scenarios: make a demo service misbehave")
    scenario_sub = scenario.add_subparsers(dest="action", required=True)
    for action, text in (("start", "start a pattern on a demo service"), ("stop", "stop it")):
        change = scenario_sub.add_parser(action, help=text)
        change.add_argument(
            "pattern",
            help="queue_backlog, db_saturation, error_spike_after_deploy, memory_leak, "
            "dependency_outage, disk_filling, service_down or latency_regression",
        )
        change.add_argument("--company", required=True)
        change.add_argument("--service", required=True)
        change.set_defaults(func=cmd_scenario)
    listing = scenario_sub.add_parser("list", help="what is playing")
    listing.add_argument("--company", required=True)
    listing.set_defaults(func=cmd_scenario)

    executor = sub.add_parser("executor", help="the webhook that carries out a company's actions")
    executor_sub = executor.add_subparsers(dest="action_", required=True)
    change = executor_sub.add_parser("set", help="POST a company's actions (or one action) to a webhook")
    change.add_argument("--company", required=True)
    change.add_argument("--action", help="one action of the catalogue, e.g. scale_workers (default: * = all)")
    change.add_argument("--url", required=True, help="the http(s) URL the signed JSON is POSTed to")
    change.add_argument("--secret", help="signing secret, 16+ characters (default: generated)")
    change.add_argument("--timeout", type=float, help="seconds to wait for an answer, 0.5 to 60 (default 10)")
    change.add_argument("--retries", type=int, help="retries on connection errors and 5xx, 0-5 (default 2)")
    change.set_defaults(func=cmd_executor)
    listing = executor_sub.add_parser("list", help="a company's webhooks (secrets are not shown)")
    listing.add_argument("--company", required=True)
    listing.set_defaults(func=cmd_executor)
    remove = executor_sub.add_parser("remove", help="remove a webhook (the action falls back to '*')")
    remove.add_argument("--company", required=True)
    remove.add_argument("--action", help="the action whose webhook goes (default: the * one)")
    remove.set_defaults(func=cmd_executor)

    for verb, text in (("approve", "approve what the agent recommended for an incident (and run it)"),
                       ("decline", "decline what the agent recommended for an incident")):  # fmt: skip
        decide = sub.add_parser(verb, help=text)
        decide.add_argument("incident", type=int, help="the incident's id")
        decide.add_argument("--recommendation", type=int, required=True, help="the recommendation's id")
        decide.add_argument("--company", required=True)
        decide.add_argument("--note", help="why (required to decline)")
        if verb == "approve":
            decide.add_argument("--confirm", action="store_true", help="needed for medium and high risk")
        decide.set_defaults(func=cmd_decide)

    push = sub.add_parser("ingest", help="push a file of snapshots (the API's JSON, or Prometheus text)")
    push.add_argument("file", help="the file, or - for standard input")
    push.add_argument("--company", required=True)
    push.add_argument("--service", help="the service of Prometheus text (or of JSON items without one)")
    push.set_defaults(func=cmd_ingest)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    return args.func(args)
