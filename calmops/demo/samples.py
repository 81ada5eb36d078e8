"""Snapshots of the demo world: the one function history, live rounds and backfills all call.

``service_values`` is healthy baseline + deploy blips + episode effects, rounded as stored; the
Arrow helpers lay the result out in series order (company, service, metric, labels, ts), which is
how ``snapshots`` is clustered.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from calmops.demo.episodes import AFTERMATH_S, Episode, apply_episodes
from calmops.demo.events import QUIET_MARGIN_S, scheduled_deploys
from calmops.demo.model import RESTART_MEMORY_S, apply_deploys, baseline, finish, load
from calmops.demo.world import CompanyWorld, ServiceSpec
from calmops.store.snapshots import SCHEMA
from calmops.vocabulary import Pattern

TS_TYPE = pa.timestamp("us", tz="UTC")
# Episodes that ended this long before a time can no longer change its values: their aftermath,
# the quiet margin that kept deploys away, and a deploy's memory dip all lie behind it.
LOOKBACK_S = AFTERMATH_S + QUIET_MARGIN_S + RESTART_MEMORY_S


def quiet_windows(episodes: Sequence[Episode]) -> list[tuple[int, int]]:
    """Where routine deploys and config changes stay away: around every episode."""
    far = 2**62
    return [(e.start_s, e.end_s if e.end_s is not None else far) for e in episodes]


def deploy_times(
    company: CompanyWorld, service: str, seed: int, t0: int, t1: int, episodes: Sequence[Episode]
) -> np.ndarray:
    """Every deploy of ``service`` in [t0, t1): routine ones, and an error spike's bad deploy and rollback."""
    scheduled = scheduled_deploys(company, service, seed, t0, t1, quiet_windows(episodes))
    own = [
        at
        for e in episodes
        if e.service == service and e.pattern == Pattern.ERROR_SPIKE_AFTER_DEPLOY
        for at in (e.start_s, e.end_s)
        if at is not None and t0 <= at < t1
    ]
    return np.sort(np.concatenate([scheduled, np.asarray(own, dtype=np.int64)]))


def service_values(
    company: CompanyWorld,
    service: ServiceSpec,
    t: np.ndarray,
    episodes: Sequence[Episode],
    seed: int,
    metrics: Sequence[str] | None = None,
    traffic: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Stored values of ``service``'s metrics at epoch seconds ``t`` (ascending); NaN = no sample.

    ``traffic``: the tenant's ``load`` at ``t``, when the caller computes it once for many services.
    """
    profile = company.profile
    names = tuple(metrics if metrics is not None else service.metrics)
    traffic = load(profile, t) if traffic is None else traffic
    values = {m: baseline(profile, service, m, t, seed, traffic) for m in names}
    deploys = deploy_times(
        company, service.name, seed, int(t[0]) - RESTART_MEMORY_S, int(t[-1]) + 1, episodes
    )
    apply_deploys(values, t, deploys)

    def base_at(metric: str, at: int) -> float:
        return float(baseline(profile, service, metric, np.array([at], dtype=np.int64), seed)[0])

    apply_episodes(list(episodes), service, values, t, seed, base_at)
    return {m: finish(m, v) for m, v in values.items()}


def series_table(company: str, service: str, t: np.ndarray, values: dict[str, np.ndarray]) -> pa.Table:
    """One service's samples as snapshot rows, metrics in name order and ts ascending within each."""
    metrics = sorted(values)
    stamps, numbers, counts = [], [], []
    for metric in metrics:
        v = values[metric]
        keep = ~np.isnan(v)
        stamps.append(t[keep] * 1_000_000)
        numbers.append(v[keep])
        counts.append(int(keep.sum()))
    total = sum(counts)
    indices = np.repeat(np.arange(len(metrics), dtype=np.int32), counts)
    metric_col = pa.DictionaryArray.from_arrays(pa.array(indices), pa.array(metrics, pa.string()))
    return pa.Table.from_arrays(
        [
            pa.repeat(company, total).cast(pa.string()),
            pa.repeat(service, total).cast(pa.string()),
            metric_col.cast(pa.string()),
            pa.repeat("", total).cast(pa.string()),
            pa.array(np.concatenate(stamps) if stamps else np.zeros(0, np.int64), type=TS_TYPE),
            pa.array(np.concatenate(numbers) if numbers else np.zeros(0), type=pa.float64()),
        ],
        schema=SCHEMA,
    )
