"""The customer message (RUNBOOK: "Customer impact → review customer message draft, approve if safe").

Every edit is a new version in ``customer_messages`` (``draft``); only the latest version can be
approved (who and when), and only an approved one is marked sent or sent through the company's
status-page webhook (the ``status_page`` notification channel; recorded, not sent, in the demo
world). Each step is one transaction with a ``customer_message`` timeline event and an audit row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from calmops import agent, clock, notify
from calmops.auth import Identity, Permission
from calmops.store.db import RACES, Cursor, Database, first, retry_conflicts, unit_of_work
from calmops.timeio import to_iso
from calmops.workflow import common
from calmops.workflow.errors import Conflict, Invalid, NotAllowed, NotFound

STATES = ("investigating", "identified", "monitoring", "resolved")
TEXT_MAX = 2_000
_COLUMNS = """id, company, incident_id, version, state, status, text, author, created_at, approved_by,
    approved_at, sent_at, sent_by"""


@dataclass(frozen=True)
class Message:
    id: int
    company: str
    incident_id: int
    version: int
    state: str
    status: str
    text: str
    author: str
    created_at: datetime
    approved_by: str | None
    approved_at: datetime | None
    sent_at: datetime | None
    sent_by: str | None

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "incident_id": self.incident_id,
            "version": self.version,
            "state": self.state,
            "status": self.status,
            "text": self.text,
            "author": self.author,
            "created_at": to_iso(self.created_at),
            "approved_by": self.approved_by,
            "approved_at": to_iso(self.approved_at),
            "sent_at": to_iso(self.sent_at),
            "sent_by": self.sent_by,
        }


def versions(cur: Cursor, *, company: str, incident_id: int) -> list[Message]:
    """Every version of the incident's customer message, newest first."""
    rows = cur.execute(
        f"""SELECT {_COLUMNS} FROM customer_messages WHERE company = ? AND incident_id = ?
            ORDER BY version DESC""",
        [company, incident_id],
    ).fetchall()
    return [Message(*r) for r in rows]


def list_json(cur: Cursor, *, company: str, incident_id: object) -> dict:
    detail = common.load(cur, company=company, incident_id=incident_id)
    found = versions(cur, company=company, incident_id=detail.summary.id)
    return {"messages": [m.to_json() for m in found], "next": None}


def starting_point(cur: Cursor, *, company: str, incident_id: int) -> dict:
    """What the edit form starts from: the latest version, else the brief's draft, else a neutral
    'investigating' line. ``{"text", "state", "source": "version N"|"brief"|"blank"}``."""
    found = versions(cur, company=company, incident_id=incident_id)
    if found:
        return {"text": found[0].text, "state": found[0].state, "source": f"version {found[0].version}"}
    brief = agent.current_brief(cur, company=company, incident_id=incident_id) or {}
    draft = brief.get("customer_message") or {}
    if draft.get("text") and draft.get("state") in STATES:
        return {"text": draft["text"], "state": draft["state"], "source": "brief"}
    return {
        "text": "We are investigating an issue and will post an update within 30 minutes.",
        "state": "investigating",
        "source": "blank",
    }


def check_text(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid("text is required: what customers will read", field="text")
    text = value.strip()
    if len(text) > TEXT_MAX:
        raise Invalid(f"text must be at most {TEXT_MAX:,} characters", field="text")
    return text


def check_state(value: object) -> str:
    if value not in STATES:
        raise Invalid(f"state must be one of {', '.join(STATES)}", field="state")
    return str(value)


def check_version(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise Invalid("version must be a positive integer", field="version")
    return value


def _event(
    cur: Cursor, *, detail, actor: str, message: str, now: datetime, action: str, before, after
) -> None:
    common.record(
        cur, detail=detail, kind="customer_message", actor=actor, message=message, now=now, action=action,
        before=before, after=after, data={"version": after.get("version") if after else None},
    )  # fmt: skip


def draft(
    db: Database,
    *,
    company: str,
    incident_id: object,
    text: object,
    state: object,
    actor: Identity,
    now: datetime | None = None,
) -> dict:
    """Save a new version (a draft) of the customer message."""
    who = common.acting(actor, Permission.RESPOND, company)
    words = check_text(text)
    level = check_state(state)
    now = now or clock.now()
    cur = db.cursor()

    def work() -> Message:
        with unit_of_work(cur):
            detail = common.load(cur, company=company, incident_id=incident_id)
            latest = first(
                cur,
                "SELECT max(version) FROM customer_messages WHERE company = ? AND incident_id = ?",
                [company, detail.summary.id],
            )
            version = (latest[0] or 0) + 1 if latest else 1
            row = cur.execute(
                f"""INSERT INTO customer_messages (company, incident_id, version, state, status, text, author,
                        created_at) VALUES (?, ?, ?, ?, 'draft', ?, ?, ?) RETURNING {_COLUMNS}""",
                [company, detail.summary.id, version, level, words, who, now],
            ).fetchall()[0]
            message = Message(*row)
            _event(
                cur, detail=detail, actor=who, now=now, action="customer_message.draft", before=None,
                after=message.to_json(), message=f"Customer message v{version} drafted by {who} ({level})",
            )  # fmt: skip
        return message

    return retry_conflicts(work, on=RACES).to_json()


def _one(cur: Cursor, *, company: str, incident_id: int, version: int) -> tuple[Message, int]:
    found = versions(cur, company=company, incident_id=incident_id)
    wanted = [m for m in found if m.version == version]
    if not wanted:
        raise NotFound(f"incident {incident_id} has no customer message version {version}", field="version")
    return wanted[0], found[0].version


def _newer(message: Message, latest: int) -> None:
    if latest != message.version:
        raise Conflict(
            f"version {message.version} is not the latest: version {latest} was written since; "
            "reload and decide on the latest",
            field="version",
            latest_version=latest,
        )


def _taken(message: Message, what: str) -> Conflict:
    if message.status == "sent":
        return Conflict(
            f"version {message.version} was already sent by {message.sent_by or '?'} "
            f"at {to_iso(message.sent_at)}",
            field="version", sent_by=message.sent_by, sent_at=to_iso(message.sent_at),
        )  # fmt: skip
    return Conflict(
        f"version {message.version} was already {what} by {message.approved_by} "
        f"at {to_iso(message.approved_at)}",
        field="version", approved_by=message.approved_by, approved_at=to_iso(message.approved_at),
    )  # fmt: skip


def approve_message(
    db: Database,
    *,
    company: str,
    incident_id: object,
    version: object,
    actor: Identity,
    now: datetime | None = None,
) -> dict:
    """Approve the latest version (who and when). 409 when it is not the latest, or was already
    approved or sent — two people approving at once: exactly one wins."""
    who = common.acting(actor, Permission.CUSTOMER_MESSAGES, company)
    number = check_version(version)
    now = now or clock.now()
    cur = db.cursor()

    def work() -> Message:
        with unit_of_work(cur):
            detail = common.load(cur, company=company, incident_id=incident_id)
            message, latest = _one(cur, company=company, incident_id=detail.summary.id, version=number)
            _newer(message, latest)
            if message.status != "draft":
                raise _taken(message, "approved")
            done = cur.execute(
                f"""UPDATE customer_messages SET status = 'approved', approved_by = ?, approved_at = ?
                    WHERE id = ? AND status = 'draft' RETURNING {_COLUMNS}""",
                [who, now, message.id],
            ).fetchall()
            if not done:
                raise _taken(
                    _one(cur, company=company, incident_id=detail.summary.id, version=number)[0], "approved"
                )
            after = Message(*done[0])
            _event(
                cur, detail=detail, actor=who, now=now, action="customer_message.approve",
                before=message.to_json(), after=after.to_json(),
                message=f"Customer message v{number} approved by {who}",
            )  # fmt: skip
        return after

    return retry_conflicts(work).to_json()


def _sendable(cur: Cursor, *, company: str, incident_id: object, number: int):
    detail = common.load(cur, company=company, incident_id=incident_id)
    message, latest = _one(cur, company=company, incident_id=detail.summary.id, version=number)
    _newer(message, latest)
    if message.status == "draft":
        raise NotAllowed(f"version {number} is not approved yet: approve it before sending", field="version")
    if message.status == "sent":
        raise _taken(message, "sent")
    return detail, message


def _mark(cur: Cursor, *, detail, message: Message, who: str, now: datetime, how: str) -> Message:
    done = cur.execute(
        f"""UPDATE customer_messages SET status = 'sent', sent_at = ?, sent_by = ?
            WHERE id = ? AND status = 'approved' RETURNING {_COLUMNS}""",
        [now, who, message.id],
    ).fetchall()
    if not done:
        raise _taken(message, "sent")
    after = Message(*done[0])
    _event(
        cur, detail=detail, actor=who, now=now, action="customer_message.sent", before=message.to_json(),
        after=after.to_json(), message=f"Customer message v{message.version} {how} by {who}",
    )  # fmt: skip
    return after


def mark_sent(
    db: Database,
    *,
    company: str,
    incident_id: object,
    version: object,
    actor: Identity,
    now: datetime | None = None,
) -> dict:
    """Record that the approved latest version was posted (by hand, on the status page)."""
    who = common.acting(actor, Permission.CUSTOMER_MESSAGES, company)
    number = check_version(version)
    now = now or clock.now()
    cur = db.cursor()

    def work() -> Message:
        with unit_of_work(cur):
            detail, message = _sendable(cur, company=company, incident_id=incident_id, number=number)
            return _mark(cur, detail=detail, message=message, who=who, now=now, how="marked sent")

    return retry_conflicts(work).to_json()


def send(
    db: Database,
    *,
    company: str,
    incident_id: object,
    version: object,
    actor: Identity,
    now: datetime | None = None,
) -> dict:
    """Send the approved latest version through the company's status-page webhook: ``{"text",
    "state", "incident_id", "version"}``. In the demo world it is recorded, not sent, and counts
    as sent. No webhook configured: 422 (mark it sent once posted by hand). A failed delivery
    leaves the message approved; the answer's ``delivery`` says what happened."""
    who = common.acting(actor, Permission.CUSTOMER_MESSAGES, company)
    number = check_version(version)
    now = now or clock.now()
    cur = db.cursor()

    def claim() -> tuple[int | None, bool]:
        with unit_of_work(cur):
            detail, message = _sendable(cur, company=company, incident_id=incident_id, number=number)
            demo = notify.is_demo(cur, company)
            if not demo and notify.channel_url(cur, company=company, channel="status_page") is None:
                raise NotAllowed(
                    f"{company!r} has no status-page webhook (notification channel status_page); "
                    "post the message by hand and mark it sent",
                    field="channel",
                )
            notification_id = notify.record(
                cur, company=company, incident_id=detail.summary.id, channel="status_page",
                kind="customer_message", text=message.text, now=now,
                link="",  # customers never get the internal incident link
            )  # fmt: skip
            if demo:
                _mark(
                    cur, detail=detail, message=message, who=who, now=now, how="sent (recorded in the demo)"
                )
        return notification_id, demo

    notification_id, demo = retry_conflicts(claim)
    delivery = None
    if not demo:
        current = versions(cur, company=company, incident_id=int(incident_id))  # type: ignore[arg-type]
        message = next(m for m in current if m.version == number)
        extra = {
            notification_id: {"state": message.state, "incident_id": message.incident_id, "version": number}
        }
        delivery = notify.deliver(db, [notification_id], extra=extra)[0]
        if delivery.status == "sent":

            def mark() -> Message:
                with unit_of_work(cur):
                    detail, fresh = _sendable(cur, company=company, incident_id=incident_id, number=number)
                    return _mark(
                        cur, detail=detail, message=fresh, who=who, now=now, how="sent to the status page"
                    )

            retry_conflicts(mark)
    else:
        delivery = notify.get(cur, notification_id) if notification_id else None
    found = [m for m in versions(cur, company=company, incident_id=int(incident_id)) if m.version == number]  # type: ignore[arg-type]
    answer = found[0].to_json()
    answer["delivery"] = delivery.to_json() if delivery else None
    return answer
