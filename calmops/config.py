"""Settings read from the environment (CONTRACT.md, "Environment"), in one place."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DB = ROOT / "data" / "calmops.duckdb"


@dataclass(frozen=True)
class Settings:
    db_path: Path
    demo: bool
    collect_interval_s: float
    host: str
    port: int
    settle_s: float  # how long an action gets before verify-after-act judges it

    @property
    def base_url(self) -> str:
        return os.environ.get("CALMOPS_URL") or f"http://{self.host}:{self.port}"


def settings() -> Settings:
    """Read the environment now (tests change it between runs, so nothing is cached)."""
    return Settings(
        db_path=Path(os.environ.get("CALMOPS_DB") or DEFAULT_DB).expanduser(),
        demo=os.environ.get("CALMOPS_DEMO", "1").strip() not in ("0", "false", "no", "off"),
        collect_interval_s=max(0.2, float(os.environ.get("CALMOPS_COLLECT_INTERVAL", "30"))),
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "8501")),
        settle_s=max(5.0, float(os.environ.get("CALMOPS_SETTLE_S", "300"))),
    )
