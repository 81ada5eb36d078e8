"""The period report: how long each format takes on the demo world.

A demo world is built with ``python -m calmops demo`` (14 days, 3 companies, as `make run` builds it)
or ``--demo-db`` is copied, opened in-process with the clock at its last sample, and the period report
of one company over the last ``--days`` days is computed and rendered ``--runs`` times per format
(after one untimed warm-up that pays the imports); each figure is the median. ``data`` is
``period_data`` alone (the queries and the reviews' threshold proposals); each format's figure is
``period_data`` plus its renderer, as the API and the CLI do it. The target is ≤ 2 s each.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

TARGET_S = 2.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_period")
    parser.add_argument("--demo-db", help="a demo world to copy (default: build one, 14 days)")
    parser.add_argument("--company", help="the company (default: the first)")
    parser.add_argument("--days", type=float, default=7, help="the period: the last N days (default 7)")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)

    folder = Path(tempfile.mkdtemp(prefix="calmops-bench-period-"))
    db_path = folder / "calmops.duckdb"
    try:
        if args.demo_db:
            shutil.copyfile(args.demo_db, db_path)
        else:
            subprocess.run([sys.executable, "-m", "calmops", "demo", "--db", str(db_path)], check=True)
        from calmops import clock
        from calmops.reports import period
        from calmops.store import Database

        db = Database(db_path)
        cur = db.cursor()
        (last,) = cur.execute("SELECT max(ts) FROM latest").fetchall()[0]
        clock.freeze(last)
        company = args.company or cur.execute("SELECT min(company) FROM companies").fetchall()[0][0]
        since, until = last - timedelta(days=args.days), last

        def data() -> dict:
            return period.period_data(cur, company=company, since=since, until=until)

        sample = data()
        for fmt in period.FORMATS:
            period.render(sample, fmt)  # warm-up: imports, fonts
        t = sample["totals"]
        print(
            f"period report: {company}, the last {args.days:g} days to {last:%Y-%m-%d %H:%M} UTC: "
            f"{t['incidents']} incidents, {len(sample['actions'])} actions, {len(sample['proposals'])} "
            f"open proposals; median of {args.runs} runs"
        )
        rows = [("data", lambda: data())]
        rows += [(fmt, lambda fmt=fmt: period.render(data(), fmt)) for fmt in period.FORMATS]
        worst = 0.0
        for name, work in rows:
            times, size = [], 0
            for _ in range(args.runs):
                started = time.perf_counter()
                out = work()
                times.append(time.perf_counter() - started)
                size = len(out) if isinstance(out, bytes) else 0
            median = statistics.median(times)
            worst = max(worst, median if name != "data" else 0)
            extra = f"  {size / 1024:,.0f} KiB" if size else ""
            print(
                f"  {name:<5} median {median * 1000:7.0f} ms  min {min(times) * 1000:6.0f}  "
                f"max {max(times) * 1000:6.0f}{extra}"
            )
        verdict = "met" if worst <= TARGET_S else "NOT met"
        print(f"slowest format {worst:.2f} s (target <= {TARGET_S:g} s each): {verdict}")
        db.close()
        return 0 if worst <= TARGET_S else 1
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
