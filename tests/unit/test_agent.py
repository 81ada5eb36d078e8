"""The agent's reasoning without a store: statistics, projection, pattern rules, brief wording."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from calmops import companies
from calmops.agent.brief import UNSAID, compose, customer_message
from calmops.agent.evidence import BASELINE_END, LOOKBACK, RECENT, Situation, series_stats, theil_sen
from calmops.agent.patterns import classify
from calmops.agent.projection import project
from calmops.detect.rules import DEFAULT_RULES, Rule
from calmops.incidents import IncidentDetail, IncidentSummary
from calmops.vocabulary import (
    Action,
    Confidence,
    IncidentStatus,
    Pattern,
    ServiceKind,
    Severity,
)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
STEP = 60
RULES = [
    Rule(i, "acme", m, f"{m} {sev.value}", m, None, cmp, thr, clr, for_s, 2, sev)
    for i, (m, cmp, thr, clr, for_s, sev) in enumerate(DEFAULT_RULES)
]
TOPOLOGY = {
    "web": (ServiceKind.WEB, True, ("api",)),
    "api": (ServiceKind.API, True, ("postgres", "carrier-gateway")),
    "dispatch-worker": (ServiceKind.WORKER, False, ("postgres", "carrier-gateway")),
    "postgres": (ServiceKind.DATABASE, False, ()),
    "carrier-gateway": (ServiceKind.EXTERNAL, False, ()),
}
HEALTHY = {
    "up": 1.0, "error_rate": 0.002, "latency_p95_ms": 150.0, "cpu_pct": 35.0, "memory_pct": 50.0,
    "queue_depth": 10.0, "db_connections_pct": 30.0, "disk_pct": 40.0, "request_rate": 80.0,
}  # fmt: skip
METRICS = {
    "web": ("up", "error_rate", "latency_p95_ms", "cpu_pct", "memory_pct", "request_rate"),
    "api": ("up", "error_rate", "latency_p95_ms", "cpu_pct", "memory_pct", "request_rate"),
    "dispatch-worker": ("up", "error_rate", "latency_p95_ms", "queue_depth", "memory_pct", "request_rate"),
    "postgres": ("up", "db_connections_pct", "latency_p95_ms", "cpu_pct", "memory_pct", "disk_pct"),
    "carrier-gateway": ("up", "error_rate", "latency_p95_ms"),
}


def _times(now: datetime) -> np.ndarray:
    start = now - LOOKBACK - timedelta(hours=1)
    n = int((now - start).total_seconds() // STEP) + 1
    return np.array([int((start + timedelta(seconds=i * STEP)).timestamp() * 1e6) for i in range(n)])


def situation(
    service: str,
    *,
    started: datetime,
    change=None,
    events: list | None = None,
    affected: tuple[str, ...] = (),
    family: str | None = None,
    severity: Severity = Severity.WARNING,
    status: IncidentStatus = IncidentStatus.OPEN,
    now: datetime = NOW,
    seed: int = 1,
) -> Situation:
    """Healthy noisy series for the topology, bent by ``change(service, metric, minutes_since_start,
    values)``, read as the agent would at ``now`` for an incident on ``service``."""
    rng = np.random.default_rng(seed)
    ts = _times(now)
    minutes = (ts / 1e6 - started.timestamp()) / 60
    stats = {}
    for svc, metrics in METRICS.items():
        for metric in metrics:
            base = HEALTHY[metric]
            noise = 0.0 if metric == "up" else base * 0.03
            values = base + rng.normal(0, noise, len(ts))
            if change is not None:
                values = change(svc, metric, minutes, values)
            if metric == "error_rate":
                values = np.clip(values, 0, 1)
            stats[(svc, metric)] = series_stats(
                svc, metric, ts, values,
                int((started - BASELINE_END).timestamp() * 1e6), int((now - RECENT).timestamp() * 1e6),
            )  # fmt: skip
    summary = IncidentSummary(
        1, "acme", f"trouble on {service}", service, severity, status, (), started,
        started + timedelta(minutes=5), None, None, None, now, 1,
    )  # fmt: skip
    detail = IncidentDetail(summary, "", "rule", family, None, None, None, affected, ())
    services = {
        name: companies.Service("acme", name, kind, facing, "", depends)
        for name, (kind, facing, depends) in TOPOLOGY.items()
    }
    dependants: dict[str, set[str]] = {}
    for spec in services.values():
        for up in spec.depends_on:
            dependants.setdefault(up, set()).add(spec.service)
    return Situation("acme", detail, now, services, stats, events or [], RULES, dependants)


def ramp(after: float, per_minute: float):
    """Linear growth from ``after`` minutes (relative to the incident's start)."""
    return lambda m: np.clip(m - after, 0, None) * per_minute


STARTED = NOW - timedelta(minutes=30)


def test_theil_sen_ignores_spikes_and_tau_reads_direction() -> None:
    t = np.arange(60, dtype=float) * 60
    v = 2.0 * t / 60 + 5
    v[[10, 30, 50]] = 10_000  # three wild spikes
    slope, tau = theil_sen(t, v)
    assert slope * 60 == pytest.approx(2.0, rel=0.05) and tau > 0.8
    assert theil_sen(t, -v)[1] < -0.8


def test_a_steady_climb_is_projected_to_the_next_threshold() -> None:
    def change(svc, metric, m, v):
        if (svc, metric) == ("dispatch-worker", "queue_depth"):
            return v + ramp(-60, 50.0)(m)  # 50 jobs a minute since an hour before the breach
        return v

    sit = situation("dispatch-worker", started=STARTED, change=change)
    queue = sit.get("dispatch-worker", "queue_depth")
    projection = project(sit, queue)
    assert projection is not None and projection.threshold == 10_000
    expected = (10_000 - queue.current.value) / (50 / 60)
    assert projection.eta_s == pytest.approx(expected, rel=0.1)
    assert "reaches 10,000 jobs in ~" in projection.text()


@pytest.mark.parametrize("shape", ["flat", "improving", "noisy"])
def test_no_projection_without_a_steady_worsening_trend(shape: str) -> None:
    rng = np.random.default_rng(3)

    def change(svc, metric, m, v):
        if (svc, metric) != ("dispatch-worker", "queue_depth"):
            return v
        if shape == "flat":
            return v + 3000
        if shape == "improving":
            return v + 6000 - ramp(-60, 40.0)(m)
        return v + 3000 + rng.normal(0, 1500, len(v))

    sit = situation("dispatch-worker", started=STARTED, change=change)
    assert project(sit, sit.get("dispatch-worker", "queue_depth")) is None


def _bend(service: str, metric: str, amount):
    def change(svc, met, m, v):
        return v + amount(m) if (svc, met) == (service, metric) else v

    return change


def _both(*changes):
    def change(svc, met, m, v):
        for c in changes:
            v = c(svc, met, m, v)
        return v

    return change


CASES = {
    Pattern.QUEUE_BACKLOG: (
        "dispatch-worker", "queue_depth", _bend("dispatch-worker", "queue_depth", ramp(-10, 120.0)), [],
    ),
    Pattern.DB_SATURATION: (
        "postgres", "db_connections_pct",
        _both(_bend("postgres", "db_connections_pct", lambda m: np.where(m > -5, 62.0, 0.0)),
              _bend("api", "latency_p95_ms", lambda m: np.where(m > -3, 900.0, 0.0))),
        [],
    ),
    Pattern.ERROR_SPIKE_AFTER_DEPLOY: (
        "api", "error_rate", _bend("api", "error_rate", lambda m: np.where(m > -2, 0.15, 0.0)),
        [(STARTED - timedelta(minutes=12), "api", "deploy", "rolling deploy", "v2.3.1")],
    ),
    Pattern.MEMORY_LEAK: ("api", "memory_pct", _bend("api", "memory_pct", ramp(-300, 0.13)), []),
    Pattern.DEPENDENCY_OUTAGE: (
        "carrier-gateway", "error_rate",
        _both(_bend("carrier-gateway", "error_rate", lambda m: np.where(m > -1, 0.6, 0.0)),
              _bend("dispatch-worker", "error_rate", lambda m: np.where(m > 1, 0.08, 0.0))),
        [],
    ),
    Pattern.DISK_FILLING: ("postgres", "disk_pct", _bend("postgres", "disk_pct", ramp(-240, 0.2)), []),
    Pattern.SERVICE_DOWN: ("api", "up", _bend("api", "up", lambda m: np.where(m > -1, -1.0, 0.0)), []),
    Pattern.LATENCY_REGRESSION: (
        "web", "latency_p95_ms", _bend("web", "latency_p95_ms", lambda m: np.where(m > -3, 900.0, 0.0)), [],
    ),
}  # fmt: skip
EXPECTED = {
    Pattern.QUEUE_BACKLOG: (Action.PAUSE_BATCH_JOBS, "low"),
    Pattern.DB_SATURATION: (Action.ENABLE_READ_REPLICA_ROUTING, "low"),
    Pattern.ERROR_SPIKE_AFTER_DEPLOY: (Action.ROLLBACK_DEPLOY, "medium"),
    Pattern.MEMORY_LEAK: (Action.RESTART_SERVICE, "low"),
    Pattern.DEPENDENCY_OUTAGE: (Action.WAIT_AND_WATCH, "safe"),
    Pattern.DISK_FILLING: (Action.EXPAND_VOLUME, "medium"),
    Pattern.SERVICE_DOWN: (Action.RESTART_SERVICE, "low"),
    Pattern.LATENCY_REGRESSION: (Action.WAIT_AND_WATCH, "safe"),
}


@pytest.mark.parametrize("pattern", list(CASES))
def test_each_pattern_is_named_with_its_recommendation_and_evidence(pattern: Pattern) -> None:
    service, family, change, events = CASES[pattern]
    sit = situation(service, started=STARTED, change=change, events=events, family=family)
    finding, _ = classify(sit)
    assert finding.pattern == pattern, [e.text for e in finding.evidence]
    draft = compose(sit, finding, [], [])
    action, risk = EXPECTED[pattern]
    assert draft.recommended.action == action and draft.recommended.risk.value == risk
    assert draft.confidence in (Confidence.HIGH, Confidence.MEDIUM)
    assert draft.evidence and all(e["ts"] and e["text"] for e in draft.evidence)
    assert draft.summary.count(". ") <= 3 and len(draft.summary) < 400


def test_dependants_name_the_upstream_origin_and_why() -> None:
    change = _both(
        _bend("postgres", "db_connections_pct", lambda m: np.where(m > -20, 62.0, 0.0)),
        _bend("api", "latency_p95_ms", lambda m: np.where(m > -3, 900.0, 0.0)),
    )
    sit = situation("api", started=STARTED, change=change, family="latency_p95_ms")
    finding, _ = classify(sit)
    assert finding.pattern == Pattern.DB_SATURATION and finding.origin == "postgres"
    draft = compose(sit, finding, [], [])
    assert draft.origin_reason and "api depends on postgres" in draft.origin_reason
    assert "api is affected through it" in draft.summary


def test_nothing_recognisable_is_unknown_with_low_confidence() -> None:
    change = _bend("api", "cpu_pct", lambda m: np.where(m > -3, 58.0, 0.0))  # cpu alone, nothing else
    sit = situation("api", started=STARTED, change=change, family="cpu_pct")
    finding, _ = classify(sit)
    assert finding.pattern == Pattern.UNKNOWN
    draft = compose(sit, finding, [], [])
    assert draft.confidence == Confidence.LOW and draft.recommended.action == Action.WAIT_AND_WATCH
    critical = situation("api", started=STARTED, change=change, family="cpu_pct", severity=Severity.CRITICAL)
    assert compose(critical, classify(critical)[0], [], []).recommended.action == Action.ESCALATE_TO_LEAD


def test_an_action_that_did_not_help_lowers_confidence() -> None:
    service, family, change, _ = CASES[Pattern.QUEUE_BACKLOG]
    sit = situation(service, started=STARTED, change=change, family=family)
    finding, others = classify(sit)
    before = compose(sit, finding, others, []).confidence
    tried = [{"action": "scale_workers", "outcome": "succeeded", "verdict": "no_effect"}]
    after = compose(sit, finding, others, tried).confidence
    assert before == Confidence.HIGH and after == Confidence.MEDIUM


@pytest.mark.parametrize("status", [IncidentStatus.OPEN, IncidentStatus.MONITORING, IncidentStatus.RESOLVED])
def test_customer_drafts_say_what_customers_see_without_causes_or_blame(status: IncidentStatus) -> None:
    service, family, change, events = CASES[Pattern.ERROR_SPIKE_AFTER_DEPLOY]
    sit = situation(service, started=STARTED, change=change, events=events, family=family, status=status)
    finding, _ = classify(sit)
    message = customer_message(sit, finding, Confidence.HIGH, ["api"])
    text = message["text"].lower()
    assert message["status"] == "draft"
    assert (
        message["state"] == {"open": "identified", "monitoring": "monitoring", "resolved": "resolved"}[status]
    )
    assert not [w for w in UNSAID if w in text], text
    assert "deploy" not in text and "v2.3.1" not in text  # no guessing at causes in public
    if status != IncidentStatus.RESOLVED:
        assert "update by" in text


def test_customer_impact_needs_a_customer_facing_service_degraded_for_minutes() -> None:
    service, family, change, events = CASES[Pattern.ERROR_SPIKE_AFTER_DEPLOY]
    sit = situation(service, started=STARTED, change=change, events=events, family=family)
    draft = compose(sit, classify(sit)[0], [], [])
    assert draft.customer_impact and draft.customer_message is not None  # api errors, customer-facing
    service, family, change, events = CASES[Pattern.DISK_FILLING]
    sit = situation(service, started=STARTED, change=change, family=family)
    draft = compose(sit, classify(sit)[0], [], [])
    assert (
        not draft.customer_impact and draft.customer_message is None
    )  # a database's disk, no one sees it yet


def test_past_every_threshold_the_risk_gives_the_growth_rate_instead_of_an_eta() -> None:
    change = _bend("dispatch-worker", "queue_depth", lambda m: 12_000 + ramp(-60, 100.0)(m))
    sit = situation("dispatch-worker", started=STARTED, change=change, family="queue_depth")
    risk = compose(sit, classify(sit)[0], [], []).risk_if_no_action
    assert risk["projection"] is None
    assert risk["text"].startswith("Queue depth on dispatch-worker grows by ~100 jobs a minute")


def test_evidence_quotes_the_sample_it_names() -> None:
    """A spike that has come down is quoted at its worst, and the item points at that sample."""
    change = _bend("api", "error_rate", lambda m: np.where((m > -2) & (m < 20), 0.2, 0.0))
    deploy = [(STARTED - timedelta(minutes=10), "api", "deploy", "", "v9")]
    sit = situation("api", started=STARTED, change=change, events=deploy, family="error_rate")
    finding, _ = classify(sit)
    assert finding.pattern == Pattern.ERROR_SPIKE_AFTER_DEPLOY
    quoted = [e for e in finding.evidence if e.metric == "error_rate" and "usually" in e.text]
    assert quoted and all(f"{e.value * 100:.1f}%" in e.text for e in quoted)
    assert "back in their usual range" in compose(sit, finding, [], []).risk_if_no_action["text"]
