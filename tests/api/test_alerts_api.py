"""`POST /api/ops/alerts` against a real server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.server
BODY = json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "alerts" / "alertmanager_v4.json").read_text()
)


def test_a_webhook_opens_incidents_once(live_server) -> None:
    sender = live_server.client("bluebird-logistics", "ingest")
    first = sender.post("alerts", params={"company": "bluebird-logistics"}, json=BODY)
    assert first.status_code == 200, first.text
    ids = first.json()["incidents"]
    again = sender.post("alerts", params={"company": "bluebird-logistics"}, json=BODY).json()
    assert again["incidents"] == ids and again["duplicates"] == 2
    reader = live_server.client("bluebird-logistics", "viewer")
    incident = reader.get(f"incidents/{ids[1]}", params={"company": "bluebird-logistics"}).json()
    assert incident["timeline"][0]["kind"] == "detected" and incident["service"] == "dispatch-worker"
    assert incident["timeline"][0]["actor"] == "token:tests-bluebird-logistics-ingest"


@pytest.mark.parametrize(
    ("params", "body", "status"),
    [
        ({"company": "no-such-company"}, BODY, 404),
        ({}, BODY, 400),
        ({"company": "bluebird-logistics"}, {"alerts": "nope"}, 400),
        ({"company": "bluebird-logistics"}, [1, 2], 400),
    ],
)
def test_bad_webhooks_are_json_errors(live_server, params, body, status) -> None:
    answer = live_server.client().post("alerts", params=params, json=body)
    assert answer.status_code == status and "error" in answer.json()


def test_malformed_json_is_a_400(live_server) -> None:
    answer = live_server.client("bluebird-logistics", "ingest").post(
        "alerts",
        params={"company": "bluebird-logistics"},
        data=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert answer.status_code == 400 and "JSON" in answer.json()["error"]
