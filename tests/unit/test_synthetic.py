"""The synthetic incident generator (`tests.synthetic`) on its own: deterministic, varied, and
true to the default rules it is meant to trip (or, for healthy companies, never to trip)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import numpy as np
import pytest

from tests import synthetic as syn

NOW = datetime(2026, 11, 26, 22, 3, 17, tzinfo=UTC)


def test_a_seed_gives_the_same_company_and_another_seed_another() -> None:
    a = syn.make_scenario("queue_backlog", 5, now=NOW, unique=False)
    b = syn.make_scenario("queue_backlog", 5, now=NOW, unique=False)
    c = syn.make_scenario("queue_backlog", 6, now=NOW, unique=False)
    assert a.company == b.company == "syn-queue-5"
    assert a.series.keys() == b.series.keys()
    assert all(np.array_equal(a.series[k], b.series[k], equal_nan=True) for k in a.series)
    assert (a.root, a.shape, a.start, a.events) == (b.root, b.shape, b.start, b.events)
    key = (c.root, "queue_depth")
    assert a.series.keys() != c.series.keys() or not np.array_equal(a.series[key], c.series[key])


def test_the_data_ends_in_the_past_on_whole_minutes() -> None:
    sc = syn.healthy_scenario(3, now=NOW)
    assert sc.times[-1] % 60 == 0 and 90 <= NOW.timestamp() - sc.times[-1] < 150
    assert np.all(np.diff(sc.times) == syn.STEP_S) and sc.times[-1] - sc.times[0] >= 3 * 3600


@pytest.mark.parametrize("pattern", syn.PATTERNS)
def test_episodes_vary_and_each_trips_its_rule_on_its_root(pattern: str) -> None:
    shapes, roots, severities, onsets = Counter(), Counter(), [], []
    for seed in range(12):
        sc = syn.make_scenario(pattern, seed, now=NOW)
        fired = syn.first_firings(sc)
        at, metric, _severity = fired[sc.root]
        assert metric in syn.ROOT_METRICS[pattern], (seed, fired)
        for service in set(fired) - {sc.root}:  # a dependant fires only after the root: it joins
            assert fired[service][0] > at and service in sc.dependants, (seed, fired)
        assert sc.start is not None and sc.start <= at <= sc.times[-1]
        shapes[sc.shape] += 1
        roots[sc.root] += 1
        severities.append(sc.severity)
        onsets.append(sc.times[-1] - sc.start)
    if pattern not in ("service_down",):
        assert len(shapes) >= 2, shapes
    assert max(severities) - min(severities) > 0.3 and len(set(onsets)) >= 6
    if pattern not in ("db_saturation", "dependency_outage"):
        assert len(roots) >= 2, roots


def test_growing_patterns_still_grow_at_the_end() -> None:
    for pattern in syn.GROWING:
        for seed in range(8):
            sc = syn.make_scenario(pattern, seed, now=NOW)
            values = sc.series[(sc.root, syn.ROOT_METRICS[pattern][0])]
            recent = values[-15:]
            slope = np.polyfit(np.arange(len(recent)), recent, 1)[0]
            assert slope > 0, (pattern, seed, sc.shape)


def test_an_error_spike_follows_a_deploy_of_its_service_by_2_to_25_minutes() -> None:
    for seed in range(10):
        sc = syn.make_scenario("error_spike_after_deploy", seed, now=NOW)
        deploys = [e for e in sc.events if e.service == sc.root and e.kind == "deploy"]
        assert len(deploys) == 1 and 2 * 60 <= sc.start - deploys[0].ts <= 25 * 60


def test_a_memory_leak_climbs_for_hours_with_traffic_flat() -> None:
    for seed in range(6):
        sc = syn.make_scenario("memory_leak", seed, now=NOW)
        assert sc.times[-1] - sc.start >= 3 * 3600
        traffic = sc.series[(sc.root, "request_rate")]
        before, during = traffic[sc.times < sc.start], traffic[sc.times >= sc.times[-1] - 1800]
        assert abs(np.median(during) / np.median(before) - 1) < 0.4


def test_a_dependency_outage_hurts_the_dependants_after_the_external() -> None:
    for seed in range(6):
        sc = syn.make_scenario("dependency_outage", seed, now=NOW)
        assert sc.service(sc.root).kind == "external" and sc.dependants
        assert all(sc.root in sc.service(d).depends_on for d in sc.dependants)


def test_a_latency_regression_has_no_errors_no_deploy_and_no_saturation() -> None:
    for seed in range(6):
        sc = syn.make_scenario("latency_regression", seed, now=NOW)
        assert not [e for e in sc.events if e.service == sc.root]
        for metric in ("error_rate", "cpu_pct", "memory_pct"):
            rules = syn.rules_for(metric)
            assert all(syn.longest_breach_s(sc.times, sc.series[(sc.root, metric)], r) == 0 for r in rules)


@pytest.mark.parametrize("seed", range(10))
def test_a_healthy_company_is_bursty_but_never_fires(seed: int) -> None:
    sc = syn.healthy_scenario(seed, now=NOW)
    assert not syn.first_firings(sc)
    assert sc.details["bursts"]
    crossed = [
        (service, metric)
        for (service, metric), values in sc.series.items()
        for rule in syn.rules_for(metric)
        if np.any(syn._OPS[rule.comparison](values[~np.isnan(values)], rule.threshold))
    ]
    assert crossed  # thresholds are crossed, only never for long enough


@pytest.mark.parametrize("variant", syn.AMBIGUOUS)
def test_ambiguous_cases(variant: str) -> None:
    for seed in range(5):
        sc = syn.ambiguous_scenario(seed, variant, now=NOW)
        fired = syn.first_firings(sc)
        if variant == "cpu_alone":
            assert list(fired) == [sc.root] and fired[sc.root][1] == "cpu_pct"
        else:
            assert not fired
        if variant == "custom_metric":
            assert (sc.root, "kafka_consumer_lag") in sc.series and sc.alerts
        if variant == "manual":
            assert sc.manual and sc.manual[0]["service"] == sc.root
