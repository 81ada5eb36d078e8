"""`make screenshot`: the README's picture, taken from the real dashboard over a fresh demo world."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import requests

from tests.e2e.browser import capture_health
from tests.servers import ROOT, build_demo, running_server


def main(out: str = "docs/screenshot.png") -> int:
    target = (ROOT / out).resolve()
    with tempfile.TemporaryDirectory() as folder:
        db_path = Path(folder) / "calmops.duckdb"
        build_demo(db_path, days=14)
        with running_server(db_path, Path(folder) / "server.log", interval_s=5) as server:
            companies = [
                c["company"]
                for c in requests.get(f"{server.url}/api/ops/companies", timeout=10).json()["companies"]
            ]
            # The largest tenant: its history ends in a queue backlog that is still going on.
            company = "northwind-freight" if "northwind-freight" in companies else companies[0]
            capture_health(server.url, company, target, height=1700)
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:]))
