"""Start a real CalmOps server process on 127.0.0.1 for API and browser tests (and `make screenshot`)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Server:
    url: str
    db_path: Path
    log_path: Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def build_demo(db_path: Path, *, days: float = 2, companies: int = 3, seed: int = 7) -> None:
    """Build a demo world with the real CLI (what `make run` does on first run)."""
    subprocess.run(
        [sys.executable, "-m", "calmops", "demo", "--days", str(days), "--companies", str(companies),
         "--seed", str(seed), "--db", str(db_path)],
        cwd=ROOT, check=True, capture_output=True, timeout=300,
    )  # fmt: skip


@contextmanager
def running_server(
    db_path: Path, log_path: Path, *, interval_s: float = 2, env: dict | None = None
) -> Iterator[Server]:
    """`streamlit run server.py` on a free loopback port; stopped (and checkpointed) on exit."""
    port = free_port()
    environment = {
        **os.environ,
        "CALMOPS_DB": str(db_path),
        "CALMOPS_COLLECT_INTERVAL": str(interval_s),
        "PORT": str(port),
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as log:  # a file, not a pipe: an unread pipe can block the server
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "server.py", "--server.headless=true",
             "--server.address=127.0.0.1", f"--server.port={port}", "--browser.gatherUsageStats=false",
             "--server.fileWatcherType=none"],
            cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(url, proc, log_path)
            yield Server(url=url, db_path=db_path, log_path=log_path)
        finally:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def _wait_ready(url: str, proc: subprocess.Popen, log_path: Path, timeout_s: float = 120) -> None:
    """Ready once the API answers (the lifespan has opened the store and started the feeder)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log_path.read_text()[-4000:]}")
        try:
            if requests.get(f"{url}/api/ops/companies", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"server not ready after {timeout_s} s:\n{log_path.read_text()[-4000:]}")
