"""`POST /api/ops/snapshots` end to end: 1000 snapshots per push over loopback HTTP to a real server.

The store is built first, straight on a new file: one company with 100 services × the 10 canonical
metrics (1000 series) and ``--history-hours`` of history at 60 s in the clustered table, ending an
hour ago. Then a real server starts on it (``streamlit run server.py``, CALMOPS_DEMO=0, so nothing
else writes) and one client on a keep-alive session pushes:

- **fresh** pushes: 1000 snapshots (one per series) at a ts one second after the previous push's,
  all newer than the history, so the duplicate check only reads the small live tail;
- **back-dated** pushes: 1000 snapshots at times inside the history (between its minutes, so they
  are accepted), which the duplicate check must also look up in the clustered history.

Each figure is the client's wall time from sending the request to reading the answer (bodies are
encoded before the clock starts), over ``--pushes`` pushes after ``--warmup`` untimed ones. The
server validates the batch, writes it in one transaction and answers; detection judges the batch
after the answer, so it is not in the figure, but it shares the machine: pushes start
``--gap-ms`` apart (default 250 ms, a push of 1000 snapshots four times a second) so that one
push's detection is done before the next arrives; ``--gap-ms 0`` shows back-to-back pushes.

The targets: p50 ≤ 15 ms, p99 ≤ 40 ms. The "HTTP floor" is a trivial GET on the same connection:
what every request costs before any work. ``--breakdown`` also times the three steps of a push
in-process on a copy of the store.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import requests

from calmops import auth, companies, ingest
from calmops.store import Database, snapshots, unit_of_work
from calmops.vocabulary import CANONICAL_METRICS, ServiceKind

ROOT = Path(__file__).resolve().parents[1]
COMPANY = "bench-push"
BREAKDOWN_WARMUP = 5  # the first writes on a freshly opened copy load its indexes
SERVICES = [f"svc-{i:03d}" for i in range(100)]
# values well inside the default rules, so detection judges every series and opens nothing
TYPICAL = {"up": 1.0, "error_rate": 0.001, "latency_p95_ms": 120.0, "cpu_pct": 35.0, "memory_pct": 50.0,
           "queue_depth": 4.0, "db_connections_pct": 30.0, "disk_pct": 40.0, "request_rate": 80.0,
           "probe_latency_ms": 15.0}  # fmt: skip


def build_store(path: Path, *, history_end: datetime, hours: float) -> int:
    """The company, its services and ``hours`` of history per series, loaded into the clustered table."""
    db = Database(path)
    cur = db.cursor()
    companies.add_company(cur, company=COMPANY, name="Push Bench", actor=auth.system("bench"))
    with unit_of_work(cur):
        for service in SERVICES:
            companies.add_service(cur, company=COMPANY, service=service, kind=ServiceKind.API)
    steps = int(hours * 60)
    end = np.datetime64(history_end.astimezone(UTC).replace(tzinfo=None), "us")
    times = end - np.arange(steps - 1, -1, -1).astype("timedelta64[m]")
    rows = 0
    for service in SERVICES:  # grouped by series, ts order within one: what bulk_load expects
        n = steps * len(CANONICAL_METRICS)
        values = np.concatenate([np.full(steps, TYPICAL[m]) for m in CANONICAL_METRICS])
        table = pa.table(
            {
                "company": pa.array([COMPANY] * n),
                "service": pa.array([service] * n),
                "metric": pa.array(np.repeat(np.array(CANONICAL_METRICS, dtype=object), steps)),
                "labels": pa.array([""] * n),
                "ts": pa.array(np.tile(times, len(CANONICAL_METRICS)), type=pa.timestamp("us", tz="UTC")),
                "value": pa.array(values),
            }
        )
        with unit_of_work(cur):
            rows += snapshots.bulk_load(cur, table)
    db.close()
    return rows


def body(ts: datetime) -> bytes:
    stamp = ts.strftime("%Y-%m-%dT%H:%M:%SZ")
    items = [
        {"service": s, "metric": m, "ts": stamp, "value": TYPICAL[m]}
        for s in SERVICES
        for m in CANONICAL_METRICS
    ]
    return orjson.dumps({"company": COMPANY, "snapshots": items})


def timed_pushes(
    session: requests.Session, url: str, bodies: list[bytes], warmup: int, gap_s: float
) -> list[float]:
    """Milliseconds per push; every push must be accepted whole."""
    out = []
    for i, data in enumerate(bodies):
        time.sleep(gap_s)
        started = time.perf_counter()
        answer = session.post(url, data=data, headers={"Content-Type": "application/json"}, timeout=60)
        elapsed = (time.perf_counter() - started) * 1000
        if answer.status_code != 200 or answer.json()["accepted"] != len(SERVICES) * len(CANONICAL_METRICS):
            raise SystemExit(f"push {i} was not accepted whole: {answer.status_code} {answer.text[:300]}")
        if i >= warmup:
            out.append(elapsed)
    return out


def http_floor(session: requests.Session, url: str, count: int, warmup: int) -> list[float]:
    """What any request costs on the same keep-alive connection: the floor under every push."""
    out = []
    for i in range(warmup + count):
        started = time.perf_counter()
        session.get(url, timeout=10).raise_for_status()
        if i >= warmup:
            out.append((time.perf_counter() - started) * 1000)
    return out


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def line(name: str, samples: list[float]) -> str:
    return (
        f"  {name:<22} p50 {statistics.median(samples):7.2f} ms  p99 {percentile(samples, 99):7.2f} ms  "
        f"mean {statistics.fmean(samples):7.2f} ms  ({len(samples)} pushes of 1000)"
    )


def breakdown(path: Path, fresh: list[bytes], backdated: list[bytes]) -> None:
    """The three steps of a push, in-process on a copy of the store the server left behind."""
    copy = path.with_name("breakdown.duckdb")
    shutil.copy(path, copy)
    db = Database(copy)
    cur = db.cursor()
    print(
        f"in-process, per push (median of {len(fresh) - BREAKDOWN_WARMUP}, after {BREAKDOWN_WARMUP} untimed):"
    )
    for name, bodies in (("fresh", fresh), ("back-dated", backdated)):
        parse, write, detect = [], [], []
        for data in bodies:
            t0 = time.perf_counter()
            batch = ingest.snapshot_batch(orjson.loads(data))
            t1 = time.perf_counter()
            with unit_of_work(cur):
                snapshots.append(cur, snapshots.batch(batch.rows))
            t2 = time.perf_counter()
            ingest.after_ingest(company=COMPANY, services=batch.services, until=batch.newest, cur=cur)
            t3 = time.perf_counter()
            parse.append((t1 - t0) * 1000)
            write.append((t2 - t1) * 1000)
            detect.append((t3 - t2) * 1000)
        parse, write, detect = (times[BREAKDOWN_WARMUP:] for times in (parse, write, detect))
        print(
            f"  {name:<11} parse+validate {statistics.median(parse):6.2f} ms  append (one transaction) "
            f"{statistics.median(write):6.2f} ms  detection {statistics.median(detect):6.2f} ms"
        )
    db.close()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pushes", type=int, default=50, help="timed pushes of each kind (default 50)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed pushes first (default 5)")
    parser.add_argument("--history-hours", type=float, default=24, help="history per series (default 24)")
    parser.add_argument(
        "--gap-ms", type=float, default=250, help="pause before each push (default 250; 0: back to back)"
    )
    parser.add_argument("--breakdown", action="store_true", help="also time parse, append and detection")
    args = parser.parse_args()

    from tests.servers import running_server

    folder = Path(tempfile.mkdtemp(prefix="calmops-bench-push-"))
    path = folder / "push.duckdb"
    history_end = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1)
    started = time.perf_counter()
    rows = build_store(path, history_end=history_end, hours=args.history_hours)
    print(
        f"store: {rows:,} history rows, 1000 series, built in {time.perf_counter() - started:.1f} s",
        flush=True,
    )

    count = args.warmup + args.pushes
    fresh = [body(history_end + timedelta(seconds=1 + i)) for i in range(count)]
    # inside the history, 30 s off its minute grid: new rows that must be checked against history
    back = history_end - timedelta(hours=args.history_hours / 2, seconds=30)
    backdated = [body(back - timedelta(minutes=i)) for i in range(count)]

    try:
        with running_server(path, folder / "server.log", interval_s=30, env={"CALMOPS_DEMO": "0"}) as server:
            url = f"{server.url}/api/ops/snapshots"
            with requests.Session() as session:
                session.headers.update(server.headers(COMPANY, "ingest"))  # what a pushing service holds
                gap = args.gap_ms / 1000
                fresh_ms = timed_pushes(session, url, fresh, args.warmup, gap)
                back_ms = timed_pushes(session, url, backdated, args.warmup, gap)
                session.headers.update(server.headers(COMPANY, "viewer"))  # the floor is a read
                floor_ms = http_floor(session, f"{server.url}/api/ops/companies", args.pushes, args.warmup)
        command = "python -m bench.bench_push " + " ".join(sys.argv[1:])
        print(f"$ {command.strip()}")
        print(line("fresh (after history)", fresh_ms))
        print(line("back-dated (in history)", back_ms))
        ratio = statistics.median(back_ms) / statistics.median(fresh_ms)
        print(f"  back-dated / fresh p50: {ratio:.2f}x")
        print(line("HTTP floor (GET companies)", floor_ms).replace("pushes of 1000", "requests"))
        print("  targets: p50 <= 15 ms, p99 <= 40 ms (fresh)")
        if args.breakdown:  # new times again, so every row is accepted as in the timed pushes
            n = BREAKDOWN_WARMUP + 20
            later = [body(history_end + timedelta(seconds=count + 1 + i)) for i in range(n)]
            earlier = [body(back - timedelta(minutes=count + i)) for i in range(n)]
            breakdown(path, later, earlier)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
