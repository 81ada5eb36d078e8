"""Notifications: the person on call learns of an incident without watching the page.

A company configures one webhook URL per channel — ``oncall`` (new incidents, reminders,
resolutions), ``lead`` (escalations and their reminders), ``status_page`` (approved customer
messages) — and every notification CalmOps produces is a row in ``notifications``, sent or not.
The body is Slack-compatible (``{"text": …}``) and its text ends with a link to the incident's page
on the public base URL (``CALMOPS_PUBLIC_URL``, default ``http://127.0.0.1:$PORT``).

Writing happens in the caller's transaction (``record``: status ``pending`` when it will be sent,
``recorded`` when it will not — the demo world, or no URL); sending happens afterwards, outside any
transaction (``deliver``), and updates the row to ``sent`` or ``failed``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

import duckdb
import requests

from calmops import clock, targets
from calmops.auth.models import Identity, Permission, require
from calmops.companies import InvalidError, check_slug, get_company
from calmops.incidents import audit
from calmops.store.db import RACES, Cursor, Database, first, retry_conflicts, unit_of_work
from calmops.timeio import to_iso

CHANNELS = ("oncall", "lead", "status_page")
KINDS = ("new_incident", "escalation", "reminder", "resolution", "customer_message")
URL_MAX = 2048
TEXT_MAX = 4_000  # Slack shows up to 40k characters; a notification stays short
CONNECT_TIMEOUT_S = 3.05
TIMEOUT_S = 10.0
RETRIES = 2  # connection errors and 5xx answers
BACKOFF_S = 0.25
BODY_KEPT = 500
LIST_MAX = 200

_COLUMNS = "id, company, incident_id, channel, kind, text, url, link, created_at, sent_at, status, response"


@dataclass(frozen=True)
class Notification:
    id: int
    company: str
    incident_id: int | None
    channel: str
    kind: str
    text: str
    url: str | None
    link: str | None
    created_at: datetime
    sent_at: datetime | None
    status: str
    response: dict | None

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "company": self.company,
            "incident_id": self.incident_id,
            "channel": self.channel,
            "kind": self.kind,
            "text": self.text,
            "url": self.url,
            "link": self.link,
            "created_at": to_iso(self.created_at),
            "sent_at": to_iso(self.sent_at),
            "status": self.status,
            "response": self.response,
        }


def _row(r: tuple) -> Notification:
    return Notification(*r[:11], json.loads(r[11]) if r[11] else None)


# --------------------------------------------------------------------------- configuration


def public_base_url() -> str:
    """Where people open CalmOps: ``CALMOPS_PUBLIC_URL``, else ``http://127.0.0.1:$PORT``."""
    configured = os.environ.get("CALMOPS_PUBLIC_URL", "").strip()
    if configured:
        return configured.rstrip("/")
    return f"http://127.0.0.1:{os.environ.get('PORT', '8501')}"


def incident_link(company: str, incident_id: int) -> str:
    return f"{public_base_url()}/incident?{urlencode({'company': company, 'id': incident_id})}"


def check_channel(value: object) -> str:
    if value not in CHANNELS:
        raise InvalidError(f"channel must be one of {', '.join(CHANNELS)}", "channel")
    return str(value)


def masked(url: str | None) -> str | None:
    """A webhook URL with its secret part hidden (``https://hooks.slack.com/…``): what an audit row or
    a reader who may not manage channels sees; Slack-style URLs carry their credential in the path."""
    if not url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}/…" if rest else "…"


def set_channel(cur: Cursor, *, company: object, channel: object, url: object, actor: Identity) -> dict:
    """Set (or, with an empty ``url``, remove) a company's webhook for one channel; one transaction,
    audited. Answers ``{"company", "channel", "url"}`` (``url`` None once removed)."""
    slug = check_slug(company)
    who = require(actor, Permission.ADMINISTER, slug)
    name = check_channel(channel)
    address = None if url in (None, "") else targets.check_url(url, paths=False)
    now = clock.now()

    def work() -> dict:
        with unit_of_work(cur):
            get_company(cur, company=slug)
            before = first(
                cur, "SELECT url FROM notification_channels WHERE company = ? AND channel = ?", [slug, name]
            )
            if address is None:
                cur.execute(
                    "DELETE FROM notification_channels WHERE company = ? AND channel = ?", [slug, name]
                )
            else:
                cur.execute(
                    """INSERT INTO notification_channels (company, channel, url, updated_at, updated_by)
                       VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET url = excluded.url,
                       updated_at = excluded.updated_at, updated_by = excluded.updated_by""",
                    [slug, name, address, now, who],
                )
            audit(
                cur, company=slug, ts=now, actor=who, action="notification_channel.set",
                entity="notification_channel", entity_id=name,
                before={"url": masked(before[0])} if before else None, after={"url": masked(address)},
            )  # fmt: skip
        return {"company": slug, "channel": name, "url": address}

    return retry_conflicts(work, on=(duckdb.TransactionException, duckdb.ConstraintException))


def channels(cur: Cursor, *, company: str) -> list[dict]:
    """Every channel of a company, configured or not."""
    rows = cur.execute(
        "SELECT channel, url, updated_at, updated_by FROM notification_channels WHERE company = ?", [company]
    ).fetchall()
    found = {r[0]: r for r in rows}
    out = []
    for name in CHANNELS:
        r = found.get(name)
        out.append({
            "channel": name,
            "url": r[1] if r else None,
            "updated_at": to_iso(r[2]) if r else None,
            "updated_by": r[3] if r else None,
        })  # fmt: skip
    return out


def channel_url(cur: Cursor, *, company: str, channel: str) -> str | None:
    row = first(
        cur, "SELECT url FROM notification_channels WHERE company = ? AND channel = ?", [company, channel]
    )
    return row[0] if row else None


def is_demo(cur: Cursor, company: str) -> bool:
    from calmops.demo.live import is_demo_company  # the demo imports detection: imported when needed

    return is_demo_company(cur, company)


def destination(cur: Cursor, *, company: str, channel: str) -> str | None:
    """Where a notification of ``channel`` is POSTed; None: only recorded (demo world, or no URL)."""
    if is_demo(cur, company):
        return None
    return channel_url(cur, company=company, channel=channel)


# --------------------------------------------------------------------------- recording


def record(
    cur: Cursor,
    *,
    company: str,
    incident_id: int | None,
    channel: str,
    kind: str,
    text: str,
    now: datetime,
    dedupe: str | None = None,
    link: str | None = None,
) -> int | None:
    """One notification row, in the caller's transaction: ``pending`` when there is somewhere to
    send it, else ``recorded``. With ``dedupe``, a second call for the same key writes nothing and
    answers None. The id is what ``deliver`` takes once the transaction committed."""
    if channel not in CHANNELS or kind not in KINDS:
        raise ValueError(f"unknown channel {channel!r} or kind {kind!r}")
    if dedupe is not None and first(cur, "SELECT 1 FROM notifications WHERE dedupe = ?", [dedupe]):
        return None
    if link is None and incident_id is not None:
        link = incident_link(company, incident_id)
    body = text if len(text) <= TEXT_MAX else text[: TEXT_MAX - 1] + "…"
    if link and link not in body:
        body = f"{body}\nOpen the incident: {link}"
    url = destination(cur, company=company, channel=channel)
    rows = cur.execute(
        """INSERT INTO notifications (company, incident_id, channel, kind, text, url, link, created_at,
               status, dedupe) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id""",
        [company, incident_id, channel, kind, body, url, link, now, "pending" if url else "recorded", dedupe],
    ).fetchall()
    return rows[0][0]


@dataclass(frozen=True)
class Delivery:
    ok: bool
    tries: int
    status: int | None = None
    body: str = ""
    error: str | None = None

    def to_json(self) -> dict:
        out: dict = {"tries": self.tries, "status": self.status, "body": self.body}
        if self.error:
            out["error"] = self.error
        return out


def post(
    url: str,
    payload: dict,
    *,
    retries: int = RETRIES,
    timeout_s: float = TIMEOUT_S,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """POST ``payload`` as JSON; retry connection errors and 5xx answers a few times with backoff
    (a timed-out request is not resent: it may have arrived)."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "CalmOps-notify/1"}
    timeout = (min(CONNECT_TIMEOUT_S, timeout_s), timeout_s)
    result = Delivery(ok=False, tries=0, error="not sent")
    for attempt in range(retries + 1):
        if attempt:
            sleep(BACKOFF_S * 2 ** (attempt - 1))
        try:
            answer = requests.post(url, data=body, headers=headers, timeout=timeout, allow_redirects=False)
        except requests.ConnectionError as exc:
            result = Delivery(ok=False, tries=attempt + 1, error=f"cannot connect: {_reason(exc)}")
            continue
        except requests.Timeout:
            return Delivery(
                ok=False, tries=attempt + 1, error=f"no answer within {timeout_s:g} s (not retried)"
            )
        except requests.RequestException as exc:
            return Delivery(ok=False, tries=attempt + 1, error=_reason(exc))
        result = Delivery(
            ok=200 <= answer.status_code < 300, tries=attempt + 1, status=answer.status_code,
            body=answer.text[:BODY_KEPT],
        )  # fmt: skip
        if answer.status_code < 500:
            return result
    return result


def _reason(exc: Exception) -> str:
    inner: BaseException = exc
    while inner.__context__ is not None and inner.__context__ is not inner:
        inner = inner.__context__
    return (str(inner) or type(inner).__name__)[:300]


def payload_of(n: Notification) -> dict:
    """The JSON body: Slack-compatible ``{"text"}``; a status page also gets the message's fields."""
    return {"text": n.text}


def deliver(
    db: Database, ids: Iterable[int | None], *, extra: dict[int, dict] | None = None
) -> list[Notification]:
    """Send the ``pending`` notifications among ``ids`` (outside any transaction: the receiver may
    be slow), then store how each went. Recorded ones are left as they are. Answers them all."""
    cur = db.cursor()
    wanted = [i for i in ids if i is not None]
    out = []
    for notification_id in wanted:
        n = get(cur, notification_id)
        if n is None:
            continue
        if n.status == "pending" and n.url:
            result = post(n.url, {**payload_of(n), **((extra or {}).get(notification_id) or {})})
            status = "sent" if result.ok else "failed"
            sent_at = clock.now() if result.ok else None

            def work(
                i: int = notification_id, s: str = status, at: datetime | None = sent_at, r=result
            ) -> None:
                with unit_of_work(cur):
                    cur.execute(
                        "UPDATE notifications SET status = ?, sent_at = ?, response = ? WHERE id = ?",
                        [s, at, json.dumps(r.to_json()), i],
                    )

            retry_conflicts(work)
            n = get(cur, notification_id)
        out.append(n)
    return out


def get(cur: Cursor, notification_id: int) -> Notification | None:
    row = first(cur, f"SELECT {_COLUMNS} FROM notifications WHERE id = ?", [notification_id])
    return _row(row) if row else None


def recent(
    cur: Cursor,
    *,
    company: str,
    incident_id: int | None = None,
    kind: str | None = None,
    limit: int = 50,
) -> list[Notification]:
    """A company's notifications, newest first."""
    where, params = ["company = ?"], [company]
    if incident_id is not None:
        where.append("incident_id = ?")
        params.append(incident_id)
    if kind is not None:
        where.append("kind = ?")
        params.append(kind)
    limit = max(1, min(int(limit), LIST_MAX))
    rows = cur.execute(
        f"SELECT {_COLUMNS} FROM notifications WHERE {' AND '.join(where)} "
        f"ORDER BY created_at DESC, id DESC LIMIT {limit}",
        params,
    ).fetchall()
    return [_row(r) for r in rows]


# --------------------------------------------------------------------------- the hooks


def incident_line(cur: Cursor, *, company: str, incident_id: int) -> tuple[str, str] | None:
    """``[critical] Title — service`` of an incident, and its status; None when unknown."""
    row = first(
        cur,
        "SELECT severity, title, service, status FROM incidents WHERE company = ? AND id = ?",
        [company, incident_id],
    )
    if row is None:
        return None
    return f"[{row[0]}] {row[1]} — {row[2]} (incident #{incident_id}, {company})", row[3]


def _brief_summary(cur: Cursor, *, company: str, incident_id: int) -> str:
    row = first(
        cur,
        "SELECT body->>'summary' FROM briefs WHERE company = ? AND incident_id = ? "
        "ORDER BY version DESC LIMIT 1",
        [company, incident_id],
    )
    return (row[0] or "") if row else ""


def after_detection(
    db: Database, *, company: str, opened: Iterable[int], now: datetime | None = None
) -> list[int]:
    """Notify the on-call channel of each newly opened incident — once per incident, however often
    this is called (the hook detection, alerts and manual creation all hand over to). Answers the
    ids of the notifications written this time."""
    now = now or clock.now()
    cur = db.cursor()
    written: list[int] = []
    for incident_id in dict.fromkeys(opened):

        def work(i: int = incident_id) -> int | None:
            with unit_of_work(cur):
                line = incident_line(cur, company=company, incident_id=i)
                if line is None:
                    return None
                summary = _brief_summary(cur, company=company, incident_id=i)
                text = f"New incident {line[0]}" + (f"\n{summary}" if summary else "")
                return record(
                    cur, company=company, incident_id=i, channel="oncall", kind="new_incident", text=text,
                    now=now, dedupe=f"new_incident:{i}",
                )  # fmt: skip

        notification_id = retry_conflicts(work, on=RACES)
        if notification_id is not None:
            written.append(notification_id)
    deliver(db, written)
    return written


def incident_resolved(
    db: Database, *, company: str, incident_id: int, now: datetime | None = None
) -> int | None:
    """Tell the on-call channel an incident was resolved (once per resolution)."""
    now = now or clock.now()
    cur = db.cursor()

    def work() -> int | None:
        with unit_of_work(cur):
            line = incident_line(cur, company=company, incident_id=incident_id)
            if line is None:
                return None
            stamp = first(cur, "SELECT resolved_at FROM incidents WHERE id = ?", [incident_id])
            key = f"resolution:{incident_id}:{to_iso(stamp[0]) if stamp and stamp[0] else to_iso(now)}"
            return record(
                cur, company=company, incident_id=incident_id, channel="oncall", kind="resolution",
                text=f"Resolved {line[0]}", now=now, dedupe=key,
            )  # fmt: skip

    notification_id = retry_conflicts(work, on=RACES)
    deliver(db, [notification_id])
    return notification_id
