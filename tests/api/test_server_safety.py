"""The running server's own guards: Streamlit's XSRF protection stays on, and the server listens on
the loopback interface unless told otherwise."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from urllib.parse import urlparse

import requests

from calmops.config import settings

ROOT = Path(__file__).resolve().parents[2]


def test_xsrf_protection_is_on(live_server) -> None:
    answer = requests.get(f"{live_server.url}/_stcore/health", timeout=10)
    assert answer.ok and "_streamlit_xsrf" in answer.cookies  # only set while the protection is on
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"].get("enableXsrfProtection", True) is True
    upload = requests.put(
        f"{live_server.url}/_stcore/upload_file/session/file", files={"file": ("x.txt", b"x")}, timeout=10
    )
    assert upload.status_code in (401, 403), "an upload without the XSRF token is refused"


def _listening(port: int) -> list[str]:
    """Local addresses (hex, as /proc/net/tcp writes them) of sockets listening on ``port``."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            address, port_hex = fields[1].rsplit(":", 1)
            if int(port_hex, 16) == port and fields[3] == "0A":  # 0A: LISTEN
                found.append(address)
    return found


def test_the_server_listens_on_loopback_only_by_default(live_server) -> None:
    port = urlparse(live_server.url).port
    addresses = _listening(port)
    assert addresses and set(addresses) <= {"0100007F", "00000000000000000000000001000000"}, addresses
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "127.0.0.1"
    assert re.search(r"^HOST\s*\?=\s*127\.0\.0\.1$", (ROOT / "Makefile").read_text(), flags=re.M)
    if "HOST" not in os.environ:
        assert settings().host == "127.0.0.1"
