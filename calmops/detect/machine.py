"""The threshold state machine for one rule on one series, free of any storage.

States: ``ok`` → ``pending`` (the value breaches the threshold) → ``firing`` (the breach has held
for the rule's ``for_s``) → ``ok`` again only after ``recovery_count`` consecutive samples are back
beyond the clear threshold (hysteresis), so a value hovering at the threshold does not flap.
The same code judges a live round (a few new samples) and a replay of weeks of history: it walks
from one transition to the next with numpy searches rather than sample by sample.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

import numpy as np

from calmops.detect.rules import Rule

_OPS = {">": np.greater, ">=": np.greater_equal, "<": np.less, "<=": np.less_equal}
_SMALL = 16  # a live round brings one sample per series: numpy's call overhead would dominate


@dataclass(frozen=True)
class RuleState:
    """Where one rule stands on one series after the samples judged so far."""

    state: str = "ok"  # ok | pending | firing
    since: datetime | None = None  # pending: breach start; firing: when it fired
    breach_started_at: datetime | None = None  # firing: when the breach that fired began
    clear_streak: int = 0
    last_value: float | None = None
    evaluated_through: datetime | None = None


@dataclass(frozen=True)
class Transition:
    """A rule started firing (``fired``) or recovered (``recovered``) at ``ts``."""

    kind: str
    ts: datetime
    value: float
    breach_started_at: datetime


def _at(us: int) -> datetime:
    return datetime.fromtimestamp(us / 1_000_000, UTC)


def _us(ts: datetime) -> int:
    return int(ts.timestamp() * 1_000_000)


def _first_run(mask: np.ndarray, start: int, length: int) -> int:
    """Index ending the first run of ``length`` consecutive Trues at or after ``start`` (or -1)."""
    if length <= 1:
        hits = np.flatnonzero(mask[start:])
        return int(hits[0]) + start if len(hits) else -1
    window = np.convolve(mask[start:].astype(np.int32), np.ones(length, dtype=np.int32), mode="valid")
    hits = np.flatnonzero(window == length)
    return int(hits[0]) + start + length - 1 if len(hits) else -1


def advance(
    rule: Rule, state: RuleState, ts_us: np.ndarray, values: np.ndarray
) -> tuple[RuleState, list[Transition]]:
    """Judge new samples (ascending epoch-µs times, newer than ``state.evaluated_through``)."""
    if len(ts_us) == 0:
        return state, []
    if len(ts_us) <= _SMALL:
        return _advance_few(rule, state, ts_us, values)
    through = _at(int(ts_us[-1]))
    values = np.asarray(values, dtype="float64")
    valid = ~np.isnan(values)  # a missing value is skipped: it neither breaches nor clears
    ts_us, values = ts_us[valid], values[valid]
    compare = _OPS[rule.comparison]
    breach = compare(values, rule.threshold)
    clear_limit = rule.threshold if rule.clear_threshold is None else rule.clear_threshold
    cleared = ~compare(values, clear_limit)
    for_us = int(rule.for_s) * 1_000_000
    need = max(1, int(rule.recovery_count))

    transitions: list[Transition] = []
    kind = state.state
    since_us = _us(state.since) if state.since else None
    breach_us = _us(state.breach_started_at) if state.breach_started_at else None
    streak = state.clear_streak
    i, n = 0, len(ts_us)
    while i < n:
        if kind == "ok":
            hits = np.flatnonzero(breach[i:])
            if not len(hits):
                break
            i += int(hits[0])
            kind, since_us = "pending", int(ts_us[i])
        elif kind == "pending":
            ends = np.flatnonzero(~breach[i:])  # the breach holds until the first non-breach
            end = i + int(ends[0]) if len(ends) else n
            due = np.flatnonzero(ts_us[i:end] - since_us >= for_us)
            if len(due):
                i += int(due[0])
                breach_us, since_us, kind, streak = since_us, int(ts_us[i]), "firing", 0
                transitions.append(Transition("fired", _at(since_us), float(values[i]), _at(breach_us)))
                i += 1
            elif end < n:
                kind, since_us, i = "ok", None, end
            else:
                break
        else:  # firing: recovered once `need` consecutive samples are cleared (the streak carries over)
            carried = np.concatenate([np.ones(streak, dtype=bool), cleared[i:]])
            end = _first_run(carried, 0, need)
            if end < 0:
                misses = np.flatnonzero(~carried)
                streak = len(carried) - (int(misses[-1]) + 1 if len(misses) else 0)
                break
            j = i + end - streak
            transitions.append(Transition("recovered", _at(int(ts_us[j])), float(values[j]), _at(breach_us)))
            kind, since_us, breach_us, streak, i = "ok", None, None, 0, j + 1
    last = values[-1] if len(values) else state.last_value
    return (
        replace(
            state,
            state=kind,
            since=_at(since_us) if since_us is not None else None,
            breach_started_at=_at(breach_us) if breach_us is not None and kind == "firing" else None,
            clear_streak=streak if kind == "firing" else 0,
            last_value=None if last is None else float(last),
            evaluated_through=through,
        ),
        transitions,
    )


def _advance_few(
    rule: Rule, state: RuleState, ts_us: np.ndarray, values: np.ndarray
) -> tuple[RuleState, list[Transition]]:
    """``advance`` for a handful of samples, sample by sample in plain Python (same transitions;
    the chunked-equals-whole test holds the two paths to each other)."""
    compare = _OPS[rule.comparison]
    clear_limit = rule.threshold if rule.clear_threshold is None else rule.clear_threshold
    for_us, need = int(rule.for_s) * 1_000_000, max(1, int(rule.recovery_count))
    kind, streak, last = state.state, state.clear_streak, state.last_value
    since_us = _us(state.since) if state.since else None
    breach_us = _us(state.breach_started_at) if state.breach_started_at else None
    transitions: list[Transition] = []
    for t, v in zip(ts_us.tolist(), np.asarray(values, dtype="float64").tolist(), strict=True):
        if v != v:  # NaN: skipped, as in advance
            continue
        last = v
        breach = bool(compare(v, rule.threshold))
        if kind == "ok":
            if not breach:
                continue
            kind, since_us = "pending", t
        if kind == "pending":
            if not breach:
                kind, since_us = "ok", None
            elif t - since_us >= for_us:
                breach_us, since_us, kind, streak = since_us, t, "firing", 0
                transitions.append(Transition("fired", _at(t), v, _at(breach_us)))
            continue
        if not bool(compare(v, clear_limit)):  # firing and back beyond the clear threshold
            streak += 1
            if streak >= need:
                transitions.append(Transition("recovered", _at(t), v, _at(breach_us)))
                kind, since_us, breach_us, streak = "ok", None, None, 0
        else:
            streak = 0
    return (
        replace(
            state,
            state=kind,
            since=_at(since_us) if since_us is not None else None,
            breach_started_at=_at(breach_us) if breach_us is not None and kind == "firing" else None,
            clear_streak=streak if kind == "firing" else 0,
            last_value=last,
            evaluated_through=_at(int(ts_us[-1])),
        ),
        transitions,
    )
