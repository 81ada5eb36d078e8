"""The post-incident review as the data tells it, before a person edits it.

Everything here is read from the store: the brief at detection (version 1) and at resolution (the
latest), the timeline, the auto-actions with their verdicts, the decisions on recommendations, and
threshold proposals replayed over the stored history (`calmops.review.backtest`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

from calmops import actions, agent
from calmops.agent.patterns import PLAYBOOKS
from calmops.detect.rules import Rule, list_rules
from calmops.incidents import IncidentDetail
from calmops.review import backtest
from calmops.store.db import Cursor
from calmops.timeio import to_iso
from calmops.vocabulary import ACTION_RISK, Action, Pattern

ACTION_KINDS = ("auto_action", "executed", "approved")  # a timeline entry that is somebody acting
DECIDED = ("approved", "declined", "executing", "succeeded", "failed")
AUTOMATE_AFTER = 2
VERDICT_WORDS = {
    "no_effect": "no effect",
    "worse": "a worse result",
}  # an action approved by hand this often for one pattern is worth automating

# Prevention steps per pattern: concrete changes a team makes so the same story does not recur.
# {origin} is the service the evidence pointed to; {service} the incident's own.
PREVENTION: dict[Pattern, tuple[str, ...]] = {
    Pattern.QUEUE_BACKLOG: (
        "Autoscale the workers of {origin} on queue depth, so capacity grows before the backlog does",
        "Schedule or rate-limit the batch imports feeding {origin} outside its busy hours",
        "Alert on the growth rate of the queue on {origin}, not only on its depth",
    ),
    Pattern.DB_SATURATION: (
        "Cap the connection pool of each service using {origin} and put a pooler (e.g. PgBouncer) in front",
        "Index or rewrite the slowest queries seen on {origin} during the incident",
        "Send read-only traffic to the replica by default instead of only during incidents",
    ),
    Pattern.ERROR_SPIKE_AFTER_DEPLOY: (
        "Deploy {origin} as a canary first, with an automatic rollback when its error rate rises",
        "Add a test that covers the requests that failed on {origin} after this deploy",
        "Keep the previous version of {origin} ready to roll back to in one step",
    ),
    Pattern.MEMORY_LEAK: (
        "Take a heap profile of {origin} and fix the leak; track it as a bug with this incident linked",
        "Until it is fixed, schedule a rolling restart of {origin} before memory reaches its warning level",
        "Set a memory limit on {origin} so one instance cannot starve its neighbours",
    ),
    Pattern.DEPENDENCY_OUTAGE: (
        "Give every call to {origin} a timeout, retries with backoff and a circuit breaker",
        "Subscribe the on-call channel to {origin}'s status page",
        "Queue the work that needs {origin} so it resumes by itself when {origin} recovers",
    ),
    Pattern.DISK_FILLING: (
        "Rotate and expire logs and temporary files on {origin} (size and age limits)",
        "Alert on the disk's growth rate (days until full) on {origin}, not only on its level",
        "Move what grows without bound (WAL archives, exports) off the volume of {origin}",
    ),
    Pattern.SERVICE_DOWN: (
        "Run at least two instances of {origin} behind its health check",
        "Let the orchestrator restart {origin} automatically when its liveness probe fails",
        "Find why {origin} stopped (logs, last restarts, resources) and fix that cause",
    ),
    Pattern.LATENCY_REGRESSION: (
        "Add a latency check for {origin} to the deploy pipeline (compare p95 before and after)",
        "Keep capacity headroom on {origin} for its traffic peaks",
        "Trace the slowest endpoints of {origin} and budget their p95",
    ),
    Pattern.UNKNOWN: (
        "Add the signal that would have explained this incident on {origin} (a metric or a log alert)",
        "Write down what the team found as a runbook entry, so the next one is recognised",
    ),
}


def _brief_versions(cur: Cursor, *, company: str, incident_id: int) -> tuple[dict | None, dict | None]:
    """The brief at detection (version 1) and at resolution (the latest), with their versions."""
    rows = cur.execute(
        "SELECT version, body FROM briefs WHERE company = ? AND incident_id = ? ORDER BY version",
        [company, incident_id],
    ).fetchall()
    if not rows:
        return None, None
    first_v, last_v = rows[0], rows[-1]
    return {**json.loads(first_v[1]), "version": first_v[0]}, {**json.loads(last_v[1]), "version": last_v[0]}


def _evidence(brief: dict | None, stage: str) -> list[dict]:
    return [{**item, "brief": stage} for item in (brief or {}).get("evidence") or []]


def root_cause(detail: IncidentDetail, at_detection: dict | None, at_resolution: dict | None) -> dict:
    """The root-cause candidate: the pattern and origin the agent settled on, with its evidence."""
    final = at_resolution or at_detection or {}
    pattern = final.get("pattern") or detail.pattern or Pattern.UNKNOWN.value
    try:
        label = PLAYBOOKS[Pattern(pattern)].label
    except ValueError:
        label = pattern
    origin = ((final.get("origin") or {}).get("service")) or detail.summary.service
    reason = (final.get("origin") or {}).get("reason")
    first_pattern = (at_detection or {}).get("pattern")
    changed = bool(first_pattern and first_pattern != pattern)
    text = f"{label} on {origin}"
    if reason:
        text += f" ({reason.rstrip('.')})"
    text += "."
    if changed:
        text += f" At detection the agent first read it as {first_pattern.replace('_', ' ')}."
    evidence = _evidence(at_resolution, "resolution")
    seen = {(e.get("text"), e.get("ts")) for e in evidence}
    evidence += [e for e in _evidence(at_detection, "detection") if (e.get("text"), e.get("ts")) not in seen]
    return {
        "text": text,
        "pattern": pattern,
        "label": label,
        "origin": origin,
        "origin_reason": reason,
        "pattern_at_detection": first_pattern,
        "confidence": final.get("confidence"),
        "summary": final.get("summary"),
        "brief_versions": {
            "detection": (at_detection or {}).get("version"),
            "resolution": (at_resolution or {}).get("version"),
        },
        "evidence": evidence,
    }


def _seconds(later: datetime | None, earlier: datetime | None) -> int | None:
    if later is None or earlier is None:
        return None
    return max(0, int((later - earlier).total_seconds()))


def key_moments(detail: IncidentDetail, attempts: list) -> dict:
    """Detected, first action, mitigated, resolved; time to acknowledge and to resolve."""
    s = detail.summary
    acted = [e.ts for e in detail.timeline if e.kind in ACTION_KINDS]
    acted += [a.started_at or a.at for a in attempts if a.outcome != "skipped"]
    first_action = min(acted) if acted else None
    recovered = [e.ts for e in detail.timeline if e.kind == "recovered"]
    effective = [a.finished_at or a.at for a in attempts if a.verdict == "effective"]
    mitigated = min(recovered + effective) if recovered or effective else None
    return {
        "started": to_iso(s.started_at),
        "detected": to_iso(s.detected_at),
        "acknowledged": to_iso(detail.acknowledged_at),
        "first_action": to_iso(first_action),
        "mitigated": to_iso(mitigated),
        "resolved": to_iso(s.resolved_at),
        "time_to_detect_s": _seconds(s.detected_at, s.started_at),
        "time_to_acknowledge_s": _seconds(detail.acknowledged_at, s.detected_at),
        "time_to_mitigate_s": _seconds(mitigated, s.started_at),
        "time_to_resolve_s": _seconds(s.resolved_at, s.started_at),
    }


def tried(attempts: list, recommendations: list[dict]) -> dict:
    """What was tried: every action attempt with its verdict, every decision on a recommendation."""
    return {
        "actions": [
            {
                "id": a.id,
                "action": a.action,
                "kind": a.kind,
                "service": a.service,
                "risk": a.risk,
                "requested_by": a.requested_by,
                "at": to_iso(a.at),
                "outcome": a.outcome,
                "verdict": a.verdict,
                "metric": a.metric,
                "before_value": a.before_value,
                "after_value": a.after_value,
                "refusal": a.refusal,
            }
            for a in attempts
        ],
        "decisions": [
            {
                "recommendation_id": r["id"],
                "action": r["action"],
                "risk": r["risk"],
                "status": r["status"],
                "decided_by": r["decided_by"],
                "decided_at": r["decided_at"],
                "note": r["note"],
            }
            for r in recommendations
            if r["status"] in DECIDED
        ],
    }


def prevention(pattern: str, origin: str, service: str) -> list[str]:
    try:
        steps = PREVENTION[Pattern(pattern)]
    except ValueError:
        steps = PREVENTION[Pattern.UNKNOWN]
    return [step.format(origin=origin, service=service) for step in steps]


def fired_rules(detail: IncidentDetail, rules: list[Rule]) -> list[tuple[Rule, datetime]]:
    """The rules that fired on the incident's own service, and when (detection, then a higher tier)."""
    by_id = {r.id: r for r in rules}
    found: dict[int, tuple[Rule, datetime]] = {}
    for e in detail.timeline:
        if e.kind not in ("detected", "severity_changed"):
            continue
        data = e.data or {}
        rule = by_id.get(data.get("rule_id"))
        if rule is None or rule.id in found:
            continue
        if data.get("service") not in (None, detail.summary.service):
            continue
        found[rule.id] = (rule, e.ts)
    return list(found.values())


def alert_improvements(
    cur: Cursor, *, detail: IncidentDetail, series_of: Callable[[str], backtest.Series] | None = None
) -> list[dict]:
    """Threshold proposals (and "keep" notes) for the rules that fired, each with its numbers.
    ``series_of(metric)``: series already read for a wider window (a period report's cache)."""
    s = detail.summary
    if s.resolved_at is None:
        return []
    out = []
    for rule, fired_at in fired_rules(detail, list_rules(cur, company=s.company)):
        proposal = backtest.propose(
            cur,
            company=s.company,
            rule=rule,
            service=s.service,
            fired_at=fired_at,
            started_at=s.started_at,
            until=s.resolved_at,
            incident_id=s.id,
            preloaded=series_of(rule.metric) if series_of else None,
        )
        if proposal is not None:
            out.append(proposal)
    return out


def _hand_approvals(cur: Cursor, *, company: str, pattern: str) -> dict[str, int]:
    """How often each action was approved by hand on this company's incidents of ``pattern``."""
    rows = cur.execute(
        """SELECT r.action, count(*) FROM recommendations r JOIN incidents i ON i.id = r.incident_id
           WHERE r.company = ? AND i.company = ? AND i.pattern = ?
             AND r.status IN ('approved', 'executing', 'succeeded', 'failed')
           GROUP BY r.action""",
        [company, company, pattern],
    ).fetchall()
    return {action: n for action, n in rows}


def automation(
    cur: Cursor, *, detail: IncidentDetail, pattern: str, attempts: list, decisions: list
) -> list[dict]:
    """Automation suggestions from what ran and what people approved."""
    out: list[dict] = []
    seen: set[tuple[str, str]] = set()
    for a in attempts:
        if a.outcome == "skipped" or (a.action, a.verdict or "") in seen:
            continue
        seen.add((a.action, a.verdict or ""))
        moved = ""
        if a.metric and a.before_value is not None and a.after_value is not None:
            moved = f" ({a.metric} {a.before_value:g} → {a.after_value:g})"
        words = a.action.replace("_", " ")
        if a.kind == "auto" and a.verdict == "effective":
            out.append(
                {
                    "kind": "run_earlier",
                    "action": a.action,
                    "text": f"The automatic {words} on {a.service} was effective{moved}: let it run as soon "
                    "as the warning tier fires instead of waiting for the incident to grow.",
                }
            )
        elif a.kind == "auto" and a.verdict in ("no_effect", "worse"):
            out.append(
                {
                    "kind": "remove",
                    "action": a.action,
                    "text": f"The automatic {words} on {a.service} had {VERDICT_WORDS[a.verdict]}{moved}: "
                    f"remove it from the automatic actions for {pattern.replace('_', ' ')}.",
                }
            )
    approvals = _hand_approvals(cur, company=detail.summary.company, pattern=pattern)
    for d in decisions:
        action = d["action"]
        words = action.replace("_", " ")
        if d["status"] == "declined":
            note = f": “{d['note']}”" if d.get("note") else ""
            out.append(
                {
                    "kind": "review_playbook",
                    "action": action,
                    "text": f"{d['decided_by'] or 'Someone'} declined to {words}{note}. Check whether the "
                    f"playbook for {pattern.replace('_', ' ')} should recommend it.",
                }
            )
            continue
        n = approvals.get(action, 0)
        try:
            risk = ACTION_RISK[Action(action)].value
        except ValueError:
            risk = d.get("risk") or "medium"
        if n >= AUTOMATE_AFTER and risk in ("safe", "low"):
            text = (
                f"{words.capitalize()} was approved by hand {n} times for {pattern.replace('_', ' ')}; "
                f"it is {risk} risk: make it automatic for this pattern."
            )
            kind = "make_automatic"
        elif n >= AUTOMATE_AFTER:
            text = (
                f"{words.capitalize()} was approved by hand {n} times for {pattern.replace('_', ' ')}; "
                f"it is {risk} risk, so keep the approval and add a runbook entry for it."
            )
            kind = "runbook_entry"
        else:
            text = (
                f"{words.capitalize()} was approved by hand here ({risk} risk); if it is approved again "
                "for the same pattern, consider making it automatic or a runbook entry."
            )
            kind = "watch"
        if not any(o["kind"] == kind and o["action"] == action for o in out):
            out.append({"kind": kind, "action": action, "text": text})
    if not out:
        out.append(
            {
                "kind": "none",
                "action": None,
                "text": "No action ran and none was approved on this incident: check whether the "
                f"recommendation for {pattern.replace('_', ' ')} could have been acted on sooner.",
            }
        )
    return out


def draft(cur: Cursor, *, detail: IncidentDetail) -> dict:
    """The review as the data tells it (``saved`` false): the body a person then edits."""
    s = detail.summary
    at_detection, at_resolution = _brief_versions(cur, company=s.company, incident_id=s.id)
    cause = root_cause(detail, at_detection, at_resolution)
    attempts = actions.list_attempts(cur, company=s.company, incident_id=s.id)
    recs = agent.recommendations(cur, company=s.company, incident_id=s.id)
    what = tried(attempts, recs)
    return {
        "incident_id": s.id,
        "company": s.company,
        "root_cause": cause,
        "key_moments": key_moments(detail, attempts),
        "tried": what,
        "prevention": prevention(cause["pattern"], cause["origin"], s.service),
        "alert_improvements": alert_improvements(cur, detail=detail),
        "automation": automation(
            cur, detail=detail, pattern=cause["pattern"], attempts=attempts, decisions=what["decisions"]
        ),
        "notes": "",
    }
