"""Editing threshold rules: validated, versioned (optimistic concurrency), audited, and each change
kept in `rule_changes` with where it came from (an edit, or a review's proposal on an incident)."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, replace
from datetime import datetime

import duckdb

from calmops import clock, companies, incidents
from calmops.auth import Identity, Permission
from calmops.detect.rules import Rule, list_rules
from calmops.store.db import Cursor, Database, first, unit_of_work
from calmops.timeio import to_iso
from calmops.vocabulary import CANONICAL_METRICS, Severity
from calmops.workflow import common
from calmops.workflow.errors import Conflict, Invalid, NotFound

EDITABLE = ("threshold", "clear_threshold", "for_s", "severity", "enabled")
COMPARISONS = (">", ">=", "<", "<=")
MAX_FOR_S = 86_400
REASON_MAX = 1_000


def rule_json(rule: Rule, change: dict | None = None) -> dict:
    body = asdict(rule)
    body["severity"] = rule.severity.value
    body["describe"] = rule.describe()
    body["last_change"] = change
    return body


def last_changes(cur: Cursor, *, company: str) -> dict[int, dict]:
    """The newest recorded change of each rule: who, when, from where and why."""
    rows = cur.execute(
        """SELECT rule_id, version, actor, ts, source, incident_id, proposal_id, reason FROM rule_changes
           WHERE company = ?""",
        [company],
    ).fetchall()
    out: dict[int, dict] = {}
    for rule_id, version, actor, ts, source, incident_id, proposal_id, reason in sorted(
        rows, key=lambda r: r[1]
    ):
        out[rule_id] = {
            "version": version,
            "actor": actor,
            "at": to_iso(ts),
            "source": source,
            "incident_id": incident_id,
            "proposal_id": proposal_id,
            "reason": reason,
        }
    return out


def history(cur: Cursor, *, company: str, rule_id: int) -> list[dict]:
    """Every recorded change of one rule, newest first, with the values before and after."""
    rows = cur.execute(
        """SELECT version, actor, ts, source, incident_id, proposal_id, reason, before, after
           FROM rule_changes WHERE company = ? AND rule_id = ?""",
        [company, rule_id],
    ).fetchall()
    return [
        {
            "version": r[0],
            "actor": r[1],
            "at": to_iso(r[2]),
            "source": r[3],
            "incident_id": r[4],
            "proposal_id": r[5],
            "reason": r[6],
            "before": json.loads(r[7]) if r[7] else None,
            "after": json.loads(r[8]),
        }
        for r in sorted(rows, key=lambda r: -r[0])
    ]


def rules_json(cur: Cursor, *, company: str) -> list[dict]:
    changes = last_changes(cur, company=company)
    return [rule_json(r, changes.get(r.id)) for r in list_rules(cur, company=company)]


def get_rule(cur: Cursor, *, company: str, rule_id: object) -> Rule:
    if not isinstance(rule_id, int) or isinstance(rule_id, bool):
        raise Invalid("id must be the rule's id (an integer)", field="id")
    for rule in list_rules(cur, company=company):
        if rule.id == rule_id:
            return rule
    raise NotFound(f"no rule {rule_id} in {company!r}", field="id")


def _number(value: object, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise Invalid(f"{field} must be a number", field=field)
    return float(value)


def _for_s(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise Invalid("for_s must be a whole number of seconds", field="for_s")
    if not 0 <= value <= MAX_FOR_S:
        raise Invalid(f"for_s must be from 0 to {MAX_FOR_S} seconds (a day)", field="for_s")
    return int(value)


def _severity(value: object) -> Severity:
    try:
        return Severity(value)
    except ValueError:
        raise Invalid(
            f"severity must be one of {', '.join(s.value for s in Severity)}", field="severity"
        ) from None


def check_sides(rule: Rule) -> None:
    """The clear threshold lies on the healthy side of the threshold (or on it): for ``>`` at or
    below it, for ``<`` at or above it. Otherwise the rule could never recover."""
    if rule.clear_threshold is None:
        return
    above = rule.comparison in (">", ">=")
    if (above and rule.clear_threshold > rule.threshold) or (
        not above and rule.clear_threshold < rule.threshold
    ):
        side = "at or below" if above else "at or above"
        raise Invalid(
            f"clear_threshold must be {side} the threshold ({rule.threshold:g}) for a '{rule.comparison}' "
            f"rule, else it never recovers; got {rule.clear_threshold:g}",
            field="clear_threshold",
        )


def changed(rule: Rule, fields: dict) -> Rule:
    """``rule`` with ``fields`` applied, validated; unknown fields are refused."""
    unknown = sorted(set(fields) - set(EDITABLE))
    if unknown:
        raise Invalid(f"{unknown[0]!r} cannot be changed (editable: {', '.join(EDITABLE)})", field=unknown[0])
    new = rule
    if "threshold" in fields:
        new = replace(new, threshold=_number(fields["threshold"], "threshold"))
    if "clear_threshold" in fields:
        value = fields["clear_threshold"]
        new = replace(new, clear_threshold=None if value is None else _number(value, "clear_threshold"))
    if "for_s" in fields:
        new = replace(new, for_s=_for_s(fields["for_s"]))
    if "severity" in fields:
        new = replace(new, severity=_severity(fields["severity"]))
    if "enabled" in fields:
        if not isinstance(fields["enabled"], bool):
            raise Invalid("enabled must be true or false", field="enabled")
        new = replace(new, enabled=fields["enabled"])
    check_sides(new)
    return new


def _values(rule: Rule) -> dict:
    return {k: getattr(rule, k) if k != "severity" else rule.severity.value for k in EDITABLE}


def _reason(value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > REASON_MAX:
        raise Invalid(f"reason must be text of at most {REASON_MAX:,} characters", field="reason")
    return value.strip()


def write_change(
    cur: Cursor,
    *,
    rule: Rule,
    new: Rule,
    expected_version: object,
    actor: str,
    now: datetime,
    source: str,
    reason: str = "",
    incident_id: int | None = None,
    proposal_id: str | None = None,
) -> Rule:
    """Store ``new`` as the next version of ``rule`` (in the caller's transaction): 409 when the rule
    is no longer at ``expected_version``; a `rule_changes` row and an audit row."""
    if expected_version is None:
        raise Invalid("expected_version is required (the rule's version you read)", field="expected_version")
    if not isinstance(expected_version, int) or isinstance(expected_version, bool):
        raise Invalid("expected_version must be an integer", field="expected_version")
    won = cur.execute(
        """UPDATE rules SET threshold = ?, clear_threshold = ?, for_s = ?, severity = ?, enabled = ?,
               version = version + 1, updated_at = ?, updated_by = ?
           WHERE id = ? AND company = ? AND version = ? RETURNING version""",
        [
            new.threshold,
            new.clear_threshold,
            new.for_s,
            new.severity.value,
            new.enabled,
            now,
            actor,
            rule.id,
            rule.company,
            expected_version,
        ],
    ).fetchall()
    if not won:
        current = first(cur, "SELECT version, updated_by, updated_at FROM rules WHERE id = ?", [rule.id])
        raise Conflict(
            f"rule {rule.id} changed since you read it (version {expected_version}, now {current[0]}, "
            f"by {current[1]} at {to_iso(current[2])}); reload and try again",
            field="expected_version",
            version=current[0],
            changed_by=current[1],
            changed_at=to_iso(current[2]),
        )
    version = won[0][0]
    before, after = _values(rule), _values(new)
    cur.execute(
        """INSERT INTO rule_changes (company, rule_id, version, actor, ts, source, incident_id, proposal_id,
               reason, before, after) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [
            rule.company,
            rule.id,
            version,
            actor,
            now,
            source,
            incident_id,
            proposal_id,
            reason,
            json.dumps(before),
            json.dumps(after),
        ],
    )
    incidents.audit(
        cur,
        company=rule.company,
        ts=now,
        actor=actor,
        action="rule_" + source,
        entity="rule",
        entity_id=rule.id,
        before={**before, "version": rule.version},
        after={**after, "version": version},
    )
    return replace(new, version=version)


def _conflicts(work):
    try:
        return work()
    except (duckdb.TransactionException, duckdb.ConstraintException) as exc:
        raise Conflict(
            f"someone else changed this at the same moment; reload and try again ({exc})"
        ) from None


def update_rule(
    db: Database,
    *,
    company: str,
    rule_id: object,
    expected_version: object,
    actor: Identity,
    reason: object = None,
    **fields: object,
) -> dict:
    """Change a rule's threshold, clear threshold, for-duration, severity or enabled flag."""
    who = common.acting(actor, Permission.TUNE, company)
    why = _reason(reason)
    if not fields:
        raise Invalid(f"nothing to change: give one of {', '.join(EDITABLE)}")
    cur = db.cursor()

    def work() -> dict:
        with unit_of_work(cur):
            rule = get_rule(cur, company=company, rule_id=rule_id)
            new = changed(rule, fields)
            stored = write_change(
                cur,
                rule=rule,
                new=new,
                expected_version=expected_version,
                actor=who,
                now=clock.now(),
                source="edit",
                reason=why,
            )
        return rule_json(stored, last_changes(cur, company=company).get(stored.id))

    return _conflicts(work)


def create_rule(
    db: Database,
    *,
    company: str,
    metric: object = None,
    comparison: object = None,
    threshold: object = None,
    severity: object = None,
    actor: Identity | None = None,
    service: object = None,
    clear_threshold: object = None,
    for_s: object = 0,
    recovery_count: object = 2,
    name: object = None,
    reason: object = None,
    dry_run: bool = False,
) -> dict:
    """A new rule for a metric (on one service, or every service that reports it). ``dry_run``
    validates and answers ``{"rule": Rule}`` without writing (the page backtests it first)."""
    who = common.acting(actor, Permission.TUNE, company)
    why = _reason(reason)
    cur = db.cursor()
    if not isinstance(metric, str) or not metric.strip():
        raise Invalid("metric is required", field="metric")
    metric = metric.strip()
    known = metric in CANONICAL_METRICS or first(
        cur, "SELECT 1 FROM latest WHERE company = ? AND metric = ? LIMIT 1", [company, metric]
    )
    if not known:
        raise Invalid(
            f"unknown metric {metric!r}: neither a canonical metric nor one this company reports",
            field="metric",
        )
    if service is not None and (
        not isinstance(service, str)
        or not first(cur, "SELECT 1 FROM services WHERE company = ? AND service = ?", [company, service])
    ):
        raise Invalid(f"unknown service {service!r}; register it first", field="service")
    if comparison not in COMPARISONS:
        raise Invalid(f"comparison must be one of {' '.join(COMPARISONS)}", field="comparison")
    if (
        isinstance(recovery_count, bool)
        or not isinstance(recovery_count, int)
        or not 1 <= recovery_count <= 100
    ):
        raise Invalid("recovery_count must be a whole number from 1 to 100", field="recovery_count")
    level = _severity(severity)
    if name is not None and (not isinstance(name, str) or not 1 <= len(name.strip()) <= 200):
        raise Invalid("name must be 1 to 200 characters", field="name")
    rule = Rule(
        id=None,
        company=company,
        family=metric,
        name=(name or f"{metric} {level.value}").strip(),
        metric=metric,
        service=service,
        comparison=comparison,
        threshold=_number(threshold, "threshold"),
        clear_threshold=None if clear_threshold is None else _number(clear_threshold, "clear_threshold"),
        for_s=_for_s(for_s),
        recovery_count=recovery_count,
        severity=level,
    )
    check_sides(rule)
    if dry_run:
        return {"rule": rule}

    def work() -> dict:
        now = clock.now()
        with unit_of_work(cur):
            rule_id = cur.execute(
                """INSERT INTO rules (company, family, name, metric, service, comparison, threshold,
                       clear_threshold, for_s, recovery_count, severity, created_at, updated_at, updated_by)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id""",
                [
                    company,
                    rule.family,
                    rule.name,
                    metric,
                    service,
                    comparison,
                    rule.threshold,
                    rule.clear_threshold,
                    rule.for_s,
                    rule.recovery_count,
                    level.value,
                    now,
                    now,
                    who,
                ],
            ).fetchall()[0][0]
            after = _values(rule)
            cur.execute(
                """INSERT INTO rule_changes (company, rule_id, version, actor, ts, source, reason, after)
                   VALUES (?, ?, 1, ?, ?, 'created', ?, ?)""",
                [
                    company,
                    rule_id,
                    who,
                    now,
                    why,
                    json.dumps({**after, "metric": metric, "service": service}),
                ],
            )
            incidents.audit(
                cur,
                company=company,
                ts=now,
                actor=who,
                action="rule_created",
                entity="rule",
                entity_id=rule_id,
                after={**after, "metric": metric, "service": service, "comparison": comparison},
            )
        stored = get_rule(cur, company=company, rule_id=rule_id)
        return rule_json(stored, last_changes(cur, company=company).get(rule_id))

    return _conflicts(work)


def check_company(cur: Cursor, company: object) -> str:
    """A known company's slug (400 malformed, 404 unknown)."""
    if not isinstance(company, str) or not companies.valid_slug(company):
        raise Invalid("company must be a slug like 'acme-freight'", field="company")
    try:
        companies.get_company(cur, company=company)
    except companies.UnknownCompanyError:
        raise NotFound(f"unknown company {company!r}", field="company") from None
    return company
