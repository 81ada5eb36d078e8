"""Start a real CalmOps server process on 127.0.0.1 for API and browser tests (and `make screenshot`).

Every API call needs a bearer token: before the server starts (it then owns the file), one token per
company and role (and an installation-wide admin's) is written into the store, and the ``Server``
hands them out (``server.token(company, role)``, ``server.client(company, role)``)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
ROLES = ("viewer", "operator", "lead", "admin", "ingest")
EVERY_COMPANY = None  # the company of installation-wide tokens

TokenKey = tuple[str | None, str]


class Client(requests.Session):
    """A session that sends one token; a path without a scheme is relative to ``/api/ops/``."""

    def __init__(self, url: str, token: str | None) -> None:
        super().__init__()
        self.base = url
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def request(self, method: str, url: str, *args, **kwargs) -> requests.Response:  # type: ignore[override]
        if not url.startswith(("http://", "https://")):
            url = f"{self.base}/api/ops/{url.lstrip('/')}"
        kwargs.setdefault("timeout", 60)
        return super().request(method, url, *args, **kwargs)


@dataclass(frozen=True)
class Server:
    url: str
    db_path: Path
    log_path: Path
    tokens: Mapping[TokenKey, str] = field(default_factory=dict)
    _clients: dict = field(default_factory=dict, compare=False, repr=False)

    def token(self, company: str | None = EVERY_COMPANY, role: str = "admin") -> str:
        """The secret of the test token with ``role`` in ``company`` (None: every company)."""
        return self.tokens[(company, role)]

    def headers(self, company: str | None = EVERY_COMPANY, role: str = "admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(company, role)}"}

    def client(self, company: str | None = EVERY_COMPANY, role: str | None = "admin") -> Client:
        """Requests as that token (one kept-alive session each; threads make their own ``Client``);
        ``client(role=None)`` sends none."""
        key = (company, role)
        if key not in self._clients:
            self._clients[key] = Client(self.url, self.token(company, role) if role else None)
        return self._clients[key]

    def mint(self, company: str | None, role: str, name: str = "minted") -> Client:
        """A new token made over the API by the installation admin (for a company a test made)."""
        made = self.client().post("tokens", json={"company": company, "role": role, "name": name})
        assert made.status_code == 201, made.text
        return Client(self.url, made.json()["secret"])


def make_tokens(db_path: Path) -> dict[TokenKey, str]:
    """A token per company and role, and an installation-wide admin's, written straight into the
    store (no server may hold it yet; a missing file becomes an empty store)."""
    from calmops import auth, companies
    from calmops.auth import service
    from calmops.store import Database

    db = Database(db_path)
    try:
        cur = db.cursor()
        maker = auth.system("tests")
        wanted: list[TokenKey] = [(EVERY_COMPANY, "admin")]
        wanted += [(c.company, role) for c in companies.list_companies(cur) for role in ROLES]
        made = {}
        for company, role in wanted:
            name = f"tests-{company or 'all'}-{role}"
            made[(company, role)] = service.create_token(
                cur, company=company, role=role, name=name, actor=maker
            )[1]
        return made
    finally:
        db.close()


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
    """`streamlit run server.py` on a free loopback port; stopped (and checkpointed) on exit. A store
    that exists (or is to start empty) gets the test tokens first; one the server is to build the
    demo world in has none, and its API then answers only tokens made through the dashboard."""
    empty = (env or {}).get("CALMOPS_DEMO") == "0"
    tokens = make_tokens(db_path) if db_path.exists() or empty else {}
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
            _wait_ready(url, proc, log_path, tokens.get((EVERY_COMPANY, "admin")))
            yield Server(url=url, db_path=db_path, log_path=log_path, tokens=tokens)
        finally:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def _wait_ready(
    url: str, proc: subprocess.Popen, log_path: Path, token: str | None, timeout_s: float = 120
) -> None:
    """Ready once the API answers (the lifespan has opened the store and started the feeder): with
    the admin token, its list; without one, its 401."""
    deadline = time.monotonic() + timeout_s
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    ready = 200 if token else 401
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log_path.read_text()[-4000:]}")
        try:
            if requests.get(f"{url}/api/ops/companies", headers=headers, timeout=2).status_code == ready:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"server not ready after {timeout_s} s:\n{log_path.read_text()[-4000:]}")
