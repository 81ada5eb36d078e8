"""`company add`, `service add`, `target add|list|remove` and `ingest FILE`, with and without a server."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.servers import ROOT

NO_SERVER = "http://127.0.0.1:9"


def calmops(
    *args: str, db: Path | None = None, url: str = NO_SERVER, stdin: str | None = None, token: str = ""
):
    import os

    env = {**os.environ, "CALMOPS_URL": url, "CALMOPS_DEMO": "0", "CALMOPS_TOKEN": token}
    if db is not None:
        env["CALMOPS_DB"] = str(db)
    return subprocess.run(
        [sys.executable, "-m", "calmops", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, input=stdin,
    )  # fmt: skip


def ok(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 0, done.stderr
    return done.stdout


def refused(done: subprocess.CompletedProcess, *words: str) -> str:
    assert done.returncode == 1, done.stdout
    assert done.stderr.count("error:") == 1 and "Traceback" not in done.stderr, done.stderr
    assert all(w in done.stderr for w in words), done.stderr
    return done.stderr


def recent() -> str:
    return (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_registry_and_ingest_straight_on_the_store(tmp_path: Path) -> None:
    db = tmp_path / "cli.duckdb"
    out = ok(calmops("company", "add", "acme-freight", "--name", "Acme Freight", db=db))
    assert "added company acme-freight (Acme Freight)" in out
    refused(calmops("company", "add", "acme-freight", "--name", "Again", db=db), "already exists")
    refused(calmops("company", "add", "Acme Freight", "--name", "x", db=db), "slug", "field company")

    ok(
        calmops(
            "service",
            "add",
            "--company",
            "acme-freight",
            "--service",
            "postgres",
            "--kind",
            "database",
            db=db,
        )
    )
    out = ok(calmops("service", "add", "--company", "acme-freight", "--service", "api", "--kind", "api",
                     "--depends-on", "postgres", "--customer-facing", db=db))  # fmt: skip
    assert "added service api (api, customer-facing, depends on postgres)" in out
    refused(calmops("service", "add", "--company", "acme-freight", "--service", "web", "--kind", "web",
                    "--depends-on", "api,cache", db=db), "'cache'", "depends_on[1]")  # fmt: skip

    out = ok(calmops("target", "add", "--company", "acme-freight", "--service", "api", "--url",
                     "http://127.0.0.1:9/health", "--interval", "15", db=db))  # fmt: skip
    target_id = out.split("added target ")[1].split(":")[0]
    refused(calmops("target", "add", "--company", "acme-freight", "--service", "api", "--url", "ftp://x/",
                    db=db), "field url")  # fmt: skip
    listed = json.loads(ok(calmops("target", "list", "--company", "acme-freight", "--json", db=db)))
    assert [(str(t["id"]), t["interval_s"], t["last_probe_at"]) for t in listed["targets"]] == [
        (target_id, 15, None)
    ]
    assert "never probed" in ok(calmops("target", "list", "--company", "acme-freight", db=db))

    snapshots = tmp_path / "push.json"
    snapshots.write_text(json.dumps({"snapshots": [
        {"metric": "cpu_pct", "ts": recent(), "value": 41},
        {"service": "postgres", "metric": "db_connections_pct", "ts": recent(), "value": 63},
    ]}))  # fmt: skip
    out = ok(calmops("ingest", str(snapshots), "--company", "acme-freight", "--service", "api", db=db))
    assert "accepted 2 snapshots, 0 duplicates" in out
    out = ok(calmops("ingest", str(snapshots), "--company", "acme-freight", "--service", "api", db=db))
    assert "accepted 0 snapshots, 2 duplicates" in out
    text = "# TYPE queue_depth gauge\nqueue_depth 7\n"
    out = ok(calmops("ingest", "-", "--company", "acme-freight", "--service", "worker", db=db, stdin=text))
    assert "accepted 1 snapshots" in out
    refused(calmops("ingest", "-", "--company", "acme-freight", db=db, stdin=text), "--service")
    theirs = tmp_path / "theirs.json"
    theirs.write_text(json.dumps({"company": "acme-freight", "snapshots": []}))
    refused(calmops("ingest", str(theirs), "--company", "other-co", db=db), "for company 'acme-freight'")

    refused(calmops("target", "remove", "999999", "--company", "acme-freight", db=db), "no target")
    out = ok(calmops("target", "remove", target_id, "--company", "acme-freight", db=db))
    assert f"removed target {target_id}" in out
    assert "has no targets" in ok(calmops("target", "list", "--company", "acme-freight", db=db))


def test_a_bad_push_file_is_refused_whole(tmp_path: Path) -> None:
    db = tmp_path / "cli.duckdb"
    ok(calmops("company", "add", "acme-freight", "--name", "Acme", db=db))
    bad = tmp_path / "bad.json"
    items = [{"service": "api", "metric": "x", "ts": ts, "value": 1} for ts in (recent(), "noon")]
    bad.write_text(json.dumps({"snapshots": items}))
    refused(calmops("ingest", str(bad), "--company", "acme-freight", db=db), "snapshots[1].ts")
    broken = tmp_path / "broken.json"
    broken.write_text('{"snapshots": [')
    refused(calmops("ingest", str(broken), "--company", "acme-freight", db=db), "not valid JSON")
    refused(
        calmops("ingest", str(tmp_path / "missing.json"), "--company", "acme-freight", db=db), "cannot read"
    )
    refused(calmops("target", "list", "--company", "nobody", db=db), "unknown company")


@pytest.mark.server
def test_the_same_commands_go_through_a_running_server(live_server) -> None:
    company = f"t-{uuid.uuid4().hex[:12]}"
    url, token = live_server.url, live_server.token()
    api = live_server.client()
    cli = functools.partial(calmops, url=url, token=token)
    done = cli("company", "add", company, "--name", "CLI Freight", db=live_server.db_path)
    assert "added company" in ok(done) and "no server" not in done.stderr  # the server holds the file
    ok(cli("service", "add", "--company", company, "--service", "api", "--kind", "api", url=url, token=token))
    refused(cli("service", "add", "--company", company, "--service", "api", "--kind", "api"),
            "already exists")  # fmt: skip
    out = ok(cli("target", "add", "--company", company, "--service", "api", "--url",
                 "http://127.0.0.1:9/health"))  # fmt: skip
    target_id = out.split("added target ")[1].split(":")[0]
    assert f"{target_id}  api" in ok(cli("target", "list", "--company", company))
    text = "# TYPE cpu_pct gauge\ncpu_pct 12\n"
    out = ok(cli("ingest", "-", "--company", company, "--service", "api", stdin=text))
    assert "accepted 1 snapshots" in out
    health = api.get("health", params={"company": company}).json()
    assert [s["metrics"].get("cpu_pct") for s in health["services"]] == [12.0]
    refused(cli("target", "remove", "1", "--company", company), "no target")
    ok(cli("target", "remove", target_id, "--company", company))
    assert api.get("targets", params={"company": company}).json()["targets"] == []
