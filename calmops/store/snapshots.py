"""Health snapshots in, buckets and latest values out.

Layout (notes/performance.md): `snapshots` holds history clustered by series, so a chart query
reads a few row groups at any retention; fresh rows land in `snapshots_tail` in time order and
`compact` moves them across, re-clustered, every hour; `latest` keeps the newest value per series.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa

from calmops.store.db import Cursor, first, retry_conflicts, unit_of_work

SERIES_KEY = ("company", "service", "metric", "labels")
SERIES_ORDER = "company, service, metric, labels, ts"
COLUMNS = "company, service, metric, labels, ts, value"
SCHEMA = pa.schema(
    [
        ("company", pa.string()),
        ("service", pa.string()),
        ("metric", pa.string()),
        ("labels", pa.string()),
        ("ts", pa.timestamp("us", tz="UTC")),
        ("value", pa.float64()),
    ]
)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
NICE_BUCKETS_S = (
    1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
)  # fmt: skip


@dataclass(frozen=True)
class WriteResult:
    accepted: int
    duplicates: int


def batch(rows: list[tuple[str, str, str, str, datetime, float]]) -> pa.Table:
    """An Arrow batch from (company, service, metric, labels, ts, value) tuples."""
    if not rows:
        return SCHEMA.empty_table()
    company, service, metric, labels, ts, value = zip(*rows, strict=True)
    micros = {t: (t - EPOCH) // MICROSECOND for t in set(ts)}  # a batch repeats a few times
    arrays = [
        pa.array(company, pa.string()),
        pa.array(service, pa.string()),
        pa.array(metric, pa.string()),
        pa.array(labels, pa.string()),
        pa.array([micros[t] for t in ts], pa.int64()).cast(SCHEMA.field("ts").type),
        pa.array(value, pa.float64()),
    ]
    return pa.Table.from_arrays(arrays, schema=SCHEMA)


def _state(cur: Cursor, key: str) -> str | None:
    row = first(cur, "SELECT value FROM store_state WHERE key = ?", [key])
    return row[0] if row else None


def _set_state(cur: Cursor, key: str, value: str) -> None:
    cur.execute(
        "INSERT INTO store_state VALUES (?, ?) ON CONFLICT DO UPDATE SET value = excluded.value",
        [key, value],
    )


def _history_end(cur: Cursor) -> datetime | None:
    """The newest ts in the clustered table; rows after it can only be in the tail."""
    value = _state(cur, "snapshots_max_ts")
    return datetime.fromisoformat(value) if value else None


def _advance_history_end(cur: Cursor, ts: datetime | None) -> None:
    if ts is None:
        return
    current = _history_end(cur)
    if current is None or ts > current:
        _set_state(cur, "snapshots_max_ts", ts.astimezone(UTC).isoformat())


def _update_latest(cur: Cursor, source: str) -> None:
    """Keep `latest` at the newest value per series; older rows never overwrite newer ones."""
    cur.execute(
        f"""
        INSERT INTO latest
        SELECT company, service, metric, labels, max(ts), arg_max(value, ts)
        FROM {source} GROUP BY ALL
        ON CONFLICT DO UPDATE SET ts = excluded.ts, value = excluded.value
        WHERE excluded.ts > latest.ts
        """
    )


def append(cur: Cursor, rows: pa.Table) -> WriteResult:
    """Append snapshots idempotently: a (series, ts) already stored keeps its first value.

    Runs in the caller's transaction. The common case, one row per series and each newer than
    everything stored for its series, cannot hold a duplicate: moving `latest` forward proves it
    (it moves every series), and the rows go in with a plain insert. Anything else takes the
    careful way (``_append_careful``). The tail's key also guards the plain way: a concurrent
    writer of the same (series, ts) makes this transaction fail with a conflict, and the retry
    takes the careful way.
    """
    incoming = rows.select(list(SCHEMA.names)).cast(SCHEMA)
    total = incoming.num_rows
    if total == 0:
        return WriteResult(0, 0)
    series = incoming.group_by(list(SERIES_KEY), use_threads=False).aggregate([]).num_rows
    cur.register("_incoming", incoming)
    try:
        if series == total and _advance_latest(cur) == total:
            cur.execute(f"INSERT INTO snapshots_tail SELECT {COLUMNS} FROM _incoming")
            return WriteResult(total, 0)
        accepted = _append_careful(cur)
    finally:
        cur.unregister("_incoming")
    return WriteResult(accepted, total - accepted)


def _advance_latest(cur: Cursor) -> int:
    """Move `latest` to the incoming rows (one per series) newer than it; how many moved."""
    return cur.execute(
        """UPDATE latest l SET ts = n.ts, value = n.value FROM _incoming n
        WHERE l.company = n.company AND l.service = n.service AND l.metric = n.metric
          AND l.labels = n.labels AND n.ts > l.ts"""
    ).fetchall()[0][0]


def _append_careful(cur: Cursor) -> int:
    """Rows that may already be stored: the tail's primary key drops duplicates (within the batch
    too) as rows go in; back-dated rows (older than the clustered history's end) are first checked
    against history, which the tail's key cannot see."""
    history_end = _history_end(cur)
    backdated = history_end is not None and bool(
        cur.execute("SELECT count(*) FROM _incoming WHERE ts <= ?", [history_end]).fetchall()[0][0]
    )
    source = "_incoming"
    if backdated:
        source = """(SELECT n.* FROM _incoming n WHERE NOT EXISTS (SELECT 1 FROM snapshots h
            WHERE h.company = n.company AND h.service = n.service AND h.metric = n.metric
              AND h.labels = n.labels AND h.ts = n.ts))"""
    fresh = pa.table(
        cur.execute(
            f"INSERT INTO snapshots_tail SELECT {COLUMNS} FROM {source} "
            f"ON CONFLICT DO NOTHING RETURNING {COLUMNS}"
        ).fetchnumpy()
    )
    if fresh.num_rows:
        cur.register("_fresh", fresh)
        try:
            _update_latest(cur, "_fresh")
        finally:
            cur.unregister("_fresh")
    return fresh.num_rows


def bulk_load(cur: Cursor, rows: pa.Table) -> int:
    """Load history straight into the clustered table (the demo builder, backfills).

    The caller hands rows already grouped by series and in ts order within a series, so the
    table stays clustered without a sort. Runs in the caller's transaction.
    """
    incoming = rows.select(list(SCHEMA.names)).cast(SCHEMA)
    if incoming.num_rows == 0:
        return 0
    cur.register("_bulk", incoming)
    try:
        cur.execute(f"INSERT INTO snapshots SELECT {COLUMNS} FROM _bulk")
        _update_latest(cur, "_bulk")
        newest = cur.execute("SELECT max(ts) FROM _bulk").fetchall()[0][0]
    finally:
        cur.unregister("_bulk")
    _advance_history_end(cur, newest)
    if _state(cur, "sorted_through") is None:
        _set_state(cur, "sorted_through", _floor(newest, 86400).isoformat())
    return incoming.num_rows


def _floor(ts: datetime, step_s: int) -> datetime:
    epoch = int(ts.timestamp())
    return datetime.fromtimestamp(epoch - epoch % step_s, UTC)


@dataclass(frozen=True)
class CompactionResult:
    moved: int
    days_resorted: int


def compact(cur: Cursor, *, now: datetime) -> CompactionResult:
    """Move the tail's completed hours into history, clustered by series; re-sort whole days.

    Hourly moves append one sorted chunk each; once a day is complete its chunks are rewritten
    as one block sorted by series, so a week's chart reads about one row group per day. Every step
    is its own transaction and safe to repeat, so a step that lost a write conflict to a live
    append is simply tried again.
    """
    return retry_conflicts(lambda: _compact(cur, now=now))


def _compact(cur: Cursor, *, now: datetime) -> CompactionResult:
    boundary = _floor(now, 3600)
    with unit_of_work(cur):
        newest = cur.execute("SELECT max(ts) FROM snapshots_tail WHERE ts < ?", [boundary]).fetchall()[0][0]
        moved = 0
        if newest is not None:
            moved = cur.execute(
                f"INSERT INTO snapshots SELECT {COLUMNS} FROM snapshots_tail "
                f"WHERE ts < ? ORDER BY {SERIES_ORDER}",
                [boundary],
            ).fetchall()[0][0]
            cur.execute("DELETE FROM snapshots_tail WHERE ts < ?", [boundary])
            _advance_history_end(cur, newest)
            if _state(cur, "sorted_through") is None:
                oldest = cur.execute("SELECT min(ts) FROM snapshots").fetchall()[0][0]
                _set_state(cur, "sorted_through", _floor(oldest, 86400).isoformat())
    days = 0
    sorted_through = _state(cur, "sorted_through")
    if sorted_through is None:
        return CompactionResult(moved, 0)
    day = datetime.fromisoformat(sorted_through)
    while day + timedelta(days=1) <= _floor(boundary, 86400):
        end = day + timedelta(days=1)
        with unit_of_work(cur):
            cur.execute(
                f"CREATE OR REPLACE TEMP TABLE _day AS SELECT {COLUMNS} FROM snapshots "
                f"WHERE ts >= ? AND ts < ? ORDER BY {SERIES_ORDER}",
                [day, end],
            )
            cur.execute("DELETE FROM snapshots WHERE ts >= ? AND ts < ?", [day, end])
            cur.execute(f"INSERT INTO snapshots SELECT {COLUMNS} FROM _day")
            cur.execute("DROP TABLE _day")
            _set_state(cur, "sorted_through", end.isoformat())
        day = end
        days += 1
    return CompactionResult(moved, days)


def choose_bucket(window: timedelta, *, max_points: int = 2000, min_step_s: int = 60) -> int:
    """Seconds per bucket: the smallest round step that keeps a trace within ``max_points``."""
    need = max(window.total_seconds() / max_points, min_step_s)
    for step in NICE_BUCKETS_S:
        if step >= need:
            return step
    return int(-(-need // 86400) * 86400)


BUCKET_COLUMNS = ["metric", "service", "bucket", "avg", "min", "max", "samples"]


def bucketed(
    cur: Cursor,
    *,
    company: str,
    metrics: Sequence[str],
    services: Sequence[str],
    start: datetime,
    end: datetime,
    bucket_s: int,
    labels: str = "",
) -> pd.DataFrame:
    """Time buckets (avg, min, max, samples) of some metrics of some services, in one query.

    Filtering on the series columns lets DuckDB's zone maps skip every row group of other series;
    one query for all of a page's charts cost a third of one query per chart.
    """
    if not services or not metrics:
        return pd.DataFrame(columns=BUCKET_COLUMNS)
    metric_marks = ", ".join("?" for _ in metrics)
    service_marks = ", ".join("?" for _ in services)
    step_us = bucket_s * 1_000_000
    # Buckets are cut on epoch microseconds and turned into times by pandas: time_bucket() on
    # TIMESTAMPTZ goes through the calendar library row by row (3x slower on a one-day chart).
    # fetchnumpy() skips the per-row Python objects that .df() and fetchall() would build.
    columns = cur.execute(
        f"""
        SELECT metric, service, (epoch_us(ts) // ?) * ? AS bucket,
               avg(value) AS avg, min(value) AS min, max(value) AS max, count(*) AS samples
        FROM health_snapshots
        WHERE company = ? AND labels = ? AND metric IN ({metric_marks}) AND service IN ({service_marks})
          AND ts >= ? AND ts < ?
        GROUP BY ALL
        """,
        [step_us, step_us, company, labels, *metrics, *services, start, end],
    ).fetchnumpy()
    return _frame(
        columns, strings=("metric", "service"), times=("bucket",), order=("metric", "service", "bucket")
    )


def _frame(
    columns: dict, *, strings: tuple[str, ...], times: tuple[str, ...], order: tuple[str, ...]
) -> pd.DataFrame:
    """A DataFrame from ``fetchnumpy()`` columns, cheaply: rows sorted here (DuckDB's ORDER BY
    cost more than the whole query on a chart's few thousand rows), strings kept as Python objects
    (pandas' Arrow string conversion cost more than the query), epoch microseconds made UTC times."""
    keys = [pd.factorize(columns[k], sort=True)[0] if k in strings else columns[k] for k in reversed(order)]
    rows = np.lexsort(keys) if len(columns[order[0]]) else slice(None)
    out = {}
    for name, values in columns.items():
        values = values[rows]
        if name in strings:
            values = pd.Series(values, dtype=object)
        elif name in times:
            values = pd.DatetimeIndex(values.view("M8[us]")).tz_localize("UTC")
        out[name] = values
    return pd.DataFrame(out, copy=False)


def latest(cur: Cursor, *, company: str) -> pd.DataFrame:
    """The newest value of every series of a company (a small table, never a history scan)."""
    columns = cur.execute(
        "SELECT service, metric, labels, epoch_us(ts) AS ts, value FROM latest WHERE company = ?", [company]
    ).fetchnumpy()
    return _frame(
        columns, strings=("service", "metric", "labels"), times=("ts",), order=("service", "metric", "labels")
    )


def newest_ts(cur: Cursor, *, company: str) -> datetime | None:
    return cur.execute("SELECT max(ts) FROM latest WHERE company = ?", [company]).fetchall()[0][0]
