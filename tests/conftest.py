"""Fixtures shared by every test layer: a temporary store, never the real one."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from calmops import clock
from calmops.store import Database, close_db

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test gets its own CALMOPS_DB and the wall clock; nothing leaks into the next test."""
    monkeypatch.setenv("CALMOPS_DB", str(tmp_path / "calmops.duckdb"))
    monkeypatch.setenv("CALMOPS_DEMO", "0")
    yield
    close_db()
    clock.reset()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    """An empty, migrated store in a temporary file."""
    database = Database(tmp_path / "store.duckdb")
    yield database
    database.close()


ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory):
    """One real server per test session, over a small demo world built by the CLI. Its API answers
    only tokens: ``live_server.token(company, role)`` (roles viewer, operator, lead, admin, ingest;
    company None: the installation-wide admin's), ``live_server.client(company, role)`` a session
    sending one, ``live_server.mint(company, role)`` a new one for a company a test made."""
    from tests.servers import build_demo, running_server

    folder = tmp_path_factory.mktemp("server")
    db_path = folder / "calmops.duckdb"
    build_demo(db_path, days=2)
    worker = os.environ.get("PYTEST_XDIST_WORKER")  # each parallel worker runs its own server
    log = ARTIFACTS / (f"server-{worker}.log" if worker else "server.log")
    with running_server(db_path, log) as server:
        yield server
