"""`python -m calmops period-report --company C --since ISO --until ISO --format md|html|pdf|json
[-o FILE]`: a company's period report as a file.

Through the running server's API (`GET /api/ops/reports/period`) when one is up, else straight on
``CALMOPS_DB`` with the same ``period_data`` and renderers, so both give the same file.
"""

from __future__ import annotations

import argparse
import sys

from calmops.cli import CommandError, ProgressBar, _download, _via, _write_report
from calmops.store.db import Cursor
from calmops.timeio import BadTimeError, parse_iso

FORMATS = ("md", "html", "pdf", "json")


def _online(args: argparse.Namespace, bar: ProgressBar) -> tuple[bytes, str]:
    params = {"company": args.company, "since": args.since, "until": args.until, "format": args.format}
    return _download(
        "reports/period",
        params=params,
        fallback_name=f"calmops-period-{args.company}.{args.format}",
        progress=bar,
    )


def _offline(args: argparse.Namespace, cur: Cursor, bar: ProgressBar) -> tuple[bytes, str]:
    from calmops import companies
    from calmops.reports import period

    try:
        since, until = parse_iso(args.since), parse_iso(args.until)
    except BadTimeError as exc:
        raise CommandError(str(exc), "since/until") from None
    try:
        return period.build(
            cur, company=args.company, since=since, until=until, fmt=args.format, progress=bar
        )
    except period.PeriodError as exc:
        raise CommandError(exc.message, exc.field) from None
    except companies.UnknownCompanyError:
        raise CommandError(f"unknown company {args.company!r}", "company") from None


def cmd_period_report(args: argparse.Namespace) -> int:
    """Write the report to ``-o FILE`` (``-`` for standard output), else to the API's file name."""
    what = f"{args.company} from {args.since} to {args.until} as {args.format}"
    print(f"period-report: {what}", file=sys.stderr)
    fetch = lambda bar: _via(lambda: _online(args, bar), lambda cur: _offline(args, cur, bar))  # noqa: E731
    return _write_report("period-report", fetch, args.output)


def add_period_command(sub: argparse._SubParsersAction) -> None:
    report = sub.add_parser("period-report", help="a company's period report, as a file")
    report.add_argument("--company", required=True)
    report.add_argument("--since", required=True, help="start, ISO 8601 with a zone")
    report.add_argument("--until", required=True, help="end (not included), ISO 8601 with a zone")
    report.add_argument("--format", choices=FORMATS, default="md", help="md, html, pdf or json (default md)")
    report.add_argument(
        "-o", "--output", help="the file to write, - for standard output (default: the API's file name)"
    )
    report.set_defaults(func=cmd_period_report)
