"""`POST /api/ops/alerts` against a real server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.server
BODY = json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "alerts" / "alertmanager_v4.json").read_text()
)


def test_a_webhook_opens_incidents_once(live_server) -> None:
    url = f"{live_server.url}/api/ops/alerts"
    first = requests.post(url, params={"company": "bluebird-logistics"}, json=BODY, timeout=30)
    assert first.status_code == 200, first.text
    ids = first.json()["incidents"]
    again = requests.post(url, params={"company": "bluebird-logistics"}, json=BODY, timeout=30).json()
    assert again["incidents"] == ids and again["duplicates"] == 2
    incident = requests.get(
        f"{live_server.url}/api/ops/incidents/{ids[1]}", params={"company": "bluebird-logistics"}, timeout=30
    ).json()
    assert incident["timeline"][0]["kind"] == "detected" and incident["service"] == "dispatch-worker"


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
    answer = requests.post(f"{live_server.url}/api/ops/alerts", params=params, json=body, timeout=30)
    assert answer.status_code == status and "error" in answer.json()


def test_malformed_json_is_a_400(live_server) -> None:
    answer = requests.post(
        f"{live_server.url}/api/ops/alerts",
        params={"company": "bluebird-logistics"},
        data=b"{not json",
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert answer.status_code == 400 and "JSON" in answer.json()["error"]
