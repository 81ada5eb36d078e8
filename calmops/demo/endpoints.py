"""The demo world's live health endpoints, served by the CalmOps server itself.

Every demo service answers the way real services do — web, api and billing with JSON health,
the workers with Prometheus ``/metrics``, postgres and redis with ``application/health+json``, the
carrier gateway with a Spring Boot actuator plus ``/metrics`` — and the values are the
simulation's at the moment of the request, including any live scenario. The collector probes
them like any other target, so the demo exercises the same path as a real installation.
"""

from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from calmops.demo.live import load_world
from calmops.demo.records import load_episodes, load_params
from calmops.demo.samples import LOOKBACK_S, service_values
from calmops.demo.world import CompanyWorld, ServiceSpec
from calmops.store.db import Cursor
from calmops.vocabulary import ServiceKind

WORLD_TTL_S = 10.0  # the world's shape changes only when someone registers a service


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: bytes


@dataclass(frozen=True)
class Endpoint:
    """Where one demo service answers, and in which format (None: let the probe detect it)."""

    path: str
    format: str | None


def endpoints_for(company: str, spec: ServiceSpec) -> list[Endpoint]:
    base = f"/demo/{company}/{spec.name}"
    if spec.kind == ServiceKind.EXTERNAL:
        return [Endpoint(f"{base}/actuator/health", "spring"), Endpoint(f"{base}/metrics", "prometheus")]
    if spec.kind == ServiceKind.WORKER:
        return [Endpoint(f"{base}/metrics", None)]
    if spec.kind in (ServiceKind.DATABASE, ServiceKind.CACHE):
        return [Endpoint(f"{base}/health", None)]
    return [Endpoint(f"{base}/health", None)]


_cache_lock = threading.Lock()
_cache: dict[int, tuple[float, dict[str, CompanyWorld], int]] = {}


def _world(cur: Cursor) -> tuple[dict[str, CompanyWorld], int]:
    """The demo tenants, briefly cached per cursor (every probe of a round asks; each store's
    cursors are its own, so two stores in one process never share an entry)."""
    key = id(cur)
    with _cache_lock:
        cached = _cache.get(key)
        if cached and time.monotonic() - cached[0] < WORLD_TTL_S:
            return cached[1], cached[2]
    seed = int((load_params(cur) or {}).get("seed", 7))
    world = load_world(cur, seed=seed)
    tenants = {c.slug: c for c in world.companies}
    with _cache_lock:
        _cache[key] = (time.monotonic(), tenants, seed)
    return tenants, seed


def values_now(
    cur: Cursor, *, company: str, service: str, now: datetime
) -> tuple[ServiceSpec, dict[str, float]] | None:
    """The service's metrics as the simulation has them at ``now`` (None: no such demo service)."""
    tenants, seed = _world(cur)
    world = tenants.get(company)
    spec = world.service(service) if world else None
    if world is None or spec is None:
        return None
    at = now.astimezone(UTC).replace(microsecond=0)
    episodes = load_episodes(cur, company, since=at - timedelta(seconds=LOOKBACK_S))
    values = service_values(world, spec, np.array([int(at.timestamp())], dtype=np.int64), episodes, seed)
    return spec, {m: float(v[0]) for m, v in values.items() if not math.isnan(float(v[0]))}


def _status(values: dict[str, float]) -> str:
    return "down" if values.get("up", 1.0) < 1 else "ok"


def render(kind: str, spec: ServiceSpec, values: dict[str, float], *, company: str) -> Answer:
    """One answer in the format of endpoint ``kind`` (health, metrics, actuator)."""
    down = _status(values) == "down"
    code = 503 if down else 200
    shown = {m: round(v, 4) for m, v in sorted(values.items()) if m not in ("up", "probe_latency_ms")}
    if kind == "metrics":
        return Answer(
            code, "text/plain; version=0.0.4; charset=utf-8", _prometheus(spec, shown, company).encode()
        )
    if kind == "actuator":
        state = "DOWN" if down else "UP"
        body = {"status": state, "components": {"carrierApi": {"status": state}, "ping": {"status": "UP"}}}
        return Answer(code, "application/vnd.spring-boot.actuator.v3+json", json.dumps(body).encode())
    if spec.kind in (ServiceKind.DATABASE, ServiceKind.CACHE):
        return Answer(code, "application/health+json", json.dumps(_health_json(spec, shown, down)).encode())
    return Answer(code, "application/json", json.dumps({"status": _status(values), **shown}).encode())


def _health_json(spec: ServiceSpec, values: dict[str, float], down: bool) -> dict:
    checks: dict[str, list[dict]] = {}
    named = {"cpu_pct": "cpu:utilization", "memory_pct": "memory:utilization",
             "db_connections_pct": "connections:utilization", "disk_pct": "disk:utilization"}  # fmt: skip
    for metric, value in values.items():
        if metric in named:
            checks[named[metric]] = [{"componentType": "system", "observedValue": value,
                                      "observedUnit": "percent", "status": "pass"}]  # fmt: skip
        elif metric == "latency_p95_ms":
            checks["latency:p95"] = [{"observedValue": value, "observedUnit": "ms", "status": "pass"}]
        else:
            checks[metric] = [{"observedValue": value, "status": "pass"}]
    return {"status": "fail" if down else "pass", "version": "1", "serviceId": spec.name, "checks": checks}


def _prometheus(spec: ServiceSpec, values: dict[str, float], company: str) -> str:
    lines = []
    for metric, value in values.items():
        lines += [f"# HELP {metric} {spec.name} {metric} (CalmOps demo, {company})", f"# TYPE {metric} gauge",
                  f"{metric} {value:g}"]  # fmt: skip
    return "\n".join(lines) + "\n"


DEMO_TARGET_INTERVAL_S = 5.0  # probed every collector round (the fastest interval a target may ask)


def register_targets(cur: Cursor) -> int:
    """Give every demo service its live endpoint(s) as targets, stored as paths on this server."""
    from calmops import auth, targets

    tenants, _ = _world(cur)
    added = 0
    for company in tenants.values():
        for spec in company.services:
            for endpoint in endpoints_for(company.slug, spec):
                targets.add_target(
                    cur, company=company.slug, service=spec.name, url=endpoint.path, format=endpoint.format,
                    timeout_s=5, interval_s=DEMO_TARGET_INTERVAL_S, actor=auth.system("demo"),
                )  # fmt: skip
                added += 1
    return added
