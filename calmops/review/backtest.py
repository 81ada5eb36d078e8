"""Threshold proposals backed by the stored history: what a changed rule would have done.

A candidate rule (a new threshold, clear threshold or for-duration) is replayed over the stored
snapshots with the detection engine's own state machine (`calmops.detect.machine.advance`: the
comparison, the for-duration, the hysteresis), once on the incident (when would it have fired?)
and once over the history before it (how often would it have fired, on this service and on every
service the rule watches?). A proposal is made only when it fires earlier on this incident without
more than a few extra alerts, and it always carries those numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import numpy as np

from calmops.detect.engine import read_samples
from calmops.detect.machine import RuleState, advance
from calmops.detect.rules import Rule
from calmops.store.db import Cursor
from calmops.timeio import to_iso
from calmops.vocabulary import format_value

HISTORY = timedelta(days=14)  # how far back the extra alerts are counted
THRESHOLD_STEPS = (0.9, 0.8, 0.7, 0.6)  # candidate thresholds, as a share of the current one
MIN_EARLIER = timedelta(minutes=1)  # a proposal must gain at least this much
MARGIN = 1.25  # a proposed threshold stays this far beyond the service's usual level (its p95)


@dataclass(frozen=True)
class Episode:
    """One time a rule fired on a series, and when it recovered (None: still firing)."""

    fired: datetime
    recovered: datetime | None


Series = dict[str, tuple[np.ndarray, np.ndarray]]  # service → (epoch µs, values)


def load_series(cur: Cursor, *, company: str, metric: str, since: datetime, until: datetime) -> Series:
    """Every canonical series of ``metric`` in (since, until], as detection reads them."""
    samples = read_samples(cur, company=company, metrics=[metric], after=since, until=until)
    return {service: columns for (service, _), columns in samples.items()}


def within(series: Series, *, since: datetime, until: datetime) -> Series:
    """The samples in (since, until], as `load_series` would have read them for that window."""
    lo, hi = int(since.timestamp() * 1_000_000), int(until.timestamp() * 1_000_000)
    out: Series = {}
    for service, (ts, values) in series.items():
        keep = (ts > lo) & (ts <= hi)
        if keep.any():
            out[service] = (ts[keep], values[keep])
    return out


def watches(rule: Rule, service: str) -> bool:
    """Whether ``rule`` judges ``service`` (enabled or not: a proposal may concern a disabled rule)."""
    return rule.service is None or rule.service == service


def episodes(rule: Rule, ts_us: np.ndarray, values: np.ndarray) -> list[Episode]:
    """Every firing of ``rule`` over one series, from a clean state (the engine's transitions)."""
    _, transitions = advance(rule, RuleState(), ts_us, values)
    found: list[Episode] = []
    for t in transitions:
        if t.kind == "fired":
            found.append(Episode(t.ts, None))
        elif found and found[-1].recovered is None:
            found[-1] = Episode(found[-1].fired, t.ts)
    return found


def covering(found: list[Episode], at: datetime) -> Episode | None:
    """The firing that was under way at ``at`` (fired at or before it, not recovered before it)."""
    for e in found:
        if e.fired <= at and (e.recovered is None or e.recovered >= at):
            return e
    return None


def nice(value: float) -> float:
    """Two significant figures: 1234 → 1200, 0.0163 → 0.016."""
    if value == 0 or not math.isfinite(value):
        return value
    digits = 1 - math.floor(math.log10(abs(value)))
    return round(value, digits)


def clear_for(rule: Rule, threshold: float) -> float | None:
    """The clear threshold moved with the threshold, keeping its distance in proportion and its side."""
    if rule.clear_threshold is None:
        return None
    if rule.threshold == 0:
        return rule.clear_threshold
    moved = nice(rule.clear_threshold * threshold / rule.threshold)
    if rule.comparison in (">", ">="):
        return min(moved, threshold)
    return max(moved, threshold)


def candidates(rule: Rule, usual: float | None = None) -> list[tuple[float, int]]:
    """(threshold, for_s) pairs that can only fire earlier than ``rule``: a milder threshold (not
    closer to ``usual``, the service's p95 before the incident, than ``MARGIN``) and/or a for-duration
    cut to no less than half (and a minute). Never the rule itself."""
    lower = rule.comparison in (">", ">=")
    thresholds = [rule.threshold]
    if rule.threshold != 0:
        for step in THRESHOLD_STEPS:
            t = nice(rule.threshold * (step if lower else 2 - step))
            if usual is not None and (t < usual * MARGIN if lower else t > usual / MARGIN):
                continue
            if t not in thresholds:
                thresholds.append(t)
    durations = {rule.for_s}
    for cut in (rule.for_s * 2 // 3, rule.for_s // 2):
        cut -= cut % 60
        if 60 <= cut < rule.for_s:
            durations.add(cut)
    return [
        (t, f)
        for t in thresholds
        for f in sorted(durations, reverse=True)
        if (t, f) != (rule.threshold, rule.for_s)
    ]


def usual_level(rule: Rule, ts_us: np.ndarray, values: np.ndarray, before: datetime) -> float | None:
    """The service's p95 (p5 for a "below" rule) of the metric before ``before``: its usual level."""
    cut = int(before.timestamp() * 1_000_000)
    mask = (ts_us < cut) & ~np.isnan(values)
    if not mask.any():
        return None
    return float(np.percentile(values[mask], 95 if rule.comparison in (">", ">=") else 5))


def _count(rule: Rule, series: Series) -> tuple[int, dict[str, list[Episode]]]:
    per = {svc: episodes(rule, ts, vals) for svc, (ts, vals) in series.items() if watches(rule, svc)}
    return sum(len(v) for v in per.values()), per


def _label(rule: Rule) -> str:
    return f"{rule.metric} {rule.severity.value}"


def _minutes(delta: timedelta) -> str:
    minutes = delta.total_seconds() / 60
    return f"{minutes:.0f} min" if minutes >= 1 else f"{delta.total_seconds():.0f} s"


def _duration(for_s: int) -> str:
    return f"{for_s // 60} m" if for_s >= 60 and for_s % 60 == 0 else f"{for_s} s"


def propose(
    cur: Cursor,
    *,
    company: str,
    rule: Rule,
    service: str,
    fired_at: datetime,
    started_at: datetime,
    until: datetime,
    incident_id: int,
    preloaded: Series | None = None,
) -> dict | None:
    """The best threshold proposal for ``rule`` on this incident, or a "keep" note with the numbers
    that argue against changing it; None when the history holds no samples of its metric.

    ``fired_at`` is when the rule fired on ``service`` during the incident (``started_at``: when the
    incident began; the usual level is read before it); the history counted is the 14 days (or what
    is stored) before ``until`` (the resolution). ``preloaded``: the metric's series over a window
    that covers those 14 days (a period report reads each metric once for all its incidents).
    """
    since = until - HISTORY
    if preloaded is not None:
        series = within(preloaded, since=since, until=until)
    else:
        series = load_series(cur, company=company, metric=rule.metric, since=since, until=until)
    if service not in series or not watches(rule, service):
        return None
    ts_all = np.concatenate([ts for ts, _ in series.values()])
    span = timedelta(microseconds=int(ts_all.max() - ts_all.min())) if len(ts_all) else timedelta(0)
    days = max(span.total_seconds() / 86400, 1 / 24)
    allowed_extra = max(1, int(days // 7))
    base_total, base_per = _count(rule, series)
    base_here = covering(base_per.get(service, []), fired_at)
    fired = base_here.fired if base_here else fired_at

    best: tuple | None = None
    nearest_rejected: tuple | None = None
    ts_here, values_here = series[service]
    usual = usual_level(rule, ts_here, values_here, started_at)
    for threshold, for_s in candidates(rule, usual):
        candidate = replace(
            rule, threshold=threshold, for_s=for_s, clear_threshold=clear_for(rule, threshold)
        )
        total, per = _count(candidate, series)
        hit = covering(per.get(service, []), fired)
        if hit is None or fired - hit.fired < MIN_EARLIER:
            continue
        earlier = fired - hit.fired
        extra = total - base_total
        item = (candidate, earlier, total, len(per.get(service, [])), hit.fired)
        if extra <= allowed_extra:
            key = (earlier, -extra, -abs(threshold - rule.threshold), for_s)
            if best is None or key > best[0]:
                best = (key, item)
        elif nearest_rejected is None or extra < nearest_rejected[0]:
            nearest_rejected = (extra, item)

    base_here_count = len(base_per.get(service, []))
    history = {
        "since": to_iso(max(since, _at(int(ts_all.min())))) if len(ts_all) else to_iso(since),
        "until": to_iso(until),
        "days": round(days, 1),
        "services_watched": sum(1 for s in series if watches(rule, s)),
        "fires_current": base_total,
        "fires_current_on_service": base_here_count,
        "allowed_extra": allowed_extra,
    }
    current = {
        "threshold": rule.threshold,
        "clear_threshold": rule.clear_threshold,
        "for_s": rule.for_s,
        "fired_at": to_iso(fired),
    }
    where = "on every service it watches" if rule.service is None else f"on {rule.service}"
    span_words = (
        f"the last {days:.0f} days" if days >= 1.5 else f"the last {days * 24:.0f} h of stored history"
    )
    if best is None:
        if nearest_rejected is None:
            return None
        candidate, earlier, total, here, _ = nearest_rejected[1]
        return {
            "id": f"keep-{rule.id}-v{rule.version}",
            "kind": "keep",
            "rule_id": rule.id,
            "rule_version": rule.version,
            "rule": _label(rule),
            "metric": rule.metric,
            "service": service,
            "comparison": rule.comparison,
            "current": current,
            "tested": {"threshold": candidate.threshold, "for_s": candidate.for_s},
            "usual": usual,
            "earlier_by_s": int(earlier.total_seconds()),
            "history": {
                **history,
                "fires_proposed": total,
                "fires_proposed_on_service": here,
                "extra": total - base_total,
            },
            "text": (
                f"Keep {_label(rule)} at {rule.comparison} {_fmt(rule, rule.threshold)} for "
                f"{_duration(rule.for_s)}: {_fmt(rule, candidate.threshold)} for "
                f"{_duration(candidate.for_s)} "
                f"would have fired {_minutes(earlier)} earlier on this incident but {total} times in "
                f"{span_words} {where} instead of {base_total} ({total - base_total} extra alerts)."
            ),
        }
    candidate, earlier, total, here, would_fire = best[1]
    extra = total - base_total
    changes = []
    if candidate.threshold != rule.threshold:
        changes.append(f"{_fmt(rule, rule.threshold)} → {_fmt(rule, candidate.threshold)}")
    if candidate.for_s != rule.for_s:
        changes.append(f"for {_duration(rule.for_s)} → {_duration(candidate.for_s)}")
    else:
        changes.append(f"for {_duration(rule.for_s)}")
    noise = "no extra alerts" if extra == 0 else f"{extra} extra alert{'s' if extra != 1 else ''}"
    return {
        "id": f"rule-{rule.id}-v{rule.version}-t{candidate.threshold:g}-f{candidate.for_s}",
        "kind": "threshold",
        "rule_id": rule.id,
        "rule_version": rule.version,
        "rule": _label(rule),
        "metric": rule.metric,
        "service": service,
        "comparison": rule.comparison,
        "current": current,
        "proposed": {
            "threshold": candidate.threshold,
            "clear_threshold": candidate.clear_threshold,
            "for_s": candidate.for_s,
            "would_fire_at": to_iso(would_fire),
        },
        "earlier_by_s": int(earlier.total_seconds()),
        "usual": usual,
        "history": {**history, "fires_proposed": total, "fires_proposed_on_service": here, "extra": extra},
        "incident_id": incident_id,
        "text": (
            f"{_label(rule)} {' '.join(changes)} would have fired {_minutes(earlier)} earlier on this "
            f"incident, and {here} time{'s' if here != 1 else ''} on {service} in {span_words} "
            f"({total} {where}, {noise} against today's {base_total})."
        ),
    }


def _fmt(rule: Rule, value: float) -> str:
    shown = format_value(rule.metric, value)
    raw = f"{value:g}"
    return raw if shown.replace(",", "").startswith(raw) else f"{raw} ({shown})"


def _at(us: int) -> datetime:
    return datetime.fromtimestamp(us / 1_000_000, UTC)


def what_if(cur: Cursor, *, company: str, rule: Rule, edited: Rule, until: datetime) -> dict:
    """How often ``rule`` fired over the stored history, and how often ``edited`` would have: what the
    Rules page shows before a change is saved."""
    since = until - HISTORY
    series = load_series(cur, company=company, metric=rule.metric, since=since, until=until)
    current, _ = _count(rule, series)
    proposed, per = _count(edited, series)
    return {
        "since": to_iso(since),
        "until": to_iso(until),
        "current": current,
        "proposed": proposed,
        "services": len(per),
        "text": (
            f"Over the last 14 days of stored history, {_label(rule)} fired {current} time(s); as edited it "
            f"would have fired {proposed} time(s), across the {len(per)} service(s) it watches."
        ),
    }


def would_fire(cur: Cursor, *, company: str, rule: Rule, until: datetime) -> dict:
    """How often a new ``rule`` would have fired over the stored history: shown before it is added."""
    since = until - HISTORY
    series = load_series(cur, company=company, metric=rule.metric, since=since, until=until)
    count, per = _count(rule, series)
    return {
        "since": to_iso(since),
        "until": to_iso(until),
        "proposed": count,
        "services": len(per),
        "text": (
            f"Over the last 14 days of stored history, this rule would have fired {count} time(s), "
            f"across the {len(per)} service(s) it watches."
        ),
    }
