"""Rule evaluation after one round: 1,000 series (125 services × 8 metrics) judged by the default
rules, the way detection runs after every collector round.

    python -m bench.bench_detect [--services 125] [--rounds 21]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from calmops import companies
from calmops.detect import evaluate
from calmops.store import Database, snapshots, unit_of_work

METRICS = (
    "up",
    "error_rate",
    "latency_p95_ms",
    "cpu_pct",
    "memory_pct",
    "queue_depth",
    "disk_pct",
    "db_connections_pct",
)
HEALTHY = {
    "up": 1,
    "error_rate": 0.004,
    "latency_p95_ms": 180,
    "cpu_pct": 35,
    "memory_pct": 50,
    "queue_depth": 40,
    "disk_pct": 55,
    "db_connections_pct": 30,
}
T0 = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


def round_rows(services: list[str], at: datetime, rng: np.random.Generator, breaching: set[str]) -> list:
    rows = []
    for service in services:
        for metric in METRICS:
            value = HEALTHY[metric] * (1 + rng.normal(0, 0.05)) if metric != "up" else 1.0
            if service in breaching and metric == "latency_p95_ms":
                value = 2600.0
            rows.append(("bench", service, metric, "", at, float(round(value, 4))))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--services", type=int, default=125)
    parser.add_argument("--rounds", type=int, default=21)
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    services = [f"svc-{i:03d}" for i in range(args.services)]
    with tempfile.TemporaryDirectory() as folder:
        db = Database(Path(folder) / "bench.duckdb")
        cur = db.cursor()
        with unit_of_work(cur):
            companies.create_company(cur, company="bench", name="Bench", now=T0)
            for service in services:
                companies.add_service(cur, company="bench", service=service, kind="api", now=T0)
        timings = []
        for i in range(args.rounds + 10):  # ten rounds of warm-up history first
            at = T0 + timedelta(seconds=30 * i)
            breaching = set(services[:5]) if i >= 12 else set()  # a few services breach: incidents open
            with unit_of_work(cur):
                snapshots.append(cur, snapshots.batch(round_rows(services, at, rng, breaching)))
            started = time.perf_counter()
            with unit_of_work(cur):
                evaluate(cur, company="bench", now=at)
            if i >= 10:
                timings.append((time.perf_counter() - started) * 1000)
        opened = cur.execute("SELECT count(*) FROM incidents").fetchall()[0][0]
        db.close()
    timings.sort()
    p50, p95 = statistics.median(timings), timings[round(0.95 * (len(timings) - 1))]
    series = args.services * len(METRICS)
    print(f"$ python -m bench.bench_detect --services {args.services} --rounds {args.rounds}")
    print(
        f"rule evaluation after one round, {series:,} series: p50 {p50:.1f} ms, p95 {p95:.1f} ms "
        f"(to reach: ≤ 200 ms); {opened} incidents opened"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
