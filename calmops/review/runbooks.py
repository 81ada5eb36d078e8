"""Runbook entries: per company and pattern, the recovery commands the brief shows, as operators keep
them. Every save is a new version (kept), audited; without one, the playbook's defaults stand.

Commands may name ``{origin}``, ``{service}`` and ``{dependants}`` like the playbooks' do; the brief
fills them in.
"""

from __future__ import annotations

import json

import duckdb

from calmops import clock, incidents
from calmops.agent.patterns import PLAYBOOKS
from calmops.auth import Identity, Permission
from calmops.store.db import Cursor, Database, first, unit_of_work
from calmops.timeio import to_iso
from calmops.vocabulary import Pattern
from calmops.workflow import common
from calmops.workflow.errors import Conflict, Invalid

COMMANDS_MAX = 30
COMMAND_MAX = 500
NOTES_MAX = 5_000


def check_pattern(value: object) -> Pattern:
    try:
        return Pattern(value)
    except ValueError:
        raise Invalid(
            f"pattern must be one of {', '.join(p.value for p in Pattern)}", field="pattern"
        ) from None


def default_commands(pattern: Pattern | str) -> list[str]:
    """The playbook's runbook commands for ``pattern`` (templates with ``{origin}`` …)."""
    return list(PLAYBOOKS[Pattern(pattern)].runbook)


def _rows(cur: Cursor, company: str, pattern: str) -> list[tuple]:
    rows = cur.execute(
        """SELECT version, commands, notes, author, created_at FROM runbook_entries
           WHERE company = ? AND pattern = ?""",
        [company, pattern],
    ).fetchall()
    return sorted(rows, key=lambda r: r[0])


def runbook_for(cur: Cursor, *, company: str, pattern: str) -> list[str] | None:
    """The saved runbook commands of ``company`` for ``pattern`` (latest version), or None when none
    was saved (then the playbook's defaults apply). What the agent's brief shows."""
    row = first(
        cur,
        """SELECT commands FROM runbook_entries WHERE company = ? AND pattern = ?
           ORDER BY version DESC LIMIT 1""",
        [company, str(pattern)],
    )
    return list(json.loads(row[0])) if row else None


def _entry(pattern: Pattern, rows: list[tuple]) -> dict:
    base = {"pattern": pattern.value, "label": PLAYBOOKS[pattern].label, "default": default_commands(pattern)}
    history = [{"version": r[0], "author": r[3], "created_at": to_iso(r[4])} for r in reversed(rows)]
    if not rows:
        return {
            **base,
            "saved": False,
            "version": None,
            "commands": base["default"],
            "notes": "",
            "author": None,
            "created_at": None,
            "history": [],
        }
    version, commands, notes, author, created = rows[-1]
    return {
        **base,
        "saved": True,
        "version": version,
        "commands": json.loads(commands),
        "notes": notes,
        "author": author,
        "created_at": to_iso(created),
        "history": history,
    }


def get_runbook(cur: Cursor, *, company: str, pattern: object) -> dict:
    p = check_pattern(pattern)
    return _entry(p, _rows(cur, company, p.value))


def list_runbooks(cur: Cursor, *, company: str) -> list[dict]:
    """One entry per pattern, saved or the playbook's default."""
    rows = cur.execute(
        "SELECT pattern, version, commands, notes, author, created_at FROM runbook_entries WHERE company = ?",
        [company],
    ).fetchall()
    by: dict[str, list[tuple]] = {}
    for r in rows:
        by.setdefault(r[0], []).append(r[1:])
    return [_entry(p, sorted(by.get(p.value, []), key=lambda r: r[0])) for p in Pattern]


def check_commands(value: object) -> list[str]:
    if isinstance(value, str):
        value = value.splitlines()
    if not isinstance(value, list):
        raise Invalid("commands must be a list of text lines", field="commands")
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise Invalid(f"commands[{i}] must be text", field=f"commands[{i}]")
        text = item.strip()
        if len(text) > COMMAND_MAX:
            raise Invalid(f"commands[{i}] must be at most {COMMAND_MAX} characters", field=f"commands[{i}]")
        if text:
            out.append(text)
    if not out:
        raise Invalid("commands must hold at least one command", field="commands")
    if len(out) > COMMANDS_MAX:
        raise Invalid(f"commands holds at most {COMMANDS_MAX} lines", field="commands")
    return out


def save_runbook(
    db: Database,
    *,
    company: str,
    pattern: object,
    commands: object,
    actor: Identity,
    notes: object = None,
    expected_version: object = None,
) -> dict:
    """Save a new version of the runbook entry (409 when ``expected_version``, the version read — 0
    for none — is no longer the latest)."""
    p = check_pattern(pattern)
    lines = check_commands(commands)
    text = common.note(notes, field="notes")
    who = common.acting(actor, Permission.TUNE, company)
    if expected_version is not None and (
        not isinstance(expected_version, int) or isinstance(expected_version, bool) or expected_version < 0
    ):
        raise Invalid(
            "expected_version must be the entry's version you read (0 for none)", field="expected_version"
        )
    cur = db.cursor()
    now = clock.now()
    try:
        with unit_of_work(cur):
            rows = _rows(cur, company, p.value)
            current = rows[-1][0] if rows else 0
            if expected_version is not None and expected_version != current:
                raise Conflict(
                    f"the runbook entry for {p.value} changed since you read it (version {expected_version}, "
                    f"now {current}, by {rows[-1][3]}); reload and try again",
                    field="expected_version",
                    version=current,
                )
            before = json.loads(rows[-1][1]) if rows else default_commands(p)
            cur.execute(
                """INSERT INTO runbook_entries
                       (company, pattern, version, commands, notes, author, created_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?)""",
                [company, p.value, current + 1, json.dumps(lines), text, who, now],
            )
            incidents.audit(
                cur,
                company=company,
                ts=now,
                actor=who,
                action="runbook",
                entity="runbook",
                entity_id=p.value,
                before={"version": current or None, "commands": before},
                after={"version": current + 1, "commands": lines, "notes": text},
            )
    except (duckdb.TransactionException, duckdb.ConstraintException):
        raise Conflict(
            "someone saved this runbook entry at the same moment; reload and try again",
            field="expected_version",
        ) from None
    return get_runbook(cur, company=company, pattern=p)


def add_from_review(
    db: Database, *, company: str, incident_id: int, pattern: object, steps: list[str], actor: Identity
) -> dict:
    """A review adds its steps to the pattern's runbook entry (the saved one, else the playbook's
    defaults), as a new version that says which incident it came from."""
    p = check_pattern(pattern)
    current = get_runbook(db.cursor(), company=company, pattern=p)
    commands = list(dict.fromkeys([*current["commands"], *(s.strip() for s in steps if s.strip())]))
    return save_runbook(
        db, company=company, pattern=p, commands=commands, actor=actor,
        notes=f"steps added from the review of incident #{incident_id}",
        expected_version=current["version"] or 0,
    )  # fmt: skip
