"""Pushed health snapshots and events: validated whole, then written in one transaction.

A push is all or nothing: every snapshot is checked before anything is written, so a client that
gets a 400 knows nothing of its batch was stored and can fix it and send it again. Pushing the
same (series, ts) twice stores it once (``snapshots.append``), so retrying is always safe.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from calmops import clock
from calmops.auth import Identity, Permission, require
from calmops.companies import (
    InvalidError,
    check_service_name,
    check_slug,
    check_text,
    ensure_services,
)
from calmops.incidents import audit
from calmops.store import snapshots
from calmops.store.db import RACES, Cursor, retry_conflicts, unit_of_work
from calmops.timeio import BadTimeError, parse_iso, to_iso
from calmops.vocabulary import EventKind

log = logging.getLogger("calmops.ingest")

MAX_SNAPSHOTS = 100_000
MAX_BODY_BYTES = 10 * 1024 * 1024
FUTURE_SLACK = timedelta(minutes=5)  # clocks drift; a snapshot from tomorrow would pin `latest`
METRIC_MAX = 200
LABELS_MAX = 4096
METRIC = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_LABEL_PAIR = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)')
_UNESCAPE = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}
PUSH_FIELDS = frozenset({"company", "snapshots", "actor"})
SNAPSHOT_FIELDS = frozenset({"service", "metric", "labels", "ts", "value"})
EVENT_FIELDS = frozenset({"company", "service", "kind", "ts", "description", "version", "actor"})
EVENT_KINDS = ", ".join(k.value for k in EventKind)

Row = tuple[str, str, str, str, datetime, float]


@dataclass(frozen=True)
class SnapshotBatch:
    """Validated snapshots of one company, ready to write."""

    company: str
    rows: list[Row]
    skipped: int = 0  # Prometheus text samples that were NaN or infinite
    notes: tuple[str, ...] = ()  # what the parser of a text push left out, and why

    @property
    def services(self) -> tuple[str, ...]:
        return tuple(sorted({r[1] for r in self.rows}))

    @property
    def newest(self) -> datetime:
        return max(r[4] for r in self.rows)


@dataclass(frozen=True)
class PushResult:
    accepted: int
    duplicates: int
    registered: tuple[str, ...] = ()  # services the push introduced (kind "other")
    skipped: int = 0
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Event:
    id: int
    company: str
    service: str
    kind: EventKind
    ts: datetime
    description: str
    version: str | None

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "company": self.company,
            "service": self.service,
            "kind": self.kind.value,
            "ts": to_iso(self.ts),
            "description": self.description,
            "version": self.version,
        }


# --- labels: one canonical string per label set, so a series has exactly one name.


def escape_label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _unescape(value: str, field: str) -> str:
    if "\\" not in value:
        return value
    out, i = [], 0
    while i < len(value):
        pair = value[i : i + 2]
        if value[i] == "\\":
            if pair not in _UNESCAPE:
                raise InvalidError(f'unknown escape {pair!r} in a label value (use \\\\, \\" or \\n)', field)
            out.append(_UNESCAPE[pair])
            i += 2
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def parse_label_string(text: str, *, field: str = "labels") -> dict[str, str]:
    """``code="500",method="get"`` (braces optional, any order) as a dict; malformed text raises."""
    body = text.strip()
    if body.startswith("{") and body.endswith("}"):
        body = body[1:-1].strip()
    pairs: dict[str, str] = {}
    pos = 0
    while pos < len(body):
        match = _LABEL_PAIR.match(body, pos)
        if match is None:
            raise InvalidError(f'labels must look like code="500",method="get", got {text!r}', field)
        name = match.group(1)
        if name in pairs:
            raise InvalidError(f"label {name!r} appears twice", field)
        pairs[name] = _unescape(match.group(2), field)
        pos = match.end()
    return pairs


def _is_pairs(labels: object) -> bool:
    return isinstance(labels, Sequence) and all(isinstance(p, Sequence) and len(p) == 2 for p in labels)


def canonical_labels(labels: object, *, field: str = "labels") -> str:
    """The canonical string of a label set given as a string, an object or (name, value) pairs.

    Keys sorted, values escaped (``\\``, ``"``, newline), ``k="v"`` joined by commas; a label with
    an empty value is the same as no label (as in Prometheus), so it is left out.
    """
    if labels is None or labels == "":
        return ""
    if isinstance(labels, str):
        pairs = parse_label_string(labels, field=field)
    elif isinstance(labels, Mapping) or _is_pairs(labels):
        pairs = dict(labels)
    else:
        raise InvalidError('labels must be a string like code="500" or an object like {"code": "500"}', field)
    parts = []
    for name in sorted(pairs):
        value = pairs[name]
        if not isinstance(name, str) or not LABEL_NAME.match(name) or name.startswith("__"):
            raise InvalidError(f"label name {name!r} is not a Prometheus label name", f"{field}.{name}")
        if not isinstance(value, str):
            raise InvalidError(f"label {name!r} must have a string value", f"{field}.{name}")
        if value:
            parts.append(f'{name}="{escape_label_value(value)}"')
    text = ",".join(parts)
    if len(text) > LABELS_MAX:
        raise InvalidError(f"labels are longer than {LABELS_MAX} characters", field)
    return text


# --- single values


def check_metric(metric: object, *, field: str = "metric") -> str:
    if not isinstance(metric, str) or len(metric) > METRIC_MAX or not METRIC.match(metric):
        raise InvalidError("metric must be a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)", field)
    return metric


def check_value(value: object, *, field: str = "value") -> float:
    """A finite number; booleans, strings, NaN and infinities are refused."""
    if type(value) is float:
        if math.isfinite(value):
            return value
    elif type(value) is int:
        try:
            return float(value)
        except OverflowError:
            pass
    raise InvalidError("value must be a finite number", field)


def check_ts(text: object, *, field: str = "ts", now: datetime | None = None) -> datetime:
    """ISO 8601 with a zone, not in the future beyond a few minutes of clock drift."""
    try:
        ts = parse_iso(text)
    except BadTimeError as exc:
        raise InvalidError(f"{field}: {exc}", field) from None
    if ts > (now or clock.now()) + FUTURE_SLACK:
        raise InvalidError(f"{field} is in the future ({text})", field)
    return ts


def check_object(body: object, *, allowed: frozenset[str], field: str | None = None) -> Mapping:
    what = field or "the body"
    if not isinstance(body, dict):
        raise InvalidError(f"{what} must be a JSON object", field)
    unknown = body.keys() - allowed
    if unknown:
        name = sorted(unknown)[0]
        raise InvalidError(f"unknown field {name!r}", f"{field}.{name}" if field else name)
    return body


# --- snapshots


def snapshot_batch(body: object, *, now: datetime | None = None) -> SnapshotBatch:
    """Validate a JSON push ``{"company", "snapshots": [...]}`` completely; nothing is written."""
    body = check_object(body, allowed=PUSH_FIELDS)
    company = check_slug(body.get("company"))
    items = body.get("snapshots")
    if not isinstance(items, list):
        raise InvalidError("snapshots must be a list of {service, metric, labels?, ts, value}", "snapshots")
    if not items:
        raise InvalidError("snapshots is empty", "snapshots")
    if len(items) > MAX_SNAPSHOTS:
        raise InvalidError(f"at most {MAX_SNAPSHOTS:,} snapshots per push, got {len(items):,}", "snapshots")
    now = now or clock.now()
    rows: list[Row] = []
    # Batches repeat the same few services, metrics, label sets and times: check each distinct one once.
    seen_services: set[str] = set()
    seen_metrics: set[str] = set()
    labels_seen: dict[str, str] = {}
    times: dict[str, datetime] = {}
    for i, item in enumerate(items):
        if type(item) is not dict:
            raise InvalidError("each snapshot must be a JSON object", f"snapshots[{i}]")
        if not item.keys() <= SNAPSHOT_FIELDS:
            check_object(item, allowed=SNAPSHOT_FIELDS, field=f"snapshots[{i}]")
        service = item.get("service")
        if type(service) is not str or service not in seen_services:
            check_service_name(service, field=f"snapshots[{i}].service")
            seen_services.add(service)
        metric = item.get("metric")
        if type(metric) is not str or metric not in seen_metrics:
            check_metric(metric, field=f"snapshots[{i}].metric")
            seen_metrics.add(metric)
        raw_labels = item.get("labels")
        if raw_labels is None or raw_labels == "":
            labels = ""
        elif type(raw_labels) is str and raw_labels in labels_seen:
            labels = labels_seen[raw_labels]
        else:
            labels = canonical_labels(raw_labels, field=f"snapshots[{i}].labels")
            if type(raw_labels) is str:
                labels_seen[raw_labels] = labels
        raw_ts = item.get("ts")
        ts = times.get(raw_ts) if type(raw_ts) is str else None
        if ts is None:
            ts = check_ts(raw_ts, field=f"snapshots[{i}].ts", now=now)
            times[raw_ts] = ts
        value = item.get("value")
        if type(value) is not float or not math.isfinite(value):
            value = check_value(value, field=f"snapshots[{i}].value")
        rows.append((company, service, metric, labels, ts, value))
    return SnapshotBatch(company, rows)


def samples_batch(
    *,
    company: object,
    service: object,
    samples: Iterable,
    ts: datetime | None = None,
    notes: Iterable[str] = (),
) -> SnapshotBatch:
    """Snapshots from parsed Prometheus text (``Sample(metric, labels, value)``), all at ``ts``.

    A scrape often holds NaN (a summary with no observations yet): those samples are skipped and
    counted rather than failing the whole push.
    """
    company = check_slug(company)
    service = check_service_name(service)
    ts = ts or clock.now()
    rows: list[Row] = []
    skipped = 0
    for i, sample in enumerate(samples):
        metric = check_metric(sample.metric, field=f"samples[{i}].metric")
        labels = canonical_labels(sample.labels, field=f"samples[{i}].labels")
        value = sample.value
        if type(value) is float and not math.isfinite(value):
            skipped += 1
            continue
        rows.append((company, service, metric, labels, ts, check_value(value, field=f"samples[{i}].value")))
    if len(rows) > MAX_SNAPSHOTS:
        raise InvalidError(f"at most {MAX_SNAPSHOTS:,} samples per push, got {len(rows):,}", "body")
    if not rows:
        raise InvalidError("the text holds no samples with a finite value", "body")
    return SnapshotBatch(company, rows, skipped, tuple(notes))


def push(cur: Cursor, *, batch: SnapshotBatch, actor: Identity, detect: bool = True) -> PushResult:
    """Write a validated batch in one transaction: unknown services registered (kind ``other``),
    snapshots appended idempotently. Then let detection look at what arrived, unless the caller
    hands that to ``detect_soon`` after answering (the API does: judging 1,000 fresh series
    takes several times longer than storing them)."""
    who = require(actor, Permission.INGEST, batch.company)
    now = clock.now()

    def work() -> tuple[list[str], snapshots.WriteResult]:
        with unit_of_work(cur):
            registered = ensure_services(
                cur, company=batch.company, services=batch.services, actor=who, now=now
            )
            written = snapshots.append(cur, snapshots.batch(batch.rows))
        return registered, written

    registered, written = retry_conflicts(work, on=RACES)
    if written.accepted and detect:
        after_ingest(company=batch.company, services=batch.services, until=batch.newest, cur=cur)
    return PushResult(written.accepted, written.duplicates, tuple(registered), batch.skipped, batch.notes)


_pending_lock = threading.Lock()
_pending: dict[str, tuple[set[str], datetime] | None] = {}  # company → work that arrived meanwhile


def detect_soon(*, company: str, services: Sequence[str], until: datetime) -> None:
    """Run detection for ``company`` now, or fold this request into the run already going.

    Many pushes for one company in a burst cost one or two evaluations, not one each: requests
    that arrive while an evaluation runs are merged (their services, the latest ``until``) into
    a single evaluation that starts when the running one ends.
    """
    with _pending_lock:
        if company in _pending:
            waiting = _pending[company]
            merged = set(services) | (waiting[0] if waiting else set())
            _pending[company] = (merged, max(until, waiting[1]) if waiting else until)
            return
        _pending[company] = None
    current: tuple[set[str], datetime] | None = (set(services), until)
    try:
        while current is not None:
            after_ingest(company=company, services=sorted(current[0]), until=current[1])
            with _pending_lock:  # take what arrived meanwhile, or leave: one decision under the lock
                current = _pending[company]
                if current is None:
                    del _pending[company]
                else:
                    _pending[company] = None
    except BaseException:
        with _pending_lock:
            _pending.pop(company, None)
        raise


def after_ingest(
    *, company: str, services: Sequence[str], until: datetime, cur: Cursor | None = None
) -> None:
    """Hand fresh snapshots to detection (and detection to the agent); the push is stored either
    way, so a failure here is logged, not reported to the client as a failed push. Detection
    judges the whole company; ``services`` is what ``detect_soon`` folds requests by."""
    from calmops import detect

    try:
        detect.after_ingest(company=company, until=until, cur=cur)
    except Exception:
        log.exception("detection after a push to %s failed; the snapshots are stored", company)


# --- events


@dataclass(frozen=True)
class EventIn:
    company: str
    service: str
    kind: EventKind
    ts: datetime
    description: str
    version: str | None


def event_in(body: object) -> EventIn:
    """Validate an event body ``{"company", "service", "kind", "ts", "description", "version"?}``."""
    body = check_object(body, allowed=EVENT_FIELDS)
    company = check_slug(body.get("company"))
    service = check_service_name(body.get("service"))
    try:
        kind = EventKind(body.get("kind"))
    except ValueError:
        raise InvalidError(f"kind must be one of {EVENT_KINDS}", "kind") from None
    ts = check_ts(body.get("ts"))
    if not isinstance(body.get("description"), str):
        raise InvalidError(
            "description is required: a string saying what was deployed or changed", "description"
        )
    description = check_text(body["description"], field="description", required=False, limit=2000)
    version = body.get("version")
    if version is not None:
        version = check_text(version, field="version", limit=200)
    return EventIn(company, service, kind, ts, description, version or None)


def record_event(cur: Cursor, *, event: EventIn, actor: Identity) -> Event:
    """Store a deploy or config change (registering an unknown service), with an audit row; tried
    again when a push registered the same new service at the same moment."""
    who = require(actor, Permission.INGEST, event.company)
    now = clock.now()
    return retry_conflicts(lambda: _insert_event(cur, event=event, now=now, actor=who), on=RACES)


def _insert_event(cur: Cursor, *, event: EventIn, now: datetime, actor: str) -> Event:
    with unit_of_work(cur):
        ensure_services(cur, company=event.company, services=[event.service], actor=actor, now=now)
        row = cur.execute(
            "INSERT INTO events (company, service, kind, ts, description, version, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            [event.company, event.service, event.kind.value, event.ts, event.description, event.version, now],
        ).fetchall()[0]
        stored = Event(
            row[0], event.company, event.service, event.kind, event.ts, event.description, event.version
        )
        audit(
            cur, company=event.company, ts=now, actor=actor, action="event.create", entity="event",
            entity_id=stored.id, after=stored.to_json(),
        )  # fmt: skip
    return stored
