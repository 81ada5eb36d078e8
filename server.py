"""The CalmOps server: the dashboard, the JSON API and the feeder of fresh snapshots in one process.

`streamlit run server.py` finds `app` below. One process owns the DuckDB file (DuckDB allows one
writer), so the CLI and outside services talk to this process over HTTP.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import streamlit as st
from streamlit import config as st_config

from calmops import runtime
from calmops.api import routes
from calmops.auth import web as auth_web
from calmops.bootstrap import demo_params, prepare_store
from calmops.config import settings
from calmops.health.collector import Collector
from calmops.runtime import Feeders
from calmops.store import close_db

log = logging.getLogger("calmops")


def _no_delay_on_listeners(port: int) -> int:
    """Set TCP_NODELAY on this process's listening socket for ``port``; accepted connections inherit it.

    Streamlit binds that socket itself, so asyncio never sets the option on accepted connections;
    uvicorn writes a response's head and body apart, and on a kept-alive connection the body then
    waits ~40 ms for the client's delayed ACK (Nagle). Linux only (/proc); elsewhere a no-op.
    """
    fds = Path("/proc/self/fd")
    done = 0
    for entry in fds.iterdir() if fds.exists() else ():
        try:
            sock = socket.socket(fileno=os.dup(int(entry.name)))
        except (OSError, ValueError):
            continue
        with sock:
            try:
                listening = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
                if sock.type == socket.SOCK_STREAM and listening and sock.getsockname()[1] == port:
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    done += 1
            except (OSError, IndexError, TypeError):
                continue
    return done


def _log_progress(fraction: float, message: str) -> None:
    log.warning("building the demo world: %3.0f%% %s", fraction * 100, message)


@asynccontextmanager
async def lifespan(_app: st.App) -> AsyncIterator[None]:
    """Open the store (building the demo world on first run), start the collector (and the demo's
    simulation); CHECKPOINT on stop."""
    db = await asyncio.to_thread(prepare_store, progress=_log_progress)
    config = settings()
    port = st_config.get_option("server.port") or config.port  # where this very server listens
    _no_delay_on_listeners(int(port))
    feeders: list = []
    params = demo_params(db.cursor())
    if params is not None:
        from calmops.demo.live import Simulation

        probed = bool(
            db.cursor().execute("SELECT count(*) FROM targets WHERE url LIKE '/demo/%'").fetchall()[0][0]
        )
        seed = int(params.get("seed", 7))
        simulation = Simulation(db, interval_s=config.collect_interval_s, seed=seed, write_rounds=not probed)
        runtime.set_simulation(simulation)
        feeders.append(simulation)
    # The demo fills the gap since the last run first; rounds racing that backfill would lose.
    after = feeders[0].ready if feeders else None
    collector = Collector(
        db, interval_s=config.collect_interval_s, base_url=f"http://127.0.0.1:{port}", after=after
    )
    feeders.insert(0, collector)
    for feeder in feeders:
        await asyncio.to_thread(feeder.start)
    runtime.set_feeder(Feeders(*feeders))
    log.warning("CalmOps store %s open; feeding: %s", db.path, ", ".join(type(f).__name__ for f in feeders))
    try:
        yield
    finally:
        runtime.set_feeder(None)
        runtime.set_simulation(None)
        for feeder in feeders:
            await asyncio.to_thread(feeder.stop)
        await asyncio.to_thread(close_db)
        log.warning("CalmOps store checkpointed and closed")


app = st.App("app.py", lifespan=lifespan, routes=[*routes(), *auth_web.routes()])
