"""The DuckDB store: one connection owner, versioned migrations, snapshots and a unit of work."""

from calmops.store.db import (
    Cursor,
    Database,
    StoreLockedError,
    close_db,
    cursor,
    get_db,
    open_db,
    unit_of_work,
)

__all__ = [
    "Cursor",
    "Database",
    "StoreLockedError",
    "close_db",
    "cursor",
    "get_db",
    "open_db",
    "unit_of_work",
]
