"""Versioned schema migrations: ``NNNN_name.sql`` files applied in order, each in one transaction."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from importlib import resources

import duckdb

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


def available() -> list[tuple[int, str, str]]:
    """(version, name, sql) for every migration shipped with the package, oldest first."""
    found = []
    for entry in resources.files(__package__).iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), match.group(2), entry.read_text(encoding="utf-8")))
    return sorted(found)


def applied(con: duckdb.DuckDBPyConnection) -> set[int]:
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
    )
    return {row[0] for row in con.execute("SELECT version FROM schema_migrations").fetchall()}


def apply(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply what is missing; a failing migration leaves the store exactly as it was."""
    done = applied(con)
    ran = []
    for version, name, sql in available():
        if version in done:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(sql)
            con.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", [version, name, datetime.now(UTC)])
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
        ran.append(version)
    return ran
