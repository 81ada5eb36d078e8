"""The one owner of the DuckDB file in this process.

DuckDB allows one writing process per file, and one connection object must never be shared by
two threads, so the process keeps a single root connection and hands each thread its own
``cursor()``. Every logical change runs in one ``BEGIN … COMMIT`` (``unit_of_work``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import duckdb

from calmops.store import migrations

Cursor = duckdb.DuckDBPyConnection
T = TypeVar("T")


def first(cur: Cursor, sql: str, params: list | None = None) -> tuple | None:
    """The first row or None, fetching the whole result: DuckDB 2.0 streams results, and a
    half-read one blocks register/unregister on that cursor."""
    rows = cur.execute(sql, params or []).fetchall()
    return rows[0] if rows else None


RACES: tuple[type[Exception], ...] = (duckdb.TransactionException, duckdb.ConstraintException)


def retry_conflicts(
    work: Callable[[], T],
    *,
    attempts: int = 4,
    on: tuple[type[Exception], ...] = (duckdb.TransactionException,),
) -> T:
    """Run a unit of work again when a concurrent writer won a DuckDB write-write conflict.

    The collector, the demo feeder and API requests write from different threads; the loser of a
    conflict gets ``TransactionException`` with its transaction rolled back, and a second try sees
    the winner's rows (a pushed duplicate then counts as a duplicate, not as a server error). Work
    whose only possible key clash is such a race (idempotent writes) passes ``on=RACES``: a row
    committed by another thread after this transaction began clashes with ``ConstraintException``.
    """
    for attempt in range(attempts):
        try:
            return work()
        except on:
            if attempt == attempts - 1:
                raise
            time.sleep(0.005 * (attempt + 1))
    raise AssertionError("unreachable")


class StoreLockedError(RuntimeError):
    """Another process holds the database file (DuckDB allows one writer per file)."""


class Database:
    """A root connection and the per-thread cursors derived from it."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._root = duckdb.connect(str(path))
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise StoreLockedError(
                    f"{path} is in use by another CalmOps process (a running server?). "
                    "Talk to that server over HTTP, or stop it first."
                ) from exc
            raise
        self._root.execute("SET GLOBAL TimeZone = 'UTC'")
        self._local = threading.local()
        self._closed = False
        migrations.apply(self._root)

    def cursor(self) -> Cursor:
        """This thread's cursor: its own transaction context, never shared across threads."""
        if self._closed:
            raise RuntimeError("the store is closed")
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._root.cursor()
            self._local.cursor = cur
        return cur

    def checkpoint(self) -> None:
        """Fold the write-ahead log into the database file."""
        self._root.cursor().execute("CHECKPOINT")

    def close(self) -> None:
        """CHECKPOINT and close; safe to call twice."""
        if self._closed:
            return
        try:
            self.checkpoint()
        finally:
            self._closed = True
            self._root.close()


_lock = threading.Lock()
_db: Database | None = None


def open_db(path: Path | str | None = None) -> Database:
    """Open (or return) the process's database; ``path`` defaults to ``CALMOPS_DB``."""
    global _db
    from calmops.config import settings

    with _lock:
        wanted = Path(path) if path is not None else settings().db_path
        if _db is not None and not _db._closed:
            if _db.path.resolve() == wanted.resolve():
                return _db
            _db.close()
        _db = Database(wanted)
        return _db


def get_db() -> Database:
    """The open database, opening ``CALMOPS_DB`` lazily (pages under AppTest have no lifespan)."""
    db = _db
    if db is None or db._closed:
        return open_db()
    return db


def cursor() -> Cursor:
    return get_db().cursor()


def close_db() -> None:
    global _db
    with _lock:
        if _db is not None:
            _db.close()
        _db = None


@contextmanager
def unit_of_work(cur: Cursor | None = None) -> Iterator[Cursor]:
    """One transaction: commit when the block ends, roll back on any exception."""
    cur = cur if cur is not None else cursor()
    cur.execute("BEGIN TRANSACTION")
    try:
        yield cur
    except BaseException:
        cur.execute("ROLLBACK")
        raise
    cur.execute("COMMIT")
