"""The command line: the demo build, its guards, and `check` with and without a server."""

from __future__ import annotations

import getpass
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import ROOT


def calmops(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    environment = {**os.environ, "CALMOPS_URL": "http://127.0.0.1:9", **(env or {})}  # no server there
    return subprocess.run(
        [sys.executable, "-m", "calmops", *args], cwd=ROOT, env=environment, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "demo.duckdb"
    done = calmops("demo", "--days", "1", "--now", "2026-11-26T12:00:00Z", "--db", str(path))
    assert done.returncode == 0, done.stderr
    assert "built" in done.stderr and "snapshots" in done.stderr and "100%" in done.stderr
    return path


def test_demo_refuses_to_overwrite_without_force(demo_db: Path) -> None:
    done = calmops("demo", "--days", "1", "--db", str(demo_db))
    assert done.returncode == 2 and "--force" in done.stderr


def test_demo_if_missing_leaves_an_existing_store_alone(demo_db: Path) -> None:
    before = demo_db.stat().st_mtime_ns
    done = calmops("demo", "--if-missing", "--db", str(demo_db))
    assert done.returncode == 0 and demo_db.stat().st_mtime_ns == before


def test_demo_rejects_a_time_without_zone(tmp_path: Path) -> None:
    done = calmops("demo", "--now", "2026-11-26 12:00", "--db", str(tmp_path / "x.duckdb"))
    assert done.returncode == 2 and "zone" in done.stderr
    assert not (tmp_path / "x.duckdb").exists()


def test_check_without_a_server_reads_the_store(demo_db: Path) -> None:
    done = calmops("check", "--json", env={"CALMOPS_DB": str(demo_db)})
    assert done.returncode == 0, done.stderr
    assert "no server running" in done.stderr
    body = json.loads(done.stdout)
    assert len(body["companies"]) == 3
    # the history ended at --now, long ago for the wall clock: a blind store never looks green
    assert all(c["status"] != "ok" for c in body["companies"])
    assert all(s["status"] == "unknown" for c in body["companies"] for s in c["services"])


def test_check_names_an_unknown_company(demo_db: Path) -> None:
    done = calmops("check", "--company", "nobody", env={"CALMOPS_DB": str(demo_db)})
    assert done.returncode == 1 and "unknown company" in done.stderr


@pytest.mark.server
def test_check_goes_through_a_running_server(live_server) -> None:
    env = {"CALMOPS_URL": live_server.url, "CALMOPS_DB": str(live_server.db_path)}
    refused = calmops("check", env=env)  # the server wants a token
    assert refused.returncode == 1 and "CALMOPS_TOKEN" in refused.stderr
    done = calmops("check", env={**env, "CALMOPS_TOKEN": live_server.token()})
    assert done.returncode == 0, done.stderr
    assert "no server running" not in done.stderr
    assert "northwind-freight:" in done.stdout and "dispatch-worker" in done.stdout


def test_approve_from_the_cli_follows_the_golden_rule(demo_db: Path, tmp_path: Path) -> None:
    import shutil

    import duckdb

    path = tmp_path / "decide.duckdb"
    shutil.copyfile(demo_db, path)
    with duckdb.connect(str(path)) as con:  # a proposal of an incident, and one of another incident
        rows = con.execute(
            "SELECT r.id, r.incident_id, r.company FROM recommendations r "
            "JOIN incidents i ON i.id = r.incident_id WHERE r.status = 'proposed' AND i.status <> 'resolved' "
            "ORDER BY r.id"
        ).fetchall()
        other = con.execute(
            "SELECT id FROM recommendations WHERE incident_id <> ? ORDER BY id LIMIT 1", [rows[0][1]]
        ).fetchall()[0][0]
    rec_id, incident_id, company = rows[0]
    env = {"CALMOPS_DB": str(path)}
    refused = calmops(
        "approve", str(incident_id), "--recommendation", str(other), "--company", company, env=env
    )
    assert refused.returncode == 1 and "golden rule" in refused.stderr
    declined = calmops("decline", str(incident_id), "--recommendation", str(rec_id), "--company", company,
                       "--note", "not now", env=env)  # fmt: skip
    assert declined.returncode == 0, declined.stderr
    assert f"recommendation {rec_id}" in declined.stdout and "declined" in declined.stdout
    again = calmops(
        "approve", str(incident_id), "--recommendation", str(rec_id), "--company", company, env=env
    )
    assert again.returncode == 1 and f"already declined by cli:{getpass.getuser()}" in again.stderr
    with duckdb.connect(str(path)) as con:
        refusals = con.execute("SELECT count(*) FROM audit_log WHERE action = 'approve.refused'").fetchall()[
            0
        ][0]
    assert refusals == 2


def test_period_report_from_the_cli_counts_what_the_store_holds(demo_db: Path, tmp_path: Path) -> None:
    import duckdb

    since, until = "2026-11-25T12:00:00Z", "2026-11-26T12:00:00Z"
    with duckdb.connect(str(demo_db), read_only=True) as con:
        company, expected = con.execute(
            "SELECT company, count(*) FROM incidents WHERE started_at >= ?::TIMESTAMPTZ AND started_at < "
            "?::TIMESTAMPTZ GROUP BY company ORDER BY company LIMIT 1",
            [since, until],
        ).fetchall()[0]
    out = tmp_path / "period.json"
    args = ("--company", company, "--since", since, "--until", until, "--format", "json", "-o", str(out))
    done = calmops("period-report", *args, env={"CALMOPS_DB": str(demo_db)})
    assert done.returncode == 0, done.stderr
    assert "reading the period's incidents" in done.stderr and "] 100% " in done.stderr
    body = json.loads(out.read_text())
    assert body["schema"] == "calmops.period-report/1" and body["company"]["company"] == company
    assert body["totals"]["incidents"] == expected
    refused = calmops("period-report", "--company", company, "--since", until, "--until", since,
                      env={"CALMOPS_DB": str(demo_db)})  # fmt: skip
    assert refused.returncode != 0 and "error" in refused.stderr
