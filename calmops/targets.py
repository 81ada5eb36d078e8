"""Health-check targets: what the collector probes, and the record of every probe's outcome.

The API and the CLI add and remove targets (validated here, one transaction each, audited); the
collector reads them with ``list_targets`` and hands its results to ``record_results``, which keeps
each target's latest state and appends every probe, failed ones with their reason, to
``probe_log``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from urllib.parse import urlsplit

import duckdb

from calmops import clock
from calmops.auth.models import Identity, Permission, require
from calmops.companies import (
    AlreadyExistsError,
    InvalidError,
    NotFoundError,
    check_service_name,
    check_slug,
    get_company,
)
from calmops.health.probe import ProbeResult, Target
from calmops.incidents import audit
from calmops.store.db import Cursor, first, retry_conflicts, unit_of_work
from calmops.timeio import to_iso

FORMATS = ("json", "health+json", "spring", "prometheus")
TIMEOUT_RANGE_S = (0.1, 60.0)
INTERVAL_RANGE_S = (5.0, 3600.0)
DEFAULT_TIMEOUT_S = 5.0
DEFAULT_INTERVAL_S = 30.0
URL_MAX = 2048

_COLUMNS = (
    "id, company, service, url, format, timeout_s, interval_s, enabled, created_at, "
    "last_probe_at, last_ok, last_reason, last_latency_ms"
)


@dataclass(frozen=True)
class TargetState:
    """A target as stored: what the collector probes (``format`` None: detect it from the answer)
    and the outcome of its newest probe."""

    id: int
    company: str
    service: str
    url: str
    format: str | None
    timeout_s: float
    interval_s: float
    enabled: bool = True
    created_at: datetime | None = None
    last_probe_at: datetime | None = None
    last_ok: bool | None = None
    last_reason: str | None = None
    last_latency_ms: float | None = None

    def probe_target(self) -> Target:
        return Target(
            self.id, self.company, self.service, self.url, self.format, self.timeout_s, self.interval_s
        )

    def to_json(self) -> dict:
        out = asdict(self)
        for key in ("created_at", "last_probe_at"):
            out[key] = to_iso(out[key])
        return out


@dataclass(frozen=True)
class ProbeRecord:
    """One row of ``probe_log``."""

    target_id: int
    company: str
    service: str
    ts: datetime
    ok: bool
    reason: str
    latency_ms: float | None
    http_status: int | None
    format: str | None


def check_url(url: object, *, field: str = "url", paths: bool = True) -> str:
    """An absolute http(s) URL with a host, or (with ``paths``) a path on this CalmOps server
    (``/demo/...``), which the collector resolves against its own address so the demo's endpoints
    follow any ``PORT``. Webhooks (executors, notifications) take absolute URLs only."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidError("url must be an http:// or https:// URL", field)
    url = url.strip()
    if len(url) > URL_MAX or any(c.isspace() for c in url):
        raise InvalidError(f"url must be an http(s) URL without spaces, at most {URL_MAX} characters", field)
    if paths and url.startswith("/") and not url.startswith("//"):
        return url
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        raise InvalidError(f"url is not a valid URL: {url!r}", field) from None
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
        raise InvalidError(f"url must be an http:// or https:// URL with a host, got {url!r}", field)
    return url


def check_format(value: object, *, field: str = "format") -> str | None:
    if value is None or value == "auto":
        return None
    if value not in FORMATS:
        raise InvalidError(f"format must be one of {', '.join(FORMATS)} (or null to detect it)", field)
    return str(value)


def check_seconds(value: object, *, field: str, default: float, low: float, high: float) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidError(f"{field} must be a number of seconds", field)
    if not low <= value <= high:
        raise InvalidError(f"{field} must be between {low:g} and {high:g} seconds", field)
    return float(value)


def check_id(value: object, *, field: str = "id") -> int:
    """A target id from JSON (an integer) or a query string (digits)."""
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidError("id must be a positive integer", field)
    return value


def add_target(
    cur: Cursor,
    *,
    company: object,
    service: object,
    url: object,
    format: object = None,
    timeout_s: object = None,
    interval_s: object = None,
    actor: Identity,
) -> TargetState:
    """Validate and register a target in one transaction, with an audit row.

    The service must be registered already: a typo in a target's service would otherwise invent
    a service that never reports anything.
    """
    slug = check_slug(company)
    who = require(actor, Permission.ADMINISTER, slug)
    name = check_service_name(service)
    address = check_url(url)
    kind = check_format(format)
    timeout = check_seconds(timeout_s, field="timeout_s", default=DEFAULT_TIMEOUT_S, low=TIMEOUT_RANGE_S[0],
                            high=TIMEOUT_RANGE_S[1])  # fmt: skip
    interval = check_seconds(interval_s, field="interval_s", default=DEFAULT_INTERVAL_S,
                             low=INTERVAL_RANGE_S[0], high=INTERVAL_RANGE_S[1])  # fmt: skip
    if timeout > interval:
        raise InvalidError("timeout_s must not be longer than interval_s", "timeout_s")
    now = clock.now()
    try:
        with unit_of_work(cur):
            get_company(cur, company=slug)
            if first(cur, "SELECT 1 FROM services WHERE company = ? AND service = ?", [slug, name]) is None:
                raise InvalidError(f"unknown service {name!r}; register it first", "service")
            if first(
                cur,
                "SELECT 1 FROM targets WHERE company = ? AND service = ? AND url = ?",
                [slug, name, address],
            ):
                raise AlreadyExistsError(f"{name!r} in {slug!r} already has a target {address!r}")
            row = cur.execute(
                f"INSERT INTO targets (company, service, url, format, timeout_s, interval_s, created_at) "
                f"VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING {_COLUMNS}",
                [slug, name, address, kind, timeout, interval, now],
            ).fetchall()[0]
            target = TargetState(*row)
            audit(
                cur, company=slug, ts=now, actor=who, action="target.create", entity="target",
                entity_id=target.id, after=target.to_json(),
            )  # fmt: skip
    except (duckdb.ConstraintException, duckdb.TransactionException):  # a concurrent add won
        raise AlreadyExistsError(f"{name!r} in {slug!r} already has a target {address!r}") from None
    return target


def remove_target(cur: Cursor, *, company: object, id: object, actor: Identity) -> TargetState:
    """Delete a target (its probe log stays); another company's id is as unknown as a missing one."""
    slug = check_slug(company)
    who = require(actor, Permission.ADMINISTER, slug)
    target_id = check_id(id)

    def work() -> TargetState:
        with unit_of_work(cur):
            get_company(cur, company=slug)
            row = first(
                cur, f"SELECT {_COLUMNS} FROM targets WHERE id = ? AND company = ?", [target_id, slug]
            )
            if row is None:
                raise NotFoundError(f"no target {target_id} in {slug!r}")
            target = TargetState(*row)
            cur.execute("DELETE FROM targets WHERE id = ? AND company = ?", [target_id, slug])
            audit(
                cur, company=slug, ts=clock.now(), actor=who, action="target.delete", entity="target",
                entity_id=target_id, before=target.to_json(),
            )  # fmt: skip
        return target

    return retry_conflicts(work)  # the collector may be recording this target's probe right now


def target_states(
    cur: Cursor, *, company: str, after_id: int | None = None, limit: int | None = None
) -> list[TargetState]:
    """A company's targets with their newest probe outcome, in id order (a page after ``after_id``)."""
    rows = cur.execute(
        f"SELECT {_COLUMNS} FROM targets WHERE company = ? AND id > ?", [company, after_id or 0]
    ).fetchall()
    rows.sort(key=lambda r: r[0])  # a few rows: sorting here is cheaper than DuckDB's ORDER BY
    return [TargetState(*r) for r in rows[:limit]]


def list_targets(cur: Cursor, *, company: str | None = None, enabled_only: bool = True) -> list[Target]:
    """What the collector probes: enabled targets of one company, or of every company."""
    sql, params = f"SELECT {_COLUMNS} FROM targets WHERE true", []
    if company is not None:
        sql += " AND company = ?"
        params.append(company)
    if enabled_only:
        sql += " AND enabled"
    rows = sorted(cur.execute(sql, params).fetchall(), key=lambda r: r[0])
    return [TargetState(*r).probe_target() for r in rows]


def record_results(cur: Cursor, results: Iterable[ProbeResult]) -> int:
    """Keep each target's newest outcome and log every probe (in the caller's transaction).

    A result for a target deleted meanwhile is still logged; an older result never overwrites
    a newer one's state.
    """
    rows = [
        (r.target.company, r.target.id, r.target.service, r.checked_at, bool(r.ok), r.reason or "",
         r.latency_ms, r.http_status, r.format)
        for r in results
    ]  # fmt: skip
    for company, target_id, _service, ts, ok, reason, latency_ms, _status, _format in rows:
        cur.execute(
            "UPDATE targets SET last_probe_at = ?, last_ok = ?, last_reason = ?, last_latency_ms = ? "
            "WHERE id = ? AND company = ? AND (last_probe_at IS NULL OR last_probe_at <= ?)",
            [ts, ok, reason or None, latency_ms, target_id, company, ts],
        )
    if rows:
        cur.executemany(
            "INSERT INTO probe_log (company, target_id, service, ts, ok, reason, latency_ms, http_status, "
            "format) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    return len(rows)


def probe_log(
    cur: Cursor, *, company: str, target_id: int | None = None, limit: int = 100
) -> list[ProbeRecord]:
    """The newest probes of a company (or one target), newest first."""
    sql = (
        "SELECT target_id, company, service, ts, ok, reason, latency_ms, http_status, format "
        "FROM probe_log WHERE company = ?"
    )
    params: list = [company]
    if target_id is not None:
        sql += " AND target_id = ?"
        params.append(target_id)
    rows = cur.execute(sql + " ORDER BY ts DESC LIMIT ?", [*params, limit]).fetchall()
    return [ProbeRecord(*r) for r in rows]
