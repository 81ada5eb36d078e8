"""`python -m calmops report INCIDENT --company C --format md|html|pdf|json [-o FILE]`: the
post-incident report as a file.

Through the running server's API (`GET /api/ops/incidents/{id}/report`) when one is up, else
straight on ``CALMOPS_DB``, with the same ``report_data`` and renderers, so both give the same file.
"""

from __future__ import annotations

import argparse
import sys
import time

from calmops.cli import CommandError, _download, _via, _write_report
from calmops.store.db import Cursor

FORMATS = ("md", "html", "pdf", "json")


def _online(args: argparse.Namespace) -> tuple[bytes, str]:
    return _download(
        f"incidents/{args.incident}/report",
        params={"company": args.company, "format": args.format},
        fallback_name=f"calmops-incident-{args.incident}-{args.company}.{args.format}",
        timeout=120,
    )


def _offline(args: argparse.Namespace, cur: Cursor) -> tuple[bytes, str]:
    from calmops import reports
    from calmops.workflow.errors import WorkflowError

    try:
        data = reports.report_data(cur, company=args.company, incident_id=args.incident)
        body, _, name = reports.render(data, args.format)
    except WorkflowError as exc:
        raise CommandError(exc.message, exc.field) from None
    except reports.PdfUnavailable as exc:
        raise CommandError(str(exc), "format") from None
    return body, name


def cmd_report(args: argparse.Namespace) -> int:
    """Write the report to ``-o FILE`` (``-`` for standard output), else to the API's file name."""
    started = time.monotonic()
    print(f"report: incident {args.incident} of {args.company} as {args.format}…", file=sys.stderr)
    fetch = lambda: _via(lambda: _online(args), lambda cur: _offline(args, cur))  # noqa: E731
    return _write_report("report", fetch, args.output, started)


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
