"""The post-incident report: how long each format takes for one demo incident, and how big it is.

A demo world is built with ``python -m calmops demo`` (or ``--demo-db`` is copied) and opened
in-process; the incident is the resolved one with the most timeline events (or ``--incident``).
Each format is ``reports.build`` (``report_data`` + ``render``) — what the API, the CLI and the
Incident page do — timed
``--runs`` times after one untimed call (plotly.js is read once per process); the figure is the
median. Targets: ≤ 2 s per format, HTML ≤ 8 MB.

    python -m bench.bench_report [--runs 5] [--demo-db FILE] [--incident ID --company C]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 2.0
HTML_MAX = 8 * 1024 * 1024


def _world(args: argparse.Namespace, folder: Path) -> Path:
    path = folder / "world.duckdb"
    if args.demo_db:
        shutil.copyfile(args.demo_db, path)
    else:
        subprocess.run([sys.executable, "-m", "calmops", "demo", "--days", "2", "--db", str(path)],
                       cwd=ROOT, check=True, capture_output=True)  # fmt: skip
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--demo-db", help="a demo database to copy instead of building one")
    parser.add_argument("--incident", type=int)
    parser.add_argument("--company")
    args = parser.parse_args(argv)

    from calmops import reports
    from calmops.store import Database

    with tempfile.TemporaryDirectory(prefix="calmops-bench-report-") as tmp:
        db = Database(_world(args, Path(tmp)))
        cur = db.cursor()
        if args.incident:
            company, incident_id = args.company, args.incident
        else:
            incident_id, company = cur.execute(
                """SELECT i.id, i.company FROM incidents i JOIN incident_events e ON e.incident_id = i.id
                   WHERE i.status = 'resolved' GROUP BY ALL ORDER BY count(*) DESC, i.id LIMIT 1"""
            ).fetchall()[0]
        print(f"incident {incident_id} of {company}, median of {args.runs} runs after one warm-up")
        failed = False
        for fmt in ("json", "md", "html", "pdf"):
            reports.build(cur, company=company, incident_id=incident_id, fmt=fmt)
            times, size = [], 0
            for _ in range(args.runs):
                started = time.perf_counter()
                body = reports.build(cur, company=company, incident_id=incident_id, fmt=fmt)[0]
                times.append(time.perf_counter() - started)
                size = len(body)
            median = statistics.median(times)
            ok = median <= TARGET_S and (fmt != "html" or size <= HTML_MAX)
            failed |= not ok
            print(f"  {fmt:<5} p50 {median * 1000:8.1f} ms  max {max(times) * 1000:8.1f} ms  "
                  f"{size / 1024:10,.1f} KB  {'ok' if ok else 'OVER TARGET'}")  # fmt: skip
        db.close()
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
