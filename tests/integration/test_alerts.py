"""Alert webhooks on a real store: mapping, idempotent resends, resolution, truncation, bad input."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from calmops import alerts, companies, incidents
from calmops.store import Database, unit_of_work
from calmops.vocabulary import IncidentStatus
from tests.people import person

SENDER = person("token:alertmanager", "ingest", "acme")

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "alerts"
NOW = datetime(2026, 11, 26, 22, 5, tzinfo=UTC)


def payload(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture
def cur(db: Database):
    cursor = db.cursor()
    with unit_of_work(cursor):
        companies.create_company(cursor, company="acme", name="Acme", now=NOW)
        companies.add_service(cursor, company="acme", service="api", kind="api", now=NOW)
    return cursor


def send(cur, body: dict, now: datetime = NOW) -> alerts.Received:
    parsed, truncated = alerts.parse(body)
    with unit_of_work(cur):
        return alerts.receive(cur, company="acme", alerts=parsed, truncated=truncated, now=now, actor=SENDER)


def test_alertmanager_labels_annotations_and_severity_are_mapped(cur) -> None:
    parsed, truncated = alerts.parse(payload("alertmanager_v4.json"))
    assert truncated == 0 and [a.service for a in parsed] == ["api", "dispatch-worker"]
    assert all(a.severity == "critical" and a.source == "alertmanager" for a in parsed)
    assert parsed[0].title == "API error rate above 10% (api)" and parsed[0].ends_at is None
    assert parsed[1].starts_at == datetime(2026, 11, 26, 21, 0, 30, tzinfo=UTC)  # +01:00 understood
    assert parsed[0].labels["team"] == "platform"  # common labels merged in


def test_grafana_is_recognised(cur) -> None:
    parsed, _ = alerts.parse(payload("grafana_v1.json"))
    assert (
        parsed[0].source == "grafana" and parsed[0].service == "postgres" and parsed[0].severity == "warning"
    )


def test_resending_a_group_changes_nothing(cur) -> None:
    first = send(cur, payload("alertmanager_v4.json"))
    assert len(first.incidents) == 2 and first.duplicates == 0
    before = cur.execute("SELECT count(*) FROM incident_events").fetchall()[0][0]
    for _ in range(3):
        again = send(cur, payload("alertmanager_v4.json"))
        assert again.incidents == first.incidents and again.duplicates == 2
    assert cur.execute("SELECT count(*) FROM incident_events").fetchall()[0][0] == before
    assert len(incidents.list_incidents(cur, company="acme")) == 2
    # the unknown dispatch service was registered so the incident has a home
    assert "dispatch-worker" in {s.service for s in companies.list_services(cur, company="acme")}


def test_a_resolved_alert_moves_its_incident_to_monitoring_and_a_new_start_opens_another(cur) -> None:
    body = payload("alertmanager_v4.json")
    opened = send(cur, body).incidents
    resolved = copy.deepcopy(body)
    resolved["alerts"][0]["status"] = "resolved"
    resolved["alerts"][0]["endsAt"] = "2026-11-26T22:04:00Z"
    send(cur, resolved)
    first = incidents.get_incident(cur, company="acme", incident_id=opened[0])
    assert first.summary.status == IncidentStatus.MONITORING
    assert [e.kind for e in first.timeline][-2:] == ["alert", "recovered"]
    later = copy.deepcopy(body)
    later["alerts"][0]["startsAt"] = "2026-11-26T23:30:00Z"
    newer = send(cur, later).incidents
    assert newer[0] not in opened


def test_truncated_alerts_are_recorded(cur) -> None:
    body = payload("alertmanager_v4.json")
    body["truncatedAlerts"] = 7
    result = send(cur, body)
    assert result.truncated == 7
    notes = cur.execute("SELECT message FROM incident_events WHERE kind = 'alert'").fetchall()
    assert any("7 more alert" in n[0] for n in notes)
    assert (
        cur.execute("SELECT count(*) FROM audit_log WHERE action = 'alerts.truncated'").fetchall()[0][0] == 1
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b.update(alerts=[]), "alerts"),
        (lambda b: b["alerts"][1].update(status="pending"), "alerts[1].status"),
        (lambda b: b["alerts"][0].update(startsAt="yesterday"), "alerts[0].startsAt"),
        (lambda b: b["alerts"][0].update(startsAt="2026-11-26T21:58:00"), "alerts[0].startsAt"),
        (lambda b: b["alerts"][0].update(labels=["x"]), "alerts[0].labels"),
        (lambda b: b.update(version="3"), "version"),
    ],
)
def test_bad_payloads_name_the_field_and_write_nothing(cur, change, field: str) -> None:
    body = payload("alertmanager_v4.json")
    change(body)
    with pytest.raises(alerts.AlertError) as error:
        alerts.parse(body)
    assert error.value.field == field
    assert cur.execute("SELECT count(*) FROM alerts").fetchall()[0][0] == 0
