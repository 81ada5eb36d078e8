"""The Targets page: the list with failures first, the probe log, add and remove, and a probe on demand
against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from calmops.auth import system
from calmops.store import cursor, unit_of_work
from calmops.targets import add_target, target_states
from tests.app.conftest import NOW, texts

TARGETS = "pages/targets.py"


class _Health(BaseHTTPRequestHandler):
    """``/ok`` answers JSON health with a metric; ``/broken`` answers 503."""

    def do_GET(self) -> None:
        if self.path == "/ok":
            body, status = json.dumps({"status": "ok", "cpu_pct": 12.5}).encode(), 200
        else:
            body, status = b"unavailable", 503
        self.send_response(status)
        self.send_header("Content-Type", "application/json" if status == 200 else "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def endpoint() -> Iterator[str]:
    """A local health endpoint: the base URL, e.g. ``http://127.0.0.1:40123``."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _open(app, company: str, role: str = "admin"):
    at = app(company, page=TARGETS, role=role).run()
    assert not at.exception, at.exception
    return at


def _click(at, label: str):
    next(b for b in at.button if b.label == label).click()
    at.run()
    assert not at.exception, at.exception
    return at


def _add(company: str, service: str, url: str, **kwargs) -> int:
    return add_target(cursor(), company=company, service=service, url=url, actor=system("test"), **kwargs).id


def _said(at) -> str:
    return texts(at)


def _tables(at, column: str) -> list:
    """The page's tables that have ``column``, in page order (AppTest does not expose their keys)."""
    return [d.value for d in at.dataframe if column in d.value.columns]


def test_failing_targets_first_for_the_company_in_the_url(world, app, endpoint) -> None:
    company = world[1]
    _add(company, "api", f"{endpoint}/ok")
    broken = _add(company, "web", f"{endpoint}/broken", format="json")
    _add(world[0], "api", f"{endpoint}/elsewhere")
    with unit_of_work() as cur:
        cur.execute(
            "UPDATE targets SET last_probe_at = ?, last_ok = false, last_reason = 'HTTP 503', "
            "last_latency_ms = 4 WHERE id = ?",
            [NOW, broken],
        )
    at = _open(app, company)
    table = at.dataframe[0].value
    assert list(table["Service"]) == ["web", "api"]
    assert table["Last probe"][0] == ["Failed"] and table["Reason"][0] == "HTTP 503"
    assert table["Format"][0] == "json" and table["Format"][1] == "detect"
    assert "elsewhere" not in " ".join(table["URL"])
    said = _said(at)
    assert "**2 targets**" in said and "1 failing" in said


def test_add_a_target(world, app, endpoint) -> None:
    company = world[0]
    at = _open(app, company)
    assert "No targets yet" in _said(at)
    at.selectbox(key="tgt_service").select("api")
    at.text_input(key="tgt_url").input(f"{endpoint}/ok")
    at.selectbox(key="tgt_format").select("json")
    at.number_input(key="tgt_timeout").set_value(2.0)
    at.number_input(key="tgt_interval").set_value(60.0)
    _click(at, "Add target")
    [target] = target_states(cursor(), company=company)
    assert (target.service, target.url, target.format) == ("api", f"{endpoint}/ok", "json")
    assert (target.timeout_s, target.interval_s) == (2.0, 60.0)
    assert any("Target added" in s.value for s in at.success)
    assert list(at.dataframe[0].value["URL"]) == [f"{endpoint}/ok"]


def test_a_bad_url_names_the_field(world, app) -> None:
    company = world[0]
    at = _open(app, company)
    at.text_input(key="tgt_url").input("ftp://files.example.com/health")
    _click(at, "Add target")
    assert "**URL:**" in at.error[0].value
    assert target_states(cursor(), company=company) == []


def test_test_this_target_shows_ok_and_the_samples(world, app, endpoint) -> None:
    company = world[0]
    _add(company, "api", f"{endpoint}/ok", timeout_s=2)
    at = _open(app, company)
    _click(at, "Test this target")
    said = _said(at)
    assert "**OK**" in said and "HTTP 200" in said and "format json" in said
    [samples] = _tables(at, "Metric")
    assert {"up", "probe_latency_ms", "cpu_pct"} <= set(samples["Metric"])


def test_test_this_target_shows_why_it_failed(world, app, endpoint) -> None:
    company = world[0]
    _add(company, "web", f"{endpoint}/broken", timeout_s=2)
    at = _open(app, company)
    _click(at, "Test this target")
    said = _said(at)
    assert "**Failed:** HTTP 503" in said and said.count("HTTP 503") == 1


def test_test_a_typed_url_before_adding_it(world, app, endpoint) -> None:
    company = world[0]
    at = _open(app, company)
    at.text_input(key="tgt_url").input(f"{endpoint}/ok")
    _click(at, "Test this URL")
    assert "**OK**" in _said(at)
    assert target_states(cursor(), company=company) == [], "testing does not add"
    closed = endpoint.rsplit(":", 1)[0] + ":9"  # the discard port: nothing listens on loopback
    at.text_input(key="tgt_url").input(f"{closed}/health")
    _click(at, "Test this URL")
    assert "connection refused" in _said(at)


def test_remove_a_target_after_confirming(world, app, endpoint) -> None:
    company = world[0]
    keep = _add(company, "api", f"{endpoint}/ok")
    gone = _add(company, "web", f"{endpoint}/broken")
    at = _open(app, company)
    at.selectbox(key="tgt_remove_id").select(gone)
    assert at.button(key="tgt_remove_button").disabled
    at.checkbox(key="tgt_remove_confirm").check().run()
    at.button(key="tgt_remove_button").click().run()
    assert not at.exception, at.exception
    assert [t.id for t in target_states(cursor(), company=company)] == [keep]
    assert any("Target removed" in s.value for s in at.success)


def test_the_probe_log_puts_failures_first(world, app, endpoint) -> None:
    company = world[0]
    target = _add(company, "api", f"{endpoint}/ok")
    rows = [(company, target, "api", NOW, i != 3, "" if i != 3 else "read timeout: no answer within 5 s")
            for i in range(300)]  # fmt: skip
    with unit_of_work() as cur:
        cur.executemany(
            "INSERT INTO probe_log (company, target_id, service, ts, ok, reason) VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )
    at = _open(app, company)
    assert "1 recent failure" in at.expander[0].label
    at.session_state[f"probe_log_open_{company}"] = True
    at.run()
    failures, everything = _tables(at, "Result")
    assert list(failures["Reason"]) == ["read timeout: no answer within 5 s"]
    assert len(everything) == 200
