"""The post-incident review: read (the saved latest, or the pre-filled draft), save a new version,
and apply one of its threshold proposals to the rule. Only for a resolved incident (422 otherwise).

Each save is a new row of `reviews` (version, author, time) with a `review` timeline entry and an
audit row, in one transaction; ``expected_version`` (the review version the person read, 0 for none)
makes a stale save a 409.
"""

from __future__ import annotations

import json
from dataclasses import replace

import duckdb

from calmops import clock
from calmops.auth import Identity, Permission
from calmops.detect.rules import Rule
from calmops.incidents import IncidentDetail
from calmops.review import prefill
from calmops.review import rules as rule_edit
from calmops.store.db import Cursor, Database, first, unit_of_work
from calmops.timeio import to_iso
from calmops.vocabulary import IncidentStatus
from calmops.workflow import common
from calmops.workflow.errors import Conflict, Invalid, NotAllowed, NotFound

TEXT_MAX = 5_000
ITEM_MAX = 1_000
ITEMS_MAX = 50
EDITED = ("root_cause", "prevention", "alert_improvements", "automation", "notes")


def require_resolved(detail: IncidentDetail) -> None:
    if detail.summary.status != IncidentStatus.RESOLVED:
        raise NotAllowed(
            f"incident {detail.summary.id} is {detail.summary.status.value}: "
            "the review opens once it is resolved",
            field="status",
            status=detail.summary.status.value,
        )


def _saved(cur: Cursor, *, company: str, incident_id: int) -> list[tuple]:
    rows = cur.execute(
        "SELECT version, body, author, created_at FROM reviews WHERE company = ? AND incident_id = ?",
        [company, incident_id],
    ).fetchall()
    return sorted(rows, key=lambda r: r[0])


def _history(rows: list[tuple]) -> list[dict]:
    return [{"version": r[0], "author": r[2], "created_at": to_iso(r[3])} for r in reversed(rows)]


def review_of(cur: Cursor, *, detail: IncidentDetail) -> dict:
    """The latest saved review (``saved`` true) or the pre-filled draft (``saved`` false), with the
    list of saved versions (newest first)."""
    s = detail.summary
    rows = _saved(cur, company=s.company, incident_id=s.id)
    if rows:
        version, body, author, created = rows[-1]
        return {
            **json.loads(body),
            "saved": True,
            "version": version,
            "author": author,
            "created_at": to_iso(created),
            "history": _history(rows),
        }
    return {
        **prefill.draft(cur, detail=detail),
        "saved": False,
        "version": None,
        "author": None,
        "created_at": None,
        "history": [],
    }


def get_review(cur: Cursor, *, company: str, incident_id: object) -> dict:
    detail = common.load(cur, company=company, incident_id=incident_id)
    require_resolved(detail)
    return review_of(cur, detail=detail)


def get_version(cur: Cursor, *, company: str, incident_id: object, version: int) -> dict:
    """One saved version of the review (404 when there is none of that number)."""
    detail = common.load(cur, company=company, incident_id=incident_id)
    row = first(
        cur,
        "SELECT body, author, created_at FROM reviews WHERE company = ? AND incident_id = ? AND version = ?",
        [company, detail.summary.id, version],
    )
    if row is None:
        raise NotFound(f"no review version {version} of incident {detail.summary.id}", field="version")
    return {
        **json.loads(row[0]),
        "saved": True,
        "version": version,
        "author": row[1],
        "created_at": to_iso(row[2]),
    }


# --- validation of what a person edits


def _text(value: object, field: str, *, limit: int = TEXT_MAX, required: bool = False) -> str:
    if isinstance(value, dict):
        value = value.get("text")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise Invalid(f"{field} must be text", field=field)
    text = value.strip()
    if required and not text:
        raise Invalid(f"{field} is required", field=field)
    if len(text) > limit:
        raise Invalid(f"{field} must be at most {limit:,} characters", field=field)
    return text


def _items(value: object, field: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise Invalid(f"{field} must be a list", field=field)
    if len(value) > ITEMS_MAX:
        raise Invalid(f"{field} holds at most {ITEMS_MAX} items", field=field)
    return value


def _prevention(value: object) -> list[str]:
    out = []
    for i, item in enumerate(_items(value, "prevention")):
        text = _text(item, f"prevention[{i}]", limit=ITEM_MAX)
        if text:
            out.append(text)
    return out


def _improvements(value: object, proposals: dict[str, dict]) -> list[dict]:
    """Free-text improvements, and the draft's proposals kept by id (their numbers cannot be edited:
    a proposal never loses the backtest behind it)."""
    out = []
    for i, item in enumerate(_items(value, "alert_improvements")):
        field = f"alert_improvements[{i}]"
        if isinstance(item, dict) and item.get("id") is not None:
            proposal = proposals.get(item["id"]) if isinstance(item["id"], str) else None
            if proposal is None:
                raise Invalid(
                    f"{field}: no proposal {item['id']!r} for this incident "
                    f"(known: {', '.join(proposals) or 'none'})",
                    field=field,
                )
            out.append(proposal)
            continue
        if not isinstance(item, str | dict):
            raise Invalid(f"{field} must be text or a proposal's id", field=field)
        text = _text(item, field, limit=ITEM_MAX)
        if text:
            out.append({"kind": "note", "text": text})
    return out


def _automation(value: object) -> list[dict]:
    out = []
    for i, item in enumerate(_items(value, "automation")):
        field = f"automation[{i}]"
        if not isinstance(item, str | dict):
            raise Invalid(f"{field} must be text", field=field)
        text = _text(item, field, limit=ITEM_MAX)
        if not text:
            continue
        kind = item.get("kind") if isinstance(item, dict) and isinstance(item.get("kind"), str) else "note"
        action = (
            item.get("action") if isinstance(item, dict) and isinstance(item.get("action"), str) else None
        )
        out.append({"kind": kind[:40], "action": action, "text": text})
    return out


def _expected(value: object) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise Invalid(
            "expected_version must be the review version you read (0 when none was saved)",
            field="expected_version",
        )
    return value


def save_review(
    db: Database,
    *,
    company: str,
    incident_id: object,
    actor: Identity,
    root_cause: object,
    prevention: object = None,
    alert_improvements: object = None,
    automation: object = None,
    notes: object = None,
    expected_version: object = None,
) -> dict:
    """Save the person's review as a new version; answers the review as `get_review` does."""
    cur = db.cursor()
    who = common.acting(actor, Permission.RESPOND, company)
    expected = _expected(expected_version)
    detail = common.load(cur, company=company, incident_id=incident_id)
    require_resolved(detail)
    draft = prefill.draft(cur, detail=detail)
    proposals = {p["id"]: p for p in draft["alert_improvements"]}
    rows = _saved(cur, company=company, incident_id=detail.summary.id)
    if rows:  # a saved review's proposals stay known, even once the rule moved on
        for p in json.loads(rows[-1][1]).get("alert_improvements") or []:
            if p.get("id"):
                proposals.setdefault(p["id"], p)
    edited = {
        "root_cause": {**draft["root_cause"], "text": _text(root_cause, "root_cause", required=True)},
        "prevention": _prevention(prevention),
        "alert_improvements": _improvements(alert_improvements, proposals),
        "automation": _automation(automation),
        "notes": _text(notes, "notes"),
    }
    body = {**draft, **edited}
    now = clock.now()
    try:
        with unit_of_work(cur):
            latest = first(
                cur,
                "SELECT max(version) FROM reviews WHERE company = ? AND incident_id = ?",
                [company, detail.summary.id],
            )
            current = (latest[0] if latest else None) or 0
            if expected is not None and expected != current:
                who_row = first(
                    cur,
                    "SELECT author, created_at FROM reviews WHERE incident_id = ? AND version = ?",
                    [detail.summary.id, current],
                )
                raise Conflict(
                    f"the review changed since you read it (version {expected}, now {current}"
                    + (f", saved by {who_row[0]} at {to_iso(who_row[1])}" if who_row else "")
                    + "); reload and try again",
                    field="expected_version",
                    version=current,
                )
            version = current + 1
            cur.execute(
                "INSERT INTO reviews (company, incident_id, version, body, author, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [company, detail.summary.id, version, json.dumps(body, default=str), who, now],
            )
            common.record(
                cur,
                detail=detail,
                kind="review",
                actor=who,
                now=now,
                action="review",
                message=f"Post-incident review v{version} saved by {who}",
                before={"review_version": current or None},
                after={"review_version": version},
                data={"version": version},
            )
    except (duckdb.TransactionException, duckdb.ConstraintException):
        raise Conflict(
            "someone saved this review at the same moment; reload and try again", field="expected_version"
        ) from None
    return review_of(cur, detail=detail)


def _proposal(cur: Cursor, detail: IncidentDetail, proposal_id: object) -> dict:
    if not isinstance(proposal_id, str) or not proposal_id:
        raise Invalid("proposal_id is required", field="proposal_id")
    applied = first(
        cur,
        "SELECT actor, ts, version FROM rule_changes WHERE company = ? AND proposal_id = ? ORDER BY ts DESC",
        [detail.summary.company, proposal_id],
    )
    if applied is not None:
        raise Conflict(
            f"proposal {proposal_id!r} was already applied by {applied[0]} at {to_iso(applied[1])} "
            f"(rule version {applied[2]})",
            field="proposal_id",
            applied_by=applied[0],
            applied_at=to_iso(applied[1]),
        )
    rows = _saved(cur, company=detail.summary.company, incident_id=detail.summary.id)
    found: list[dict] = []
    if rows:
        found = json.loads(rows[-1][1]).get("alert_improvements") or []
    found = [*found, *prefill.alert_improvements(cur, detail=detail)]
    for item in found:
        if item.get("id") == proposal_id:
            if item.get("kind") != "threshold":
                raise NotAllowed(
                    f"{proposal_id!r} proposes no change: it says why the rule stays", field="proposal_id"
                )
            return item
    raise NotFound(
        f"no threshold proposal {proposal_id!r} for incident {detail.summary.id}", field="proposal_id"
    )


def apply_proposal(
    db: Database,
    *,
    company: str,
    incident_id: object,
    proposal_id: object,
    actor: Identity,
    expected_rule_version: object,
) -> dict:
    """Apply a review's threshold proposal to its rule: a new rule version (409 when the rule is no
    longer at ``expected_rule_version``, or moved on since the proposal was computed), its change
    recorded with the incident it came from, an audit row, and a `review` entry on the timeline."""
    cur = db.cursor()
    who = common.acting(actor, Permission.TUNE, company)
    detail = common.load(cur, company=company, incident_id=incident_id)
    require_resolved(detail)
    if not isinstance(expected_rule_version, int) or isinstance(expected_rule_version, bool):
        raise Invalid(
            "expected_rule_version must be the rule's version you read", field="expected_rule_version"
        )
    proposal = _proposal(cur, detail, proposal_id)
    now = clock.now()
    try:
        with unit_of_work(cur):
            rule: Rule = rule_edit.get_rule(cur, company=company, rule_id=proposal["rule_id"])
            if rule.version == expected_rule_version and rule.version != proposal["rule_version"]:
                raise Conflict(
                    f"rule {rule.id} changed since this proposal was computed (version "
                    f"{proposal['rule_version']}, now {rule.version}); reopen the review for a fresh one",
                    field="proposal_id",
                    version=rule.version,
                )
            wanted = proposal["proposed"]
            new = replace(
                rule,
                threshold=float(wanted["threshold"]),
                clear_threshold=wanted.get("clear_threshold"),
                for_s=int(wanted["for_s"]),
            )
            rule_edit.check_sides(new)
            stored = rule_edit.write_change(
                cur,
                rule=rule,
                new=new,
                expected_version=expected_rule_version,
                actor=who,
                now=now,
                source="proposal",
                reason=proposal["text"],
                incident_id=detail.summary.id,
                proposal_id=proposal["id"],
            )
            common.record(
                cur,
                detail=detail,
                kind="review",
                actor=who,
                now=now,
                action="apply_proposal",
                message=f"Threshold proposal applied by {who}: {rule.describe()} → {stored.describe()} "
                f"(rule v{stored.version})",
                before={
                    "rule_id": rule.id,
                    "threshold": rule.threshold,
                    "clear_threshold": rule.clear_threshold,
                    "for_s": rule.for_s,
                    "version": rule.version,
                },
                after={
                    "rule_id": rule.id,
                    "threshold": stored.threshold,
                    "clear_threshold": stored.clear_threshold,
                    "for_s": stored.for_s,
                    "version": stored.version,
                },
                data={"rule_id": rule.id, "proposal_id": proposal["id"], "rule_version": stored.version},
            )
    except (duckdb.TransactionException, duckdb.ConstraintException):
        raise Conflict(
            "someone changed this rule at the same moment; reload and try again",
            field="expected_rule_version",
        ) from None
    return rule_edit.rule_json(stored, rule_edit.last_changes(cur, company=company).get(stored.id))


__all__ = ["EDITED", "apply_proposal", "get_review", "get_version", "review_of", "save_review"]
