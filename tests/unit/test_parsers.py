"""Health answers into snapshots: every format from samples written to its published description,
and the garbage a health endpoint can send instead."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from calmops.health.parsers import (
    FORMATS,
    MAX_BODY_BYTES,
    Parsed,
    ParseError,
    Sample,
    canonical_labels,
    histogram_quantile,
    map_status,
    metric_name,
    parse,
)
from calmops.vocabulary import METRICS

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "health"
PROMETHEUS_CT = "text/plain; version=0.0.4; charset=utf-8"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def values(parsed: Parsed) -> dict[tuple[str, str], float]:
    return {(s.metric, s.labels): s.value for s in parsed.samples}


def canonical(parsed: Parsed) -> dict[str, float]:
    return {s.metric: s.value for s in parsed.samples if s.metric in METRICS and s.labels == ""}


def text(body: str, content_type: str | None = PROMETHEUS_CT) -> Parsed:
    return parse(body.encode(), content_type=content_type)


# --- Prometheus text exposition


def test_prometheus_rich_exposition_keeps_every_sample_with_canonical_labels() -> None:
    parsed = parse(fixture("prometheus_rich.txt"), content_type=PROMETHEUS_CT)
    got = values(parsed)
    assert parsed.format == "prometheus"
    assert got[("http_requests_total", 'code="200",method="post"')] == 1027  # keys sorted; timestamp ignored
    assert got[("http_requests_total", 'code="500",method="get"')] == 12
    assert got[("metric_without_timestamp_and_labels", "")] == 12.47
    assert got[("jobs_waiting", 'priority="low",queue="billing"')] == 140
    assert got[("untyped_thing", 'a="1",b="2"')] == 3  # spaces and a trailing comma inside braces
    assert got[("rpc_duration_seconds", 'quantile="0.99"')] == 76656
    assert got[("http_request_duration_seconds_bucket", 'handler="/api",le="+Inf"')] == 1000
    assert got[("http_request_duration_seconds_count", 'handler="/health"')] == 1000


def test_prometheus_label_escapes_are_undone_then_written_canonically() -> None:
    parsed = parse(fixture("prometheus_rich.txt"), content_type=PROMETHEUS_CT)
    (sample,) = [s for s in parsed.samples if s.metric == "msdos_file_access_time_seconds"]
    assert sample.labels == r'error="Cannot find file:\n\"FILE.TXT\"",path="C:\\DIR\\FILE.TXT"'
    assert sample.value == 1.458255915e9
    assert (
        canonical_labels({"error": 'Cannot find file:\n"FILE.TXT"', "path": "C:\\DIR\\FILE.TXT"})
        == sample.labels
    )


def test_prometheus_nan_and_inf_are_skipped_with_a_note() -> None:
    parsed = parse(fixture("prometheus_rich.txt"), content_type=PROMETHEUS_CT)
    names = {s.metric for s in parsed.samples}
    assert not names & {"something_weird", "something_else_weird", "queue_lag_seconds"}
    assert all(math.isfinite(s.value) for s in parsed.samples)
    assert any("3 NaN/Inf" in n for n in parsed.notes)


def test_prometheus_derives_canonical_metrics_only_where_exact() -> None:
    parsed = parse(fixture("prometheus_rich.txt"), content_type=PROMETHEUS_CT)
    got = canonical(parsed)
    assert parsed.status == "ok"  # from `up 1`
    assert got["up"] == 1
    assert got["cpu_pct"] == 37.5  # process_cpu_percent
    # Buckets summed over handler: 1090, 1295, 1698, 1899, 1980, 2000; rank 1900 falls in (0.5, 1].
    assert got["latency_p95_ms"] == pytest.approx((0.5 + 0.5 * (1900 - 1899) / (1980 - 1899)) * 1000)
    assert "request_rate" not in got and "error_rate" not in got
    assert any("one scrape has no rate" in n for n in parsed.notes)
    assert ("process_cpu_percent", "") in values(parsed)  # the original stays beside its canonical copy


def test_openmetrics_with_units_exemplars_created_and_eof() -> None:
    parsed = parse(fixture("openmetrics.txt"), content_type="application/openmetrics-text; version=1.0.0")
    got = values(parsed)
    assert parsed.format == "prometheus" and parsed.status is None
    assert got[("http_server_requests_seconds_bucket", 'le="0.1",uri="/orders"')] == 50  # exemplar ignored
    assert got[("acme_http_router_request_seconds_count", 'method="GET",path="/api/v1"')] == 807283
    assert canonical(parsed)["db_connections_pct"] == pytest.approx(45.0)  # (6 + 3) / (10 + 10)
    assert canonical(parsed)["latency_p95_ms"] == pytest.approx((0.1 + 0.4 * (95 - 50) / (98 - 50)) * 1000)
    assert not parsed.notes


def test_summary_quantile_gives_latency_when_it_has_one_label_set() -> None:
    one = text(
        "# TYPE http_request_duration_seconds summary\n"
        'http_request_duration_seconds{quantile="0.5"} 0.1\n'
        'http_request_duration_seconds{quantile="0.95"} 0.3\n'
        "http_request_duration_seconds_count 10\n"
    )
    assert canonical(one)["latency_p95_ms"] == pytest.approx(300)
    many = text(
        "# TYPE http_request_duration_seconds summary\n"
        'http_request_duration_seconds{quantile="0.95",uri="/a"} 0.3\n'
        'http_request_duration_seconds{quantile="0.95",uri="/b"} 0.9\n'
    )
    assert "latency_p95_ms" not in canonical(many)
    assert any("cannot be combined" in n for n in many.notes)


def test_histogram_quantile_follows_prometheus_rules() -> None:
    inf = math.inf
    assert histogram_quantile(0.95, [(0.1, 50), (0.5, 98), (inf, 100)]) == (pytest.approx(0.475), "")
    assert histogram_quantile(0.95, [(0.1, 0), (0.5, 10), (inf, 100)]) == (0.5, "")  # rank in +Inf
    assert histogram_quantile(0.5, [(1.0, 10), (inf, 10)])[0] == pytest.approx(0.5)  # first bucket from 0
    assert histogram_quantile(0.95, [(0.1, 5), (0.5, 4), (inf, 10)])[0] == pytest.approx(0.5)  # evened
    assert histogram_quantile(0.95, [(0.1, 0), (inf, 0)]) == (None, "no observations yet")
    assert histogram_quantile(0.95, [(0.1, 1), (0.5, 2)]) == (None, "no +Inf bucket")


def test_histogram_with_different_bucket_layouts_is_not_summed() -> None:
    parsed = text(
        'http_request_duration_seconds_bucket{a="1",le="0.1"} 1\n'
        'http_request_duration_seconds_bucket{a="1",le="+Inf"} 2\n'
        'http_request_duration_seconds_bucket{a="2",le="0.2"} 1\n'
        'http_request_duration_seconds_bucket{a="2",le="+Inf"} 2\n'
    )
    assert "latency_p95_ms" not in canonical(parsed)
    assert any("different bucket bounds" in n for n in parsed.notes)


def test_up_zero_means_down_and_micrometer_cpu_ratio_becomes_percent() -> None:
    parsed = text('up 0\nprocess_cpu_usage{application="orders"} 0.25\n', content_type=None)
    assert parsed.status == "down"
    assert canonical(parsed) == {"up": 0.0, "cpu_pct": 25.0}


def test_prometheus_timestamps_signs_and_exponents() -> None:
    parsed = text("a 1e3 1395066363000\nb -2.5\nc +.5E-1\nd 7 -1\n", content_type=None)
    assert values(parsed) == {("a", ""): 1000, ("b", ""): -2.5, ("c", ""): 0.05, ("d", ""): 7}


def test_prometheus_quoted_metric_name_inside_braces() -> None:
    parsed = text('{"process_open_fds", kind="file"} 12\n')
    assert values(parsed) == {("process_open_fds", 'kind="file"'): 12}
    assert text('{"process_open_fds", kind="file"} 12\n', content_type=None).format == "prometheus"


def test_prometheus_malformed_lines_are_skipped_when_few_and_fatal_when_most() -> None:
    mostly_good = text('good 1\nalso_good{x="y"} 2\nbad{x="unterminated} 3\nworse{x="\\t"} 4\nfine 5\n')
    assert set(values(mostly_good)) == {("good", ""), ("also_good", 'x="y"'), ("fine", "")}
    assert any("2 malformed" in n and "unknown escape" in n for n in mostly_good.notes)
    with pytest.raises(ParseError, match="not Prometheus text"):
        text("this is 1 2 3\nnot metrics at all\n")


def test_prometheus_repeated_series_keep_the_first_value() -> None:
    parsed = text('x{a="1"} 1\nx{a="1"} 2\n')
    assert values(parsed) == {("x", 'a="1"'): 1}
    assert any("repeated" in n for n in parsed.notes)


def test_prometheus_only_comments_is_an_empty_valid_scrape() -> None:
    parsed = text("# HELP x nothing yet\n# TYPE x counter\n")
    assert parsed.samples == [] and parsed.format == "prometheus"


# --- Spring Boot actuator


def test_spring_boot_components_nested_components_and_disk_space() -> None:
    parsed = parse(fixture("spring_boot.json"), content_type="application/vnd.spring-boot.actuator.v3+json")
    got = values(parsed)
    assert parsed.format == "spring" and parsed.status == "ok"
    up = {labels: v for (metric, labels), v in got.items() if metric == "component_up"}
    assert up == {
        'component="db"': 1,
        'component="db/primary"': 1,
        'component="db/replica"': 0,
        'component="diskSpace"': 1,
        'component="hikariPool"': 1,
        'component="livenessState"': 1,
        'component="ping"': 1,
        'component="readinessState"': 0,  # OUT_OF_SERVICE
    }
    assert any("redis reports UNKNOWN" in n for n in parsed.notes)
    total, free = 499963174912, 91300069376
    assert canonical(parsed)["disk_pct"] == pytest.approx((total - free) / total * 100)
    assert canonical(parsed)["db_connections_pct"] == pytest.approx(80.0)
    assert got[("disk_space_free", 'component="diskSpace"')] == free


def test_spring_boot_2_0_details_and_down() -> None:
    parsed = parse(fixture("spring_boot_2_0.json"), content_type="application/json")
    assert parsed.format == "spring" and parsed.status == "down"
    assert values(parsed)[("component_up", 'component="db"')] == 0
    assert canonical(parsed)["disk_pct"] == pytest.approx(75.0)


def test_spring_boot_1_x_inline_details() -> None:
    body = {"status": "UP", "diskSpace": {"status": "UP", "total": 1000, "free": 900, "threshold": 10}}
    parsed = parse(json.dumps(body).encode(), content_type="application/json")
    assert parsed.format == "spring"
    assert canonical(parsed)["disk_pct"] == pytest.approx(10.0)


@pytest.mark.parametrize(
    ("word", "status"), [("UP", "ok"), ("DOWN", "down"), ("OUT_OF_SERVICE", "down"), ("UNKNOWN", None)]
)
def test_spring_statuses(word: str, status: str | None) -> None:
    body = json.dumps({"status": word, "components": {"ping": {"status": "UP"}}}).encode()
    assert parse(body, content_type="application/json").status == status
    assert parse(body, content_type=None, declared="spring").status == status


# --- application/health+json


def test_health_json_checks_map_to_canonical_metrics_and_labelled_samples() -> None:
    parsed = parse(fixture("health_json.json"), content_type="application/health+json")
    got = values(parsed)
    assert parsed.format == "health+json" and parsed.status == "degraded"  # warn
    assert canonical(parsed) == {
        "cpu_pct": 85.0,  # the highest of two nodes
        "latency_p95_ms": pytest.approx(420.0),  # api:responseTimeP95 in s
        "db_connections_pct": 62.5,
        "disk_pct": 71.0,
    }
    cassandra = 'componentId="dfd6cf2b-1b6e-4412-a0b8-f6f7797a60d2",componentType="datastore"'
    assert got[("cassandra_response_time_ms", cassandra)] == 250  # not a p95: its own name
    assert got[("cassandra_connections", cassandra)] == 75
    assert got[("uptime", 'componentType="system"')] == 1209600.245
    node = 'componentId="6fd416e0-8920-410f-9c7b-c479000f7227",componentType="system",node="{}"'
    assert got[("cpu_utilization", node.format(2))] == 80
    assert got[("memory_utilization", node.format(1))] == 8.5  # GiB is not a percent
    assert any("memory:utilization is not in percent (unit GiB)" in n for n in parsed.notes)
    assert got[("component_up", 'component="redis"')] == 0
    assert got[("component_up", 'component="cassandra"')] == 1


@pytest.mark.parametrize(
    ("word", "status"), [("pass", "ok"), ("warn", "degraded"), ("fail", "down"), ("up", "ok")]
)
def test_health_json_statuses(word: str, status: str) -> None:
    parsed = parse(json.dumps({"status": word}).encode(), content_type="application/health+json")
    assert (parsed.format, parsed.status) == ("health+json", status)


def test_health_json_is_detected_without_its_content_type() -> None:
    body = {"status": "pass", "checks": {"memory:utilization": [{"observedValue": 40, "observedUnit": "%"}]}}
    parsed = parse(json.dumps(body).encode(), content_type="application/json")
    assert parsed.format == "health+json" and canonical(parsed) == {"memory_pct": 40}


# --- plain JSON health


def test_json_aliases_map_to_canonical_metrics() -> None:
    parsed = parse(fixture("json_basic.json"), content_type="application/json")
    assert (parsed.format, parsed.status) == ("json", "ok")
    assert values(parsed) == {
        ("latency_p95_ms", ""): 120,
        ("cpu_pct", ""): 41.5,
        ("memory_pct", ""): 63,
        ("queue_depth", ""): 12,
        ("error_rate", ""): 0.004,
        ("request_rate", ""): 230.5,
        ("db_connections_pct", ""): 55,
        ("disk_pct", ""): 71,
        ("uptime_seconds", ""): 86400,  # camelCase made snake_case; booleans and strings left out
    }


def test_json_nested_objects_flatten_one_level_and_give_components() -> None:
    parsed = parse(fixture("json_nested.json"), content_type=None)
    got = values(parsed)
    assert parsed.status == "degraded"
    assert got[("db_connections_pct", "")] == 92  # db.pool_pct
    assert got[("queue_depth", "")] == 5400  # queue.depth
    assert got[("db_latency_ms", "")] == 35
    assert got[("queue_oldest_job_age_s", "")] == 600
    assert got[("cache_hit_ratio", "")] == 0.7
    components = {labels: v for (metric, labels), v in got.items() if metric == "component_up"}
    assert components == {
        'component="db"': 1,
        'component="cache"': 0,
        'component="payments-api"': 1,
        'component="geo"': 0,
    }
    assert any("build.info" in n for n in parsed.notes)


def test_json_boolean_is_a_status_hint_only() -> None:
    parsed = parse(fixture("json_boolean.json"), content_type="application/json")
    assert parsed.status == "down"
    assert values(parsed) == {("cpu_pct", ""): 97, ("memory_pct", ""): 88.5}


def test_json_exact_canonical_name_wins_over_its_alias() -> None:
    parsed = parse(fixture("json_canonical_and_alias.json"), content_type="application/json")
    assert parsed.status == "ok"
    assert values(parsed) == {
        ("cpu_pct", ""): 12,
        ("latency_p95_ms", ""): 140,
        ("error_rate", ""): 0.02,
        ("cpu", ""): 10,
        ("latency_ms", ""): 80,
    }


def test_json_unit_conversions_and_odd_values() -> None:
    body = b'{"status": "Healthy", "error_pct": 2.5, "cpu_ratio": 0.5, "p95_latency_s": 0.2, '
    body += b'"x": NaN, "n": 1e999}'
    parsed = parse(body, content_type="application/json")
    assert values(parsed) == {("error_rate", ""): 0.025, ("cpu_pct", ""): 50, ("latency_p95_ms", ""): 200}
    assert any("2 NaN/Inf" in n for n in parsed.notes)


def test_json_unknown_status_word_is_unstated_with_a_note() -> None:
    parsed = parse(b'{"status": "purple"}', content_type="application/json")
    assert parsed.status is None and any("purple" in n for n in parsed.notes)


def test_bare_spring_style_up_is_plain_json() -> None:
    parsed = parse(b'{"status": "UP"}', content_type="application/json")
    assert (parsed.format, parsed.status) == ("json", "ok")


# --- declared formats and detection


@pytest.mark.parametrize(
    ("name", "content_type", "fmt"),
    [
        ("prometheus_rich.txt", None, "prometheus"),
        ("prometheus_rich.txt", "text/plain", "prometheus"),
        ("openmetrics.txt", "application/octet-stream", "prometheus"),
        ("health_json.json", None, "health+json"),
        ("spring_boot.json", "text/plain", "spring"),
        ("json_basic.json", "application/json; charset=utf-8", "json"),
    ],
)
def test_detection_without_a_helpful_content_type(name: str, content_type: str | None, fmt: str) -> None:
    assert parse(fixture(name), content_type=content_type).format == fmt


def test_declared_format_overrides_detection() -> None:
    parsed = parse(fixture("json_basic.json"), content_type="application/health+json", declared="json")
    assert parsed.format == "json" and canonical(parsed)["cpu_pct"] == 41.5
    with pytest.raises(ParseError, match="not Prometheus text"):
        parse(fixture("json_basic.json"), content_type=None, declared="prometheus")
    with pytest.raises(ParseError, match="unknown format 'xml'"):
        parse(fixture("json_basic.json"), content_type=None, declared="xml")
    assert FORMATS == ("json", "health+json", "spring", "prometheus")


def test_utf8_bom_is_tolerated() -> None:
    assert parse(b"\xef\xbb\xbf" + fixture("json_basic.json"), content_type=None).status == "ok"


# --- garbage


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (fixture("truncated.json"), "application/json", "not valid JSON"),
        (fixture("truncated.json"), None, "not valid JSON"),
        (fixture("junk.bin"), "application/json", "binary body"),
        ("café".encode("latin-1") + b" 1", None, "non-UTF-8"),
        (fixture("html_error.html"), "text/html", "an HTML page"),
        (fixture("html_error.html"), "text/plain; version=0.0.4", "not Prometheus text"),
        (fixture("html_error.html"), None, "an HTML page"),
        (b"", "application/json", "empty body"),
        (b"  \n\t ", None, "empty body"),
        (fixture("array.json"), "application/json", "JSON list"),
        (b'"ok"', "application/json", "JSON str"),
        (b"[" * 100_000, "application/json", "not valid JSON|nested too deeply"),
        (b"Service Unavailable", "text/plain", "neither JSON nor Prometheus text"),
    ],
)
def test_garbage_raises_a_clear_parse_error(body: bytes, content_type: str | None, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse(body, content_type=content_type)


def test_a_20_mb_body_is_refused_before_reading_it() -> None:
    body = b'{"status": "ok", "pad": "' + b"x" * (20 * 1024 * 1024) + b'"}'
    with pytest.raises(ParseError, match="over the 10 MB limit"):
        parse(body, content_type="application/json")
    assert MAX_BODY_BYTES == 10 * 1024 * 1024


def test_parse_error_is_a_value_error() -> None:
    assert issubclass(ParseError, ValueError)


# --- helpers


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("heapUsed", "heap_used"),
        ("HTTPServerErrors", "http_server_errors"),
        ("disk.used-pct", "disk_used_pct"),
        ("9lives", "_9lives"),
        ("cpu:utilization", "cpu_utilization"),
        ("__", ""),
    ],
)
def test_metric_name(raw: str, name: str) -> None:
    assert metric_name(raw) == name


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("OK", ("ok", True)),
        ("out-of-service", ("down", True)),
        ("Warning", ("degraded", True)),
        ("unknown", (None, True)),
        ("sideways", (None, False)),
        (1, (None, False)),
    ],
)
def test_map_status(word: object, expected: tuple) -> None:
    assert map_status(word) == expected


def test_canonical_labels_sorts_escapes_and_drops_empty_values() -> None:
    assert canonical_labels({"method": "get", "code": "500", "empty": ""}) == 'code="500",method="get"'
    assert canonical_labels({}) == ""


def test_samples_and_parsed_are_frozen() -> None:
    sample = Sample("up", "", 1.0)
    with pytest.raises(AttributeError):
        sample.value = 0.0  # type: ignore[misc]
