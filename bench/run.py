"""`make bench`: chart, latest-state and Health-page timings on 10M- and 100M-row stores.

The stores are built once with the demo generator (the same world as `make run`, scaled with its
flags) into bench/data/ and reused. Every figure is a median (and p95) of repeated runs in this one
process, since the machine is noisy; the command that produced them is printed with them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "data"
NOW = "2026-11-01T00:00:00Z"  # fixed, so a rebuilt store holds the same rows

# Same world shape in both stores; 10x the retention gives 10x the rows.
SIZES = {
    "10M": {"days": 3, "companies": 15, "services": 20, "step": 60},
    "100M": {"days": 30, "companies": 15, "services": 20, "step": 60},
}
WINDOWS = [("24 h at 1 min", timedelta(hours=24), 60), ("7 d at 5 min", timedelta(days=7), 300),
           ("30 d at 15 min", timedelta(days=30), 900)]  # fmt: skip


def build(name: str) -> Path:
    path = DATA / f"calmops-{name}.duckdb"
    if path.exists():
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    flags = SIZES[name]
    command = [sys.executable, "-m", "calmops", "demo", "--no-replay", "--db", str(path), "--now", NOW,
               *[f"--{k}={v}" for k, v in flags.items()]]  # fmt: skip
    print(f"building {name}: {' '.join(command[1:])}", flush=True)
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True)
    print(f"built {name} in {time.perf_counter() - started:.0f} s", flush=True)
    return path


def timed(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    """(p50, p95) in milliseconds after one warm-up run."""
    fn()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]


def store_figures(path: Path, runs: int) -> dict:
    from calmops.store import Database, snapshots

    db = Database(path)
    cur = db.cursor()
    total = cur.execute("SELECT count(*) FROM health_snapshots").fetchall()[0][0]
    company, service = cur.execute(
        "SELECT company, service FROM services WHERE service = 'api' ORDER BY company LIMIT 1"
    ).fetchall()[0]
    end = cur.execute("SELECT max(ts) FROM latest").fetchall()[0][0]
    out = {"rows": total, "series": cur.execute("SELECT count(*) FROM latest").fetchall()[0][0]}
    for label, window, bucket in WINDOWS:

        def query(window=window, bucket=bucket):
            return snapshots.bucketed(cur, company=company, metrics=["latency_p95_ms"], services=[service],
                                      start=end - window, end=end, bucket_s=bucket)  # fmt: skip

        points = len(query())
        out[label] = (*timed(query, runs), points)
        plan = cur.execute(
            "EXPLAIN ANALYZE SELECT count(*) FROM snapshots WHERE company = ? AND service = ? "
            "AND metric = 'latency_p95_ms' AND labels = '' AND ts >= ? AND ts < ?",
            [company, service, end - window, end],
        ).fetchall()
        text = "\n".join(str(r[1]) for r in plan)
        import re

        scanned = re.findall(r"Row Groups Scanned:\s*([\d,]+)\s*/\s*([\d,]+)", text)
        out[f"{label} row groups"] = " / ".join(scanned[0]) if scanned else "?"
    out["latest state"] = timed(lambda: snapshots.latest(cur, company=company), runs)
    from calmops.health.service import company_health

    out["company health"] = timed(lambda: company_health(cur, company=company, interval_s=60, now=end), runs)
    db.close()
    return out


def page_figures(path: Path, runs: int) -> dict:
    """The Health page's server time per rerun (AppTest) and the size of the charts it ships."""
    from streamlit.testing.v1 import AppTest

    from calmops import clock
    from calmops.store import close_db, cursor

    os.environ["CALMOPS_DB"] = str(path)
    company, end = cursor().execute("SELECT min(company), max(ts) FROM latest").fetchall()[0]
    clock.freeze(end)  # the page's live window ends "now": the end of the stored history
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["company"] = company
    at.run()
    at.switch_page("pages/health.py").run()
    assert not at.exception, at.exception
    timing = timed(lambda: at.run(), runs)
    charts = at.get("plotly_chart")
    sizes = [len(c.proto.spec) for c in charts]
    close_db()
    clock.reset()
    return {
        "health page rerun": timing,
        "charts": len(sizes),
        "largest chart KB": max(sizes, default=0) / 1000,
        "page charts KB": sum(sizes) / 1000,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15, help="timed runs per figure (median and p95)")
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    args = parser.parse_args()
    print(f"command: python -m bench.run --runs {args.runs} --sizes {' '.join(args.sizes)}")
    results = {}
    for name in args.sizes:
        path = build(name)
        results[name] = store_figures(path, args.runs) | page_figures(path, max(5, args.runs // 3))
    print()
    for name, figures in results.items():
        print(f"== {name}: {figures['rows']:,} snapshot rows, {figures['series']:,} series")
        for key, value in figures.items():
            if key in ("rows", "series"):
                continue
            if isinstance(value, tuple) and len(value) == 3:
                p50, p95, points = value
                print(f"  chart query {key:<18} p50 {p50:7.2f} ms  p95 {p95:7.2f} ms  ({points} points)")
            elif isinstance(value, tuple):
                print(f"  {key:<30} p50 {value[0]:7.2f} ms  p95 {value[1]:7.2f} ms")
            else:
                print(f"  {key:<30} {value}")
    if {"10M", "100M"} <= results.keys():
        label = WINDOWS[0][0]
        ratio = results["100M"][label][0] / results["10M"][label][0]
        print(f"\nsame window ({label}), 10x the retained rows: {ratio:.2f}x the p50")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
