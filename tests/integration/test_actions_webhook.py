"""The webhook executor against a receiver on 127.0.0.1: signature, timeout, bounded retries, no
retry of a 4xx; which executor runs; what dispatch records. No traffic leaves the machine."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from calmops import actions
from calmops.actions import executors
from calmops.companies import InvalidError, NotFoundError
from calmops.incidents import get_incident
from calmops.store import Database, unit_of_work
from calmops.store.db import Cursor
from tests.people import person
from tests.unit.test_actions_guards import COMPANY, T0, WORKER, make_world, open_one, plan, store

SECRET = "s3cret-for-the-tests-only"
ADMIN = person("ops-admin", "admin", COMPANY)


@dataclass
class Receiver:
    """A webhook receiver: answers with ``statuses`` in turn (the last one repeats) after ``delay_s``."""

    url: str
    statuses: list[int] = field(default_factory=lambda: [200])
    delay_s: float = 0.0
    requests: list[tuple[dict, bytes]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
            time.sleep(state.delay_s)
            status = state.statuses[min(len(state.requests), len(state.statuses)) - 1]
            answer = json.dumps({"received": len(state.requests), "padding": "x" * 5000}).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
            except OSError:  # the client gave up waiting
                pass

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/calmops/actions"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def cur(db: Database) -> Cursor:
    cursor = db.cursor()
    make_world(cursor)
    store(cursor, WORKER, "queue_depth", [(T0 - timedelta(minutes=m), 12_000.0) for m in range(3)])
    return cursor


@pytest.fixture(autouse=True)
def _quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(executors, "BACKOFF_S", 0.01)


def _set(cur: Cursor, url: str, **kwargs) -> actions.ExecutorConfig:
    fields = {"action": "*", "secret": SECRET, "timeout_s": 5, "retries": 2, **kwargs}
    return actions.set_executor(cur, company=COMPANY, url=url, **fields, actor=ADMIN)


def _run(db: Database, cur: Cursor, incident: int, action: str = "scale_workers") -> actions.Attempt:
    attempt = plan(cur, incident, action, T0)
    assert attempt is not None
    (done,) = actions.dispatch(db, attempt_ids=[attempt.id], now=T0 + timedelta(seconds=2))
    return done


def test_the_webhook_is_signed_with_a_timestamp_and_the_outcome_recorded(
    db: Database, cur: Cursor, receiver: Receiver
) -> None:
    _set(cur, receiver.url)
    incident = open_one(cur)
    done = _run(db, cur, incident)

    ((headers, body),) = receiver.requests
    assert json.loads(body) == {
        "company": COMPANY, "incident_id": incident, "service": WORKER, "action": "scale_workers",
        "attempt_id": done.id, "reason": "queue over 10,000 jobs", "requested_at": "2026-11-26T22:00:00Z",
    }  # fmt: skip
    timestamp, signature = headers["x-calmops-timestamp"], headers["x-calmops-signature"]
    assert signature.startswith("sha256=") and headers["x-calmops-attempt"] == str(done.id)
    assert abs(int(timestamp) - time.time()) < 60
    assert actions.verify_signature(SECRET, timestamp=timestamp, body=body, signature=signature)
    # what a receiver refuses: another body, another secret, a replayed (old) or moved timestamp
    assert not actions.verify_signature(SECRET, timestamp=timestamp, body=body + b" ", signature=signature)
    assert not actions.verify_signature(
        "another-secret-entirely", timestamp=timestamp, body=body, signature=signature
    )
    assert not actions.verify_signature(
        SECRET, timestamp=str(int(timestamp) + 1), body=body, signature=signature
    )
    assert not actions.verify_signature(
        SECRET, timestamp=timestamp, body=body, signature=signature, now=int(timestamp) + 3600
    )

    assert (done.outcome, done.executor, done.verdict) == ("succeeded", "webhook", "pending")
    assert done.response["status"] == 200 and done.response["tries"] == 1
    assert len(done.response["body"]) == executors.BODY_KEPT  # the answer is kept, truncated
    assert done.finished_at == T0 + timedelta(seconds=2)
    incident_now = get_incident(cur, company=COMPANY, incident_id=incident)
    assert incident_now.summary.status == "mitigating"  # an action works on it now
    (executed,) = [e for e in incident_now.timeline if e.kind == "executed"]
    assert (
        executed.outcome == "succeeded"
        and "answered 200" in executed.message
        and "mitigating" in executed.message
    )


def test_a_slow_receiver_times_out_and_is_not_sent_again(
    db: Database, cur: Cursor, receiver: Receiver
) -> None:
    receiver.delay_s = 1.5
    _set(cur, receiver.url, timeout_s=0.5)
    started = time.monotonic()
    done = _run(db, cur, open_one(cur))
    assert time.monotonic() - started < 1.4
    assert (done.outcome, done.verdict, len(receiver.requests)) == ("failed", None, 1)
    assert "no answer within 0.5 s" in done.detail and done.response["tries"] == 1


def test_5xx_answers_are_retried_a_bounded_number_of_times(
    db: Database, cur: Cursor, receiver: Receiver
) -> None:
    receiver.statuses = [503]
    _set(cur, receiver.url, retries=2)
    incident = open_one(cur)
    done = _run(db, cur, incident)
    assert len(receiver.requests) == 3 and done.outcome == "failed"
    assert done.response["status"] == 503 and done.response["tries"] == 3
    assert get_incident(cur, company=COMPANY, incident_id=incident).summary.status == "open"
    ids = {h["x-calmops-attempt"] for h, _ in receiver.requests}
    assert ids == {str(done.id)}  # every retry names the same attempt, so a receiver can de-duplicate

    receiver.requests.clear()
    receiver.statuses = [502, 200]
    again = _run(db, cur, open_one(cur), action="rotate_logs")
    assert len(receiver.requests) == 2 and again.outcome == "succeeded" and again.response["tries"] == 2


def test_a_4xx_is_not_retried(db: Database, cur: Cursor, receiver: Receiver) -> None:
    receiver.statuses = [400]
    _set(cur, receiver.url, retries=5)
    done = _run(db, cur, open_one(cur))
    assert len(receiver.requests) == 1 and done.outcome == "failed" and "answered 400" in done.detail


def test_connection_errors_are_retried_then_fail(db: Database, cur: Cursor) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    _set(cur, f"http://127.0.0.1:{port}/hook", retries=1)
    done = _run(db, cur, open_one(cur))
    assert done.outcome == "failed" and done.response["tries"] == 2 and "cannot connect" in done.detail


def test_the_actions_own_webhook_wins_over_the_companys_default(
    db: Database, cur: Cursor, receiver: Receiver
) -> None:
    _set(cur, "http://127.0.0.1:9/never-used", action="*")
    _set(cur, receiver.url, action="scale_workers")
    assert _run(db, cur, open_one(cur)).outcome == "succeeded"
    assert len(receiver.requests) == 1


def test_without_an_executor_an_approved_attempt_is_skipped(db: Database, cur: Cursor) -> None:
    actions.remove_executor(cur, company=COMPANY, action="*", actor=ADMIN)
    incident = open_one(cur)
    done = actions.execute_approved(
        db, company=COMPANY, incident_id=incident, recommendation_id=None, action="restart_service",
        actor="dana", now=T0,
    )  # fmt: skip
    assert (done.outcome, done.verdict) == ("skipped", None)
    assert done.detail == "no executor configured for restart_service"
    assert get_incident(cur, company=COMPANY, incident_id=incident).summary.status == "open"
    assert actions.dispatch(db, attempt_ids=[done.id]) == [done]  # dispatched once only
    assert actions.dispatch(db, attempt_ids=[10**9]) == []


def test_an_approved_action_is_recorded_and_dispatched_the_same_way(
    db: Database, cur: Cursor, receiver: Receiver
) -> None:
    _set(cur, receiver.url)
    incident = open_one(cur)
    done = actions.execute_approved(
        db, company=COMPANY, incident_id=incident, recommendation_id=None, action="pause_batch_jobs",
        actor="dana", now=T0,
    )  # fmt: skip
    assert (done.kind, done.risk, done.outcome, done.requested_by) == ("approved", "low", "succeeded", "dana")
    assert (done.metric, done.before_value) == ("queue_depth", 12_000.0)  # the incident's own metric
    assert json.loads(receiver.requests[0][1])["action"] == "pause_batch_jobs"
    waiting = actions.execute_approved(
        db, company=COMPANY, incident_id=incident, recommendation_id=None, action="wait_and_watch",
        actor="dana", now=T0,
    )  # fmt: skip
    assert waiting.outcome == "skipped" and len(receiver.requests) == 1
    timeline = get_incident(cur, company=COMPANY, incident_id=incident).timeline
    assert [(e.kind, e.actor, e.outcome) for e in timeline if e.kind == "executed"] == [
        ("executed", "dana", "succeeded"), ("executed", "dana", "skipped"),
    ]  # fmt: skip
    with pytest.raises(LookupError):
        actions.execute_approved(
            db, company="other-company", incident_id=incident, recommendation_id=None, action="scale_workers",
            actor="dana", now=T0,
        )  # fmt: skip


def test_executor_configuration_is_validated_audited_and_never_lists_the_secret(cur: Cursor) -> None:
    generated = actions.set_executor(
        cur, company=COMPANY, action=None, url="https://hooks.example/calmops", actor=ADMIN
    )
    assert generated.action == "*" and len(generated.secret) >= 32
    listed = [e.to_json() for e in actions.list_executors(cur, company=COMPANY)]
    assert listed[0]["secret_hint"] == f"…{generated.secret[-4:]}" and "secret" not in listed[0]
    assert generated.secret not in json.dumps(listed)
    for bad, where in [({"url": "ftp://x"}, "url"), ({"secret": "short"}, "secret"),
                       ({"action": "drop_database"}, "action"), ({"timeout_s": 0}, "timeout_s"),
                       ({"retries": 9}, "retries")]:  # fmt: skip
        with pytest.raises(InvalidError) as refused:
            actions.set_executor(
                cur,
                **{"company": COMPANY, "action": "*", "url": "https://hooks.example/x", **bad},
                actor=ADMIN,
            )
        assert refused.value.field == where
    actions.remove_executor(cur, company=COMPANY, action="*", actor=ADMIN)
    assert actions.list_executors(cur, company=COMPANY) == []
    with pytest.raises(NotFoundError):
        actions.remove_executor(cur, company=COMPANY, action="*", actor=ADMIN)
    audited = cur.execute(
        "SELECT action, after FROM audit_log WHERE company = ? AND entity = 'executor' ORDER BY id", [COMPANY]
    ).fetchall()
    assert [a[0] for a in audited] == ["executor.set", "executor.set", "executor.delete"]  # the world's, ours
    assert generated.secret not in str(audited)


def test_concurrent_planners_run_an_action_once(db: Database, cur: Cursor) -> None:
    """Two threads planning the same action: the guard row lets one commit; the retry is refused."""
    from calmops.store.db import RACES, retry_conflicts

    incident = open_one(cur)
    barrier = threading.Barrier(4)
    results: list[object] = []

    def one() -> None:
        mine = db.cursor()
        barrier.wait()

        def work() -> object:
            with unit_of_work(mine):
                return actions.plan_auto(
                    mine, company=COMPANY, incident_id=incident, service=WORKER, action="scale_workers",
                    reason="race", metric="queue_depth", now=T0,
                )  # fmt: skip

        results.append(retry_conflicts(work, attempts=8, on=RACES))

    threads = [threading.Thread(target=one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    planned = [
        a for a in actions.list_attempts(cur, company=COMPANY, incident_id=incident) if a.outcome == "pending"
    ]
    assert len(planned) == 1 and sum(r is not None for r in results) == 1
