"""`/api/ops/incidents` against a real server over a demo world whose history was replayed.

A viewer reads, an operator opens incidents and starts scenarios; another company's ids are tried
with an admin of every company (who may see both), and with a token of one company."""

from __future__ import annotations

import pytest
import requests

pytestmark = pytest.mark.server


def get(server, path: str, **params) -> requests.Response:
    return server.client(params.get("company"), "viewer").get(path, params=params)


def test_the_replayed_history_left_incidents_most_of_them_resolved(live_server) -> None:
    body = get(live_server, "incidents", company="northwind-freight", limit=1000).json()
    found = body["incidents"]
    assert len(found) >= 5 and body["next"] is None
    statuses = [i["status"] for i in found]
    assert statuses.count("resolved") > len(found) / 2
    first = found[0]
    assert set(first) >= {
        "id",
        "title",
        "service",
        "severity",
        "status",
        "started_at",
        "detected_at",
        "flags",
    }
    assert found == sorted(found, key=lambda i: (i["started_at"], i["id"]), reverse=True)


def test_filters_and_pages(live_server) -> None:
    resolved = get(live_server, "incidents", company="northwind-freight", status="resolved").json()[
        "incidents"
    ]
    assert resolved and all(i["status"] == "resolved" for i in resolved)
    first = get(live_server, "incidents", company="northwind-freight", limit=2).json()
    assert len(first["incidents"]) == 2 and first["next"]
    second = get(live_server, "incidents", company="northwind-freight", limit=2, cursor=first["next"]).json()
    assert not {i["id"] for i in first["incidents"]} & {i["id"] for i in second["incidents"]}
    bad = get(live_server, "incidents", company="northwind-freight", status="sleeping")
    assert bad.status_code == 400 and bad.json()["field"] == "status"
    bad = get(live_server, "incidents", company="northwind-freight", since="yesterday")
    assert bad.status_code == 400 and bad.json()["field"] == "since"


def test_one_incident_with_its_timeline_and_tenant_isolation(live_server) -> None:
    incident = get(live_server, "incidents", company="northwind-freight", status="resolved").json()[
        "incidents"
    ][0]
    body = get(live_server, f"incidents/{incident['id']}", company="northwind-freight").json()
    kinds = [e["kind"] for e in body["timeline"]]
    assert kinds[0] == "detected" and "resolved" in kinds and "acknowledged" in kinds
    assert [e["ts"] for e in body["timeline"]] == sorted(e["ts"] for e in body["timeline"])
    assert body["services"][0] == body["service"]
    admin = live_server.client()
    other = admin.get(f"incidents/{incident['id']}", params={"company": "cedar-couriers"})
    missing = admin.get("incidents/999999999", params={"company": "cedar-couriers"})
    assert other.status_code == missing.status_code == 404
    assert other.json().keys() == missing.json().keys()
    outsider = live_server.client("cedar-couriers", "admin")
    theirs = outsider.get(f"incidents/{incident['id']}", params={"company": "northwind-freight"})
    nowhere = outsider.get(f"incidents/{incident['id']}", params={"company": "no-such-company"})
    assert theirs.status_code == nowhere.status_code == 404
    assert theirs.json() == {
        **nowhere.json(),
        "error": nowhere.json()["error"].replace("no-such-company", "northwind-freight"),
    }


def test_an_incident_opened_by_hand(live_server) -> None:
    before = len(get(live_server, "incidents", company="cedar-couriers", limit=1000).json()["incidents"])
    operator = live_server.client("cedar-couriers", "operator")
    made = operator.post(
        "incidents",
        json={
            "company": "cedar-couriers",
            "title": "Customers report missing tracking updates",
            "service": "tracking-ingest",
            "severity": "high",
            "description": "Two tickets since 09:10",
            "customer_impact": True,
            "actor": "alice",
        },
        timeout=30,
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["status"] == "open" and body["severity"] == "high" and "customer_impact" in body["flags"]
    who = "token:tests-cedar-couriers-operator"  # the token's name, not the body's "actor"
    assert body["timeline"][0]["kind"] == "detected" and body["timeline"][0]["actor"] == who
    for wrong, field in [
        ({"severity": "sev1"}, "severity"),
        ({"service": "nope"}, "service"),
        ({"title": ""}, "title"),
    ]:
        payload = {"company": "cedar-couriers", "title": "x", "service": "web", "severity": "info", **wrong}
        answer = operator.post("incidents", json=payload)
        assert answer.status_code == 400 and answer.json()["field"] == field
    after = len(get(live_server, "incidents", company="cedar-couriers", limit=1000).json()["incidents"])
    assert after == before + 1


def test_scenarios_start_list_and_stop_through_the_api_and_the_cli(live_server) -> None:
    import subprocess
    import sys

    from tests.servers import ROOT

    url = f"{live_server.url}/api/ops/scenarios"
    operator = live_server.client("cedar-couriers", "operator")
    started = operator.post(
        url,
        json={
            "company": "cedar-couriers",
            "service": "redis",
            "pattern": "latency_regression",
            "action": "start",
        },
        timeout=30,
    )
    assert started.status_code == 201, started.text
    listed = operator.get(url, params={"company": "cedar-couriers"}).json()
    assert {"service": "redis", "pattern": "latency_regression"}.items() <= listed["scenarios"][0].items()
    env = {
        "CALMOPS_URL": live_server.url,
        "CALMOPS_TOKEN": live_server.token("cedar-couriers", "operator"),
        "PATH": "/usr/bin:/bin",
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "calmops",
            "scenario",
            "stop",
            "latency_regression",
            "--company",
            "cedar-couriers",
            "--service",
            "redis",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and "stopped on redis" in done.stdout, done.stderr
    assert operator.get(url, params={"company": "cedar-couriers"}).json()["scenarios"] == []
    wrong = operator.post(
        url,
        json={"company": "cedar-couriers", "service": "web", "pattern": "disk_filling", "action": "start"},
        timeout=30,
    )
    assert wrong.status_code == 400 and "disk_pct" in wrong.json()["error"]
