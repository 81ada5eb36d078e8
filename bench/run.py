"""`make bench`: chart, latest-state and Health-page timings on 10M- and 100M-row stores.

The stores are built once with the demo generator (the same world as `make run`, scaled with its
flags) into bench/data/ and reused. The machine is noisy, so store figures are taken in passes that
alternate between the two stores, and every figure is a median (and p95) over all passes; the
command that produced them is printed with them.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "data"
NOW = "2026-11-01T00:00:00Z"  # fixed, so a rebuilt store holds the same rows

# Same world shape in both stores; 10x the retention gives 10x the rows.
SIZES = {
    "10M": {"days": 3, "companies": 15, "services": 20, "step": 60},
    "100M": {"days": 30, "companies": 15, "services": 20, "step": 60},
}
WINDOWS = {
    "24 h at 1 min": (timedelta(hours=24), 60),
    "7 d at 5 min": (timedelta(days=7), 300),
    "30 d at 15 min": (timedelta(days=30), 900),
}
PLAN_QUERY = (
    "EXPLAIN ANALYZE SELECT count(*) FROM snapshots WHERE company = ? AND service = ? "
    "AND metric = 'latency_p95_ms' AND labels = '' AND ts >= ? AND ts < ?"
)


BENCH_PASSWORD = "bench-viewer-password"  # the account the bench adds to its own stores


def build(name: str) -> Path:
    path = DATA / f"calmops-{name}.duckdb"
    if path.exists():
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    flags = [f"--{key}={value}" for key, value in SIZES[name].items()]
    command = [
        sys.executable,
        "-m",
        "calmops",
        "demo",
        "--no-replay",
        "--db",
        str(path),
        "--now",
        NOW,
        *flags,
    ]
    print(f"building {name}: python {' '.join(command[1:])}", flush=True)
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True)
    print(f"built {name} in {time.perf_counter() - started:.0f} s", flush=True)
    return path


def sample(fn: Callable[[], object], runs: int) -> list[float]:
    """Milliseconds per call, after one warm-up call."""
    fn()
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def p50_p95(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[round(0.95 * (len(ordered) - 1))]


@dataclass
class Store:
    """One benchmark store, open, with the series every chart query asks for."""

    name: str
    db: object
    company: str
    service: str
    end: datetime
    rows: int
    series: int


def open_store(name: str, path: Path) -> Store:
    from calmops.store import Database

    db = Database(path)
    cur = db.cursor()
    company, service = cur.execute(
        "SELECT company, service FROM services WHERE service = 'api' ORDER BY company LIMIT 1"
    ).fetchall()[0]
    end = cur.execute("SELECT max(ts) FROM latest").fetchall()[0][0]
    rows = cur.execute("SELECT count(*) FROM health_snapshots").fetchall()[0][0]
    series = cur.execute("SELECT count(*) FROM latest").fetchall()[0][0]
    return Store(name, db, company, service, end, rows, series)


def store_pass(store: Store, runs: int, samples: dict) -> dict[str, int]:
    """One pass of every store figure; returns the points each chart query gave."""
    from calmops.health.service import company_health
    from calmops.store import snapshots

    cur = store.db.cursor()
    points = {}
    for label, (window, bucket) in WINDOWS.items():

        def chart(window: timedelta = window, bucket: int = bucket) -> object:
            return snapshots.bucketed(
                cur,
                company=store.company,
                metrics=["latency_p95_ms"],
                services=[store.service],
                start=store.end - window,
                end=store.end,
                bucket_s=bucket,
            )

        points[label] = len(chart())
        samples[(store.name, f"chart query {label}")] += sample(chart, runs)
    samples[(store.name, "latest state")] += sample(
        lambda: snapshots.latest(cur, company=store.company), runs
    )
    samples[(store.name, "company health")] += sample(
        lambda: company_health(cur, company=store.company, interval_s=60, now=store.end), runs
    )
    return points


def row_groups(store: Store) -> dict[str, str]:
    """Row groups read per chart window, from the plans (on their own cursor: EXPLAIN ANALYZE
    leaves profiling on for the connection that ran it)."""
    explain = store.db.cursor()
    out = {}
    for label, (window, _) in WINDOWS.items():
        plan = explain.execute(
            PLAN_QUERY, [store.company, store.service, store.end - window, store.end]
        ).fetchall()
        found = re.findall(r"Row Groups Scanned:\s*([\d,]+)\s*/\s*([\d,]+)", str(plan[0][1]))
        out[label] = " / ".join(found[0]) if found else "?"
    return out


def page_figures(path: Path, runs: int) -> tuple[list[float], list[int]]:
    """The Health page's server time per rerun (AppTest) and the size of each chart it ships."""
    from streamlit.testing.v1 import AppTest

    from calmops import auth, clock
    from calmops.auth import service as accounts
    from calmops.store import close_db, cursor
    from calmops.ui.signin import SESSION_KEY

    os.environ["CALMOPS_DB"] = str(path)
    company, end = cursor().execute("SELECT min(company), max(ts) FROM latest").fetchall()[0]
    viewer, _ = accounts.add_user(cursor(), name="bench-viewer", company=company, role="viewer",
                                  actor=auth.system("bench"), password=BENCH_PASSWORD)  # fmt: skip
    clock.freeze(end)  # the page's live window ends "now": the end of the stored history
    try:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.query_params["company"] = company
        # A viewer's session, as the sign-in form opens one (the store checks it on every run).
        at.session_state[SESSION_KEY] = accounts.open_session(cursor(), identity=accounts.identity_of(viewer))
        at.switch_page("pages/health.py").run()
        assert not at.exception, at.exception
        assert at.get("plotly_chart"), "signed in, the Health page draws its charts"
        rerun = sample(lambda: at.run(), runs)
        sizes = [len(chart.proto.spec) for chart in at.get("plotly_chart")]
    finally:
        close_db()
        clock.reset()
    return rerun, sizes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7, help="timed calls per figure in each pass")
    parser.add_argument("--passes", type=int, default=3, help="passes alternating between the stores")
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    args = parser.parse_args()
    command = f"python -m bench.run --runs {args.runs} --passes {args.passes} --sizes {' '.join(args.sizes)}"
    paths = {name: build(name) for name in args.sizes}

    stores = [open_store(name, path) for name, path in paths.items()]
    samples: dict[tuple[str, str], list[float]] = defaultdict(list)
    points: dict[str, dict[str, int]] = {}
    for _ in range(args.passes):
        for store in stores:
            points[store.name] = store_pass(store, args.runs, samples)
    plans = {store.name: row_groups(store) for store in stores}
    shape = {store.name: (store.rows, store.series) for store in stores}
    for store in stores:
        store.db.close()
    pages = {name: page_figures(path, args.runs * 2) for name, path in paths.items()}

    print(f"\n$ {command}")
    for name in paths:
        rows, series = shape[name]
        print(f"== {name}: {rows:,} snapshot rows, {series:,} series")
        for (size, figure), values in samples.items():
            if size != name:
                continue
            p50, p95 = p50_p95(values)
            extra = ""
            if figure.startswith("chart query "):
                label = figure.removeprefix("chart query ")
                extra = f"  {points[name][label]} points, row groups read {plans[name][label]}"
            print(f"  {figure:<28} p50 {p50:7.2f} ms  p95 {p95:7.2f} ms{extra}")
        rerun, sizes = pages[name]
        p50, p95 = p50_p95(rerun)
        page = "health page rerun"
        print(f"  {page:<28} p50 {p50:7.2f} ms  p95 {p95:7.2f} ms  (AppTest, {len(sizes)} charts)")
        largest, total = max(sizes, default=0) / 1000, sum(sizes) / 1000
        print(f"  {'chart JSON':<28} largest {largest:.0f} KB, all charts of the page {total:.0f} KB")
    if {"10M", "100M"} <= paths.keys():
        label = "chart query 24 h at 1 min"
        ratio = p50_p95(samples[("100M", label)])[0] / p50_p95(samples[("10M", label)])[0]
        print(f"\nsame window (24 h at 1 min) with 10x the retained rows: {ratio:.2f}x the p50")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
