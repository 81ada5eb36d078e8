"""Executors: who carries an action out. The webhook executor POSTs it, signed, to the company's
own automation; its configuration lives in ``executors`` per company and action ('*': any).

The signature lets the receiver prove the request came from CalmOps and was not replayed:
``X-CalmOps-Timestamp`` is the Unix time of sending, ``X-CalmOps-Signature`` is
``sha256=<hex HMAC-SHA256 over "<timestamp>.<raw body>" with the shared secret>`` (README,
"Action webhooks"). Connection errors and 5xx answers are retried a few times with backoff; a
4xx or a request that timed out waiting for its answer is not (it may have been carried out).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import duckdb
import requests

from calmops import clock, targets
from calmops.auth.models import Identity, Permission, require
from calmops.companies import InvalidError, NotFoundError, check_slug, get_company
from calmops.incidents import audit
from calmops.store.db import Cursor, first, retry_conflicts, unit_of_work
from calmops.timeio import to_iso
from calmops.vocabulary import Action

ANY_ACTION = "*"
SIGNATURE_HEADER = "X-CalmOps-Signature"
TIMESTAMP_HEADER = "X-CalmOps-Timestamp"
ATTEMPT_HEADER = "X-CalmOps-Attempt"  # the same on every retry: receivers de-duplicate on it
REPLAY_TOLERANCE_S = 300  # what ``verify_signature`` accepts as fresh; receivers should do the same

DEFAULT_TIMEOUT_S = 10.0
TIMEOUT_RANGE_S = (0.5, 60.0)
CONNECT_TIMEOUT_S = 3.05  # a host that does not even accept the connection is not waited on longer
DEFAULT_RETRIES = 2
MAX_RETRIES = 5
BACKOFF_S = 0.5  # before retry n: BACKOFF_S * 2**n, at most BACKOFF_CAP_S
BACKOFF_CAP_S = 8.0
BODY_KEPT = 2_000  # characters of the receiver's answer kept on the attempt
MIN_SECRET = 16
URL_MAX = 2048

_COLUMNS = "company, action, url, secret, timeout_s, retries, created_at"


@dataclass(frozen=True)
class ExecutorConfig:
    """Where and how one company's actions are POSTed."""

    company: str
    action: str
    url: str
    secret: str
    timeout_s: float
    retries: int
    created_at: datetime

    def to_json(self) -> dict:
        """Without the secret: it is shown once, when it is set."""
        return {
            "company": self.company,
            "action": self.action,
            "url": self.url,
            "timeout_s": self.timeout_s,
            "retries": self.retries,
            "created_at": to_iso(self.created_at),
            "secret_hint": f"…{self.secret[-4:]}",
        }


# --------------------------------------------------------------------------- configuration


def _check_action(value: object) -> str:
    if value in (None, "", ANY_ACTION):
        return ANY_ACTION
    if not isinstance(value, str) or value not in {a.value for a in Action}:
        names = ", ".join(a.value for a in Action)
        raise InvalidError(f"action must be one of {names}, or '*' for every action", "action")
    return str(value)


def _check_secret(value: object) -> str:
    if value is None or value == "":
        return secrets.token_urlsafe(32)
    if not isinstance(value, str) or len(value) < MIN_SECRET or len(value) > 512 or value != value.strip():
        raise InvalidError(
            f"secret must be {MIN_SECRET} to 512 characters without surrounding spaces", "secret"
        )
    return value


def _check_timeout(value: object) -> float:
    if value is None:
        return DEFAULT_TIMEOUT_S
    low, high = TIMEOUT_RANGE_S
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidError("timeout_s must be a number of seconds", "timeout_s")
    if not low <= value <= high:
        raise InvalidError(f"timeout_s must be between {low:g} and {high:g} seconds", "timeout_s")
    return float(value)


def _check_retries(value: object) -> int:
    if value is None:
        return DEFAULT_RETRIES
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_RETRIES:
        raise InvalidError(f"retries must be a whole number from 0 to {MAX_RETRIES}", "retries")
    return value


def set_executor(
    cur: Cursor,
    *,
    company: object,
    action: object,
    url: object,
    secret: object = None,
    timeout_s: object = None,
    retries: object = None,
    actor: Identity,
) -> ExecutorConfig:
    """Create or replace the webhook for a company's action ('*': every action without its own),
    validated, in one transaction with an audit row. No secret given: a strong one is generated
    (the answer carries it; it is never shown again)."""
    slug = check_slug(company)
    who = require(actor, Permission.ADMINISTER, slug)
    name = _check_action(action)
    address = targets.check_url(url, paths=False)
    key = _check_secret(secret)
    timeout = _check_timeout(timeout_s)
    tries = _check_retries(retries)
    now = clock.now()

    def work() -> ExecutorConfig:
        with unit_of_work(cur):
            get_company(cur, company=slug)
            before = first(
                cur, f"SELECT {_COLUMNS} FROM executors WHERE company = ? AND action = ?", [slug, name]
            )
            row = cur.execute(
                f"""INSERT INTO executors ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT DO UPDATE SET url = excluded.url, secret = excluded.secret,
                        timeout_s = excluded.timeout_s, retries = excluded.retries
                    RETURNING {_COLUMNS}""",
                [slug, name, address, key, timeout, tries, now],
            ).fetchall()[0]
            config = ExecutorConfig(*row)
            audit(
                cur, company=slug, ts=now, actor=who, action="executor.set", entity="executor",
                entity_id=name, before=ExecutorConfig(*before).to_json() if before else None,
                after=config.to_json(),
            )  # fmt: skip
        return config

    return retry_conflicts(work, on=(duckdb.TransactionException, duckdb.ConstraintException))


def list_executors(cur: Cursor, *, company: str) -> list[ExecutorConfig]:
    """A company's webhooks, '*' first then by action."""
    rows = cur.execute(
        f"SELECT {_COLUMNS} FROM executors WHERE company = ? ORDER BY action", [company]
    ).fetchall()
    return [ExecutorConfig(*r) for r in rows]


def remove_executor(cur: Cursor, *, company: object, action: object, actor: Identity) -> ExecutorConfig:
    """Delete one webhook (an action then falls back to '*', the demo world, or nothing)."""
    slug = check_slug(company)
    who = require(actor, Permission.ADMINISTER, slug)
    name = _check_action(action)

    def work() -> ExecutorConfig:
        with unit_of_work(cur):
            get_company(cur, company=slug)
            row = first(
                cur, f"SELECT {_COLUMNS} FROM executors WHERE company = ? AND action = ?", [slug, name]
            )
            if row is None:
                raise NotFoundError(f"{slug!r} has no executor for {name!r}")
            config = ExecutorConfig(*row)
            cur.execute("DELETE FROM executors WHERE company = ? AND action = ?", [slug, name])
            audit(
                cur, company=slug, ts=clock.now(), actor=who, action="executor.delete", entity="executor",
                entity_id=name, before=config.to_json(),
            )  # fmt: skip
        return config

    return retry_conflicts(work)


def executor_for(cur: Cursor, *, company: str, action: str) -> ExecutorConfig | None:
    """The webhook that carries out ``action`` for ``company``: its own, else the company's '*'."""
    rows = cur.execute(
        f"SELECT {_COLUMNS} FROM executors WHERE company = ? AND action IN (?, ?)",
        [company, action, ANY_ACTION],
    ).fetchall()
    configs = sorted((ExecutorConfig(*r) for r in rows), key=lambda c: c.action == ANY_ACTION)
    return configs[0] if configs else None


def can_execute(cur: Cursor, *, company: str, action: str) -> bool:
    """Whether anything would carry ``action`` out for ``company``: a webhook, or the demo world."""
    if executor_for(cur, company=company, action=action) is not None:
        return True
    from calmops.demo.live import is_demo_company  # the demo imports detection: imported when needed

    return is_demo_company(cur, company)


# --------------------------------------------------------------------------- the webhook


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 over ``<timestamp>.<body>`` with the shared secret."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify_signature(
    secret: str,
    *,
    timestamp: str,
    body: bytes,
    signature: str,
    now: float | None = None,
    tolerance_s: float = REPLAY_TOLERANCE_S,
) -> bool:
    """What a receiver checks: the signature matches (in constant time) and the timestamp is fresh."""
    try:
        sent = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs((time.time() if now is None else now) - sent) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature or "")


@dataclass(frozen=True)
class WebhookResult:
    """How a delivery went: ``ok`` on a 2xx; ``status`` and a truncated ``body`` of the last answer,
    or the ``error`` when there was none; ``tries`` made."""

    ok: bool
    tries: int
    status: int | None = None
    body: str = ""
    error: str | None = None

    def to_json(self) -> dict:
        out: dict = {"executor": "webhook", "tries": self.tries, "status": self.status, "body": self.body}
        if self.error:
            out["error"] = self.error
        return out

    @property
    def summary(self) -> str:
        tries = f" after {self.tries} tries" if self.tries > 1 else ""
        if self.ok:
            return f"the webhook answered {self.status}{tries}"
        if self.status is not None:
            return f"the webhook answered {self.status}{tries}"
        return f"the webhook failed{tries}: {self.error}"


def post_webhook(
    config: ExecutorConfig,
    payload: dict,
    *,
    attempt_id: int | None = None,
    backoff_s: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> WebhookResult:
    """POST ``payload`` as JSON to the configured URL, signed; retry connection errors and 5xx
    answers at most ``config.retries`` times with exponential backoff."""
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    backoff = BACKOFF_S if backoff_s is None else backoff_s
    timeout = (min(CONNECT_TIMEOUT_S, config.timeout_s), config.timeout_s)
    result = WebhookResult(ok=False, tries=0, error="not sent")
    for attempt in range(config.retries + 1):
        if attempt:
            sleep(min(BACKOFF_CAP_S, backoff * 2 ** (attempt - 1)))
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "CalmOps-actions/1",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(config.secret, timestamp, body),
        }
        if attempt_id is not None:
            headers[ATTEMPT_HEADER] = str(attempt_id)
        try:
            answer = requests.post(
                config.url, data=body, headers=headers, timeout=timeout, allow_redirects=False
            )
        except requests.ConnectionError as exc:  # includes a connect timeout: nothing was delivered
            result = WebhookResult(ok=False, tries=attempt + 1, error=f"cannot connect: {_reason(exc)}")
            continue
        except requests.Timeout:  # sent, but no answer in time: it may have run, so never resent
            return WebhookResult(
                ok=False, tries=attempt + 1, error=f"no answer within {config.timeout_s:g} s (not retried)"
            )
        except requests.RequestException as exc:
            return WebhookResult(ok=False, tries=attempt + 1, error=_reason(exc))
        text = answer.text[:BODY_KEPT]
        status = answer.status_code
        result = WebhookResult(ok=200 <= status < 300, tries=attempt + 1, status=status, body=text)
        if status < 500:
            return result
    return result


def _reason(exc: Exception) -> str:
    """The innermost cause of a requests error, short (its repr nests pools and URLs)."""
    inner: BaseException = exc
    while inner.__context__ is not None and inner.__context__ is not inner:
        inner = inner.__context__
    text = str(inner) or type(inner).__name__
    return text[:300]
