"""Snapshot and event pushes over HTTP against a real server (CONTRACT.md, "HTTP API").

Each test's own company gets an ingest token (made over the API by the installation admin); pushes
use it, reads a viewer's (here the installation admin's: the company is made during the test)."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests

from tests.api.test_registry_api import add_service, api, error_of, new_company
from tests.servers import Client

pytestmark = pytest.mark.server
PROM = "text/plain; version=0.0.4; charset=utf-8"


def iso(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def recent(minutes: int = 10) -> datetime:
    return datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=minutes)


_pushers: dict[str, Client] = {}


def pusher(server, company: str) -> Client:
    """A client with an ingest token of ``company`` (the role machines push with)."""
    if company not in _pushers:
        made = server.client().post("tokens", json={"company": company, "role": "ingest", "name": "pusher"})
        assert made.status_code == 201, made.text
        _pushers[company] = Client(server.url, made.json()["secret"])
    return _pushers[company]


def push(server, company: str, *items: dict, **extra) -> requests.Response:
    body = {"company": company, "snapshots": list(items), **extra}
    return pusher(server, company).post(api(server, "snapshots"), json=body, timeout=30)


def snap(ts: datetime, **fields) -> dict:
    return {"service": "api", "metric": "cpu_pct", "ts": iso(ts), "value": 42.0, **fields}


def metrics_of(server, company: str, service: str) -> dict:
    body = server.client().get(api(server, "health"), params={"company": company}, timeout=30).json()
    return next(s for s in body["services"] if s["service"] == service)["metrics"]


def test_a_json_push_is_stored_once_and_shows_in_health(live_server) -> None:
    company = new_company(live_server)
    t0 = recent()
    items = [
        snap(t0, value=40.0),
        snap(t0 + timedelta(minutes=1), value=41.0),
        snap(t0, service="worker", metric="queue_depth", value=12),
        snap(t0, metric="http_requests_total", labels={"method": "get", "code": "500"}, value=3),
    ]
    answer = push(live_server, company, *items)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"accepted": 4, "duplicates": 0}
    assert metrics_of(live_server, company, "api")["cpu_pct"] == 41.0
    # the same (series, ts) again changes nothing, whatever the value
    again = push(live_server, company, snap(t0, value=99.0), snap(t0 + timedelta(minutes=2), value=43.0))
    assert again.json() == {"accepted": 1, "duplicates": 1}
    labelled = push(
        live_server, company, snap(t0, metric="http_requests_total", labels='code="500",method="get"')
    )
    assert labelled.json() == {"accepted": 0, "duplicates": 1}  # string and object labels name one series
    services = (
        live_server.client()
        .get(api(live_server, "services"), params={"company": company}, timeout=10)
        .json()["services"]
    )
    assert {(s["service"], s["kind"]) for s in services} == {("api", "other"), ("worker", "other")}


def test_a_pushed_breach_is_judged_by_detection_after_the_answer(live_server) -> None:
    company = new_company(live_server)
    t0 = recent(minutes=5)
    down = [snap(t0 + timedelta(seconds=30 * i), metric="up", value=0.0) for i in range(5)]  # 2 min down
    assert push(live_server, company, *down).json() == {"accepted": 5, "duplicates": 0}
    deadline = time.monotonic() + 20
    found: list = []
    while not found and time.monotonic() < deadline:
        answer = live_server.client().get(
            api(live_server, "incidents"), params={"company": company}, timeout=10
        )
        found = answer.json()["incidents"]
        time.sleep(0.2)
    assert [(i["service"], i["severity"]) for i in found] == [("api", "critical")]


def test_a_push_names_the_registered_kind_it_leaves_alone(live_server) -> None:
    company = new_company(live_server)
    assert add_service(live_server, company, "api", kind="api").status_code == 201
    assert push(live_server, company, snap(recent())).status_code == 200
    services = (
        live_server.client()
        .get(api(live_server, "services"), params={"company": company}, timeout=10)
        .json()["services"]
    )
    assert [(s["service"], s["kind"]) for s in services] == [("api", "api")]


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"ts": 1764158340}, "snapshots[1].ts"),
        ({"ts": "2026-11-26T10:00:00"}, "snapshots[1].ts"),
        ({"ts": "soon"}, "snapshots[1].ts"),
        ({"value": True}, "snapshots[1].value"),
        ({"value": "41"}, "snapshots[1].value"),
        ({"value": None}, "snapshots[1].value"),
        ({"metric": "cpu pct"}, "snapshots[1].metric"),
        ({"service": "API"}, "snapshots[1].service"),
        ({"labels": "code=500"}, "snapshots[1].labels"),
        ({"labels": {"code": 500}}, "snapshots[1].labels.code"),
    ],
)
def test_one_bad_snapshot_refuses_the_whole_batch_naming_it(live_server, item: dict, field: str) -> None:
    company = new_company(live_server)
    t0 = recent()
    answer = push(
        live_server, company, snap(t0), {**snap(t0 + timedelta(minutes=1), service="other-svc"), **item}
    )
    error_of(answer, 400, field)
    assert (
        live_server.client()
        .get(api(live_server, "services"), params={"company": company}, timeout=10)
        .json()["services"]
        == []
    )
    assert push(live_server, company, snap(t0)).json() == {
        "accepted": 1,
        "duplicates": 0,
    }  # nothing was written


def test_nan_and_infinity_are_refused(live_server) -> None:
    company = new_company(live_server)
    for word in ("NaN", "Infinity", "-Infinity", "1e999"):
        item = f'{{"service": "api", "metric": "x", "ts": "{iso(recent())}", "value": {word}}}'
        data = f'{{"company": "{company}", "snapshots": [{item}]}}'
        answer = pusher(live_server, company).post(api(live_server, "snapshots"), data=data,
                               headers={"Content-Type": "application/json"}, timeout=10)  # fmt: skip
        assert answer.status_code == 400, (word, answer.text)


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"snapshots": []}, 400, "snapshots"),
        ({"snapshots": "none"}, 400, "snapshots"),
        ({"snapshots": None}, 400, "snapshots"),
        ({"company": "no-such-company"}, 404, "company"),
        ({"company": "Not A Slug"}, 400, "company"),
    ],
)
def test_push_body_refusals(live_server, body: dict, status: int, field: str) -> None:
    full = {"company": new_company(live_server), "snapshots": [snap(recent())], **body}
    error_of(live_server.client().post(api(live_server, "snapshots"), json=full, timeout=10), status, field)


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (b'{"company": ', "application/json"),
        (b"[]", "application/json"),
        (b'"text"', "application/json"),
        (b"", "application/json"),
        (b"a,b\n1,2\n", "text/csv"),
        (b"<html></html>", "text/html"),
    ],
)
def test_malformed_pushes_are_400_never_500(live_server, data: bytes, content_type: str) -> None:
    answer = live_server.client().post(
        api(live_server, "snapshots"), data=data, headers={"Content-Type": content_type}, timeout=10
    )
    error_of(answer, 400)


def test_a_body_over_10_mb_is_413(live_server) -> None:
    company = new_company(live_server)
    item = json.dumps(snap(recent()))
    count = 11 * 1024 * 1024 // len(item) + 1
    data = f'{{"company": "{company}", "snapshots": [{",".join([item] * count)}]}}'.encode()
    headers = {"Content-Type": "application/json"}
    answer = pusher(live_server, company).post(
        api(live_server, "snapshots"), data=data, headers=headers, timeout=60
    )
    error_of(answer, 413)


def test_more_than_100000_snapshots_are_refused(live_server) -> None:
    company = new_company(live_server)
    item = {"service": "a", "metric": "m", "ts": iso(recent()), "value": 1}
    answer = push(live_server, company, *([item] * 100_001))
    error_of(answer, 400, "snapshots")


def test_prometheus_text_push_is_stamped_now(live_server) -> None:
    company = new_company(live_server)
    text = (
        "# HELP queue_depth Jobs waiting\n# TYPE queue_depth gauge\nqueue_depth 17\n"
        '# TYPE http_requests_total counter\nhttp_requests_total{method="get",code="500"} 3\n'
    )
    before = datetime.now(UTC) - timedelta(seconds=2)
    answer = pusher(live_server, company).post(
        "snapshots", params={"company": company, "service": "dispatch"}, data=text.encode(),
        headers={"Content-Type": PROM},
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == 2 and answer.json()["duplicates"] == 0
    body = (
        live_server.client().get(api(live_server, "health"), params={"company": company}, timeout=30).json()
    )
    dispatch = next(s for s in body["services"] if s["service"] == "dispatch")
    assert dispatch["metrics"]["queue_depth"] == 17.0
    seen = datetime.fromisoformat(dispatch["last_seen"].replace("Z", "+00:00"))
    assert seen >= before.replace(microsecond=0)


def test_openmetrics_text_is_read_too(live_server) -> None:
    company = new_company(live_server)
    answer = pusher(live_server, company).post(
        "snapshots", params={"company": company, "service": "api"},
        data=b"# TYPE cpu_pct gauge\ncpu_pct 12.5\n# EOF\n",
        headers={"Content-Type": "application/openmetrics-text; version=1.0.0; charset=utf-8"}, timeout=10,
    )  # fmt: skip
    assert answer.status_code == 200 and answer.json()["accepted"] == 1, answer.text


@pytest.mark.parametrize(
    ("params", "data", "status", "field"),
    [
        ({"service": "api"}, b"up 1\n", 400, "company"),
        ({"company": "@C"}, b"up 1\n", 400, "service"),
        ({"company": "no-such-company", "service": "api"}, b"up 1\n", 404, "company"),
        ({"company": "@C", "service": "Bad Name"}, b"up 1\n", 400, "service"),
        ({"company": "@C", "service": "api"}, b"<html>nope</html>", 400, "body"),
        ({"company": "@C", "service": "api"}, b"\x00\x01\x02", 400, "body"),
        ({"company": "@C", "service": "api"}, b"   \n", 400, "body"),
    ],
)
def test_prometheus_push_refusals(live_server, params: dict, data: bytes, status: int, field: str) -> None:
    company = new_company(live_server)
    params = {k: (company if v == "@C" else v) for k, v in params.items()}
    headers = {"Content-Type": PROM}
    answer = live_server.client().post(
        api(live_server, "snapshots"), params=params, data=data, headers=headers, timeout=10
    )
    error_of(answer, status, field)


# --- events


def event(company: str, **fields) -> dict:
    return {"company": company, "service": "api", "kind": "deploy", "ts": iso(recent()),
            "description": "api 2.4.1: faster quotes", "version": "2.4.1", **fields}  # fmt: skip


def test_an_event_is_recorded_with_an_id(live_server) -> None:
    company = new_company(live_server)
    body = event(company)
    answer = pusher(live_server, company).post(api(live_server, "events"), json=body, timeout=10)
    assert answer.status_code == 201, answer.text
    stored = answer.json()
    assert isinstance(stored["id"], int)
    assert {k: stored[k] for k in ("company", "service", "kind", "ts", "description", "version")} == {
        k: body[k] for k in ("company", "service", "kind", "ts", "description", "version")
    }
    changed = event(company, kind="config_change", version=None)
    change = pusher(live_server, company).post(api(live_server, "events"), json=changed, timeout=10)
    assert (
        change.status_code == 201 and change.json()["version"] is None and change.json()["id"] != stored["id"]
    )


@pytest.mark.parametrize(
    ("fields", "status", "field"),
    [
        ({"kind": "restart"}, 400, "kind"),
        ({"ts": "2026-11-26 10:00"}, 400, "ts"),
        ({"ts": 1764158340}, 400, "ts"),
        ({"service": ""}, 400, "service"),
        ({"description": None}, 400, "description"),
        ({"version": 3}, 400, "version"),
        ({"company": "no-such-company"}, 404, "company"),
    ],
)
def test_bad_events_are_refused_naming_the_field(live_server, fields: dict, status: int, field: str) -> None:
    company = new_company(live_server)
    answer = live_server.client().post(
        api(live_server, "events"), json={**event(company), **fields}, timeout=10
    )
    error_of(answer, status, field)


def test_companies_do_not_see_each_others_pushes(live_server) -> None:
    mine, theirs = new_company(live_server), new_company(live_server)
    push(live_server, theirs, snap(recent(), service=f"secret-{uuid.uuid4().hex[:6]}"))
    body = live_server.client().get(api(live_server, "health"), params={"company": mine}, timeout=30).json()
    assert body["services"] == []
