"""One collector round (``probe_all``) over hundreds of local health endpoints, a few of them hanging.

A few threaded HTTP servers on 127.0.0.1 serve many paths each, answering with the sample bodies of
tests/fixtures/health (plain JSON, Spring Boot, health+json, Prometheus text); some paths accept the
request and never answer. The servers run in a child process, as real endpoints would: in the
collector's own process they would take the collector's CPU and GIL. With every target's timeout at
10 s, a round must end by the hanging targets' read timeout, not by the sum of anything: the figure
to reach is ≤ 12 s (the round's deadline). Prints the median wall time of the rounds and the command
that produced it.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

from calmops.health.probe import Target, probe_all, to_rows

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "health"
BODIES = [
    ("json_basic.json", "application/json"),
    ("json_nested.json", "application/json"),
    ("spring_boot.json", "application/vnd.spring-boot.actuator.v3+json"),
    ("health_json.json", "application/health+json"),
    ("prometheus_rich.txt", "text/plain; version=0.0.4; charset=utf-8"),
    ("openmetrics.txt", "application/openmetrics-text; version=1.0.0"),
]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # socketserver's default of 5 drops SYNs when 32 probes connect at once


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    bodies: ClassVar[list[tuple[bytes, str]]] = []
    stop: ClassVar[threading.Event] = threading.Event()

    def do_GET(self) -> None:
        kind, _, number = self.path.strip("/").partition("/")
        if kind == "hang":
            self.stop.wait(60)
            self.close_connection = True
            return
        body, content_type = self.bodies[int(number or 0) % len(self.bodies)]
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def start_servers(count: int) -> list[_Server]:
    _Handler.bodies = [((FIXTURES / name).read_bytes(), content_type) for name, content_type in BODIES]
    servers = [_Server(("127.0.0.1", 0), _Handler) for _ in range(count)]
    for server in servers:
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    return servers


def serve(count: int) -> None:
    """The child process: start the servers, print their ports, serve until stdin closes."""
    servers = start_servers(count)
    print(" ".join(str(server.server_address[1]) for server in servers), flush=True)
    sys.stdin.read()
    _Handler.stop.set()
    for server in servers:
        server.shutdown()
        server.server_close()


def make_targets(ports: list[int], *, total: int, hanging: int, timeout_s: float) -> list[Target]:
    """``total`` targets spread over the servers; ``hanging`` of them spread through the list."""
    step = max(1, total // max(1, hanging))
    hang_at = {i * step + step // 2 for i in range(hanging)}
    targets = []
    for i in range(total):
        path = f"/hang/{i}" if i in hang_at else f"/health/{i}"
        url = f"http://127.0.0.1:{ports[i % len(ports)]}{path}"
        targets.append(Target(id=i, company="bench", service=f"svc-{i:03d}", url=url, timeout_s=timeout_s))
    return targets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=500)
    parser.add_argument("--hanging", type=int, default=5)
    parser.add_argument("--servers", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=10.0, help="every target's timeout_s")
    parser.add_argument("--workers", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--serve", type=int, metavar="N", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve)
        return 0

    child = subprocess.Popen(
        [sys.executable, "-m", "bench.bench_probe", "--serve", str(args.servers)],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    ports = [int(p) for p in child.stdout.readline().split()]
    targets = make_targets(ports, total=args.targets, hanging=args.hanging, timeout_s=args.timeout)
    answering = [t for t in targets if "/hang/" not in t.url]
    print(
        f"$ python -m bench.bench_probe --targets {args.targets} --hanging {args.hanging} "
        f"--servers {args.servers} --timeout {args.timeout:g} --workers {args.workers} --rounds {args.rounds}"
    )
    try:
        probe_all(answering[:50], max_workers=args.workers)  # warm-up: imports, first connections
        walls, fast = [], []
        for number in range(1, args.rounds + 1):
            started = time.perf_counter()
            results = probe_all(targets, max_workers=args.workers)
            wall = time.perf_counter() - started
            walls.append(wall)
            rows = to_rows(results).num_rows
            reasons = Counter(r.reason for r in results if not r.ok)
            print(
                f"  round {number}: {wall:6.2f} s  {sum(r.ok for r in results)} ok, "
                f"{len(results) - sum(r.ok for r in results)} failed {dict(reasons)}; {rows:,} snapshot rows"
            )
            started = time.perf_counter()
            probe_all(answering, max_workers=args.workers)
            fast.append(time.perf_counter() - started)
        median = statistics.median(walls)
        print(
            f"collector round over {args.targets} targets ({args.hanging} hanging), "
            f"median of {args.rounds}: {median:.2f} s (to reach: ≤ 12 s)"
        )
        print(f"the {len(answering)} answering targets alone, median: {statistics.median(fast):.2f} s")
    finally:
        child.stdin.close()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
    return 0 if median <= 12 else 1


if __name__ == "__main__":
    sys.exit(main())
