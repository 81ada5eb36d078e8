"""Rules → incidents: judge new snapshots against every enabled rule and keep incidents in step.

One open incident per (company, service, rule family): a higher tier firing raises its severity,
recovery moves it to ``monitoring`` (only a person resolves), a breach while ``monitoring`` brings
the same incident back to ``open`` — and several such swings within ``FLAP_WINDOW`` flag it
``flapping`` instead of churning incidents. A service whose upstream dependency (transitively)
already has an active incident joins that incident as an affected service. A breach after the
incident was resolved opens a new one that links the earlier.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pyarrow as pa

from calmops import clock, companies, incidents
from calmops.detect.machine import RuleState, Transition, advance
from calmops.detect.rules import Rule, list_rules
from calmops.store.db import Cursor, first
from calmops.vocabulary import IncidentStatus, Severity, format_value, metric_info

FLAP_WINDOW = timedelta(minutes=30)
FLAP_SWINGS = 2  # recoveries within the window before a new breach marks the incident flapping
ACTOR = "system:detect"
Samples = dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]  # (service, metric) → (epoch µs, values)
_STATE_COLUMNS = (
    "company, rule_id, service, state, since, breach_started_at, clear_streak, last_value, evaluated_through"
)


@dataclass
class Evaluation:
    """What one evaluation did, for the caller's logs and tests."""

    samples: int = 0
    transitions: int = 0
    opened: list[int] = field(default_factory=list)
    updated: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class _Change:
    rule: Rule
    service: str
    transition: Transition


def load_states(cur: Cursor, company: str) -> dict[tuple[int, str], RuleState]:
    rows = cur.execute(
        f"SELECT {_STATE_COLUMNS} FROM rule_state WHERE company = ?",
        [company],
    ).fetchall()
    return {(r[1], r[2]): RuleState(r[3], r[4], r[5], r[6], r[7], r[8]) for r in rows}


def _save_states(cur: Cursor, company: str, states: dict[tuple[int, str], RuleState]) -> None:
    if not states:
        return
    keys = list(states)
    table = pa.table(
        {
            "company": [company] * len(keys),
            "rule_id": pa.array([k[0] for k in keys], pa.int64()),
            "service": [k[1] for k in keys],
            "state": [states[k].state for k in keys],
            "since": pa.array([states[k].since for k in keys], pa.timestamp("us", tz="UTC")),
            "breach_started_at": pa.array(
                [states[k].breach_started_at for k in keys], pa.timestamp("us", tz="UTC")
            ),
            "clear_streak": pa.array([states[k].clear_streak for k in keys], pa.int32()),
            "last_value": pa.array([states[k].last_value for k in keys], pa.float64()),
            "evaluated_through": pa.array(
                [states[k].evaluated_through for k in keys], pa.timestamp("us", tz="UTC")
            ),
        }
    )
    cur.register("_states", table)
    try:
        cur.execute(
            f"""INSERT INTO rule_state SELECT {_STATE_COLUMNS} FROM _states
                ON CONFLICT DO UPDATE SET state = excluded.state, since = excluded.since,
                    breach_started_at = excluded.breach_started_at, clear_streak = excluded.clear_streak,
                    last_value = excluded.last_value, evaluated_through = excluded.evaluated_through"""
        )
    finally:
        cur.unregister("_states")


def _history_end(cur: Cursor) -> datetime | None:
    row = first(cur, "SELECT value FROM store_state WHERE key = 'snapshots_max_ts'")
    return datetime.fromisoformat(row[0]) if row else None


def read_samples(
    cur: Cursor, *, company: str, metrics: list[str], after: datetime, until: datetime
) -> Samples:
    """New canonical samples per (service, metric), ascending in time.

    Fresh samples live in the small tail table; only when the evaluation reaches back past the
    clustered history's end (a first run, a replay, a back-dated push) is history read, filtered by
    series so zone maps keep the scan small.
    """
    history_end = _history_end(cur)
    source = "snapshots_tail" if history_end is not None and after >= history_end else "health_snapshots"
    marks = ", ".join("?" for _ in metrics)
    columns = cur.execute(
        f"""SELECT service, metric, epoch_us(ts) AS ts, value FROM {source}
            WHERE company = ? AND labels = '' AND metric IN ({marks}) AND ts > ? AND ts <= ?""",
        [company, *metrics, after, until],
    ).fetchnumpy()
    if not len(columns["ts"]):
        return {}
    service, metric = columns["service"], columns["metric"]
    ts, value = columns["ts"], np.asarray(columns["value"], dtype="float64")
    svc_codes, svc_names = _codes(service)
    met_codes, met_names = _codes(metric)
    order = np.lexsort((ts, met_codes, svc_codes))
    svc_codes, met_codes, ts, value = svc_codes[order], met_codes[order], ts[order], value[order]
    key = svc_codes.astype(np.int64) * len(met_names) + met_codes
    cuts = np.flatnonzero(np.diff(key)) + 1
    out = {}
    for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(key)], strict=True):
        out[(svc_names[svc_codes[a]], met_names[met_codes[a]])] = (ts[a:b], value[a:b])
    return out


def _codes(values: np.ndarray) -> tuple[np.ndarray, list[str]]:
    names = sorted(set(values.tolist()))
    index = {name: i for i, name in enumerate(names)}
    return np.fromiter((index[v] for v in values), dtype=np.int32, count=len(values)), names


def evaluate(
    cur: Cursor, *, company: str, now: datetime | None = None, lookback: timedelta | None = None
) -> Evaluation:
    """Judge the samples that arrived since the last evaluation; open and update incidents.

    Runs in the caller's transaction. ``lookback`` bounds how far back a series never judged
    before is read (default: a little more than the longest for-duration); a replay passes the
    whole history.
    """
    now = now or clock.now()
    rules = list_rules(cur, company=company, enabled_only=True)
    result = Evaluation()
    if not rules:
        return result
    states = load_states(cur, company)
    first_look = lookback or timedelta(seconds=max(r.for_s for r in rules) * 2 + 600)
    default_after = now - first_look
    # From the oldest point any known series was judged to; a series never judged starts at the
    # lookback (reading further back for it alone would scan history on every round).
    after = min((s.evaluated_through for s in states.values() if s.evaluated_through), default=default_after)
    samples = read_samples(
        cur, company=company, metrics=sorted({r.metric for r in rules}), after=after, until=now
    )
    return judge(
        cur, company=company, rules=rules, states=states, samples=samples, default_after=default_after
    )


def judge(
    cur: Cursor,
    *,
    company: str,
    rules: list[Rule],
    states: dict[tuple[int, str], RuleState],
    samples: Samples,
    default_after: datetime,
) -> Evaluation:
    """Advance every (rule, series) over its samples newer than where it stood, save the states
    and apply the transitions to incidents. ``states`` is updated in place."""
    result = Evaluation()
    changes: list[_Change] = []
    touched: dict[tuple[int, str], RuleState] = {}
    by_metric: dict[str, list[Rule]] = defaultdict(list)
    for rule in rules:
        by_metric[rule.metric].append(rule)
    for (service, metric), (ts, values) in samples.items():
        result.samples += len(ts)
        for rule in by_metric.get(metric, ()):
            if not rule.applies_to(service):
                continue
            state = states.get((rule.id, service), RuleState())
            start = state.evaluated_through or default_after
            first_new = int(np.searchsorted(ts, int(start.timestamp() * 1_000_000), side="right"))
            if first_new >= len(ts):
                continue
            new_state, found = advance(rule, state, ts[first_new:], values[first_new:])
            touched[(rule.id, service)] = states[(rule.id, service)] = new_state
            changes += [_Change(rule, service, t) for t in found]
    _save_states(cur, company, touched)
    result.transitions = len(changes)
    if changes:
        _apply(cur, company=company, changes=changes, states=states, rules=rules, result=result)
    return result


def _family_firing(
    states: dict[tuple[int, str], RuleState], rules: list[Rule], service: str, family: str
) -> list[Rule]:
    return [
        r for r in rules if r.family == family and states.get((r.id, service), RuleState()).state == "firing"
    ]


def _apply(
    cur: Cursor,
    *,
    company: str,
    changes: list[_Change],
    states: dict[tuple[int, str], RuleState],
    rules: list[Rule],
    result: Evaluation,
) -> None:
    """Turn transitions into incident changes, oldest first, so an upstream incident opened by an
    earlier breach is there when a dependant breaches after it."""
    graph = {s.service: s.depends_on for s in companies.list_services(cur, company=company)}
    firing: dict[tuple[str, str], set[int]] = defaultdict(set)
    for (rule_id, service), state in states.items():
        rule = next((r for r in rules if r.id == rule_id), None)
        if rule is not None and state.state == "firing":
            firing[(service, rule.family)].add(rule_id)
    # Back to where each changed rule stood before these samples (its first change tells), then
    # replay the changes in time order, so each moment sees which rules of a family fire.
    seen: set[tuple[int, str]] = set()
    for change in sorted(changes, key=lambda c: c.transition.ts):
        if (change.rule.id, change.service) in seen:
            continue
        seen.add((change.rule.id, change.service))
        before = firing[(change.service, change.rule.family)]
        if change.transition.kind == "recovered":
            before.add(change.rule.id)
        else:
            before.discard(change.rule.id)
    for change in sorted(changes, key=lambda c: (c.transition.ts, c.rule.severity.rank)):
        key = (change.service, change.rule.family)
        if change.transition.kind == "fired":
            firing[key].add(change.rule.id)
            _on_fired(cur, company=company, change=change, graph=graph, result=result)
        else:
            firing[key].discard(change.rule.id)
            if not firing[key]:
                _on_recovered(cur, company=company, change=change, result=result)


def _active(cur: Cursor, company: str, service: str, family: str) -> tuple | None:
    """The active incident of (service, family), own or joined as an affected service."""
    own = cur.execute(
        """SELECT id, status, severity, flags FROM incidents
           WHERE company = ? AND service = ? AND rule_family = ? AND status <> 'resolved'
           ORDER BY detected_at DESC LIMIT 1""",
        [company, service, family],
    ).fetchall()
    if own:
        return (*own[0], False)
    joined = cur.execute(
        """SELECT i.id, i.status, i.severity, i.flags FROM incident_services s
           JOIN incidents i ON i.id = s.incident_id
           WHERE s.company = ? AND s.service = ? AND s.rule_family = ? AND i.status <> 'resolved'
           ORDER BY i.detected_at DESC LIMIT 1""",
        [company, service, family],
    ).fetchall()
    return (*joined[0], True) if joined else None


def _upstream(graph: dict[str, tuple[str, ...]], service: str) -> list[str]:
    """Every service ``service`` depends on, nearest first."""
    seen: list[str] = []
    frontier = list(graph.get(service, ()))
    while frontier:
        nxt = []
        for upstream in frontier:
            if upstream not in seen and upstream != service:
                seen.append(upstream)
                nxt += graph.get(upstream, ())
        frontier = nxt
    return seen


def _upstream_incident(
    cur: Cursor, company: str, graph: dict[str, tuple[str, ...]], service: str, at: datetime
) -> tuple[int, str] | None:
    """An incident of an upstream service that is still breaching (not recovered to ``monitoring``)
    and began no later than ``at``: the probable cause of the dependant's breach."""
    upstream = _upstream(graph, service)
    if not upstream:
        return None
    marks = ", ".join("?" for _ in upstream)
    rows = cur.execute(
        f"""SELECT id, service FROM incidents
            WHERE company = ? AND service IN ({marks}) AND status IN ('open', 'acknowledged', 'mitigating')
              AND started_at <= ?""",
        [company, *upstream, at],
    ).fetchall()
    if not rows:
        return None
    rank = {name: i for i, name in enumerate(upstream)}
    return min(rows, key=lambda r: (rank[r[1]], r[0]))


def describe(rule: Rule, value: float) -> str:
    """``Queue depth 12,400 jobs > 10,000 jobs for 2m``: what breached, in an operator's words."""
    info = metric_info(rule.metric)
    held = f" for {rule.for_s // 60} min" if rule.for_s >= 60 else ""
    if rule.metric == "up":
        return f"health check failing (up = {value:g}){held}"
    return (
        f"{info.label} {format_value(rule.metric, value)} {rule.comparison} "
        f"{format_value(rule.metric, rule.threshold)}{held}"
    )


def title_for(rule: Rule, service: str) -> str:
    info = metric_info(rule.metric)
    if rule.metric == "up":
        return f"{service} is not answering its health check"
    side = "above" if rule.comparison in (">", ">=") else "below"
    return f"{info.label} {side} {format_value(rule.metric, rule.threshold)} on {service}"


def _on_fired(
    cur: Cursor, *, company: str, change: _Change, graph: dict[str, tuple[str, ...]], result: Evaluation
) -> None:
    rule, service, t = change.rule, change.service, change.transition
    data = {"rule_id": rule.id, "metric": rule.metric, "value": t.value, "threshold": rule.threshold}
    active = _active(cur, company, service, rule.family)
    if active is None:
        upstream = _upstream_incident(cur, company, graph, service, t.ts)
        if upstream is not None:
            incident_id, origin = upstream
            cur.execute(
                "INSERT INTO incident_services VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [company, incident_id, service, t.ts, rule.family],
            )
            incidents.add_event(
                cur, company=company, incident_id=incident_id, ts=t.ts, kind="updated", actor=ACTOR,
                message=f"{service} degraded too ({describe(rule, t.value)}); it depends on {origin}, "
                f"so it joins this incident as an affected service",
                data={**data, "service": service},
            )  # fmt: skip
            result.updated.add(incident_id)
            return
        previous = first(
            cur,
            """SELECT id FROM incidents WHERE company = ? AND service = ? AND rule_family = ?
               AND status = 'resolved' ORDER BY resolved_at DESC LIMIT 1""",
            [company, service, rule.family],
        )
        incident_id = incidents.open_incident(
            cur,
            company=company,
            title=title_for(rule, service),
            service=service,
            severity=rule.severity,
            started_at=t.breach_started_at,
            detected_at=t.ts,
            source="rule",
            rule_family=rule.family,
            message=f"Detected: {describe(rule, t.value)} (rule {rule.describe()})",
            previous_incident_id=previous[0] if previous else None,
            actor=ACTOR,
            data=data,
        )
        result.opened.append(incident_id)
        return
    incident_id, status, severity, flags, joined = active
    result.updated.add(incident_id)
    if joined:
        incidents.add_event(
            cur, company=company, incident_id=incident_id, ts=t.ts, kind="updated", actor=ACTOR,
            message=f"{service}: {describe(rule, t.value)}", data={**data, "service": service},
        )  # fmt: skip
        return
    new_severity = rule.severity if rule.severity.rank > Severity(severity).rank else None
    new_status = None
    flags_added: tuple[str, ...] = ()
    if status == IncidentStatus.MONITORING.value:
        new_status = IncidentStatus.OPEN
        swings = cur.execute(
            "SELECT count(*) FROM incident_events WHERE incident_id = ? AND kind = 'recovered' AND ts >= ?",
            [incident_id, t.ts - FLAP_WINDOW],
        ).fetchall()[0][0]
        if swings >= FLAP_SWINGS and "flapping" not in (flags or []):
            flags_added = ("flapping",)
            incidents.add_event(
                cur, company=company, incident_id=incident_id, ts=t.ts, kind="flapping", actor=ACTOR,
                message=f"Flapping: {swings} recoveries and new breaches within "
                f"{int(FLAP_WINDOW.total_seconds() // 60)} min; kept as one incident",
            )  # fmt: skip
        incidents.add_event(
            cur, company=company, incident_id=incident_id, ts=t.ts, kind="updated", actor=ACTOR,
            message=f"Breached again while monitoring: {describe(rule, t.value)}", data=data,
        )  # fmt: skip
    if new_severity is not None:
        incidents.add_event(
            cur, company=company, incident_id=incident_id, ts=t.ts, kind="severity_changed", actor=ACTOR,
            message=f"Severity {severity} → {new_severity.value}: {describe(rule, t.value)}", data=data,
        )  # fmt: skip
    if new_status or new_severity or flags_added:
        incidents.update_incident(
            cur, company=company, incident_id=incident_id, ts=t.ts, actor=ACTOR, status=new_status,
            severity=new_severity, add_flags=flags_added,
        )  # fmt: skip


def _on_recovered(cur: Cursor, *, company: str, change: _Change, result: Evaluation) -> None:
    rule, service, t = change.rule, change.service, change.transition
    active = _active(cur, company, service, rule.family)
    if active is None:
        return
    incident_id, status, _, _, joined = active
    result.updated.add(incident_id)
    message = f"{service} recovered: {metric_info(rule.metric).label} {format_value(rule.metric, t.value)}"
    incidents.add_event(
        cur, company=company, incident_id=incident_id, ts=t.ts, kind="recovered", actor=ACTOR,
        message=message if joined else f"Recovered: {metric_info(rule.metric).label} back to "
        f"{format_value(rule.metric, t.value)}; waiting for a person to resolve",
        data={"rule_id": rule.id, "metric": rule.metric, "value": t.value, "service": service},
    )  # fmt: skip
    if not joined and status != IncidentStatus.MONITORING.value:
        incidents.update_incident(
            cur,
            company=company,
            incident_id=incident_id,
            ts=t.ts,
            actor=ACTOR,
            status=IncidentStatus.MONITORING,
        )
