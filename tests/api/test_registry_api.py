"""Companies, services and targets over HTTP against a real server (CONTRACT.md, "HTTP API").

Registering companies takes an admin of every company, and services and targets an admin of the
company: these tests act as the installation-wide admin's token."""

from __future__ import annotations

import uuid

import pytest
import requests

pytestmark = pytest.mark.server


def api(server, path: str) -> str:
    return f"{server.url}/api/ops/{path}"


def new_company(server, name: str = "Test Freight") -> str:
    """A company of this test's own, so tests never see each other's rows."""
    slug = f"t-{uuid.uuid4().hex[:12]}"
    answer = server.client().post(api(server, "companies"), json={"company": slug, "name": name}, timeout=10)
    assert answer.status_code == 201, answer.text
    return slug


def add_service(server, company: str, service: str, **fields) -> requests.Response:
    body = {"company": company, "service": service, "kind": "api", **fields}
    return server.client().post(api(server, "services"), json=body, timeout=10)


def error_of(answer: requests.Response, status: int, field: str | None = None) -> dict:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    assert body["error"] and body.get("field") == field, body
    return body


# --- companies


def test_a_company_is_created_listed_and_not_created_twice(live_server) -> None:
    slug = f"t-{uuid.uuid4().hex[:12]}"
    answer = live_server.client().post(
        api(live_server, "companies"),
        json={"company": slug, "name": " Acme Freight ", "actor": "ops-lead"},
        timeout=10,
    )
    assert answer.status_code == 201 and answer.json() == {"company": slug, "name": "Acme Freight"}
    listed = live_server.client().get(api(live_server, "companies"), timeout=10).json()["companies"]
    assert {"company": slug, "name": "Acme Freight"} in listed
    again = live_server.client().post(
        api(live_server, "companies"), json={"company": slug, "name": "Other"}, timeout=10
    )
    error_of(again, 409)
    health = live_server.client().get(api(live_server, "health"), params={"company": slug}, timeout=30)
    assert health.status_code == 200 and health.json()["services"] == []  # a new tenant, nothing reported yet
    audit = live_server.client().get("audit", params={"company": slug, "action": "company.create"})
    assert [e["actor"] for e in audit.json()["audit"]] == ["token:tests-all-admin"]  # "actor" is ignored


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"company": "Acme Freight", "name": "Acme"}, "company"),
        ({"company": "a", "name": "Acme"}, "company"),
        ({"company": 5, "name": "Acme"}, "company"),
        ({"name": "Acme"}, "company"),
        ({"company": "fine-slug"}, "name"),
        ({"company": "fine-slug", "name": "  "}, "name"),
        ({"company": "fine-slug", "name": ["Acme"]}, "name"),
    ],
)
def test_a_bad_company_is_refused_naming_the_field(live_server, body: dict, field: str) -> None:
    error_of(live_server.client().post(api(live_server, "companies"), json=body, timeout=10), 400, field)


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (b'{"company": "x-y", ', "application/json"),  # malformed
        (b"", "application/json"),  # empty
        (b'["x-y"]', "application/json"),  # not an object
        (b"null", "application/json"),
        (b"company=x-y&name=X", "application/x-www-form-urlencoded"),  # wrong content type
        (b'{"company": "x-y", "name": "X"}', "text/csv"),
        (b"\xff\xfe\x00", "application/json"),  # not UTF-8
    ],
)
def test_malformed_write_bodies_are_400_never_500(live_server, data: bytes, content_type: str) -> None:
    for path in ("companies", "services", "targets", "events"):
        answer = live_server.client().post(
            api(live_server, path), data=data, headers={"Content-Type": content_type}, timeout=10
        )
        error_of(answer, 400)


# --- services


def test_services_with_dependencies_are_listed_as_the_contract_says(live_server) -> None:
    company = new_company(live_server)
    assert add_service(live_server, company, "postgres", kind="database").status_code == 201
    answer = add_service(
        live_server, company, "api", depends_on=["postgres"], customer_facing=True, description="Public API"
    )
    assert answer.status_code == 201, answer.text
    assert answer.json() == {
        "company": company, "service": "api", "kind": "api", "depends_on": ["postgres"],
        "customer_facing": True, "description": "Public API",
    }  # fmt: skip
    listed = (
        live_server.client().get(api(live_server, "services"), params={"company": company}, timeout=10).json()
    )
    assert listed["next"] is None
    assert [(s["service"], s["kind"], s["depends_on"], s["customer_facing"]) for s in listed["services"]] == [
        ("api", "api", ["postgres"], True),
        ("postgres", "database", [], False),
    ]
    assert all(
        {"company", "service", "kind", "depends_on", "customer_facing"} <= set(s) for s in listed["services"]
    )
    page = (
        live_server.client()
        .get(api(live_server, "services"), params={"company": company, "limit": 1}, timeout=10)
        .json()
    )
    assert [s["service"] for s in page["services"]] == ["api"] and page["next"] == "api"
    rest = (
        live_server.client()
        .get(
            api(live_server, "services"),
            params={"company": company, "limit": 1, "cursor": page["next"]},
            timeout=10,
        )
        .json()
    )
    assert [s["service"] for s in rest["services"]] == ["postgres"] and rest["next"] is None


def test_service_refusals_name_what_is_wrong(live_server) -> None:
    company = new_company(live_server)
    assert add_service(live_server, company, "db", kind="database").status_code == 201
    assert add_service(live_server, company, "api", depends_on=["db"]).status_code == 201
    unknown = error_of(
        add_service(live_server, company, "web", depends_on=["api", "cache"]), 400, "depends_on[1]"
    )
    assert "'cache'" in unknown["error"]
    error_of(add_service(live_server, company, "web", depends_on=["web"]), 400, "depends_on[0]")
    error_of(add_service(live_server, company, "web", kind="mainframe"), 400, "kind")
    error_of(add_service(live_server, company, "Web Front"), 400, "service")
    error_of(add_service(live_server, company, "web", depends_on="api"), 400, "depends_on")
    error_of(add_service(live_server, company, "web", customer_facing="yes"), 400, "customer_facing")
    error_of(add_service(live_server, company, "api"), 409)
    error_of(add_service(live_server, "no-such-company", "api"), 404, "company")
    names = [
        s["service"]
        for s in live_server.client()
        .get(api(live_server, "services"), params={"company": company}, timeout=10)
        .json()["services"]
    ]
    assert names == ["api", "db"]  # nothing refused was written


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({}, 400, "company"),
        ({"company": "no-such-company"}, 404, "company"),
        ({"company": "Bad Slug"}, 400, "company"),
    ],
)
def test_listing_services_needs_a_known_company(live_server, params: dict, status: int, field: str) -> None:
    error_of(live_server.client().get(api(live_server, "services"), params=params, timeout=10), status, field)


def test_list_limit_is_checked(live_server) -> None:
    company = new_company(live_server)
    for limit in ("0", "1001", "ten"):
        answer = live_server.client().get(
            api(live_server, "services"), params={"company": company, "limit": limit}, timeout=10
        )
        error_of(answer, 400, "limit")


# --- targets


def add_target(server, company: str, **fields) -> requests.Response:
    body = {"company": company, "service": "api", "url": "http://127.0.0.1:9/health", **fields}
    return server.client().post(api(server, "targets"), json=body, timeout=10)


def test_a_target_is_added_listed_with_its_probe_state_and_removed(live_server) -> None:
    company = new_company(live_server)
    add_service(live_server, company, "api")
    answer = add_target(live_server, company, format="prometheus", timeout_s=2, interval_s=10)
    assert answer.status_code == 201, answer.text
    target = answer.json()
    assert isinstance(target["id"], int) and target["format"] == "prometheus"
    assert (target["timeout_s"], target["interval_s"], target["last_probe_at"], target["last_ok"]) == (
        2,
        10,
        None,
        None,
    )
    second = add_target(live_server, company, url="https://api.example.com/health").json()
    assert (second["format"], second["timeout_s"], second["interval_s"]) == (None, 5, 30)
    listed = (
        live_server.client().get(api(live_server, "targets"), params={"company": company}, timeout=10).json()
    )
    assert [t["id"] for t in listed["targets"]] == [target["id"], second["id"]] and listed["next"] is None
    assert {"last_probe_at", "last_ok", "last_reason", "last_latency_ms"} <= set(listed["targets"][0])
    error_of(add_target(live_server, company), 409)

    gone = live_server.client().delete(
        api(live_server, "targets"), params={"company": company, "id": target["id"]}, timeout=10
    )
    assert gone.status_code == 204 and gone.content == b""
    by_body = live_server.client().delete(
        api(live_server, "targets"), json={"company": company, "id": second["id"]}, timeout=10
    )
    assert by_body.status_code == 204
    assert (
        live_server.client()
        .get(api(live_server, "targets"), params={"company": company}, timeout=10)
        .json()["targets"]
        == []
    )
    again = live_server.client().delete(
        api(live_server, "targets"), params={"company": company, "id": target["id"]}, timeout=10
    )
    error_of(again, 404, "id")


def test_another_companys_target_answers_404_exactly_as_a_missing_one(live_server) -> None:
    mine, theirs = new_company(live_server), new_company(live_server)
    add_service(live_server, theirs, "api")
    target = add_target(live_server, theirs).json()
    foreign = live_server.client().delete(
        api(live_server, "targets"), params={"company": mine, "id": target["id"]}, timeout=10
    )
    missing = live_server.client().delete(
        api(live_server, "targets"), params={"company": mine, "id": 10**12}, timeout=10
    )
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json()["error"].replace(str(target["id"]), "N") == missing.json()["error"].replace(
        str(10**12), "N"
    )
    listed = (
        live_server.client().get(api(live_server, "targets"), params={"company": mine}, timeout=10).json()
    )
    assert listed["targets"] == []  # and it is not listed either
    still = (
        live_server.client()
        .get(api(live_server, "targets"), params={"company": theirs}, timeout=10)
        .json()["targets"]
    )
    assert [t["id"] for t in still] == [target["id"]]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"url": "ftp://example.com/health"}, "url"),
        ({"url": "example.com/health"}, "url"),
        ({"url": ""}, "url"),
        ({"format": "xml"}, "format"),
        ({"timeout_s": 0}, "timeout_s"),
        ({"timeout_s": 120}, "timeout_s"),
        ({"timeout_s": True}, "timeout_s"),
        ({"interval_s": 1}, "interval_s"),
        ({"interval_s": 7200}, "interval_s"),
        ({"service": "unregistered"}, "service"),
        ({"service": "Not Valid"}, "service"),
    ],
)
def test_bad_targets_are_refused_naming_the_field(live_server, fields: dict, field: str) -> None:
    company = new_company(live_server)
    add_service(live_server, company, "api")
    error_of(add_target(live_server, company, **fields), 400, field)


@pytest.mark.parametrize(
    ("params", "field"),
    [({"id": "1"}, "company"), ({"company": "acme-x"}, "id"), ({"company": "acme-x", "id": "abc"}, "id")],
)
def test_delete_needs_a_company_and_a_numeric_id(live_server, params: dict, field: str) -> None:
    if "company" in params:
        params = {**params, "company": new_company(live_server)}
    error_of(live_server.client().delete(api(live_server, "targets"), params=params, timeout=10), 400, field)
