"""The store: migrations, the unit of work, snapshot writes, compaction and bucket queries."""

from __future__ import annotations

import itertools
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta

import pytest

from calmops import companies
from calmops.store import Database, snapshots, unit_of_work
from calmops.store import migrations as mig
from calmops.store.db import RACES, retry_conflicts

T0 = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)


def rows(service: str, metric: str, start: datetime, n: int, step_s: int = 60, base: float = 0.0):
    return [("acme", service, metric, "", start + timedelta(seconds=i * step_s), base + i) for i in range(n)]


def test_migrations_apply_once_and_record_versions(db: Database) -> None:
    cur = db.cursor()
    versions = [v for v, _, _ in mig.available()]
    assert versions == sorted(versions) and versions[0] == 1
    recorded = [r[0] for r in cur.execute("SELECT version FROM schema_migrations ORDER BY 1").fetchall()]
    assert recorded == versions
    assert mig.apply(db._root) == []  # a second start applies nothing


def test_reopening_keeps_data_and_checkpoints(tmp_path) -> None:
    path = tmp_path / "x.duckdb"
    first = Database(path)
    with unit_of_work(first.cursor()) as cur:
        companies.create_company(cur, company="acme", name="Acme")
    first.close()
    assert not (tmp_path / "x.duckdb.wal").exists()
    again = Database(path)
    assert [c.company for c in companies.list_companies(again.cursor())] == ["acme"]
    again.close()


def test_unit_of_work_rolls_back_everything_on_error(db: Database) -> None:
    cur = db.cursor()
    with pytest.raises(RuntimeError), unit_of_work(cur):
        companies.create_company(cur, company="acme", name="Acme")
        raise RuntimeError("boom")
    assert companies.list_companies(cur) == []
    assert cur.execute("SELECT count(*) FROM rules").fetchone()[0] == 0


def test_every_tenant_table_carries_company(db: Database) -> None:
    cur = db.cursor()
    tables = [
        r[0]
        for r in cur.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'"
        ).fetchall()
    ]
    installation_level = {"schema_migrations", "store_state"}
    for table in set(tables) - installation_level:
        columns = {r[0] for r in cur.execute(f"DESCRIBE {table}").fetchall()}
        assert "company" in columns, table
        types = {r[0]: r[1] for r in cur.execute(f"DESCRIBE {table}").fetchall()}
        assert all(t != "TIMESTAMP" for t in types.values()), f"{table} has a naive timestamp"


def test_new_company_gets_default_rules_and_bad_slugs_are_refused(db: Database) -> None:
    cur = db.cursor()
    with unit_of_work(cur):
        companies.create_company(cur, company="acme", name="Acme")
    metrics = {r[0] for r in cur.execute("SELECT DISTINCT metric FROM rules WHERE company='acme'").fetchall()}
    assert {"up", "error_rate", "latency_p95_ms", "queue_depth", "disk_pct"} <= metrics
    with pytest.raises(ValueError):
        companies.create_company(cur, company="Not A Slug", name="x")


def test_append_is_idempotent_on_series_and_ts_and_keeps_first_value(db: Database) -> None:
    cur = db.cursor()
    with unit_of_work(cur):
        first = snapshots.append(cur, snapshots.batch(rows("api", "cpu_pct", T0, 10)))
    assert first == snapshots.WriteResult(10, 0)
    again = [(c, s, m, lab, ts, 999.0) for c, s, m, lab, ts, _ in rows("api", "cpu_pct", T0, 12)]
    with unit_of_work(cur):
        second = snapshots.append(cur, snapshots.batch(again))
    assert second == snapshots.WriteResult(2, 10)
    values = cur.execute("SELECT value FROM health_snapshots ORDER BY ts").fetchall()
    assert [v[0] for v in values[:10]] == list(range(10)) and values[10][0] == 999.0


def test_duplicates_within_one_batch_count_once(db: Database) -> None:
    cur = db.cursor()
    twice = rows("api", "cpu_pct", T0, 3) * 2
    with unit_of_work(cur):
        result = snapshots.append(cur, snapshots.batch(twice))
    assert result == snapshots.WriteResult(3, 3)


def test_backdated_rows_already_in_history_are_duplicates(db: Database) -> None:
    cur = db.cursor()
    with unit_of_work(cur):
        snapshots.bulk_load(cur, snapshots.batch(rows("api", "cpu_pct", T0, 100)))
    with unit_of_work(cur):
        result = snapshots.append(
            cur, snapshots.batch(rows("api", "cpu_pct", T0 + timedelta(minutes=95), 10))
        )
    assert result == snapshots.WriteResult(5, 5)


def test_latest_never_goes_back_in_time(db: Database) -> None:
    cur = db.cursor()
    with unit_of_work(cur):
        snapshots.append(cur, snapshots.batch(rows("api", "cpu_pct", T0 + timedelta(hours=1), 1, base=50)))
        snapshots.append(cur, snapshots.batch(rows("api", "cpu_pct", T0, 1, base=10)))
    latest = snapshots.latest(cur, company="acme")
    assert latest["value"].tolist() == [50.0]


def test_a_round_with_one_stale_series_keeps_its_first_value_and_moves_latest(db: Database) -> None:
    """One row per series, all but one newer than what is stored: the quick way cannot prove
    the batch fresh, so the careful way drops exactly the row already stored."""
    cur = db.cursor()
    first_round = [("acme", svc, "cpu_pct", "", T0, 1.0) for svc in ("web", "api", "db")]
    with unit_of_work(cur):
        assert snapshots.append(cur, snapshots.batch(first_round)) == snapshots.WriteResult(3, 0)
    second_round = [("acme", svc, "cpu_pct", "", T0 + timedelta(minutes=1), 2.0) for svc in ("web", "api")]
    second_round.append(("acme", "db", "cpu_pct", "", T0, 99.0))  # a resend of db's first row
    with unit_of_work(cur):
        assert snapshots.append(cur, snapshots.batch(second_round)) == snapshots.WriteResult(2, 1)
    stored = cur.execute("SELECT service, ts, value FROM health_snapshots WHERE service = 'db'").fetchall()
    assert stored == [("db", T0, 1.0)]
    latest = snapshots.latest(cur, company="acme").set_index("service")["value"].to_dict()
    assert latest == {"web": 2.0, "api": 2.0, "db": 1.0}


def test_concurrent_writers_of_the_same_rows_store_them_once(db: Database) -> None:
    """Two threads append the same fresh round at once (a push and its client's retry): one
    wins, the other retries and finds every row stored."""
    cur = db.cursor()
    with unit_of_work(cur):
        snapshots.append(cur, snapshots.batch([("acme", f"s{i}", "up", "", T0, 1.0) for i in range(50)]))
    later = snapshots.batch([("acme", f"s{i}", "up", "", T0 + timedelta(minutes=1), 0.0) for i in range(50)])
    barrier = threading.Barrier(2)
    results: list[snapshots.WriteResult] = []

    def writer() -> None:
        mine = db.cursor()
        barrier.wait()

        def work() -> snapshots.WriteResult:
            with unit_of_work(mine):
                return snapshots.append(mine, later)

        results.append(retry_conflicts(work, on=RACES))

    threads = [threading.Thread(target=writer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.accepted for r in results) in ([0, 50], [50, 0])
    assert sum(r.duplicates for r in results) == 50
    assert cur.execute("SELECT count(*) FROM health_snapshots").fetchall()[0][0] == 100


def test_compaction_moves_tail_clustered_and_loses_nothing(db: Database) -> None:
    cur = db.cursor()
    with unit_of_work(cur):
        snapshots.bulk_load(cur, snapshots.batch(rows("api", "cpu_pct", T0 - timedelta(days=1), 1440)))
    live = []
    for i in range(180):  # three hours of live rounds, arriving in time order across series
        ts = T0 + timedelta(minutes=i)
        live += [("acme", svc, "cpu_pct", "", ts, float(i)) for svc in ("web", "api", "billing")]
    with unit_of_work(cur):
        snapshots.append(cur, snapshots.batch(live))
    before = cur.execute("SELECT count(*), sum(value) FROM health_snapshots").fetchone()
    result = snapshots.compact(cur, now=T0 + timedelta(hours=2, minutes=30))
    assert result.moved == 2 * 60 * 3
    assert result.days_resorted == 1  # the built history's last day now holds moved chunks too
    assert cur.execute("SELECT count(*), sum(value) FROM health_snapshots").fetchone() == before
    assert cur.execute("SELECT count(*) FROM snapshots_tail").fetchall()[0][0] == 60 * 3
    # rows of a series stand together in the clustered table
    ordered = cur.execute("SELECT service FROM snapshots WHERE ts >= ? ORDER BY rowid", [T0]).fetchall()
    changes = sum(1 for a, b in itertools.pairwise(ordered) if a != b)
    assert changes == 2


def test_compaction_resorts_a_completed_day(db: Database) -> None:
    cur = db.cursor()
    for hour in range(26):
        ts = T0 + timedelta(hours=hour)
        batch = [("acme", svc, "cpu_pct", "", ts, 1.0) for svc in ("web", "api")]
        with unit_of_work(cur):
            snapshots.append(cur, snapshots.batch(batch))
        snapshots.compact(cur, now=ts + timedelta(hours=1))
    day = cur.execute(
        "SELECT service FROM snapshots WHERE ts < ? ORDER BY rowid", [T0 + timedelta(days=1)]
    ).fetchall()
    changes = sum(1 for a, b in itertools.pairwise(day) if a != b)
    assert len(day) == 48 and changes == 1


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        (timedelta(hours=1), 60),
        (timedelta(hours=24), 60),
        (timedelta(days=7), 600),
        (timedelta(days=30), 1800),
    ],
)
def test_bucket_choice_keeps_traces_within_2000_points(window: timedelta, expected: int) -> None:
    step = snapshots.choose_bucket(window)
    assert step == expected
    assert window.total_seconds() / step <= 2000


def test_bucketed_returns_avg_min_max_per_bucket(db: Database) -> None:
    cur = db.cursor()
    with unit_of_work(cur):
        snapshots.bulk_load(cur, snapshots.batch(rows("api", "cpu_pct", T0, 30)))
        snapshots.append(
            cur, snapshots.batch(rows("api", "cpu_pct", T0 + timedelta(minutes=30), 30, base=30))
        )
    frame = snapshots.bucketed(
        cur,
        company="acme",
        metrics=["cpu_pct"],
        services=["api"],
        start=T0,
        end=T0 + timedelta(hours=1),
        bucket_s=600,
    )
    assert len(frame) == 6
    first = frame.iloc[0]
    assert (first["min"], first["max"], first["avg"], first["samples"]) == (0, 9, 4.5, 10)
    assert frame["samples"].sum() == 60  # history and tail both counted


def test_two_processes_cannot_write_one_file(tmp_path) -> None:
    path = tmp_path / "locked.duckdb"
    holder = Database(path)
    code = (
        "import sys; from calmops.store import Database, StoreLockedError\n"
        "try:\n    Database(sys.argv[1])\n"
        "except StoreLockedError as e:\n    print('LOCKED', e); sys.exit(3)\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60)
    holder.close()
    assert done.returncode == 3, done.stderr
    assert "another CalmOps process" in done.stdout
