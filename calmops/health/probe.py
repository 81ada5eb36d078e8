"""Probe health endpoints over HTTP and turn every answer, or its absence, into snapshots.

A probe never raises: refused connections, DNS failures, timeouts, TLS errors, redirect loops,
HTTP errors and unreadable bodies all come back as a failed ``ProbeResult`` with a reason an
operator can act on, because a dashboard that loses a probe to an exception goes blind exactly
when a service is in trouble. ``probe_all`` runs one collector round in threads and ends it by a
deadline, so one hanging endpoint never stalls the others.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ALL_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from http.client import IncompleteRead, RemoteDisconnected
from urllib.parse import urljoin, urlsplit

import pyarrow as pa
import requests
import urllib3.exceptions

from calmops import clock
from calmops.health.parsers import MAX_BODY_BYTES, ParseError, Sample, map_status, parse
from calmops.store import snapshots

MAX_REDIRECTS = 5
CONNECT_TIMEOUT_S = 3.05  # a little over TCP's 3 s SYN retransmission, as requests' docs advise
DEADLINE_SLACK_S = 2.0
CHUNK_BYTES = 64 * 1024
USER_AGENT = "CalmOps-probe/0.1"
ACCEPT = "application/health+json, application/json;q=0.9, text/plain;version=0.0.4;q=0.8, */*;q=0.1"


@dataclass(frozen=True)
class Target:
    """One health endpoint of one service. ``format`` None: detect it from the answer."""

    id: int
    company: str
    service: str
    url: str
    format: str | None = None
    timeout_s: float = 5.0
    interval_s: float = 30.0


@dataclass(frozen=True)
class ProbeResult:
    """What one probe found. ``ok`` is whether the endpoint answered usably; ``status`` is what the
    service says of itself (a service can answer fine and report itself down)."""

    target: Target
    ok: bool
    reason: str | None
    status: str | None
    latency_ms: float
    samples: list[Sample]
    checked_at: datetime
    http_status: int | None
    format: str | None
    notes: list[str] = field(default_factory=list)


class _Failed(Exception):
    """A probe that ends early with a reason (and the HTTP status, when there was one)."""

    def __init__(self, reason: str, http_status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.http_status = http_status


def new_session() -> requests.Session:
    """A session for one probing thread (requests' sessions are not shared across threads).

    ``trust_env`` is off: a health check that goes through a proxy measures the proxy, and reading
    .netrc and proxy settings on every request costs time in a round of hundreds.
    """
    session = requests.Session()
    session.trust_env = False
    session.headers.update({"User-Agent": USER_AGENT, "Accept": ACCEPT})
    return session


def probe(target: Target, *, session: requests.Session, now: datetime | None = None) -> ProbeResult:
    """GET the target's URL and read its answer; never raises."""
    checked_at = now or clock.now()
    started = time.perf_counter()
    http_status = None
    try:
        http_status, content_type, body = _fetch(target, session, started)
        return _judge(target, http_status, content_type, body, checked_at, _elapsed_ms(started))
    except _Failed as failure:
        reason, http_status = failure.reason, failure.http_status
    except Exception as exc:  # the probe's promise: any failure is a result, never an exception
        reason = describe_error(exc, target)
    return failed(
        target, reason, checked_at=checked_at, latency_ms=_elapsed_ms(started), http_status=http_status
    )


def failed(
    target: Target,
    reason: str,
    *,
    checked_at: datetime,
    latency_ms: float,
    http_status: int | None = None,
    status: str | None = None,
    samples: Sequence[Sample] = (),
    fmt: str | None = None,
    notes: Sequence[str] = (),
) -> ProbeResult:
    """A failed probe: ``up`` 0, its latency, and whatever the answer still told (a down body)."""
    return ProbeResult(
        target=target,
        ok=False,
        reason=reason,
        status=status,
        latency_ms=latency_ms,
        samples=_with_own_samples(samples, up=0.0, latency_ms=latency_ms),
        checked_at=checked_at,
        http_status=http_status,
        format=fmt,
        notes=list(notes),
    )


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000.0, 3)


def _with_own_samples(samples: Iterable[Sample], *, up: float, latency_ms: float) -> list[Sample]:
    """The probe's own ``up`` and ``probe_latency_ms`` first; the same series from the body give way."""
    own = [Sample("up", "", up), Sample("probe_latency_ms", "", latency_ms)]
    return own + [s for s in samples if not (s.labels == "" and s.metric in ("up", "probe_latency_ms"))]


def _fetch(target: Target, session: requests.Session, started: float) -> tuple[int, str | None, bytes]:
    """Follow up to MAX_REDIRECTS redirects by hand (to name a loop, and to keep one time budget
    over every hop), then read the body in chunks, stopping at 10 MB or when the budget is spent."""
    budget_end = started + target.timeout_s
    url = target.url
    visited = [url]
    for hop in range(MAX_REDIRECTS + 1):
        remaining = budget_end - time.perf_counter()
        if remaining <= 0:
            raise _Failed(f"timeout: no answer within {target.timeout_s:g} s (after {hop} redirects)")
        response = session.get(
            url, timeout=(min(CONNECT_TIMEOUT_S, remaining), remaining), stream=True, allow_redirects=False
        )
        try:
            if response.is_redirect:
                location = session.get_redirect_target(response)
                next_url = urljoin(url, location or "")
                if urlsplit(next_url).scheme not in ("http", "https"):
                    raise _Failed(f"redirect to a non-HTTP URL: {next_url[:200]}", response.status_code)
                if next_url in visited:
                    loop = " → ".join([*visited[visited.index(next_url) :], next_url])
                    raise _Failed(f"redirect loop: {_shorten(loop)}", response.status_code)
                if hop == MAX_REDIRECTS:
                    raise _Failed(f"more than {MAX_REDIRECTS} redirects", response.status_code)
                visited.append(next_url)
                url = next_url
                continue
            body = _read_body(response, budget_end, target.timeout_s)
            return response.status_code, response.headers.get("Content-Type"), body
        finally:
            response.close()
    raise AssertionError("unreachable: the loop returns or raises")


def _shorten(text: str, size: int = 300) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def _read_body(response: requests.Response, budget_end: float, timeout_s: float) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _Failed(f"body of {int(declared):,} bytes is over the 10 MB limit", response.status_code)
    chunks: list[bytes] = []
    size = 0
    raw = response.raw
    while True:
        # read1 returns what has arrived (waiting at most the read timeout), so a body that
        # trickles in byte by byte is still cut off by the probe's time budget.
        chunk = raw.read1(CHUNK_BYTES, decode_content=True)
        if not chunk:
            break
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _Failed("body larger than 10 MB; stopped reading", response.status_code)
        chunks.append(chunk)
        if time.perf_counter() > budget_end:
            raise _Failed(
                f"read timeout: the body did not finish within {timeout_s:g} s", response.status_code
            )
    raw.release_conn()
    return b"".join(chunks)


def _judge(
    target: Target,
    http_status: int,
    content_type: str | None,
    body: bytes,
    checked_at: datetime,
    latency_ms: float,
) -> ProbeResult:
    """An answer as a result: HTTP errors fail (a body that still parses tells its status and
    samples); a 2xx with an unreadable body fails; an empty 2xx or a bare status word passes."""
    try:
        parsed = parse(body, content_type=content_type, declared=target.format)
    except ParseError as exc:
        parsed, problem = None, str(exc)
    if not 200 <= http_status < 300:
        reason = f"HTTP {http_status}"
        if parsed is None:
            return failed(
                target, reason, checked_at=checked_at, latency_ms=latency_ms, http_status=http_status
            )
        return failed(
            target, reason, checked_at=checked_at, latency_ms=latency_ms, http_status=http_status,
            status=parsed.status, samples=parsed.samples, fmt=parsed.format, notes=parsed.notes,
        )  # fmt: skip
    if parsed is None:
        word = _plain_status(body)
        if word is None:
            return failed(
                target, f"unreadable body: {problem}", checked_at=checked_at, latency_ms=latency_ms,
                http_status=http_status,
            )  # fmt: skip
        status, notes, samples, fmt = word[0], [word[1]], [], None
    else:
        status, notes, samples, fmt = parsed.status, parsed.notes, parsed.samples, parsed.format
    up = 0.0 if status == "down" else 1.0
    return ProbeResult(
        target=target,
        ok=True,
        reason=None,
        status=status,
        latency_ms=latency_ms,
        samples=_with_own_samples(samples, up=up, latency_ms=latency_ms),
        checked_at=checked_at,
        http_status=http_status,
        format=fmt,
        notes=notes,
    )


def _plain_status(body: bytes) -> tuple[str | None, str] | None:
    """An empty 2xx (Kubernetes-style liveness) or a bare word like ``ok``: (status, note), else None."""
    text = body.strip()
    if not text:
        return None, "empty answer; the HTTP status alone says the service is up"
    if len(text) > 32:
        return None
    status, known = map_status(text.decode("utf-8", "replace"))
    return (status, f"plain-text status {text.decode('utf-8', 'replace')!r}") if known else None


def describe_error(exc: BaseException, target: Target) -> str:
    """A human reason for a failed request, naming connect and read timeouts, DNS, TLS, refusals."""
    chain = _chain(exc)
    connect = min(CONNECT_TIMEOUT_S, target.timeout_s)
    host = urlsplit(target.url).hostname or target.url

    def has(*kinds: type[BaseException]) -> BaseException | None:
        return next((e for e in chain if isinstance(e, kinds)), None)

    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return f"connect timeout: no connection to {host} within {connect:g} s"
    if has(urllib3.exceptions.NameResolutionError, socket.gaierror):
        return f"DNS failure: cannot resolve {host}"
    if has(ConnectionRefusedError):
        return f"connection refused by {host}"
    tls = has(ssl.SSLError)
    if tls is not None or has(requests.exceptions.SSLError, urllib3.exceptions.SSLError):
        detail = str(tls or exc).split(" (_ssl.c")[0]
        return f"TLS error: {_shorten(detail, 200)}"
    if has(requests.exceptions.ReadTimeout, urllib3.exceptions.ReadTimeoutError, TimeoutError):
        return f"read timeout: no answer within {target.timeout_s:g} s"
    if has(ConnectionResetError):
        return "connection reset by the server"
    if has(RemoteDisconnected):
        return "the server closed the connection without an answer"
    if has(IncompleteRead, urllib3.exceptions.ProtocolError, requests.exceptions.ChunkedEncodingError):
        return "the answer broke off before it was complete"
    if has(requests.exceptions.InvalidHeader, urllib3.exceptions.HeaderParsingError):
        return f"malformed HTTP answer: {_shorten(str(exc), 200)}"
    if has(urllib3.exceptions.DecodeError, requests.exceptions.ContentDecodingError):
        return "the body could not be decompressed"
    if has(
        requests.exceptions.InvalidURL, requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema
    ):
        return f"invalid URL: {_shorten(target.url, 200)}"
    if has(requests.exceptions.ConnectionError):
        return f"connection failed: {_shorten(str(exc), 200)}"
    return f"probe failed: {type(exc).__name__}: {_shorten(str(exc), 200)}"


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and everything it wraps (causes, contexts, urllib3's ``reason``, args)."""
    seen: list[BaseException] = []
    stack: list[object] = [exc]
    while stack and len(seen) < 32:
        item = stack.pop()
        if not isinstance(item, BaseException) or any(item is s for s in seen):
            continue
        seen.append(item)
        stack.extend([item.__cause__, item.__context__, getattr(item, "reason", None), *item.args])
    return seen


# --- a collector round


def probe_all(
    targets: Sequence[Target],
    *,
    max_workers: int = 32,
    deadline_s: float | None = None,
    session_factory: Callable[[], requests.Session] = new_session,
    now: datetime | None = None,
) -> list[ProbeResult]:
    """Probe every target in threads; results in the targets' order, by the round's deadline.

    The deadline defaults to the longest timeout + 2 s. A probe still running then is reported
    failed and abandoned (its thread ends on its own, bounded by its timeouts); one still queued is
    reported not probed. Every result of a round carries the round's time (``now``, default the
    clock's), so one round is one timestamp in every chart.
    """
    if not targets:
        return []
    checked_at = now or clock.now()
    limit = deadline_s if deadline_s is not None else max(t.timeout_s for t in targets) + DEADLINE_SLACK_S
    started = time.perf_counter()
    local = threading.local()
    sessions: list[requests.Session] = []
    sessions_lock = threading.Lock()

    def run(target: Target) -> ProbeResult:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = session_factory()
            with sessions_lock:
                sessions.append(session)
        return probe(target, session=session, now=checked_at)

    executor = ThreadPoolExecutor(
        max_workers=max(1, min(max_workers, len(targets))), thread_name_prefix="probe"
    )
    try:
        futures: list[Future[ProbeResult]] = [executor.submit(run, t) for t in targets]
        wait(futures, timeout=limit, return_when=ALL_COMPLETED)
    finally:
        executor.shutdown(wait=False, cancel_futures=True)
    results = [
        _outcome(future, target, checked_at=checked_at, limit=limit, started=started)
        for future, target in zip(futures, targets, strict=True)
    ]
    with sessions_lock:
        for session in sessions:
            session.close()
    return results


def _outcome(
    future: Future[ProbeResult], target: Target, *, checked_at: datetime, limit: float, started: float
) -> ProbeResult:
    if future.done() and not future.cancelled():
        error = future.exception()
        if error is None:
            return future.result()
        reason = describe_error(error, target)
    elif future.cancelled():
        reason = f"not probed: the round's deadline ({limit:g} s) passed before its turn"
    else:
        reason = f"no answer within the round's deadline ({limit:g} s)"
    return failed(target, reason, checked_at=checked_at, latency_ms=_elapsed_ms(started))


def to_rows(results: Iterable[ProbeResult]) -> pa.Table:
    """The round's samples as snapshot rows (``snapshots.SCHEMA``), ready for ``snapshots.append``.

    Two targets of one service in one round give the same (series, ts) twice; the store would keep
    whichever came first, so here ``up`` keeps the worst (0 if any probe failed),
    ``probe_latency_ms`` the slowest, and any other series the first value.
    """
    merged: dict[tuple[str, str, str, str, datetime], float] = {}
    for result in results:
        target = result.target
        for sample in result.samples:
            key = (target.company, target.service, sample.metric, sample.labels, result.checked_at)
            if key not in merged:
                merged[key] = sample.value
            elif sample.labels == "" and sample.metric == "up":
                merged[key] = min(merged[key], sample.value)
            elif sample.labels == "" and sample.metric == "probe_latency_ms":
                merged[key] = max(merged[key], sample.value)
    return snapshots.batch([(*key, value) for key, value in merged.items()])
