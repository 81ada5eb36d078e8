"""The server process owns the store: empty start, one writer per file, CHECKPOINT on shutdown."""

from __future__ import annotations

import pytest
import requests

from calmops.store import Database
from tests.conftest import ARTIFACTS
from tests.servers import running_server

pytestmark = pytest.mark.server


def test_empty_store_starts_and_checkpoints_on_stop(tmp_path) -> None:
    db_path = tmp_path / "empty.duckdb"
    with running_server(db_path, ARTIFACTS / "server-empty.log", env={"CALMOPS_DEMO": "0"}) as server:
        admin = server.client()  # the installation-wide admin token made before the start
        assert admin.get("companies").json() == {"companies": []}
        assert admin.get("health").json()["companies"] == []
        assert requests.get(f"{server.url}/api/ops/companies", timeout=10).status_code == 401
        page = requests.get(f"{server.url}/health", timeout=10)
        assert page.status_code == 200  # the Streamlit shell; the page itself explains the empty store
    assert db_path.exists()
    assert not db_path.with_name("empty.duckdb.wal").exists(), "the server must CHECKPOINT when it stops"
    reopened = Database(db_path)  # the lock is released
    assert reopened.cursor().execute("SELECT count(*) FROM companies").fetchall()[0][0] == 0
    reopened.close()
