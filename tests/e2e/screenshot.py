"""`make screenshot`: the README's picture, taken from the real dashboard over a fresh demo world."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from tests.e2e.browser import capture_health
from tests.servers import ROOT, build_demo, running_server


def main(out: str = "docs/screenshot.png") -> int:
    target = (ROOT / out).resolve()
    with tempfile.TemporaryDirectory() as folder:
        db_path = Path(folder) / "calmops.duckdb"
        build_demo(db_path, days=14)
        with running_server(db_path, Path(folder) / "server.log", interval_s=5) as server:
            # The largest tenant: its history ends in a queue backlog that is still going on.
            capture_health(server.url, "northwind-freight", target, height=1700, user="northwind-viewer")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:]))
