"""The threshold state machine: for-duration, hysteresis, recovery count, chunked == whole."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from calmops.detect.machine import RuleState, advance
from calmops.detect.rules import Rule
from calmops.vocabulary import Severity

T0 = int(datetime(2026, 11, 26, tzinfo=UTC).timestamp()) * 1_000_000
MIN = 60 * 1_000_000


def rule(for_s: int = 300, threshold: float = 10, clear: float | None = 5, recovery: int = 2) -> Rule:
    return Rule(None, "acme", "queue_depth", "q", "queue_depth", None, ">", threshold, clear, for_s, recovery,
                Severity.WARNING)  # fmt: skip


def minutes(values: list[float]) -> tuple[np.ndarray, np.ndarray]:
    return T0 + np.arange(len(values), dtype=np.int64) * MIN, np.array(values, dtype=float)


def kinds(transitions) -> list[tuple[str, int]]:
    return [(t.kind, int((t.ts.timestamp() * 1e6 - T0) // MIN)) for t in transitions]


def test_a_breach_fires_only_after_it_held_for_the_for_duration() -> None:
    ts, values = minutes([1, 12, 12, 12, 12, 12, 12, 12])
    state, found = advance(rule(for_s=300), RuleState(), ts, values)
    assert kinds(found) == [("fired", 6)]  # breach began at minute 1, held 5 minutes at minute 6
    assert found[0].breach_started_at.timestamp() * 1e6 == T0 + MIN
    assert state.state == "firing"


def test_a_short_breach_never_fires() -> None:
    ts, values = minutes([1, 12, 12, 12, 1, 12, 12, 1])
    state, found = advance(rule(for_s=300), RuleState(), ts, values)
    assert found == [] and state.state == "ok"


def test_hysteresis_holds_while_between_clear_and_threshold() -> None:
    ts, values = minutes([12, 12, 12, 8, 8, 8, 8, 4, 4, 4])
    state, found = advance(rule(for_s=120, clear=5, recovery=2), RuleState(), ts, values)
    assert kinds(found) == [("fired", 2), ("recovered", 8)]  # 8 is under 10 but not under 5
    assert state.state == "ok"


def test_recovery_needs_consecutive_cleared_samples() -> None:
    ts, values = minutes([12, 12, 4, 12, 4, 12, 4, 4, 4])
    _, found = advance(rule(for_s=60, recovery=3), RuleState(), ts, values)
    assert kinds(found) == [("fired", 1), ("recovered", 8)]


def test_zero_for_duration_fires_on_the_first_breach() -> None:
    ts, values = minutes([1, 12, 1, 1])
    _, found = advance(rule(for_s=0, recovery=1), RuleState(), ts, values)
    assert kinds(found) == [("fired", 1), ("recovered", 2)]


def test_missing_values_neither_breach_nor_clear() -> None:
    ts, values = minutes([12, 12, np.nan, 12, 12, np.nan, np.nan, 4, 4])
    _, found = advance(rule(for_s=180, recovery=2), RuleState(), ts, values)
    assert kinds(found) == [("fired", 3), ("recovered", 8)]


@pytest.mark.parametrize("seed", range(12))
def test_judging_in_chunks_gives_the_same_transitions_as_all_at_once(seed: int) -> None:
    rng = np.random.default_rng(seed)
    values = np.clip(np.cumsum(rng.normal(0, 3, 600)) % 25, 0, None)
    ts = T0 + np.arange(len(values), dtype=np.int64) * MIN
    whole_state, whole = advance(rule(for_s=180, recovery=3), RuleState(), ts, values)
    state, pieces = RuleState(), []
    cuts = sorted(rng.choice(np.arange(1, len(values)), size=25, replace=False))
    for a, b in zip([0, *cuts], [*cuts, len(values)], strict=True):
        state, found = advance(rule(for_s=180, recovery=3), state, ts[a:b], values[a:b])
        pieces += found
    assert kinds(pieces) == kinds(whole) and len(whole) > 2
    assert state == whole_state


@pytest.mark.parametrize("seed", range(6))
def test_the_few_samples_path_agrees_with_the_numpy_path(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from calmops.detect import machine

    rng = np.random.default_rng(100 + seed)
    values = np.clip(np.cumsum(rng.normal(0, 3, 400)) % 25, 0, None)
    values[rng.choice(400, 20, replace=False)] = np.nan
    ts = T0 + np.arange(len(values), dtype=np.int64) * MIN
    by_numpy = advance(rule(for_s=120, recovery=2), RuleState(), ts, values)
    monkeypatch.setattr(machine, "_SMALL", 10_000)
    by_python = advance(rule(for_s=120, recovery=2), RuleState(), ts, values)
    assert kinds(by_python[1]) == kinds(by_numpy[1]) and by_python[0] == by_numpy[0]
