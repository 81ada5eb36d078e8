"""The calm decision brief: from a finding to the words the person on call reads first.

Pure composition: no store access. Every sentence is built from the finding's evidence, the series
statistics and the recorded auto-actions, so what the brief says can be checked against the rows
it names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from calmops.agent.evidence import BAND, SeriesStats, Situation
from calmops.agent.patterns import PLAYBOOKS, UNKNOWN_SCORE, EvidenceItem, Finding
from calmops.agent.projection import Projection, growth, project
from calmops.timefmt import clock_time, duration
from calmops.timeio import to_iso
from calmops.vocabulary import (
    ACTION_RISK,
    Action,
    Confidence,
    IncidentStatus,
    Pattern,
    Risk,
    ServiceKind,
    Severity,
)

ACTION_WORDS: dict[Action, str] = {
    Action.SCALE_WORKERS: "add workers",
    Action.OPEN_CIRCUIT_BREAKER: "open the circuit breaker",
    Action.ROTATE_LOGS: "rotate logs",
    Action.WAIT_AND_WATCH: "wait and watch",
    Action.RESTART_SERVICE: "restart the service",
    Action.PAUSE_BATCH_JOBS: "pause batch jobs",
    Action.ENABLE_READ_REPLICA_ROUTING: "route reads to the replica",
    Action.ROLLBACK_DEPLOY: "roll back the deploy",
    Action.EXPAND_VOLUME: "expand the volume",
    Action.ESCALATE_TO_LEAD: "escalate to the technical lead",
}
IMPACT_AFTER = timedelta(minutes=5)  # a customer-facing service degraded this long affects customers
NEXT_UPDATE = timedelta(minutes=30)
STATE_METRICS: dict[Pattern, tuple[str, ...]] = {
    Pattern.QUEUE_BACKLOG: ("queue_depth", "request_rate"),
    Pattern.DB_SATURATION: ("db_connections_pct", "latency_p95_ms"),
    Pattern.ERROR_SPIKE_AFTER_DEPLOY: ("error_rate", "latency_p95_ms"),
    Pattern.MEMORY_LEAK: ("memory_pct", "request_rate"),
    Pattern.DEPENDENCY_OUTAGE: ("error_rate", "latency_p95_ms", "up"),
    Pattern.DISK_FILLING: ("disk_pct",),
    Pattern.SERVICE_DOWN: ("up", "error_rate"),
    Pattern.LATENCY_REGRESSION: ("latency_p95_ms", "error_rate", "cpu_pct"),
    Pattern.UNKNOWN: ("error_rate", "latency_p95_ms", "up"),
}
# Words a customer message never carries: causes guessed, blame, or anything that sounds like security.
UNSAID = (
    "attack", "breach", "hack", "security", "vulnerab", "leak", "compromis", "exploit", "malicious",
    "unauthori", "intrusion", "blame", "fault", "caused by", "because", "due to", "root cause",
)  # fmt: skip


@dataclass(frozen=True)
class Recommended:
    action: Action
    reason: str
    expected_effect: str

    @property
    def risk(self):
        return ACTION_RISK[self.action]


@dataclass(frozen=True)
class Draft:
    """A brief before the store gives its recommendation an id and a status."""

    pattern: Pattern
    summary: str
    window: dict
    auto_actions: list[dict]
    system_state: list[dict]
    recommended: Recommended
    risk_if_no_action: dict
    confidence: Confidence
    customer_impact: bool
    customer_message: dict | None
    evidence: list[dict]
    origin: str
    origin_reason: str | None
    metric: str
    runbook: list[str]
    generated_at: datetime
    auto_planned: tuple[Action, ...] = field(default_factory=tuple)
    stage: str = "active"  # or "resolved": the brief at resolution is a version of its own
    headline: str = ""  # the summary's first sentence: why an automatic action was asked for

    def to_json(self, *, recommendation: dict) -> dict:
        return {
            "pattern": self.pattern.value,
            "summary": self.summary,
            "window": self.window,
            "auto_actions": self.auto_actions,
            "system_state": self.system_state,
            "recommendation": recommendation,
            "risk_if_no_action": self.risk_if_no_action,
            "confidence": self.confidence.value,
            "customer_impact": self.customer_impact,
            "customer_message": self.customer_message,
            "evidence": self.evidence,
            "origin": {"service": self.origin, "reason": self.origin_reason},
            "runbook": self.runbook,
            "generated_at": to_iso(self.generated_at),
        }


def _lower(level: Confidence) -> Confidence:
    return {Confidence.HIGH: Confidence.MEDIUM, Confidence.MEDIUM: Confidence.LOW}.get(level, Confidence.LOW)


def confidence(sit: Situation, finding: Finding, others: list[Finding], verdicts: list[str]) -> Confidence:
    """High when one pattern clearly wins on good data; lower for a close second, thin data, or an
    automatic action that did not help."""
    if finding.pattern == Pattern.UNKNOWN:
        return Confidence.LOW
    runner_up = others[0].score if others else UNKNOWN_SCORE
    margin = finding.score - runner_up
    level = Confidence.LOW
    if finding.score >= 0.8 and margin >= 0.1:
        level = Confidence.HIGH
    elif finding.score >= 0.6:
        level = Confidence.MEDIUM
    key = sit.get(finding.origin, finding.metric)
    if key is None or key.baseline is None:
        level = _lower(level)
    if any(v in ("no_effect", "worse") for v in verdicts):
        level = _lower(level)
    return level


def recommend(sit: Situation, finding: Finding, level: Confidence) -> Recommended:
    book = PLAYBOOKS[finding.pattern]
    action = book.recommendation
    critical = sit.detail.summary.severity == Severity.CRITICAL
    if finding.pattern == Pattern.UNKNOWN and critical:
        action = Action.ESCALATE_TO_LEAD
    reasons = [e.text for e in finding.evidence[:3]]
    if finding.contrary:
        reasons.append("against it: " + "; ".join(finding.contrary))
    if finding.pattern == Pattern.UNKNOWN:
        reasons.append("no known pattern fits well, so nothing is changed blindly")
        if critical:
            reasons.append("the incident is critical, so a person who knows the system should look now")
    elif level == Confidence.LOW:
        reasons.append("the evidence is thin: check it on the charts before acting")
    reason = "; ".join(reasons) + "."
    effect = _fill(book.expected_effect, sit, finding)
    if action == Action.ESCALATE_TO_LEAD:
        effect = "The technical lead gets the brief and the timeline, and decides the next step."
    return Recommended(action, reason, effect)


def _fill(template: str, sit: Situation, finding: Finding) -> str:
    """The playbook's (or a person's) words with ``{origin}``, ``{service}`` and ``{dependants}``
    put in; any other brace (a shell variable in a saved runbook command) stays as written."""
    dependants = [d for d in sit.downstream(finding.origin)][:3]
    named = ", ".join(dependants) if dependants else "the services that use it"
    for token, value in (("{origin}", finding.origin), ("{service}", sit.service), ("{dependants}", named)):
        template = template.replace(token, value)
    return template


def state_of(sit: Situation, stats: SeriesStats) -> dict:
    rules = sit.thresholds(stats.service, stats.metric)
    breached = sit.breached(stats.service, stats.metric)
    status = "breaching" if breached else "elevated" if stats.deviation >= BAND else "normal"
    return {
        "service": stats.service,
        "metric": stats.metric,
        "value": stats.current.value,
        "ts": to_iso(stats.current.ts),
        "threshold": rules[0].threshold if rules else None,
        "baseline": stats.baseline,
        "status": status,
        "severity": breached.severity.value if breached else None,
    }


def system_state(sit: Situation, finding: Finding) -> list[dict]:
    services = list(dict.fromkeys([finding.origin, sit.service, *sit.detail.affected]))
    metrics = list(dict.fromkeys([m for m in (finding.metric, sit.detail.rule_family) if m]))
    metrics += [m for m in STATE_METRICS[finding.pattern] if m not in metrics]
    rows = []
    for svc in services:
        for metric in metrics:
            stats = sit.get(svc, metric)
            if stats is not None:
                rows.append(state_of(sit, stats))
    return rows


def degraded(sit: Situation, service: str) -> datetime | None:
    """Since when ``service`` has looked degraded on a signal customers feel, or None."""
    since = None
    for metric in ("up", "error_rate", "latency_p95_ms", "queue_depth"):
        stats = sit.get(service, metric)
        if stats is None or not (stats.rose or sit.breached(service, metric)):
            continue
        if stats.deviation < BAND and sit.breached(service, metric) is None:
            continue  # it was out of band earlier but is back now
        began = (stats.onset or stats.current).ts
        since = began if since is None else min(since, began)
    return since


def customer_impact(sit: Situation, finding: Finding) -> tuple[bool, list[str]]:
    """Customers are affected when a customer-facing service has been degraded for a few minutes,
    when a web or api service fails requests, or when the person who opened it said so."""
    if "customer_impact" in sit.detail.summary.flags:
        return True, [sit.service]
    if sit.detail.summary.status == IncidentStatus.RESOLVED:
        return False, []
    touched = list(
        dict.fromkeys([finding.origin, sit.service, *sit.detail.affected, *sit.downstream(finding.origin)])
    )
    hit = []
    for svc in touched:
        spec = sit.services.get(svc)
        if spec is None:
            continue
        since = degraded(sit, svc)
        if since is None:
            continue
        failing = spec.kind in (ServiceKind.WEB, ServiceKind.API) and sit.breached(svc, "error_rate")
        if failing or (spec.customer_facing and sit.now - since >= IMPACT_AFTER):
            hit.append(svc)
    return bool(hit), hit


def customer_message(sit: Situation, finding: Finding, level: Confidence, hit: list[str]) -> dict:
    """A Statuspage-style draft: what customers see and when the next update comes; no causes,
    no blame, no security words."""
    status = sit.detail.summary.status
    book = PLAYBOOKS[finding.pattern]
    area = _area(sit, hit)
    next_update = clock_time(sit.now + NEXT_UPDATE)
    if status == IncidentStatus.RESOLVED:
        state, text = "resolved", f"This incident has been resolved. {area} is working normally again."
    elif status == IncidentStatus.MONITORING:
        state = "monitoring"
        text = f"{area} is recovering and we are monitoring it. We will post an update by {next_update}."
    elif finding.pattern != Pattern.UNKNOWN and level != Confidence.LOW:
        state = "identified"
        text = (
            f"We have identified an issue affecting {area.lower() if area.startswith('The ') else area}: "
            f"{book.customers_see}. Our team is working on it. We will post an update by {next_update}."
        )
    else:
        state = "investigating"
        text = (
            f"We are investigating an issue affecting {area.lower() if area.startswith('The ') else area}: "
            f"{book.customers_see}. We will post an update by {next_update}."
        )
    return {"status": "draft", "state": state, "text": text}


def _area(sit: Situation, hit: list[str]) -> str:
    facing = [s for s in hit if (spec := sit.services.get(s)) is not None and spec.customer_facing] or hit
    names = [s.replace("-", " ") for s in facing[:3]] or [sit.service.replace("-", " ")]
    joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"The {joined} service" + ("s" if len(names) > 1 else "")


def origin_reason(sit: Situation, finding: Finding) -> str | None:
    """Why the evidence points where it does: dependants that joined, or an upstream that moved first."""
    if finding.origin == sit.service:
        joined = [s for s in sit.detail.affected if s != sit.service]
        if not joined:
            return None
        names = ", ".join(joined)
        verb, they = ("depends", "it") if len(joined) == 1 else ("depend", "they")
        return f"{names} {verb} on {sit.service} and degraded after it did, so {they} joined this incident."
    key = sit.get(finding.origin, finding.metric)
    first = (
        f", and its {finding.metric.replace('_', ' ')} left its usual level first"
        if key and key.onset
        else ""
    )
    when = f" (at {clock_time(key.onset.ts)})" if key and key.onset else ""
    return f"{sit.service} depends on {finding.origin}{first}{when}."


def risk_if_no_action(sit: Situation, finding: Finding) -> tuple[dict, Projection | None]:
    book = PLAYBOOKS[finding.pattern]
    text = _fill(book.risk, sit, finding)
    key = sit.get(finding.origin, finding.metric) if finding.metric else None
    still_bad = key is not None and (
        key.deviation >= BAND or sit.breached(key.service, key.metric) is not None
    )
    projection = project(sit, key) if still_bad else None
    if projection is not None:
        text = f"{projection.text()[0].upper()}{projection.text()[1:]}. {text}"
    elif still_bad and key is not None and (rate := growth(key)) is not None:
        text = f"{rate[0].upper()}{rate[1:]}, past every threshold. {text}"
    elif key is not None and not still_bad and finding.pattern != Pattern.UNKNOWN:
        text = (
            f"The signals are back in their usual range for now; if it returns: {text[0].lower()}{text[1:]}"
        )
    return {"text": text, "projection": projection.to_json() if projection else None}, projection


def summary(sit: Situation, finding: Finding, rec: Recommended, auto: list[dict]) -> str:
    book = PLAYBOOKS[finding.pattern]
    where = finding.origin
    first = f"{book.label} on {where}: {finding.lead}."
    if finding.pattern == Pattern.UNKNOWN:
        first = f"{sit.detail.summary.title}: {finding.lead}."
    if finding.origin != sit.service:
        first += f" {sit.service} is affected through it."
    done = [a for a in auto if a.get("kind", "auto") == "auto" and a["outcome"] in ("succeeded", "pending")]
    second = ""
    if done:
        words = ", ".join(dict.fromkeys(ACTION_WORDS[Action(a["action"])] for a in done))
        second = f"Done automatically: {words}. "
    risk = "safe" if rec.risk == Risk.SAFE else f"{rec.risk.value} risk"
    detail = sit.detail.summary
    if detail.status == IncidentStatus.RESOLVED and detail.resolved_at is not None:
        lasted = duration(detail.resolved_at - detail.started_at)
        second += f"Resolved after {lasted}; the recommendation was: {ACTION_WORDS[rec.action]} ({risk})."
    else:
        second += f"Recommended: {ACTION_WORDS[rec.action]} ({risk})."
    return f"{first} {second}"


def evidence_json(items: tuple[EvidenceItem, ...]) -> list[dict]:
    return [
        {"text": e.text, "service": e.service, "metric": e.metric, "ts": to_iso(e.ts), "value": e.value}
        for e in items
    ]


def compose(
    sit: Situation,
    finding: Finding,
    others: list[Finding],
    attempts: list[dict],
    runbook: list[str] | None = None,
) -> Draft:
    """The whole brief for one incident at ``sit.now``; ``runbook``: the company's own commands for
    the pattern, when it saved some (else the playbook's)."""
    verdicts = [a.get("verdict") or "" for a in attempts]
    level = confidence(sit, finding, others, verdicts)
    rec = recommend(sit, finding, level)
    risk, _ = risk_if_no_action(sit, finding)
    impact, hit = customer_impact(sit, finding)
    detail = sit.detail.summary
    end = detail.resolved_at or sit.now
    window = {
        "started_at": to_iso(detail.started_at),
        "detected_at": to_iso(detail.detected_at),
        "duration_s": max(0, int((end - detail.started_at).total_seconds())),
    }
    book = PLAYBOOKS[finding.pattern]
    runbook = [_fill(step, sit, finding) for step in (runbook or book.runbook)]
    return Draft(
        pattern=finding.pattern,
        summary=summary(sit, finding, rec, attempts),
        window=window,
        auto_actions=attempts,
        system_state=system_state(sit, finding),
        recommended=rec,
        risk_if_no_action=risk,
        confidence=level,
        customer_impact=impact,
        customer_message=customer_message(sit, finding, level, hit) if impact else None,
        evidence=evidence_json(finding.evidence),
        origin=finding.origin,
        origin_reason=origin_reason(sit, finding),
        metric=finding.metric,
        runbook=runbook,
        generated_at=sit.now,
        auto_planned=book.auto_actions if level != Confidence.LOW else (),
        stage="resolved" if detail.status == IncidentStatus.RESOLVED else "active",
        headline=f"{book.label} on {finding.origin}: {finding.lead}",
    )
