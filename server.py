"""The CalmOps server: the dashboard, the JSON API and the feeder of fresh snapshots in one process.

`streamlit run server.py` finds `app` below. One process owns the DuckDB file (DuckDB allows one
writer), so the CLI and outside services talk to this process over HTTP.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import streamlit as st

from calmops import runtime
from calmops.api import routes
from calmops.bootstrap import demo_params, prepare_store
from calmops.config import settings
from calmops.store import close_db

log = logging.getLogger("calmops")


def _log_progress(fraction: float, message: str) -> None:
    log.warning("building the demo world: %3.0f%% %s", fraction * 100, message)


@asynccontextmanager
async def lifespan(_app: st.App) -> AsyncIterator[None]:
    """Open the store (building the demo world on first run), start the feeder; CHECKPOINT on stop."""
    db = await asyncio.to_thread(prepare_store, progress=_log_progress)
    feeder = None
    params = demo_params(db.cursor())
    if params is not None:
        from calmops.demo.live import Simulation

        feeder = Simulation(db, interval_s=settings().collect_interval_s, seed=int(params.get("seed", 7)))
        await asyncio.to_thread(feeder.start)
        runtime.set_feeder(feeder)
    log.warning("CalmOps store %s open; feeder: %s", db.path, "demo simulation" if feeder else "none")
    try:
        yield
    finally:
        runtime.set_feeder(None)
        if feeder is not None:
            await asyncio.to_thread(feeder.stop)
        await asyncio.to_thread(close_db)
        log.warning("CalmOps store checkpointed and closed")


app = st.App("app.py", lifespan=lifespan, routes=routes())
