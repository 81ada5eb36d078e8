"""Probes against real HTTP servers on 127.0.0.1: every way an endpoint can answer, or not."""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from calmops.health.parsers import Sample
from calmops.health.probe import ProbeResult, Target, new_session, probe, probe_all, to_rows
from calmops.store import Database, snapshots, unit_of_work

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "health"
NOW = datetime(2026, 11, 26, 22, 3, tzinfo=UTC)
Route = Callable[[BaseHTTPRequestHandler], None]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        route = self.server.routes.get(self.path.split("?")[0])  # type: ignore[attr-defined]
        if route is None:
            self.send_error(404)
            return
        route(self)

    def log_message(self, format: str, *args: object) -> None:
        pass


class LocalServer:
    """A threaded HTTP server on a free loopback port; tests add routes (path → handler function)."""

    def __init__(self) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.routes = {}  # type: ignore[attr-defined]
        self.stop = threading.Event()
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def url(self, path: str, scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def route(self, path: str, fn: Route) -> str:
        self.httpd.routes[path] = fn  # type: ignore[attr-defined]
        return self.url(path)

    def close(self) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[LocalServer]:
    local = LocalServer()
    yield local
    local.close()


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with new_session() as s:
        yield s


def answer(status: int, body: bytes, content_type: str = "application/json", **headers: str) -> Route:
    def respond(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        fields = {"Content-Length": str(len(body))} | {k.replace("_", "-"): v for k, v in headers.items()}
        for name, value in fields.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)

    return respond


def redirect(location: str) -> Route:
    def respond(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(302)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return respond


def hang(stop: threading.Event) -> Route:
    """Read the request, then never answer; when the test ends, hang up so no probe thread lingers."""

    def respond(handler: BaseHTTPRequestHandler) -> None:
        stop.wait(30)
        handler.close_connection = True

    return respond


def slow(delay_s: float, then: Route, stop: threading.Event) -> Route:
    def respond(handler: BaseHTTPRequestHandler) -> None:
        if not stop.wait(delay_s):
            then(handler)
        handler.close_connection = True

    return respond


def target(url: str, *, timeout_s: float = 1.0, fmt: str | None = None, service: str = "orders") -> Target:
    return Target(id=1, company="acme", service=service, url=url, format=fmt, timeout_s=timeout_s)


def own(result: ProbeResult) -> dict[str, float]:
    return {
        s.metric: s.value for s in result.samples if s.labels == "" and s.metric in ("up", "probe_latency_ms")
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- answers


def test_ok_json_answer(server: LocalServer, session: requests.Session) -> None:
    url = server.route("/health", answer(200, (FIXTURES / "json_basic.json").read_bytes()))
    result = probe(target(url), session=session, now=NOW)
    assert (result.ok, result.reason, result.status, result.http_status, result.format) == (
        True, None, "ok", 200, "json",
    )  # fmt: skip
    assert result.checked_at == NOW
    assert own(result)["up"] == 1
    assert own(result)["probe_latency_ms"] == pytest.approx(result.latency_ms, abs=0.01)
    assert 0 < result.latency_ms < 1000
    assert Sample("cpu_pct", "", 41.5) in result.samples
    assert [s.metric for s in result.samples[:2]] == ["up", "probe_latency_ms"]


def test_503_with_a_down_body_fails_but_keeps_what_the_body_says(
    server: LocalServer, session: requests.Session
) -> None:
    body = json.dumps({"status": "down", "db": {"status": "down"}, "queue_depth": 900}).encode()
    url = server.route("/health", answer(503, body))
    result = probe(target(url), session=session)
    assert (result.ok, result.reason, result.status, result.http_status) == (False, "HTTP 503", "down", 503)
    assert own(result)["up"] == 0
    assert Sample("queue_depth", "", 900) in result.samples
    assert Sample("component_up", 'component="db"', 0) in result.samples


def test_spring_down_answer_with_200_is_answered_but_down(
    server: LocalServer, session: requests.Session
) -> None:
    url = server.route("/actuator/health", answer(200, (FIXTURES / "spring_boot_2_0.json").read_bytes()))
    result = probe(target(url), session=session)
    assert (result.ok, result.status, result.format) == (True, "down", "spring")
    assert own(result)["up"] == 0


def test_http_error_with_an_html_page(server: LocalServer, session: requests.Session) -> None:
    url = server.route("/health", answer(502, (FIXTURES / "html_error.html").read_bytes(), "text/html"))
    result = probe(target(url), session=session)
    assert (result.ok, result.reason, result.status, result.format) == (False, "HTTP 502", None, None)
    assert own(result)["up"] == 0 and len(result.samples) == 2


def test_404_is_a_failed_probe(server: LocalServer, session: requests.Session) -> None:
    result = probe(target(server.url("/nowhere")), session=session)
    assert (result.ok, result.reason, result.http_status) == (False, "HTTP 404", 404)


def test_prometheus_metrics_and_health_json(server: LocalServer, session: requests.Session) -> None:
    metrics = server.route(
        "/metrics",
        answer(
            200, (FIXTURES / "prometheus_rich.txt").read_bytes(), "text/plain; version=0.0.4; charset=utf-8"
        ),
    )
    result = probe(target(metrics), session=session)
    assert (result.ok, result.format, result.status) == (True, "prometheus", "ok")
    assert any(s.metric == "latency_p95_ms" for s in result.samples)
    assert sum(1 for s in result.samples if s.metric == "up" and s.labels == "") == 1  # the probe's own
    health = server.route(
        "/health", answer(200, (FIXTURES / "health_json.json").read_bytes(), "application/health+json")
    )
    assert probe(target(health), session=session).format == "health+json"


def test_declared_format_is_used(server: LocalServer, session: requests.Session) -> None:
    url = server.route("/metrics", answer(200, b"queue_depth 7\n", "application/octet-stream"))
    result = probe(target(url, fmt="prometheus"), session=session)
    assert result.ok and result.format == "prometheus"
    assert Sample("queue_depth", "", 7) in result.samples


def test_garbage_body_fails_with_the_parse_error(server: LocalServer, session: requests.Session) -> None:
    url = server.route(
        "/health", answer(200, (FIXTURES / "junk.bin").read_bytes(), "application/octet-stream")
    )
    result = probe(target(url), session=session)
    assert not result.ok and result.http_status == 200
    assert result.reason.startswith("unreadable body: binary body")
    assert own(result)["up"] == 0


def test_empty_200_and_a_bare_status_word(server: LocalServer, session: requests.Session) -> None:
    empty = server.route("/livez", answer(200, b"", "text/plain"))
    word = server.route("/healthz", answer(200, b"ok\n", "text/plain"))
    sick = server.route("/sick", answer(200, b"FAIL", "text/plain"))
    assert (probe(target(empty), session=session).ok, probe(target(empty), session=session).status) == (
        True,
        None,
    )
    assert probe(target(word), session=session).status == "ok"
    result = probe(target(sick), session=session)
    assert (result.ok, result.status, own(result)["up"]) == (True, "down", 0)


def test_gzip_body_is_decoded(server: LocalServer, session: requests.Session) -> None:
    body = gzip.compress(b'{"status": "ok", "cpu": 12}')
    url = server.route("/health", answer(200, body, Content_Encoding="gzip"))
    result = probe(target(url), session=session)
    assert result.ok and Sample("cpu_pct", "", 12) in result.samples


# --- no answer


def test_slow_server_is_a_read_timeout(server: LocalServer, session: requests.Session) -> None:
    url = server.route("/health", slow(2.0, answer(200, b'{"status": "ok"}'), server.stop))
    started = time.perf_counter()
    result = probe(target(url, timeout_s=0.3), session=session)
    assert time.perf_counter() - started < 1.0
    assert not result.ok and result.reason == "read timeout: no answer within 0.3 s"
    assert result.http_status is None and own(result)["up"] == 0


def test_server_that_accepts_and_never_answers(session: requests.Session) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)  # the kernel completes the handshake; nobody ever reads or writes
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/health"
        result = probe(target(url, timeout_s=0.3), session=session)
    assert not result.ok and result.reason.startswith("read timeout")


def test_connect_timeout_is_named(session: requests.Session) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        backlog = []
        for _ in range(4):  # fill the accept queue: further SYNs are dropped, so connect() waits
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", port))
            backlog.append(sock)
        try:
            time.sleep(0.05)
            result = probe(target(f"http://127.0.0.1:{port}/", timeout_s=0.3), session=session)
        finally:
            for sock in backlog:
                sock.close()
    assert not result.ok and result.reason == "connect timeout: no connection to 127.0.0.1 within 0.3 s"


def test_refused_port(session: requests.Session) -> None:
    result = probe(target(f"http://127.0.0.1:{free_port()}/health"), session=session)
    assert (result.ok, result.reason, result.http_status) == (False, "connection refused by 127.0.0.1", None)
    assert own(result)["up"] == 0


def test_dns_failure(session: requests.Session, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_such_host(*args: object, **kwargs: object) -> list:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)  # no resolver traffic leaves the machine
    result = probe(target("http://status.nosuch.invalid/health"), session=session)
    assert (result.ok, result.reason) == (False, "DNS failure: cannot resolve status.nosuch.invalid")


def test_tls_error(server: LocalServer, session: requests.Session) -> None:
    """An https:// URL that answers plain HTTP: the TLS handshake fails (an SSLError in requests).
    The ``cryptography`` package is not installed here, so no self-signed certificate is made."""
    url = server.route("/health", answer(200, b'{"status": "ok"}'))
    result = probe(target(url.replace("http://", "https://")), session=session)
    assert not result.ok and result.reason.startswith("TLS error: ")
    assert "_ssl.c" not in result.reason


def test_invalid_url_is_a_result_not_an_exception(session: requests.Session) -> None:
    result = probe(target("http:///no-host"), session=session)
    assert not result.ok and result.reason.startswith("invalid URL")


# --- redirects


def test_redirects_are_followed_up_to_five(server: LocalServer, session: requests.Session) -> None:
    server.route("/health", answer(200, b'{"status": "ok"}'))
    for i in range(5):
        server.route(f"/r{i}", redirect(f"/r{i + 1}" if i < 4 else "/health"))
    assert probe(target(server.url("/r0")), session=session).ok
    for i in range(7):
        server.route(f"/long{i}", redirect(f"/long{i + 1}"))
    result = probe(target(server.url("/long0")), session=session)
    assert (result.ok, result.reason, result.http_status) == (False, "more than 5 redirects", 302)


def test_redirect_loop_is_named(server: LocalServer, session: requests.Session) -> None:
    server.route("/a", redirect("/b"))
    server.route("/b", redirect(server.url("/a")))
    result = probe(target(server.url("/a")), session=session)
    assert not result.ok
    assert result.reason == f"redirect loop: {server.url('/a')} → {server.url('/b')} → {server.url('/a')}"


def test_redirect_to_another_scheme_is_refused(server: LocalServer, session: requests.Session) -> None:
    server.route("/a", redirect("file:///etc/passwd"))
    result = probe(target(server.url("/a")), session=session)
    assert not result.ok and result.reason.startswith("redirect to a non-HTTP URL")


# --- bodies that never end


def test_body_over_10_mb_is_cut_off(server: LocalServer, session: requests.Session) -> None:
    def endless(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/plain")
        handler.send_header("Connection", "close")
        handler.end_headers()
        chunk = b"x 1\n" * 16384
        try:
            for _ in range(200):  # 12.5 MB, no Content-Length
                handler.wfile.write(chunk)
        except OSError:
            pass
        handler.close_connection = True

    url = server.route("/big", endless)
    result = probe(target(url, timeout_s=5), session=session)
    assert (result.ok, result.reason) == (False, "body larger than 10 MB; stopped reading")
    declared = server.route("/declared", answer(200, b"{}", Content_Length=str(20 * 1024 * 1024)))
    result = probe(target(declared), session=session)
    assert result.reason == "body of 20,971,520 bytes is over the 10 MB limit"


def test_trickling_body_is_cut_off_by_the_time_budget(server: LocalServer, session: requests.Session) -> None:
    def trickle(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", "100000")
        handler.end_headers()
        while not server.stop.wait(0.05):
            try:
                handler.wfile.write(b" ")
                handler.wfile.flush()
            except OSError:
                return

    url = server.route("/trickle", trickle)
    started = time.perf_counter()
    result = probe(target(url, timeout_s=0.4), session=session)
    assert time.perf_counter() - started < 1.0
    assert (result.ok, result.reason) == (False, "read timeout: the body did not finish within 0.4 s")


# --- a round


def test_probe_all_ends_by_its_deadline_despite_hanging_targets(server: LocalServer) -> None:
    good = server.route("/health", answer(200, b'{"status": "ok", "cpu": 5}'))
    stuck = server.route("/stuck", hang(server.stop))
    targets = [
        Target(id=i, company="acme", service=f"svc{i}", url=stuck if i in (1, 4) else good, timeout_s=10)
        for i in range(6)
    ]
    started = time.perf_counter()
    results = probe_all(targets, deadline_s=0.8, now=NOW)
    elapsed = time.perf_counter() - started
    assert elapsed < 1.5
    assert [r.target.id for r in results] == list(range(6))
    assert [r.ok for r in results] == [True, False, True, True, False, True]
    assert results[1].reason == "no answer within the round's deadline (0.8 s)"
    assert {r.checked_at for r in results} == {NOW}
    assert own(results[4])["up"] == 0


def test_probe_all_default_deadline_lets_timeouts_speak(server: LocalServer) -> None:
    stuck = server.route("/stuck", hang(server.stop))
    good = server.route("/health", answer(200, b'{"status": "ok"}'))
    targets = [target(stuck, timeout_s=0.3), target(good, timeout_s=0.3)]
    started = time.perf_counter()
    results = probe_all(targets)
    assert time.perf_counter() - started < 2.3  # the default deadline: 0.3 s + 2 s
    assert results[0].reason == "read timeout: no answer within 0.3 s" and results[1].ok


def test_probe_all_reports_queued_targets_the_deadline_left_unprobed(server: LocalServer) -> None:
    stuck = server.route("/stuck", hang(server.stop))
    good = server.route("/health", answer(200, b'{"status": "ok"}'))
    results = probe_all([target(stuck, timeout_s=10), target(good)], max_workers=1, deadline_s=0.3)
    assert results[0].reason == "no answer within the round's deadline (0.3 s)"
    assert results[1].reason == "not probed: the round's deadline (0.3 s) passed before its turn"


def test_probe_all_survives_a_session_factory_that_fails() -> None:
    def broken() -> requests.Session:
        raise RuntimeError("no sessions today")

    (result,) = probe_all([target("http://127.0.0.1:9/")], session_factory=broken, deadline_s=1)
    assert not result.ok and result.reason == "probe failed: RuntimeError: no sessions today"
    assert probe_all([]) == []


# --- into the store


def test_to_rows_fits_the_snapshot_schema_and_merges_one_service(server: LocalServer, db: Database) -> None:
    good = server.route("/health", answer(200, b'{"status": "ok", "cpu": 5}'))
    bad = server.route("/down", answer(503, b'{"status": "down"}'))
    other = server.route("/metrics", answer(200, b'jobs{queue="a"} 3\n', "text/plain; version=0.0.4"))
    targets = [target(good), target(bad), target(other, service="billing")]
    results = probe_all(targets, now=NOW)
    table = to_rows(results)
    assert table.schema == snapshots.SCHEMA
    rows = {(r["service"], r["metric"], r["labels"]): r for r in table.to_pylist()}
    assert rows[("orders", "up", "")]["value"] == 0  # one of its two probes failed
    assert rows[("orders", "cpu_pct", "")]["value"] == 5
    assert rows[("orders", "probe_latency_ms", "")]["value"] == max(r.latency_ms for r in results[:2])
    assert rows[("billing", "jobs", 'queue="a"')]["value"] == 3
    assert {r["ts"] for r in rows.values()} == {NOW}
    assert {r["company"] for r in rows.values()} == {"acme"}
    with unit_of_work(db.cursor()) as cur:
        written = snapshots.append(cur, table)
    assert (written.accepted, written.duplicates) == (table.num_rows, 0)
