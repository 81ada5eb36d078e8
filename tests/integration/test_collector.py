"""The collector against real local endpoints: rounds store snapshots and probe records, failures
are on record with their reason, detection follows, and paths resolve against the server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from calmops import companies, incidents, targets
from calmops.health.collector import Collector
from calmops.health.probe import Target
from calmops.store import Database, unit_of_work
from tests.people import person

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


ANSWER = {"status": "ok", "cpu_pct": 41.5, "queue_depth": 12}


class Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps(ANSWER).encode()
        self.send_response(200 if self.path == "/health" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def endpoint() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def world(db: Database, endpoint: str) -> Database:
    cur = db.cursor()
    with unit_of_work(cur):
        companies.create_company(cur, company="acme", name="Acme", now=T0)
        companies.add_service(cur, company="acme", service="api", kind="api", now=T0)
        companies.add_service(cur, company="acme", service="billing", kind="worker", now=T0)
    targets.add_target(cur, company="acme", service="api", url=f"{endpoint}/health", actor=person("test"))
    targets.add_target(
        cur,
        company="acme",
        service="billing",
        url="http://127.0.0.1:9/health",
        timeout_s=1,
        actor=person("test"),
    )
    return db


def test_a_round_stores_what_the_endpoints_said_and_why_one_failed(world: Database, endpoint: str) -> None:
    collector = Collector(world, interval_s=30, base_url=endpoint)
    collector.run_round(T0)
    cur = world.cursor()
    values = dict(
        cur.execute("SELECT service || '/' || metric, value FROM latest WHERE company = 'acme'").fetchall()
    )
    assert values["api/up"] == 1 and values["api/cpu_pct"] == 41.5 and values["api/queue_depth"] == 12
    assert values["billing/up"] == 0 and "billing/probe_latency_ms" in values
    failures = cur.execute("SELECT service, reason FROM probe_log WHERE NOT ok").fetchall()
    assert failures[0][0] == "billing" and "refused" in failures[0][1].lower()
    assert collector.state().ok and collector.state().last_round_at == T0


def test_a_service_that_stays_down_opens_an_incident(world: Database, endpoint: str) -> None:
    collector = Collector(world, interval_s=30, base_url=endpoint)
    for minute in range(4):
        collector.run_round(T0 + timedelta(minutes=minute))
    found = incidents.list_incidents(world.cursor(), company="acme", active_only=True)
    assert [(i.service, i.severity) for i in found] == [("billing", "critical")]
    assert found[0].title == "billing is not answering its health check"


def test_only_due_targets_are_probed_and_paths_resolve_against_the_server(
    world: Database, endpoint: str
) -> None:
    collector = Collector(world, interval_s=10, base_url=endpoint)
    assert collector.resolve(Target(1, "acme", "api", "/health")).url == f"{endpoint}/health"
    collector.run_round(T0, due_only=True)
    collector.run_round(T0 + timedelta(seconds=10), due_only=True)  # interval 30 s: nothing is due
    cur = world.cursor()
    assert cur.execute("SELECT count(*) FROM probe_log").fetchall()[0][0] == 2
    collector.run_round(T0 + timedelta(seconds=30), due_only=True)
    assert cur.execute("SELECT count(*) FROM probe_log").fetchall()[0][0] == 4


def test_the_background_loop_runs_rounds_and_stops(world: Database, endpoint: str) -> None:
    collector = Collector(world, interval_s=0.2, base_url=endpoint)
    collector.start()
    try:
        deadline = datetime.now(UTC) + timedelta(seconds=10)
        while collector.state().last_round_at is None and datetime.now(UTC) < deadline:
            threading.Event().wait(0.05)
        assert collector.state().running and collector.state().last_round_at is not None
    finally:
        collector.stop()
    assert not collector.state().running
