"""The Incidents page: counts and a list when there are incidents, the runbook's next steps when not."""

from __future__ import annotations

from datetime import timedelta

from tests.app.conftest import NOW, add_incident, texts

INCIDENTS = "pages/incidents.py"


def _open(app, company: str):
    at = app(company, page=INCIDENTS).run()
    assert not at.exception, at.exception
    return at


def test_no_incidents_says_what_to_do_next(world, app) -> None:
    at = _open(app, world[0])
    said = texts(at)
    assert "No incidents." in said
    assert ("Health page shows trouble" in said) == bool(at.warning)
    assert "Check the Health page" in said and "GET /api/ops/health" in said
    links = at.get("page_link")
    assert links and links[0].proto.page.endswith("health")
    assert not at.dataframe


def test_incidents_are_counted_and_listed_newest_first(world, app) -> None:
    company = world[0]
    two_days_ago = NOW - timedelta(days=2)
    add_incident(company, title="Queue backlog", service="dispatch-worker", started=NOW - timedelta(hours=2))
    add_incident(
        company,
        title="Error spike after deploy",
        service="api",
        severity="critical",
        status="acknowledged",
        flags=("customer_impact",),
        started=NOW - timedelta(minutes=12),
    )
    add_incident(company, title="Old disk alarm", service="postgres", status="resolved", started=two_days_ago)
    at = _open(app, company)
    said = texts(at)
    assert "**2 active**" in said and "1 open]" in said and "1 acknowledged]" in said
    assert "0 mitigating]" in said and "1 resolved" in said
    table = at.dataframe[0].value
    assert list(table["Title"]) == ["Error spike after deploy", "Queue backlog"]
    assert list(table["Severity"]) == ["Critical", "Warning"]
    assert table["Flags"][0] == "customer impact"
    assert table["Age"][0] == "12 min"
    assert "1 critical" in texts(at)


def test_all_shows_resolved_incidents_too(world, app) -> None:
    company = world[0]
    add_incident(company, title="Queue backlog", service="dispatch-worker")
    two_days_ago = NOW - timedelta(days=2)
    add_incident(company, title="Old disk alarm", service="postgres", status="resolved", started=two_days_ago)
    at = _open(app, company)
    at.button_group(key=f"incident_scope_{company}").set_value("all").run()
    table = at.dataframe[0].value
    assert list(table["Title"]) == ["Queue backlog", "Old disk alarm"]
    assert table["Age"][1] == "resolved after 20 min"


def test_only_resolved_incidents_is_a_calm_empty_state_with_history(world, app) -> None:
    company = world[0]
    add_incident(company, title="Old disk alarm", service="postgres", status="resolved")
    at = _open(app, company)
    assert "No active incidents." in texts(at)
    assert list(at.dataframe[0].value["Title"]) == ["Old disk alarm"]


def test_trouble_on_the_health_page_without_an_incident_is_pointed_out(world, app) -> None:
    from calmops import clock

    clock.advance(timedelta(minutes=10))  # every service unheard of for three intervals: unknown
    at = _open(app, world[0])
    said = texts(at)
    assert "The Health page shows trouble." in said and "need attention" in said
    assert "No incident covers it yet" in said


def test_incidents_of_another_company_never_show(world, app) -> None:
    add_incident(world[1], title="Somebody else's outage", service="api")
    at = _open(app, world[0])
    assert "No incidents." in texts(at)
    assert "Somebody else" not in texts(at)
