"""Validation and writing of pushed snapshots and events; registry commands; the collector's side
of targets (``list_targets``, ``record_results``)."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from calmops import clock, companies, detect, ingest, targets
from calmops.companies import AlreadyExistsError, InvalidError, NotFoundError, UnknownCompanyError
from calmops.errors import NotFound
from calmops.health.probe import ProbeResult, Target
from calmops.store import Database
from tests.people import person

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
TS = "2026-11-26T11:59:00Z"
T = person("t")  # an admin of every company, setting things up
PUSHER = person("t", "ingest", "acme")  # an ingest token of acme


@pytest.fixture
def cur(db: Database):
    clock.freeze(NOW)
    cur = db.cursor()
    companies.add_company(cur, company="acme", name="Acme", actor=person("test"))
    companies.add_company(cur, company="other", name="Other", actor=person("test"))
    return cur


def snap(**fields) -> dict:
    return {"service": "api", "metric": "cpu_pct", "ts": TS, "value": 41.5, **fields}


def body(*items: dict, company: str = "acme") -> dict:
    return {"company": company, "snapshots": list(items)}


def count(cur, sql: str, params: list | None = None) -> int:
    return cur.execute(sql, params or []).fetchall()[0][0]


# --- labels


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        (None, ""),
        ("", ""),
        ({}, ""),
        ({"method": "get", "code": "500"}, 'code="500",method="get"'),
        ('method="get",code="500"', 'code="500",method="get"'),
        ('{ method = "get" , code="500", }', 'code="500",method="get"'),
        ({"path": 'a"b\\c\nd'}, 'path="a\\"b\\\\c\\nd"'),
        ('path="a\\"b\\\\c\\nd"', 'path="a\\"b\\\\c\\nd"'),
        ({"a": "", "b": "1"}, 'b="1"'),  # an empty label is no label, as in Prometheus
        ([("b", "2"), ("a", "1")], 'a="1",b="2"'),
    ],
)
def test_labels_become_one_canonical_string(given, canonical: str) -> None:
    assert ingest.canonical_labels(given) == canonical
    assert ingest.canonical_labels(canonical) == canonical  # canonical text is a fixed point


@pytest.mark.parametrize(
    "bad",
    ['code=500', 'code="500" method="get"', 'code="500",code="501"', '1x="a"', 'a="\\t"', {"a": 5},
     {"a-b": "1"}, {"__name__": "x"}, 42, ["a"]],
)  # fmt: skip
def test_malformed_labels_are_refused(bad) -> None:
    with pytest.raises(InvalidError) as err:
        ingest.canonical_labels(bad, field="snapshots[0].labels")
    assert err.value.field.startswith("snapshots[0].labels")


# --- snapshot validation: all or nothing, the field named


def test_a_valid_batch_is_canonicalised() -> None:
    clock.freeze(NOW)
    batch = ingest.snapshot_batch(
        body(snap(), snap(service="db", metric="http_requests_total", labels={"code": "500"}, value=3,
                          ts="2026-11-26T12:59:00+01:00"))
    )  # fmt: skip
    assert batch.company == "acme" and batch.services == ("api", "db")
    assert batch.rows[1] == (
        "acme",
        "db",
        "http_requests_total",
        'code="500"',
        NOW - timedelta(minutes=1),
        3.0,
    )
    assert isinstance(batch.rows[1][5], float) and batch.newest == NOW - timedelta(minutes=1)


@pytest.mark.parametrize(
    ("item", "field"),
    [
        (snap(ts=1764158340), "snapshots[1].ts"),  # a number
        (snap(ts="2026-11-26T11:59:00"), "snapshots[1].ts"),  # no zone
        (snap(ts="yesterday"), "snapshots[1].ts"),
        (snap(ts="2026-11-26T13:00:00Z"), "snapshots[1].ts"),  # an hour in the future
        (snap(value=True), "snapshots[1].value"),
        (snap(value="41"), "snapshots[1].value"),
        (snap(value=float("nan")), "snapshots[1].value"),
        (snap(value=float("inf")), "snapshots[1].value"),
        (snap(value=None), "snapshots[1].value"),
        (snap(value=10**400), "snapshots[1].value"),
        (snap(metric="cpu-pct"), "snapshots[1].metric"),
        (snap(metric=""), "snapshots[1].metric"),
        (snap(metric=["cpu"]), "snapshots[1].metric"),
        (snap(service="API"), "snapshots[1].service"),
        (snap(service=["api"]), "snapshots[1].service"),
        (snap(labels="code=500"), "snapshots[1].labels"),
        (snap(unit="%"), "snapshots[1].unit"),
        ("not an object", "snapshots[1]"),
    ],
)
def test_a_bad_snapshot_is_named_by_its_field(item, field: str) -> None:
    clock.freeze(NOW)
    with pytest.raises(InvalidError) as err:
        ingest.snapshot_batch(body(snap(), item))
    assert err.value.field == field, err.value.message


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ([], None),
        ({"company": "acme"}, "snapshots"),
        ({"company": "acme", "snapshots": []}, "snapshots"),
        ({"company": "acme", "snapshots": {"service": "api"}}, "snapshots"),
        ({"company": "Acme!", "snapshots": [snap()]}, "company"),
        ({"snapshots": [snap()]}, "company"),
        ({"company": "acme", "snapshots": [snap()], "extra": 1}, "extra"),
    ],
)
def test_a_bad_push_body_is_refused(given, field: str | None) -> None:
    with pytest.raises(InvalidError) as err:
        ingest.snapshot_batch(given)
    assert err.value.field == field


def test_a_batch_over_the_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ingest, "MAX_SNAPSHOTS", 3)
    clock.freeze(NOW)
    assert len(ingest.snapshot_batch(body(*[snap()] * 3)).rows) == 3
    with pytest.raises(InvalidError, match="at most 3"):
        ingest.snapshot_batch(body(*[snap()] * 4))


# --- writing a push


def test_push_writes_once_registers_unknown_services_and_counts_duplicates(cur) -> None:
    first = ingest.push(cur, batch=ingest.snapshot_batch(body(snap(), snap(service="new-svc"))), actor=PUSHER)
    assert (first.accepted, first.duplicates, first.registered) == (2, 0, ("api", "new-svc"))
    kinds = dict(cur.execute("SELECT service, kind FROM services WHERE company = 'acme'").fetchall())
    assert kinds == {"api": "other", "new-svc": "other"}
    assert count(cur, "SELECT count(*) FROM audit_log WHERE action = 'service.register' AND actor = 't'") == 2
    again = ingest.push(
        cur,
        batch=ingest.snapshot_batch(body(snap(value=99.0), snap(ts="2026-11-26T11:58:00Z"))),
        actor=PUSHER,
    )
    assert (again.accepted, again.duplicates, again.registered) == (1, 1, ())
    values = cur.execute(
        "SELECT value FROM health_snapshots WHERE company = 'acme' AND ts = ?", [NOW - timedelta(minutes=1)]
    )
    assert sorted(v[0] for v in values.fetchall()) == [41.5, 41.5]  # the first value stands


def test_a_push_for_an_unknown_company_writes_nothing(cur) -> None:
    with pytest.raises(UnknownCompanyError):
        ingest.push(cur, batch=ingest.snapshot_batch(body(snap(), company="ghost")), actor=person("root"))
    with pytest.raises(NotFound):  # acme's token knows no other company, real or not
        ingest.push(cur, batch=ingest.snapshot_batch(body(snap(), company="ghost")), actor=PUSHER)
    assert count(cur, "SELECT count(*) FROM health_snapshots") == 0
    assert count(cur, "SELECT count(*) FROM services") == 0


def test_concurrent_pushes_of_one_batch_store_it_once(db: Database) -> None:
    clock.freeze(NOW)
    companies.add_company(db.cursor(), company="acme", name="Acme", actor=person("test"))
    batch = ingest.snapshot_batch(body(*(snap(service=f"svc-{i}", value=float(i)) for i in range(50))))
    barrier = threading.Barrier(4)

    def push() -> ingest.PushResult:
        barrier.wait()
        return ingest.push(db.cursor(), batch=batch, actor=PUSHER)  # each thread: its own cursor

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: push(), range(4)))
    assert sum(r.accepted for r in results) == 50 and sum(r.duplicates for r in results) == 150
    assert count(db.cursor(), "SELECT count(*) FROM services WHERE company = 'acme'") == 50


def test_detection_hears_of_fresh_snapshots_only_and_its_failure_is_not_the_pusher(
    cur, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    calls = []

    def hook(*, company, until, cur=None):
        calls.append((company, until))
        raise RuntimeError("detection broke")

    monkeypatch.setattr(detect, "after_ingest", hook, raising=False)
    batch = ingest.snapshot_batch(body(snap()))
    with caplog.at_level(logging.ERROR, logger="calmops.ingest"):
        assert ingest.push(cur, batch=batch, actor=PUSHER).accepted == 1
    assert calls == [("acme", NOW - timedelta(minutes=1))] and "detection broke" in caplog.text
    ingest.push(cur, batch=batch, actor=PUSHER)  # nothing new: nothing to judge
    assert len(calls) == 1


def test_detection_requests_during_a_run_fold_into_one_more_run(monkeypatch: pytest.MonkeyPatch) -> None:
    calls, started, release = [], threading.Event(), threading.Event()

    def hook(*, company, services, until):
        calls.append((company, services, until))
        if len(calls) == 1:  # the first run stays busy until released
            started.set()
            release.wait(5)

    monkeypatch.setattr(ingest, "after_ingest", hook)
    first = threading.Thread(
        target=ingest.detect_soon, kwargs={"company": "acme", "services": ["api"], "until": NOW}
    )
    first.start()
    assert started.wait(5)
    for i, service in enumerate(["db", "web", "db"]):  # arrive while the first run is busy
        ingest.detect_soon(company="acme", services=[service], until=NOW + timedelta(minutes=i))
    ingest.detect_soon(company="other", services=["x"], until=NOW)  # another company is not held up
    release.set()
    first.join(5)
    assert calls == [
        ("acme", ["api"], NOW),
        ("other", ["x"], NOW),
        ("acme", ["db", "web"], NOW + timedelta(minutes=2)),
    ]
    ingest.detect_soon(company="acme", services=["api"], until=NOW)  # nothing pending: runs at once
    assert len(calls) == 4


def test_prometheus_samples_are_stamped_now_and_nan_is_skipped(cur) -> None:
    from calmops.health.parsers import Sample

    samples = [Sample("queue_depth", "", 5.0), Sample("http_requests_total", 'code="500"', 3.0),
               Sample("x", "", float("nan"))]  # fmt: skip
    batch = ingest.samples_batch(company="acme", service="worker", samples=samples)
    assert batch.skipped == 1 and {r[4] for r in batch.rows} == {NOW}
    assert ingest.push(cur, batch=batch, actor=PUSHER).accepted == 2
    with pytest.raises(InvalidError):
        ingest.samples_batch(company="acme", service="worker", samples=[Sample("x", "", float("nan"))])


# --- events


def test_an_event_is_validated_stored_and_audited(cur) -> None:
    event = ingest.record_event(
        cur,
        event=ingest.event_in({"company": "acme", "service": "api", "kind": "deploy", "ts": TS,
                               "description": "api 2.4.1", "version": "2.4.1", "actor": "ignored"}),
        actor=person("token:ci", "ingest", "acme"),
    )  # fmt: skip
    assert event.to_json() == {"id": event.id, "company": "acme", "service": "api", "kind": "deploy",
                               "ts": TS, "description": "api 2.4.1", "version": "2.4.1"}  # fmt: skip
    assert (
        count(cur, "SELECT count(*) FROM audit_log WHERE action = 'event.create' AND actor = 'token:ci'") == 1
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [({"kind": "restart"}, "kind"), ({"ts": "2026-11-26"}, "ts"), ({"ts": None}, "ts"),
     ({"description": 5}, "description"), ({"description": None}, "description"), ({"version": 2}, "version"),
     ({"service": "A B"}, "service"),
     ({"company": "x"}, "company"), ({"colour": "red"}, "colour")],
)  # fmt: skip
def test_a_bad_event_is_named_by_its_field(change: dict, field: str) -> None:
    clock.freeze(NOW)
    given = {"company": "acme", "service": "api", "kind": "deploy", "ts": TS, "description": "", **change}
    with pytest.raises(InvalidError) as err:
        ingest.event_in(given)
    assert err.value.field == field


def test_an_event_needs_a_description() -> None:
    with pytest.raises(InvalidError) as err:
        ingest.event_in({"company": "acme", "service": "api", "kind": "deploy", "ts": TS})
    assert err.value.field == "description"


# --- registry commands


def test_services_name_known_upstreams_and_never_loop(cur) -> None:
    companies.register_service(cur, company="acme", service="db", kind="database", actor=T)
    api = companies.register_service(cur, company="acme", service="api", kind="api", depends_on=["db", "db"],
                                     customer_facing=True, actor=T)  # fmt: skip
    assert api.depends_on == ("db",) and api.customer_facing
    with pytest.raises(InvalidError, match="'cache'") as err:
        companies.register_service(
            cur, company="acme", service="web", kind="web", depends_on=["api", "cache"], actor=T
        )
    assert err.value.field == "depends_on[1]"
    with pytest.raises(InvalidError, match="itself"):
        companies.register_service(
            cur, company="acme", service="web", kind="web", depends_on=["web"], actor=T
        )
    with pytest.raises(AlreadyExistsError):
        companies.register_service(cur, company="acme", service="api", kind="api", actor=T)
    with pytest.raises(UnknownCompanyError):
        companies.register_service(cur, company="ghost", service="api", kind="api", actor=person("root"))
    for bad, field in [
        ({"kind": "mainframe"}, "kind"), ({"service": "-api"}, "service"),
        ({"customer_facing": "yes"}, "customer_facing"), ({"depends_on": "db"}, "depends_on"),
    ]:  # fmt: skip
        with pytest.raises(InvalidError) as err:
            companies.register_service(
                cur, **{"company": "acme", "service": "x", "kind": "api", **bad}, actor=T
            )
        assert err.value.field == field
    assert [s.service for s in companies.list_services(cur, company="acme")] == ["api", "db"]


def test_a_dependency_loop_is_found_through_the_graph() -> None:
    graph = {"api": {"db"}, "db": {"cache"}}
    assert companies.find_cycle(graph, "cache", ["api"]) == ["cache", "api", "db", "cache"]
    assert companies.find_cycle(graph, "web", ["api"]) is None


def test_a_company_is_created_once_with_a_name(cur) -> None:
    with pytest.raises(AlreadyExistsError):
        companies.add_company(cur, company="acme", name="Acme again", actor=T)
    with pytest.raises(InvalidError) as err:
        companies.add_company(cur, company="fresh", name="   ", actor=T)
    assert err.value.field == "name"
    assert count(cur, "SELECT count(*) FROM audit_log WHERE action = 'company.create'") == 2


# --- targets


def test_targets_are_validated(cur) -> None:
    companies.register_service(cur, company="acme", service="api", kind="api", actor=T)
    ok = {"company": "acme", "service": "api", "url": "https://api.example.com/health"}
    for bad, field in [
        ({"url": "ftp://x/health"}, "url"), ({"url": "http:///nohost"}, "url"), ({"url": "//x/h"}, "url"),
        ({"url": "http://x/a b"}, "url"), ({"url": 5}, "url"), ({"format": "xml"}, "format"),
        ({"timeout_s": 0.05}, "timeout_s"), ({"timeout_s": 61}, "timeout_s"),
        ({"timeout_s": "5"}, "timeout_s"),
        ({"interval_s": 4}, "interval_s"), ({"interval_s": 3601}, "interval_s"),
        ({"timeout_s": 30, "interval_s": 10}, "timeout_s"), ({"service": "nope"}, "service"),
    ]:  # fmt: skip
        with pytest.raises(InvalidError) as err:
            targets.add_target(cur, **{**ok, **bad}, actor=T)
        assert err.value.field == field, bad
    created = targets.add_target(cur, **ok, format="health+json", timeout_s=2, interval_s=15, actor=T)
    assert (created.format, created.timeout_s, created.interval_s) == ("health+json", 2.0, 15.0)
    with pytest.raises(AlreadyExistsError):
        targets.add_target(cur, **ok, actor=T)


def test_the_collector_reads_targets_and_records_every_probe(cur) -> None:
    companies.register_service(cur, company="acme", service="api", kind="api", actor=T)
    companies.register_service(cur, company="other", service="api", kind="api", actor=T)
    mine = targets.add_target(cur, company="acme", service="api", url="http://127.0.0.1:9/h", actor=T)
    theirs = targets.add_target(cur, company="other", service="api", url="http://127.0.0.1:9/h", actor=T)
    listed = targets.list_targets(cur)
    assert listed == [mine.probe_target(), theirs.probe_target()] and isinstance(listed[0], Target)
    assert targets.list_targets(cur, company="other") == [theirs.probe_target()]

    def result(at: datetime, ok: bool, reason: str | None) -> ProbeResult:
        return ProbeResult(mine.probe_target(), ok, reason, None, 12.5, [], at, None if not ok else 200,
                           "json" if ok else None)  # fmt: skip

    later, earlier = result(NOW, False, "connection refused"), result(NOW - timedelta(minutes=1), True, None)
    assert targets.record_results(cur, [later, earlier]) == 2
    state = targets.target_states(cur, company="acme")[0]
    assert (state.last_probe_at, state.last_ok, state.last_reason) == (NOW, False, "connection refused")
    log = targets.probe_log(cur, company="acme")
    assert [(r.ok, r.reason) for r in log] == [(False, "connection refused"), (True, "")]
    assert targets.probe_log(cur, company="other") == []


def test_another_companys_target_is_as_unknown_as_a_missing_one(cur) -> None:
    companies.register_service(cur, company="other", service="api", kind="api", actor=T)
    theirs = targets.add_target(cur, company="other", service="api", url="http://127.0.0.1:9/h", actor=T)
    for company, target_id in (("acme", theirs.id), ("acme", 10**9)):
        with pytest.raises(NotFoundError):
            targets.remove_target(cur, company=company, id=target_id, actor=T)
    targets.remove_target(cur, company="other", id=str(theirs.id), actor=T)
    assert targets.list_targets(cur) == []
