"""Chart windows, bucketed series, thresholds and change events (calmops.health.charts), and the
Plotly figure built from them (calmops.ui.charts)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from calmops.companies import add_service, create_company
from calmops.detect.rules import Rule, list_rules
from calmops.health import charts as hc
from calmops.health.models import MetricState, ServiceHealth
from calmops.store import snapshots, unit_of_work
from calmops.vocabulary import HealthStatus, ServiceKind, Severity

NOW = datetime(2026, 11, 26, 12, 0, 20, tzinfo=UTC)


@pytest.mark.parametrize(
    ("choice", "bucket_s"), [("1h", 60), ("6h", 60), ("24h", 120), ("7d", 900), ("14d", 1800)]
)
def test_preset_windows_end_now_and_hold_at_most_max_points(choice: str, bucket_s: int) -> None:
    win = hc.window(choice, now=NOW)
    assert win.live and win.end == NOW and win.bucket_s == bucket_s
    assert win.points <= hc.MAX_POINTS
    assert NOW - hc.WINDOWS[choice] <= win.start < NOW - hc.WINDOWS[choice] + timedelta(seconds=bucket_s)
    assert (win.start - hc.BUCKET_ORIGIN).total_seconds() % bucket_s == 0


@pytest.mark.parametrize("days", [0.01, 1, 30, 90, 365])
def test_any_custom_range_stays_within_the_point_budget(days: float) -> None:
    start = NOW - timedelta(days=days)
    win = hc.window(hc.CUSTOM, now=NOW, start=start, end=NOW)
    assert not win.live and win.points <= hc.MAX_POINTS and win.label == "custom range"


def test_a_custom_range_is_clipped_at_now_and_converted_to_utc() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    start = datetime(2026, 11, 26, 10, 0, tzinfo=berlin)
    win = hc.window(hc.CUSTOM, now=NOW, start=start, end=NOW + timedelta(days=3))
    assert win.end == NOW and win.start == datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (None, NOW, "needs a start and an end"),
        (NOW, NOW - timedelta(hours=1), "must be after its start"),
        (NOW + timedelta(hours=1), NOW + timedelta(hours=2), "in the future"),
        (datetime(2026, 11, 26), datetime(2026, 11, 26, 6), "time zone"),
    ],
)
def test_impossible_custom_ranges_are_refused(start, end, message: str) -> None:
    with pytest.raises(hc.WindowError, match=message):
        hc.window(hc.CUSTOM, now=NOW, start=start, end=end)


def test_unknown_window_is_refused() -> None:
    with pytest.raises(hc.WindowError):
        hc.window("3w", now=NOW)


@pytest.fixture
def store(db):
    """Two services of one company with 2 days of 30 s snapshots (api has a 20 min hole), and events."""
    cur = db.cursor()
    with unit_of_work(cur):
        create_company(cur, company="acme", name="Acme", now=NOW - timedelta(days=3))
        create_company(cur, company="other", name="Other", now=NOW - timedelta(days=3))
        add_service(cur, company="acme", service="api", kind=ServiceKind.API, now=NOW)
        add_service(cur, company="acme", service="db", kind=ServiceKind.DATABASE, now=NOW)
        ts = [NOW - timedelta(seconds=30 * i) for i in range(2 * 2880, 0, -1)]
        rows = []
        for service in ("api", "db"):
            for i, t in enumerate(ts):
                if service == "api" and NOW - timedelta(minutes=50) < t < NOW - timedelta(minutes=30):
                    continue
                rows.append(("acme", service, "error_rate", "", t, 0.01 + (i % 10) / 1000))
        rows.extend(("other", "api", "error_rate", "", t, 0.5) for t in ts)
        snapshots.bulk_load(cur, snapshots.batch(rows))
        for company, service, kind, minutes, text in [
            ("acme", "api", "deploy", 40, "api v2"),
            ("acme", "db", "config_change", 90, "pool 200 -> 150"),
            ("acme", "api", "deploy", 60 * 30, "api v1"),
            ("other", "api", "deploy", 10, "not ours"),
        ]:
            cur.execute(
                "INSERT INTO events (company, service, kind, ts, description, version, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [company, service, kind, NOW - timedelta(minutes=minutes), text, None, NOW],
            )
    return cur


@pytest.mark.parametrize("choice", ["1h", "6h", "24h", "7d", "14d"])
def test_series_buckets_line_up_with_the_window(store, choice: str) -> None:
    win = hc.window(choice, now=NOW)
    frame = hc.metric_series(store, company="acme", metric="error_rate", services=["api", "db"], win=win)
    assert set(frame["service"]) == {"api", "db"}
    for _, part in frame.groupby("service"):
        assert len(part) <= win.points
    assert frame["bucket"].min() >= win.start and frame["bucket"].max() < win.end
    assert str(frame["bucket"].dtype) == "datetime64[us, UTC]"
    assert (frame["max"].dropna() <= 0.02).all()  # never another company's rows


def test_a_hole_in_the_data_breaks_the_line(store) -> None:
    win = hc.window("6h", now=NOW)
    frame = hc.metric_series(store, company="acme", metric="error_rate", services=["api", "db"], win=win)
    api = frame[frame["service"] == "api"]
    blank = api[api["avg"].isna()]
    assert len(blank) == 1
    assert NOW - timedelta(minutes=50) <= blank["bucket"].iloc[0] <= NOW - timedelta(minutes=30)
    assert frame[frame["service"] == "db"]["avg"].notna().all()
    assert api["bucket"].is_monotonic_increasing


def test_with_gaps_leaves_continuous_series_alone() -> None:
    buckets = pd.date_range("2026-11-26", periods=5, freq="60s", tz="UTC")
    frame = pd.DataFrame({"service": ["a"] * 5, "bucket": buckets, "avg": 1.0, "min": 1.0, "max": 1.0,
                          "samples": 2})  # fmt: skip
    assert hc.with_gaps(frame, bucket_s=60) is frame


def test_no_services_no_query(store) -> None:
    win = hc.window("1h", now=NOW)
    assert hc.metric_series(store, company="acme", metric="error_rate", services=[], win=win).empty


def test_change_events_are_scoped_windowed_and_ordered(store) -> None:
    events = hc.change_events(store, company="acme", start=NOW - timedelta(hours=6), end=NOW)
    assert [(e.service, e.kind) for e in events] == [("db", "config_change"), ("api", "deploy")]
    assert events[0].ts < events[1].ts
    only_api = hc.change_events(
        store, company="acme", start=NOW - timedelta(days=2), end=NOW, services=["api"]
    )
    assert [e.description for e in only_api] == ["api v1", "api v2"]
    deploys = hc.change_events(
        store, company="acme", start=NOW - timedelta(hours=6), end=NOW, kinds=("deploy",)
    )
    assert [e.description for e in deploys] == ["api v2"]
    newest = hc.change_events(store, company="acme", start=NOW - timedelta(days=2), end=NOW, limit=1)
    assert [e.description for e in newest] == ["api v2"]
    assert hc.change_events(store, company="acme", start=NOW - timedelta(days=2), end=NOW, services=[]) == []


def test_thresholds_from_the_default_rules(store) -> None:
    rules = list_rules(store, company="acme", enabled_only=True)
    lines = hc.thresholds(rules, metric="error_rate", services=["api"])
    assert [(t.value, t.severity) for t in lines] == [(0.02, Severity.WARNING), (0.10, Severity.CRITICAL)]
    assert hc.thresholds(rules, metric="no_such_metric", services=["api"]) == []


def _rule(metric: str, threshold: float, severity: Severity, service: str | None = None) -> Rule:
    return Rule(None, "acme", metric, metric, metric, service, ">", threshold, None, 0, 1, severity)


def test_thresholds_only_for_rules_that_apply_and_deduplicated() -> None:
    rules = [
        _rule("cpu_pct", 85, Severity.WARNING),
        _rule("cpu_pct", 85, Severity.HIGH),
        _rule("cpu_pct", 70, Severity.WARNING, service="db"),
    ]
    assert [(t.value, t.severity) for t in hc.thresholds(rules, metric="cpu_pct", services=["api"])] == [
        (85, Severity.HIGH)
    ]
    assert len(hc.thresholds(rules, metric="cpu_pct", services=["api", "db"])) == 2


def _svc(
    name: str, status: HealthStatus, *, customer: bool = False, breached: tuple[str, ...] = ()
) -> ServiceHealth:
    metrics = {
        m: MetricState(m, 1.0, NOW, 1.0, ">", Severity.WARNING if m in breached else None)
        for m in ("up", "cpu_pct", "error_rate", "probe_latency_ms", "disk_pct", "queue_depth")
    }
    return ServiceHealth(name, "api", customer, status, NOW, metrics)


def test_problems_first_then_customer_facing() -> None:
    services = [
        _svc("a", HealthStatus.OK),
        _svc("b", HealthStatus.UNKNOWN),
        _svc("c", HealthStatus.DOWN),
        _svc("d", HealthStatus.DEGRADED),
        _svc("e", HealthStatus.OK, customer=True),
    ]
    assert [s.service for s in hc.problems_first(services)] == ["c", "d", "b", "e", "a"]
    assert hc.default_services(services) == ["c", "d", "b"]
    calm = [s for s in services if s.status == HealthStatus.OK]
    assert hc.default_services(calm) == ["e", "a"]


def test_default_metrics_put_breaches_first() -> None:
    services = [_svc("a", HealthStatus.DEGRADED, breached=("disk_pct",)), _svc("b", HealthStatus.OK)]
    assert hc.chartable_metrics(services, ["a"])[:2] == ["error_rate", "queue_depth"]
    assert hc.default_metrics(services, ["a"]) == ["disk_pct", "error_rate", "queue_depth", "cpu_pct"]
    assert hc.default_metrics(services, []) == []


def test_the_figure_is_valid_plotly_with_band_thresholds_and_events(store) -> None:
    from calmops.ui.charts import metric_figure

    berlin = ZoneInfo("Europe/Berlin")
    win = hc.window("7d", now=NOW)
    services = ["api", "db"]
    frame = hc.metric_series(store, company="acme", metric="error_rate", services=services, win=win)
    rules = list_rules(store, company="acme", enabled_only=True)
    events = hc.change_events(store, company="acme", start=win.start, end=win.end, services=services)
    spec = metric_figure(
        "error_rate",
        frame,
        services=services,
        win=win,
        tz=berlin,
        lines=hc.thresholds(rules, metric="error_rate", services=services),
        events=events,
    )
    fig = go.Figure(spec)  # validates every property
    names = [t.name for t in fig.data]
    assert names.count("api") == 1 and names.count("db") == 1
    assert "Deploys" in names and "Config changes" in names
    bands = [t for t in fig.data if t.fill == "tonexty"]
    assert len(bands) == 2  # 30 s samples in 10 min buckets: a min–max band per service
    assert all(len(t.x) <= hc.MAX_POINTS for t in fig.data)
    dashed = [s for s in fig.layout.shapes if s.line.dash == "dash"]
    assert [s.y0 for s in dashed] == [0.02]  # the critical line at 10 % would squash the data
    assert fig.layout.xaxis.range[0] == win.start.astimezone(berlin).replace(tzinfo=None)
    api = next(t for t in fig.data if t.name == "api")
    assert api.x[0] == np.datetime64(frame["bucket"].iloc[0].tz_convert(berlin).tz_localize(None))
    assert api.text[0].endswith("UTC")


def test_many_services_get_no_band_and_up_gets_steps(store) -> None:
    from calmops.ui.charts import metric_figure

    win = hc.window("6h", now=NOW)
    frame = hc.metric_series(store, company="acme", metric="error_rate", services=["api", "db"], win=win)
    spec = metric_figure("up", frame, services=["api", "db", "x", "y"], win=win, tz=UTC, lines=[], events=[])
    fig = go.Figure(spec)
    assert not [t for t in fig.data if t.fill == "tonexty"]
    assert all(t.line.shape == "hv" for t in fig.data)
    assert list(fig.layout.yaxis.range) == [-0.05, 1.08]
