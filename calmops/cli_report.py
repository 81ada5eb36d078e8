"""`python -m calmops report INCIDENT --company C --format md|html|pdf|json [-o FILE]`: the
post-incident report as a file.

Through the running server's API (`GET /api/ops/incidents/{id}/report`) when one is up, else
straight on ``CALMOPS_DB``, with the same ``report_data`` and renderers, so both give the same file.
"""

from __future__ import annotations

import argparse
import sys

from calmops.cli import CommandError, ProgressBar, _download, _via, _write_report
from calmops.store.db import Cursor

FORMATS = ("md", "html", "pdf", "json")


def _online(args: argparse.Namespace, bar: ProgressBar) -> tuple[bytes, str]:
    return _download(
        f"incidents/{args.incident}/report",
        params={"company": args.company, "format": args.format},
        fallback_name=f"calmops-incident-{args.incident}-{args.company}.{args.format}",
        progress=bar,
        timeout=120,
    )


def _offline(args: argparse.Namespace, cur: Cursor, bar: ProgressBar) -> tuple[bytes, str]:
    from calmops import reports
    from calmops.workflow.errors import WorkflowError

    try:
        body, _, name = reports.build(
            cur, company=args.company, incident_id=args.incident, fmt=args.format, progress=bar
        )
    except WorkflowError as exc:
        raise CommandError(exc.message, exc.field) from None
    return body, name


def cmd_report(args: argparse.Namespace) -> int:
    """Write the report to ``-o FILE`` (``-`` for standard output), else to the API's file name."""
    print(f"report: incident {args.incident} of {args.company} as {args.format}", file=sys.stderr)
    fetch = lambda bar: _via(lambda: _online(args, bar), lambda cur: _offline(args, cur, bar))  # noqa: E731
    return _write_report("report", fetch, args.output)


def add_report_command(sub: argparse._SubParsersAction) -> None:
    report = sub.add_parser("report", help="the post-incident report of an incident, as a file")
    report.add_argument("incident", type=int, help="the incident's id")
    report.add_argument("--company", required=True)
    report.add_argument("--format", choices=FORMATS, default="md", help="md, html, pdf or json (default md)")
    report.add_argument(
        "-o",
        "--output",
        help="the file to write, - for standard output (default: calmops-incident-ID-COMPANY.EXT)",
    )
    report.set_defaults(func=cmd_report)
