"""The HTTP API against a real server process (CONTRACT.md, "HTTP API")."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import requests

pytestmark = pytest.mark.server
ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def test_companies_lists_the_demo_tenants(live_server) -> None:
    answer = live_server.client().get("companies")
    assert answer.status_code == 200
    companies = answer.json()["companies"]
    assert len(companies) >= 3
    assert all(set(c) == {"company", "name"} for c in companies)


def test_health_for_one_company_runs_a_round_and_answers_the_contract(live_server) -> None:
    viewer = live_server.client("bluebird-logistics", "viewer")
    company = viewer.get("companies").json()["companies"][0]["company"]  # a demo company: its own
    before = datetime.now(UTC) - timedelta(seconds=1)
    answer = viewer.get("health", params={"company": company})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["company"] == company
    assert body["status"] in {"ok", "degraded", "down"}
    assert ISO_Z.match(body["checked_at"])
    assert isinstance(body["open_incidents"], int)
    assert body["collector"]["ok"] is True and ISO_Z.match(body["collector"]["last_round_at"])
    services = {s["service"]: s for s in body["services"]}
    assert {"web", "api", "dispatch-worker", "tracking-ingest", "carrier-gateway", "billing", "postgres",
            "redis"} <= set(services)  # fmt: skip
    for svc in services.values():
        assert svc["status"] in {"ok", "degraded", "down", "unknown"}
        assert ISO_Z.match(svc["last_seen"])
        assert "up" in svc["metrics"] and isinstance(svc["metrics"]["up"], float)
    newest = max(datetime.fromisoformat(s["last_seen"].replace("Z", "+00:00")) for s in services.values())
    assert newest >= before.replace(microsecond=0) - timedelta(seconds=5)  # the round wrote fresh data


def test_health_without_company_covers_every_company(live_server) -> None:
    body = live_server.client().get("health").json()
    assert ISO_Z.match(body["checked_at"])
    demo = {c for c, _ in live_server.tokens if c}  # other tests add companies without services
    assert demo <= {c["company"] for c in body["companies"]}
    assert all(c["services"] for c in body["companies"] if c["company"] in demo)


@pytest.mark.parametrize(
    ("company", "status"),
    [("no-such-company", 404), ("Not A Slug!", 400), ("", 400)],
)
def test_health_for_a_bad_company_is_a_json_error(live_server, company: str, status: int) -> None:
    answer = live_server.client().get("health", params={"company": company})
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json()["field"] == "company" and answer.json()["error"]


def test_unknown_api_route_is_a_json_404(live_server) -> None:
    answer = live_server.client().get("nothing-here")
    assert answer.status_code == 404 and "error" in answer.json()


@pytest.mark.parametrize("page", ["health", "incidents"])
def test_runbook_paths_redirect_to_pages(live_server, page: str) -> None:
    answer = requests.get(f"{live_server.url}/company/acme-x/ops/{page}", allow_redirects=False, timeout=10)
    assert answer.status_code in (302, 307)
    assert answer.headers["location"] == f"/{page}?company=acme-x"


def test_the_incident_link_keeps_its_id(live_server) -> None:
    answer = requests.get(
        f"{live_server.url}/company/acme-x/ops/incident", params={"id": 42}, allow_redirects=False, timeout=10
    )
    assert answer.status_code == 307 and answer.headers["location"] == "/incident?company=acme-x&id=42"
