"""Turn a health endpoint's answer into snapshots.

Four formats are read: plain JSON health (``{"status": "ok", "cpu": 41}``), ``application/health+json``
(draft-inadarei-api-health-check), Spring Boot's ``/actuator/health`` and Prometheus text exposition
0.0.4 (OpenMetrics text too). Everything here is pure (bytes in, ``Parsed`` out, no I/O), so the probe,
the push API and the tests share one reading of every format.

Output follows CONTRACT.md "Series": canonical metrics (``vocabulary.METRICS``) carry empty labels;
any other number keeps a Prometheus-style name and its canonical label string (keys sorted, values
escaped, empty values left out). A canonical metric is only produced when the answer states it
exactly (a known name, a known unit, or arithmetic on values the answer gives); everything else keeps
its own name, so nothing is guessed.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from calmops.vocabulary import METRICS

MAX_BODY_BYTES = 10 * 1024 * 1024  # CONTRACT.md: bodies over 10 MB are refused
FORMATS = ("json", "health+json", "spring", "prometheus")
METRIC_MAX = 200  # what ingest accepts for a pushed metric name
LABELS_MAX = 4096  # what ingest accepts for a canonical label string
_NOTE_EXAMPLES = 5

_METRIC_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_FLOAT_RE = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:inf|infinity|nan)", re.IGNORECASE)
_TIMESTAMP_RE = re.compile(r"[+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
_UNESCAPE = {"\\": "\\", '"': '"', "n": "\n"}
_QUOTED_REST = re.compile(r'((?:[^"\\]|\\.)*)"')
_ESCAPE = re.compile(r"\\(.)")
_CAMEL_LOWER = re.compile(r"([a-z0-9])([A-Z])")
_CAMEL_UPPER = re.compile(r"([A-Z]+)([A-Z][a-z])")
_NOT_NAME = re.compile(r"[^a-z0-9]+|_+")


class ParseError(ValueError):
    """The body is not a health answer in any format we read (the probe reports it as failed)."""


@dataclass(frozen=True)
class Sample:
    """One value of one series: ``metric``, canonical ``labels`` string, ``value`` (always finite)."""

    metric: str
    labels: str
    value: float


@dataclass(frozen=True)
class Parsed:
    """What an answer says: its format, the service's own status, its samples and what was left out."""

    format: str
    status: str | None  # "ok" | "degraded" | "down" | None (the answer states none)
    samples: list[Sample] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# --- shared vocabulary: statuses, names, labels

_STATUS_WORDS: dict[str, str | None] = {
    **dict.fromkeys(
        ("ok", "okay", "healthy", "up", "pass", "passed", "passing", "green", "good", "online", "running",
         "available", "ready", "alive", "live", "serving", "operational", "success"),
        "ok",
    ),
    **dict.fromkeys(
        ("degraded", "warn", "warning", "yellow", "partial", "impaired", "unstable", "partial_outage",
         "degraded_performance"),
        "degraded",
    ),
    **dict.fromkeys(
        ("down", "fail", "failed", "failing", "failure", "error", "critical", "red", "unhealthy", "offline",
         "unavailable", "out_of_service", "dead", "bad", "not_serving", "major_outage", "outage", "fatal"),
        "down",
    ),
    **dict.fromkeys(("unknown", "n_a", "none", ""), None),
}  # fmt: skip
_BOOLEAN_HINTS = ("healthy", "ok", "up", "alive", "ready", "live", "available", "success")


def map_status(word: object) -> tuple[str | None, bool]:
    """A status word as ``ok``/``degraded``/``down``/None, and whether the word was recognised."""
    if not isinstance(word, str):
        return None, False
    key = re.sub(r"[\s-]+", "_", word.strip().lower())
    if key in _STATUS_WORDS:
        return _STATUS_WORDS[key], True
    return None, False


@functools.lru_cache(maxsize=8192)
def metric_name(raw: str) -> str:
    """A Prometheus-style snake_case name from any key (``heapUsed`` → ``heap_used``), or "" if none.

    Colons are replaced too: Prometheus reserves them for recording rules. Cached: a collector
    sees the same few hundred keys every round.
    """
    text = _CAMEL_LOWER.sub(r"\1_\2", raw)
    text = _CAMEL_UPPER.sub(r"\1_\2", text).lower()
    text = _NOT_NAME.sub("_", text).strip("_")
    if text and text[0].isdigit():
        text = "_" + text
    return text


def escape_label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def canonical_labels(labels: Mapping[str, str]) -> str:
    """``code="500",method="get"``: keys sorted, values escaped, empty values left out (as in
    Prometheus, an empty label is no label), so one label set always has one string."""
    return ",".join(f'{k}="{escape_label_value(v)}"' for k, v in sorted(labels.items()) if v != "")


def _number(value: object) -> float | None:
    """A JSON number as float; booleans (an int subclass), strings and overflowing ints are not."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return float(value)
    except OverflowError:
        return None


def _examples(items: list[str]) -> str:
    shown = ", ".join(items[:_NOTE_EXAMPLES])
    return shown + (f" and {len(items) - _NOTE_EXAMPLES} more" if len(items) > _NOTE_EXAMPLES else "")


class _Out:
    """Samples as they are found: the first of a series wins, unusable values become notes."""

    def __init__(self) -> None:
        self.samples: list[Sample] = []
        self.notes: list[str] = []
        self._seen: set[tuple[str, str]] = set()
        self._nonfinite: list[str] = []
        self._duplicates: list[str] = []
        self._too_long: list[str] = []

    def has(self, metric: str, labels: str = "") -> bool:
        return (metric, labels) in self._seen

    def add(self, metric: str, value: float, labels: str = "") -> bool:
        shown = f"{metric}{{{labels}}}" if labels else metric
        if not math.isfinite(value):
            self._nonfinite.append(f"{shown}={value}")
            return False
        if len(metric) > METRIC_MAX or len(labels) > LABELS_MAX:
            self._too_long.append(shown[:60] + "…")
            return False
        if (metric, labels) in self._seen:
            self._duplicates.append(shown)
            return False
        self._seen.add((metric, labels))
        self.samples.append(Sample(metric, labels, value))
        return True

    def note(self, text: str) -> None:
        self.notes.append(text)

    def result(self, fmt: str, status: str | None) -> Parsed:
        notes = list(self.notes)
        if self._nonfinite:
            notes.append(
                f"skipped {len(self._nonfinite)} NaN/Inf value(s) (thresholds cannot judge them): "
                f"{_examples(self._nonfinite)}"
            )
        if self._duplicates:
            notes.append(f"kept the first of repeated series: {_examples(self._duplicates)}")
        if self._too_long:
            notes.append(f"skipped names or label sets too long to store: {_examples(self._too_long)}")
        return Parsed(fmt, status, self.samples, notes)


# --- entry point


def parse(body: bytes, *, content_type: str | None, declared: str | None = None) -> Parsed:
    """Read a health answer as ``declared`` format, or detect the format when that is None.

    Detection: ``application/health+json`` → health+json; ``text/plain`` with a ``version``
    parameter or ``application/openmetrics-text`` → prometheus; a JSON object → health+json when
    shaped like one (pass/warn/fail, ``checks`` of lists), spring when ``{"status": "UP"}`` comes
    with ``components``/``details``, else json; other text → prometheus if it parses as exposition.
    Raises ParseError for anything else (binary, empty, HTML, a JSON array, over 10 MB).
    """
    if declared is not None and declared not in FORMATS:
        raise ParseError(f"unknown format {declared!r}; expected one of {', '.join(FORMATS)}")
    if len(body) > MAX_BODY_BYTES:
        raise ParseError(f"body of {len(body):,} bytes is over the {MAX_BODY_BYTES // 2**20} MB limit")
    text = _decode(body)
    mime, params = _media_type(content_type)
    if declared == "prometheus":
        return _parse_prometheus(text)
    if declared is not None:
        return _JSON_PARSERS[declared](_json_object(text))
    if mime == "application/health+json":
        return _parse_health_json(_json_object(text))
    if mime == "application/openmetrics-text" or (mime == "text/plain" and "version" in params):
        return _parse_prometheus(text)
    start = text.lstrip()[:1]
    if mime == "text/html" or start == "<":
        raise ParseError(f"an HTML page, not a health answer: {_excerpt(text)}")
    json_type = mime == "application/json" or mime.endswith("+json")
    if start in ("{", "[") or json_type:
        try:
            doc = _json_object(text)
        except ParseError as json_error:
            if start != "{" or json_type:
                raise
            try:  # Prometheus 3 text may open a line with a quoted name: {"my.metric"} 1
                return _parse_prometheus(text)
            except ParseError:
                raise json_error from None
        return _JSON_PARSERS[_sniff_json(doc)](doc)
    try:
        return _parse_prometheus(text)
    except ParseError as exc:
        raise ParseError(f"neither JSON nor Prometheus text ({exc})") from None


def _decode(body: bytes) -> str:
    if not body.strip():
        raise ParseError("empty body")
    if b"\x00" in body[:4096]:
        raise ParseError(f"binary body, not text ({len(body):,} bytes)")
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError(f"binary or non-UTF-8 body (byte {exc.start} is not UTF-8)") from None
    return text


def _media_type(content_type: str | None) -> tuple[str, dict[str, str]]:
    if not content_type:
        return "", {}
    mime, *rest = content_type.split(";")
    params = {}
    for part in rest:
        key, _, value = part.partition("=")
        params[key.strip().lower()] = value.strip().strip('"')
    return mime.strip().lower(), params


def _excerpt(text: str, size: int = 60) -> str:
    flat = " ".join(text.split())
    return repr(flat[:size] + ("…" if len(flat) > size else ""))


def _json_object(text: str) -> dict:
    try:
        doc = json.loads(text)
    except RecursionError:
        raise ParseError("JSON nested too deeply") from None
    except ValueError as exc:
        raise ParseError(f"not valid JSON ({exc}): {_excerpt(text)}") from None
    if not isinstance(doc, dict):
        raise ParseError(f"JSON {type(doc).__name__} where a health object was expected")
    return doc


def _sniff_json(doc: dict) -> str:
    status = doc.get("status")
    checks = doc.get("checks")
    if status in ("pass", "warn", "fail") or (
        isinstance(checks, dict) and checks and all(isinstance(v, list) for v in checks.values())
    ):
        return "health+json"
    if status in _SPRING_STATUS and (
        isinstance(doc.get("components"), dict)
        or isinstance(doc.get("details"), dict)
        or any(isinstance(v, dict) and v.get("status") in _SPRING_STATUS for v in doc.values())
    ):
        return "spring"
    return "json"


# --- plain JSON health

_CANONICAL_ALIASES: dict[str, tuple[str, float]] = {
    **dict.fromkeys(
        ("latency_ms", "p95_latency_ms", "p95_ms", "latency_p95", "response_time_p95_ms",
         "p95_response_time_ms", "latency_ms_p95"),
        ("latency_p95_ms", 1.0),
    ),
    **dict.fromkeys(
        ("latency_p95_s", "latency_p95_seconds", "p95_latency_s", "p95_latency_seconds"),
        ("latency_p95_ms", 1000.0),
    ),
    **dict.fromkeys(
        ("cpu", "cpu_percent", "cpu_usage_pct", "cpu_usage_percent", "cpu_utilization_pct",
         "cpu_utilization_percent", "cpu_util_pct", "cpu_used_pct"),
        ("cpu_pct", 1.0),
    ),
    **dict.fromkeys(("cpu_ratio", "cpu_fraction"), ("cpu_pct", 100.0)),
    **dict.fromkeys(
        ("mem_pct", "memory_percent", "mem_percent", "memory_usage_pct", "memory_usage_percent",
         "memory_used_pct", "memory_used_percent", "mem_used_pct", "memory_utilization_pct"),
        ("memory_pct", 1.0),
    ),
    **dict.fromkeys(("memory_ratio", "memory_fraction", "mem_ratio"), ("memory_pct", 100.0)),
    **dict.fromkeys(
        ("queue", "queue_length", "queue_len", "queue_size", "backlog", "queue_backlog", "queued",
         "pending_jobs", "jobs_queued", "jobs_waiting"),
        ("queue_depth", 1.0),
    ),
    **dict.fromkeys(("errors_ratio", "error_ratio", "error_fraction", "errors_rate"), ("error_rate", 1.0)),
    **dict.fromkeys(("error_pct", "error_percent", "errors_pct", "errors_percent"), ("error_rate", 0.01)),
    **dict.fromkeys(
        ("rps", "requests_per_second", "requests_per_sec", "req_per_sec", "req_per_second", "qps",
         "throughput_rps"),
        ("request_rate", 1.0),
    ),
    **dict.fromkeys(
        ("db_pool_pct", "db_pool_percent", "db_connections_percent", "db_pool_used_pct", "db_pool_usage_pct",
         "db_connection_pool_pct", "connection_pool_pct", "db_conn_pct"),
        ("db_connections_pct", 1.0),
    ),
    **dict.fromkeys(
        ("disk_used_pct", "disk_percent", "disk_usage_pct", "disk_usage_percent", "disk_used_percent",
         "disk_space_used_pct"),
        ("disk_pct", 1.0),
    ),
}  # fmt: skip
_STATUS_KEYS = ("status", "state", "health")
_CONTAINER_KEYS = frozenset({"checks", "components", "dependencies", "services", "details"})


def _canonical_for(name: str) -> tuple[str, float] | None:
    if name in METRICS:
        return name, 1.0
    return _CANONICAL_ALIASES.get(name)


def _parse_json(doc: dict) -> Parsed:
    """``{"status": "...", <numbers>}``: top-level numbers and one level of nested objects.

    Names that are canonical or a known alias become canonical metrics (an exact canonical name
    wins over an alias of it; the alias is then kept under its own name); booleans only hint at
    the status when no status word is given; nested objects with a status become
    ``component_up{component=...}``.
    """
    out = _Out()
    status, status_key = None, None
    for key in _STATUS_KEYS:
        if isinstance(doc.get(key), str):
            status_key = key
            status, known = map_status(doc[key])
            if not known:
                out.note(f"status {doc[key]!r} is not a status word we know; treated as unstated")
            break
    if status_key is None:
        for key in _BOOLEAN_HINTS:
            if isinstance(doc.get(key), bool):
                status = "ok" if doc[key] else "down"
                out.note(f"status taken from the boolean {key!r}")
                break
    fields: list[tuple[str, float]] = []
    deeper: list[str] = []
    for key, value in doc.items():
        if key == status_key:
            continue
        number = _number(value)
        if number is not None:
            fields.append((metric_name(key), number))
        elif isinstance(value, dict):
            _component(out, key, value)
            for sub, inner in value.items():
                number = _number(inner)
                if number is not None:
                    fields.append((metric_name(f"{key}_{sub}"), number))
                elif key in _CONTAINER_KEYS:
                    _component(out, sub, inner)
                elif isinstance(inner, dict | list):
                    deeper.append(f"{key}.{sub}")
    if deeper:
        out.note(f"only one level of nesting is read; left out {_examples(deeper)}")
    fields.sort(key=lambda f: f[0] not in METRICS)  # exact canonical names claim their metric first
    for name, value in fields:
        if not name:
            continue
        canonical = _canonical_for(name)
        if canonical and not out.has(canonical[0]):
            out.add(canonical[0], value * canonical[1])
        else:
            out.add(name, value)
    error_rate = next((s.value for s in out.samples if s.metric == "error_rate"), None)
    if error_rate is not None and error_rate > 1:
        out.note(f"error_rate {error_rate:g} is above 1: the canonical error_rate is a fraction 0–1")
    if not out.samples and status is None:
        out.note("the answer states no status and no numbers")
    return out.result("json", status)


def _component(out: _Out, name: str, value: object) -> None:
    """``component_up{component=name}`` from a nested status word or ``{"status": ...}`` object."""
    word = value.get("status") if isinstance(value, dict) else value
    if not isinstance(word, str):
        return
    status, known = map_status(word)
    if known and status is not None:
        out.add("component_up", 0.0 if status == "down" else 1.0, canonical_labels({"component": name}))


# --- application/health+json (draft-inadarei-api-health-check)

_PERCENT_UNITS = {"percent": 1.0, "%": 1.0, "pct": 1.0, "percentage": 1.0, "ratio": 100.0, "fraction": 100.0}
_TIME_UNITS_MS = {
    "ms": 1.0, "millisecond": 1.0, "milliseconds": 1.0, "s": 1000.0, "sec": 1000.0, "second": 1000.0,
    "seconds": 1000.0, "us": 0.001, "µs": 0.001, "microseconds": 0.001, "ns": 1e-6, "nanoseconds": 1e-6,
}  # fmt: skip
_UTILISATION = frozenset({"utilization", "utilisation", "usage", "used", "use"})
_TIME_MEASURES = frozenset({"response_time", "responsetime", "latency", "duration"})
_PERCENT_COMPONENTS: dict[str, str] = {
    **dict.fromkeys(("cpu", "processor"), "cpu_pct"),
    **dict.fromkeys(("memory", "mem", "ram"), "memory_pct"),
    **dict.fromkeys(
        ("connections", "connection_pool", "db_pool", "pool", "db_connections"), "db_connections_pct"
    ),
    **dict.fromkeys(("disk", "disk_space", "storage", "filesystem", "volume"), "disk_pct"),
}


def _parse_health_json(doc: dict) -> Parsed:
    """pass/warn/fail (and the draft's aliases ok/up, error/down) → ok/degraded/down; every numeric
    ``observedValue`` in ``checks`` becomes a sample.

    ``<component>:utilization`` in percent maps to cpu_pct / memory_pct / db_connections_pct /
    disk_pct; a response time maps to latency_p95_ms only when its key names the p95. Other values
    keep ``<component>_<measurement>`` (times converted to ms and suffixed ``_ms``) with labels
    componentId / componentType / node. When several entries give one canonical metric (several
    nodes) the canonical value is the worst (highest) and each entry is kept under its own name.
    Each component also yields ``component_up`` (0 when any of its checks fails).
    """
    out = _Out()
    status, known = map_status(doc.get("status"))
    if "status" not in doc:
        out.note("no top-level status")
    elif not known:
        out.note(f"status {doc.get('status')!r} is not a health+json status")
    checks = doc.get("checks", doc.get("details"))
    if checks is None:
        checks = {}
    if not isinstance(checks, dict):
        out.note("`checks` is not an object; left out")
        checks = {}
    canonical: dict[str, list[tuple[str, str, float]]] = {}
    component_up: dict[str, float] = {}
    skipped: list[str] = []
    for key, entries in checks.items():
        component, _, measurement = str(key).partition(":")
        items = entries if isinstance(entries, list) else [entries]
        target, factor, note = _health_metric(component, measurement, items)
        if note:
            out.note(note)
        for entry in items:
            if not isinstance(entry, dict):
                skipped.append(str(key))
                continue
            entry_status, entry_known = map_status(entry.get("status"))
            if entry_known and entry_status is not None:
                up = 0.0 if entry_status == "down" else 1.0
                component_up[component] = min(component_up.get(component, 1.0), up)
            value = _number(entry.get("observedValue"))
            if value is None:
                if not isinstance(entry.get("observedValue"), bool | str):
                    skipped.append(str(key))
                continue
            labels = canonical_labels(
                {k: str(entry[k]) for k in ("componentId", "componentType", "node") if k in entry}
            )
            if target in METRICS:
                canonical.setdefault(target, []).append(
                    (_own_name(component, measurement), labels, value * factor)
                )
            else:
                out.add(target, value * factor, labels)
    for metric, found in canonical.items():
        out.add(metric, max(value for _, _, value in found))
        if len(found) > 1:
            out.note(f"{metric} is the highest of {len(found)} entries; each is kept with its labels")
            for own, labels, value in found:
                out.add(own, value, labels)
    for component, up in component_up.items():
        out.add("component_up", up, canonical_labels({"component": component}))
    if skipped:
        out.note(f"checks without a numeric observedValue: {_examples(sorted(set(skipped)))}")
    return out.result("health+json", status)


def _own_name(component: str, measurement: str) -> str:
    return metric_name(f"{component}_{measurement}" if measurement else component)


_P95 = re.compile(r"p95|95th|percentile_?95")


def _health_metric(component: str, measurement: str, entries: list) -> tuple[str, float, str | None]:
    """(metric name, factor, note) for one check key, from its name and the entries' unit."""
    comp, meas = metric_name(component), metric_name(measurement)
    units = {str(e.get("observedUnit", "")).strip() for e in entries if isinstance(e, dict)}
    shown = units.pop() if len(units) == 1 else None
    unit = shown.lower() if shown is not None else None
    own = _own_name(component, measurement)
    if meas in _UTILISATION and comp in _PERCENT_COMPONENTS:
        if unit in _PERCENT_UNITS:
            return _PERCENT_COMPONENTS[comp], _PERCENT_UNITS[unit], None
        return (
            own,
            1.0,
            f"{component}:{measurement} is not in percent (unit {shown or 'none'}); kept as {own}",
        )
    is_p95 = bool(_P95.search(own))
    if meas in _TIME_MEASURES or (not meas and comp in _TIME_MEASURES) or is_p95:
        factor = _TIME_UNITS_MS.get(unit or "")
        if factor is not None and is_p95:
            return "latency_p95_ms", factor, None
        if factor is not None:
            return (own if own.endswith("_ms") else f"{own}_ms"), factor, None
    return own, 1.0, None


# --- Spring Boot actuator /actuator/health

_SPRING_STATUS: dict[str, str | None] = {
    "UP": "ok",
    "DOWN": "down",
    "OUT_OF_SERVICE": "down",
    "UNKNOWN": None,
}
_POOL_ACTIVE = ("active", "activeConnections", "active_connections", "inUse", "in_use", "busy")
_POOL_MAX = ("max", "maxConnections", "max_connections", "maximumPoolSize", "maxPoolSize", "max_pool_size")


def _parse_spring(doc: dict) -> Parsed:
    """UP/DOWN/OUT_OF_SERVICE/UNKNOWN → ok/down/down/None; one ``component_up{component=...}`` per
    component (nested ones as ``db/primary``), from ``components`` (Boot 2.2+), ``details``
    (Boot 2.0–2.1) or status-bearing siblings (Boot 1.x).

    Numeric details become ``<component>_<detail>{component=...}``; diskSpace's total and free give
    disk_pct = (total − free) / total × 100 (the fullest disk when there are several); a pool's
    active and max connections give db_connections_pct.
    """
    out = _Out()
    word = doc.get("status")
    if isinstance(word, str) and word.upper() in _SPRING_STATUS:
        status = _SPRING_STATUS[word.upper()]
    else:
        status, known = map_status(word)
        if not known:
            out.note(f"status {word!r} is not a Spring Boot status")
    disks: list[float] = []
    pools: list[float] = []
    _spring_walk(out, _spring_children(doc, top=True), "", disks, pools)
    if disks:
        out.add("disk_pct", max(disks))
        if len(disks) > 1:
            out.note(f"disk_pct is the fullest of {len(disks)} disks")
    if pools:
        out.add("db_connections_pct", max(pools))
    return out.result("spring", status)


def _spring_children(node: dict, *, top: bool) -> dict:
    if isinstance(node.get("components"), dict):
        return node["components"]
    details = node.get("details")
    if isinstance(details, dict) and _is_composite(details):
        return details
    if top:
        return {k: v for k, v in node.items() if isinstance(v, dict) and "status" in v}
    return {}


def _is_composite(details: dict) -> bool:
    return bool(details) and all(isinstance(v, dict) and "status" in v for v in details.values())


def _spring_walk(out: _Out, children: dict, prefix: str, disks: list[float], pools: list[float]) -> None:
    for name, node in children.items():
        if not isinstance(node, dict):
            continue
        path = f"{prefix}/{name}" if prefix else str(name)
        labels = canonical_labels({"component": path})
        word = node.get("status")
        if isinstance(word, str):
            state = _SPRING_STATUS.get(word.upper(), map_status(word)[0])
            if state is None:
                out.note(f"component {path} reports {word}; no component_up for it")
            else:
                out.add("component_up", 0.0 if state == "down" else 1.0, labels)
        details = node.get("details")
        if not isinstance(details, dict) or _is_composite(details):
            details = {k: v for k, v in node.items() if k not in ("status", "details", "components")}
        numbers = {k: n for k, v in details.items() if (n := _number(v)) is not None}
        for key, value in numbers.items():
            out.add(metric_name(f"{name}_{key}"), value, labels)
        total, free = numbers.get("total"), numbers.get("free")
        if total and free is not None and total > 0:
            disks.append((total - free) / total * 100.0)
        active = next((numbers[k] for k in _POOL_ACTIVE if k in numbers), None)
        largest = next((numbers[k] for k in _POOL_MAX if k in numbers), None)
        if active is not None and largest:
            pools.append(active / largest * 100.0)
        _spring_walk(out, _spring_children(node, top=False), path, disks, pools)


_JSON_PARSERS = {"json": _parse_json, "health+json": _parse_health_json, "spring": _parse_spring}


# --- Prometheus text exposition 0.0.4 (and OpenMetrics text)

_TYPES = frozenset({"counter", "gauge", "histogram", "summary", "untyped", "unknown", "info", "stateset",
                    "gaugehistogram"})  # fmt: skip
_SUFFIXES = ("_bucket", "_sum", "_count", "_total", "_created", "_gcount", "_gsum", "_info")
_EXACT_CANONICAL: dict[str, tuple[str, float]] = {
    "process_cpu_percent": ("cpu_pct", 1.0),
    "process_cpu_usage": ("cpu_pct", 100.0),  # Micrometer: a 0–1 ratio of the process's CPU
    "process_memory_percent": ("memory_pct", 1.0),
}
_LATENCY_FAMILIES: dict[str, float] = {
    "http_request_duration_seconds": 1000.0,
    "http_server_requests_seconds": 1000.0,  # Micrometer (Spring Boot)
    "http_server_request_duration_seconds": 1000.0,  # OpenTelemetry semantic conventions
    "http_request_duration_milliseconds": 1.0,
    "http_request_duration_ms": 1.0,
    "http_server_duration_milliseconds": 1.0,  # older OpenTelemetry
}
_POOL_FAMILIES = (("hikaricp_connections_active", "hikaricp_connections_max"),
                  ("jdbc_connections_active", "jdbc_connections_max"))  # fmt: skip


class _LineError(ValueError):
    pass


@dataclass(frozen=True)
class _Raw:
    name: str
    labels: dict[str, str]
    value: float


def _parse_prometheus(text: str) -> Parsed:
    """Every sample kept as it is, with its canonical labels; canonical metrics added where exact.

    NaN and ±Inf samples are skipped with a note: DuckDB's DOUBLE could hold them, but a threshold
    rule cannot judge them (every comparison with NaN is false, so a NaN would read as healthy).
    Timestamps are ignored: the probe's time counts. Derived: ``up`` (also the status),
    process_cpu_percent / Micrometer process_cpu_usage → cpu_pct, HikariCP or JDBC active/max →
    db_connections_pct, an HTTP duration histogram → latency_p95_ms interpolated from its cumulative
    buckets summed over the other labels (as ``histogram_quantile(0.95, sum by (le) (...))``), or a
    summary's quantile="0.95" when it has one label set (quantiles of several cannot be combined).
    Counters stay totals: one scrape has no rate, so request_rate and error_rate are not derived.
    Malformed lines are skipped with a note unless they outnumber the good ones (then ParseError).
    """
    out = _Out()
    types: dict[str, str] = {}
    raws: list[_Raw] = []
    bad: list[str] = []
    good = 0
    lines = text.splitlines()
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            parts = stripped[1:].split(None, 3)
            if parts[:1] == ["EOF"]:
                if any(rest.strip() for rest in lines[number:]):
                    out.note("text after # EOF ignored")
                break
            if parts[:1] == ["TYPE"] and len(parts) >= 3:
                kind = parts[2].lower()
                if not _METRIC_RE.fullmatch(parts[1]) or kind not in _TYPES:
                    bad.append(f"line {number}: bad TYPE line {_excerpt(stripped, 40)}")
                    continue
                types[parts[1]] = kind
            good += 1
            continue
        try:
            raws.append(_sample_line(stripped))
            good += 1
        except _LineError as exc:
            bad.append(f"line {number}: {exc}")
    if bad and len(bad) >= good:
        raise ParseError(
            f"not Prometheus text: {bad[0]}" + (f" (and {len(bad) - 1} more)" if len(bad) > 1 else "")
        )
    if bad:
        out.note(f"skipped {len(bad)} malformed line(s): {_examples(bad)}")
    reserved: list[str] = []
    for raw in raws:
        kept = {k: v for k, v in raw.labels.items() if not k.startswith("__")}
        if len(kept) != len(raw.labels):
            reserved.append(raw.name)
        out.add(raw.name, raw.value, canonical_labels(kept))
    if reserved:
        out.note(f"dropped reserved __ labels on {_examples(sorted(set(reserved)))}")
    status = _derive(out, raws, types)
    if any(kind == "counter" for kind in types.values()):
        out.note("counters are kept as running totals: one scrape has no rate, so request_rate and "
                 "error_rate are not derived")  # fmt: skip
    return out.result("prometheus", status)


def _sample_line(line: str) -> _Raw:
    """``name{label="value",...} value [timestamp] [# exemplar]`` → name, unescaped labels, value."""
    pos, name = 0, None
    match = _METRIC_RE.match(line)
    if match:
        name, pos = match.group(), match.end()
    elif not line.startswith("{"):
        raise _LineError(f"not a sample {_excerpt(line, 40)}")
    labels: dict[str, str] = {}
    brace = pos
    while brace < len(line) and line[brace] in " \t":
        brace += 1
    if brace < len(line) and line[brace] == "{":
        pos, name = _label_set(line, brace + 1, labels, name)
    if name is None:
        raise _LineError("a sample without a metric name")
    rest = line[pos:]
    if rest[:1] not in (" ", "\t"):
        raise _LineError(f"no value after {name}")
    tokens = rest.split("#", 1)[0].split() if " # " in rest else rest.split()
    if not tokens or len(tokens) > 2:
        raise _LineError(f"expected a value and an optional timestamp after {name}, got {rest.strip()!r}")
    if not _FLOAT_RE.fullmatch(tokens[0]):
        raise _LineError(f"value {tokens[0]!r} of {name} is not a number")
    if len(tokens) == 2 and not _TIMESTAMP_RE.fullmatch(tokens[1]):
        raise _LineError(f"timestamp {tokens[1]!r} of {name} is not a number")
    return _Raw(name, labels, float(tokens[0]))


def _label_set(line: str, pos: int, labels: dict[str, str], name: str | None) -> tuple[int, str | None]:
    """Read labels after ``{`` up to ``}``; returns the position after ``}`` and the metric name
    (Prometheus 3 may give a quoted name inside the braces)."""
    while True:
        while pos < len(line) and line[pos] in " \t":
            pos += 1
        if pos >= len(line):
            raise _LineError("labels not closed with }")
        if line[pos] == "}":
            return pos + 1, name
        if line[pos] == '"':
            key, pos = _quoted(line, pos + 1)
        else:
            match = _LABEL_RE.match(line, pos)
            if not match:
                raise _LineError(f"bad label name at {_excerpt(line[pos:], 20)}")
            key, pos = match.group(), match.end()
        while pos < len(line) and line[pos] in " \t":
            pos += 1
        if line[pos : pos + 1] == "=":
            pos += 1
            while pos < len(line) and line[pos] in " \t":
                pos += 1
            if line[pos : pos + 1] != '"':
                raise _LineError(f"label {key} has no quoted value")
            value, pos = _quoted(line, pos + 1)
            if not _LABEL_RE.fullmatch(key):
                raise _LineError(f"label name {key!r} is not a Prometheus label name")
            if key in labels:
                raise _LineError(f"label {key} repeated")
            labels[key] = value
        elif name is None and _METRIC_RE.fullmatch(key):
            name = key
        else:
            raise _LineError(f"label {key} has no value")
        while pos < len(line) and line[pos] in " \t":
            pos += 1
        if line[pos : pos + 1] == ",":
            pos += 1
        elif line[pos : pos + 1] != "}":
            raise _LineError("labels must be separated by commas")


def _quoted(line: str, pos: int) -> tuple[str, int]:
    """A quoted string's text (escapes \\\\, \\" and \\n undone) and the position after its quote."""
    match = _QUOTED_REST.match(line, pos)
    if match is None:
        raise _LineError("label value not closed with a quote")
    body = match.group(1)
    if "\\" in body:
        body = _ESCAPE.sub(_unescape, body)
    return body, match.end()


def _unescape(match: re.Match[str]) -> str:
    escaped = match.group(1)
    if escaped not in _UNESCAPE:
        raise _LineError(f"unknown escape \\{escaped} in a label value")
    return _UNESCAPE[escaped]


def _family(name: str, types: dict[str, str]) -> tuple[str, str]:
    """(family, type) of a sample name: ``x_bucket`` belongs to histogram ``x``."""
    if name in types:
        return name, types[name]
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and name[: -len(suffix)] in types:
            base = name[: -len(suffix)]
            return base, types[base]
    return name, "untyped"


def _derive(out: _Out, raws: list[_Raw], types: dict[str, str]) -> str | None:
    """Add canonical metrics the exposition states exactly; return the status ``up`` implies."""
    status = None
    by_name: dict[str, list[_Raw]] = {}
    for raw in raws:
        if math.isfinite(raw.value):
            by_name.setdefault(raw.name, []).append(raw)
    unlabelled_up = [r for r in by_name.get("up", []) if not r.labels]
    if unlabelled_up:
        status = "down" if unlabelled_up[0].value < 1 else "ok"
    for source, (metric, factor) in _EXACT_CANONICAL.items():
        series = by_name.get(source, [])
        if len(series) == 1 and not out.has(metric):
            out.add(metric, series[0].value * factor)
        elif len(series) > 1:
            out.note(f"{source} has {len(series)} series; {metric} not derived (which one is the service?)")
    for active_name, max_name in _POOL_FAMILIES:
        active = sum(r.value for r in by_name.get(active_name, []))
        largest = sum(r.value for r in by_name.get(max_name, []))
        if by_name.get(active_name) and largest > 0 and not out.has("db_connections_pct"):
            out.add("db_connections_pct", active / largest * 100.0)
    if not out.has("latency_p95_ms"):
        _derive_latency(out, by_name, types)
    return status


def _derive_latency(out: _Out, by_name: dict[str, list[_Raw]], types: dict[str, str]) -> None:
    for family, factor in _LATENCY_FAMILIES.items():
        buckets = by_name.get(f"{family}_bucket", [])
        if buckets and types.get(family, "histogram") == "histogram":
            value, problem = _histogram_p95(buckets)
            if value is not None:
                out.add("latency_p95_ms", value * factor)
                return
            out.note(f"latency_p95_ms not derived from {family}: {problem}")
        quantiles = [r for r in by_name.get(family, []) if _is_p95(r.labels.get("quantile"))]
        if quantiles:
            if len(quantiles) == 1:
                out.add("latency_p95_ms", quantiles[0].value * factor)
                return
            out.note(
                f"latency_p95_ms not derived from summary {family}: {len(quantiles)} label sets, and "
                "quantiles of different series cannot be combined (a histogram can)"
            )


def _is_p95(text: str | None) -> bool:
    try:
        return text is not None and float(text) == 0.95
    except ValueError:
        return False


def _histogram_p95(buckets: Iterable[_Raw]) -> tuple[float | None, str]:
    """The 0.95 quantile of cumulative buckets summed over every label but ``le``, interpolated
    linearly inside the bucket that holds it, exactly as Prometheus' ``histogram_quantile``."""
    layouts: dict[tuple, set[float]] = {}
    totals: dict[float, float] = {}
    for raw in buckets:
        try:
            bound = float(raw.labels["le"])
        except (KeyError, ValueError):
            return None, "a bucket without a numeric le label"
        rest = tuple(sorted((k, v) for k, v in raw.labels.items() if k != "le"))
        layouts.setdefault(rest, set()).add(bound)
        totals[bound] = totals.get(bound, 0.0) + raw.value
    if len({frozenset(b) for b in layouts.values()}) > 1:
        return None, "its series have different bucket bounds, so they cannot be summed"
    return histogram_quantile(0.95, sorted(totals.items()))


def histogram_quantile(q: float, buckets: list[tuple[float, float]]) -> tuple[float | None, str]:
    """Quantile ``q`` from (upper bound, cumulative count) pairs sorted by bound, with Prometheus'
    rules: needs a +Inf bucket; a rank in the +Inf bucket answers the highest finite bound; the
    first bucket starts at 0 (unless its bound is ≤ 0); non-monotonic counts are evened out."""
    if not buckets or not math.isinf(buckets[-1][0]):
        return None, "no +Inf bucket"
    fixed: list[tuple[float, float]] = []
    for bound, count in buckets:
        fixed.append((bound, max(count, fixed[-1][1]) if fixed else count))
    total = fixed[-1][1]
    if total <= 0:
        return None, "no observations yet"
    rank = q * total
    index = next(i for i, (_, count) in enumerate(fixed) if count >= rank)
    if index == len(fixed) - 1:
        if len(fixed) < 2:
            return None, "only a +Inf bucket"
        return fixed[-2][0], ""
    upper, count = fixed[index]
    if index == 0 and upper <= 0:
        return upper, ""
    lower, below = (0.0, 0.0) if index == 0 else fixed[index - 1]
    return lower + (upper - lower) * (rank - below) / (count - below), ""
