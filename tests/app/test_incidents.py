"""The Incidents page: counts and a filterable live list of the replayed incidents, a row opens one,
the runbook's next steps when there is none, and a form to open one by hand."""

from __future__ import annotations

import atexit
import functools
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from calmops import clock
from calmops.demo.accounts import account_name
from calmops.store import Database, close_db, cursor
from tests.app.conftest import NOW, add_incident, texts

INCIDENTS = "pages/incidents.py"


@functools.cache
def replayed_world_file() -> Path:
    """One day of the demo world replayed through detection (as `calmops demo` builds it), once
    per test process; both page test modules copy it."""
    from calmops.bootstrap import build_demo

    folder = Path(tempfile.mkdtemp(prefix="calmops-replayed-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    db = Database(folder / "world.duckdb")
    build_demo(db, days=1, companies=2, services=8, step_s=60, seed=7, now=NOW)
    db.close()
    return folder / "world.duckdb"


def use_replayed_world() -> Iterator[list[str]]:
    """The replayed world in this test's CALMOPS_DB, the clock just after its newest snapshot."""
    close_db()
    shutil.copyfile(replayed_world_file(), Path(os.environ["CALMOPS_DB"]))
    clock.freeze(NOW + timedelta(seconds=20))
    yield [r[0] for r in cursor().execute("SELECT company FROM companies ORDER BY company").fetchall()]
    close_db()


@pytest.fixture
def replayed() -> Iterator[list[str]]:
    yield from use_replayed_world()


def _open(app, company: str, role: str = "operator", **params: str):
    at = app(company, page=INCIDENTS, role=role)
    for name, value in params.items():
        at.query_params[name] = value
    at.run()
    assert not at.exception, at.exception
    return at


def _key(name: str, company: str) -> str:
    return f"incidents_{name}_{company}"


def _stored(company: str) -> list[tuple]:
    return (
        cursor()
        .execute("SELECT id, title, service, severity, status FROM incidents WHERE company = ?", [company])
        .fetchall()
    )


def _ids(table) -> list[int]:
    """Incident ids from the number column, which links to each incident."""
    return [int(re.search(r"id=(\d+)$", url).group(1)) for url in table["#"]]


def _chips(table, column: str) -> list[str]:
    """A chip column (severity, status) as plain words."""
    return [next(iter(cell)) for cell in table[column]]


def _submit(at) -> None:
    next(b for b in at.button if b.label == "Open incident").click().run()


def _select_row(at, company: str, row: int):
    at.session_state[f"incident_table_{company}"] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    return at.run()


def test_replayed_incidents_are_counted_and_listed_active_first(replayed, app) -> None:
    company = replayed[0]
    stored = _stored(company)
    active = [r for r in stored if r[4] != "resolved"]
    assert stored and active, "the replayed demo day should leave history and something still going on"
    at = _open(app, company)
    said = texts(at)
    assert f"**{len(active)} active**" in said
    assert f"{len(stored) - len(active)} resolved" in said
    table = at.dataframe[0].value
    assert sorted(_ids(table)) == sorted(r[0] for r in stored)
    statuses = _chips(table, "Status")
    assert "Resolved" not in statuses[: len(active)]
    assert set(statuses[len(active) :]) == {"Resolved"}
    assert list(table.columns) == [
        "#", "Title", "Service", "Severity", "Status", "Age", "Recommended", "Summary", "Flags", "Started",
        "Affected",
    ]  # fmt: skip
    assert table["#"][0] == f"/incident?company={company}&id={_ids(table)[0]}"
    assert all(table["Summary"]) and all(" · " in r for r in table["Recommended"]), "each row has its brief"
    assert any(table["Affected"]), "dependants that joined an incident are listed"
    assert f"{len(stored)} incidents, active first" in said


def test_filters_narrow_the_table_and_the_url(replayed, app) -> None:
    company = replayed[0]
    stored = _stored(company)
    at = _open(app, company)
    at.multiselect(key=_key("status", company)).set_value(["resolved"]).run()
    table = at.dataframe[0].value
    assert len(table) == sum(r[4] == "resolved" for r in stored)
    assert set(_chips(table, "Status")) == {"Resolved"}
    assert f"{len(table)} of {len(stored)} incidents match" in texts(at)
    assert at.query_params["status"] == "resolved"
    service = at.selectbox(key=_key("service", company)).options[1]
    at.selectbox(key=_key("service", company)).set_value(service).run()
    table = at.dataframe[0].value
    assert set(table["Service"]) == {service}
    assert len(table) == sum(r[4] == "resolved" and r[2] == service for r in stored)
    at.multiselect(key=_key("status", company)).set_value([]).run()
    assert "status" not in at.query_params
    assert at.query_params["service"] == service


def test_a_time_range_counts_back_from_now(replayed, app) -> None:
    company = replayed[0]
    since = NOW + timedelta(seconds=20) - timedelta(hours=6)
    recent = (
        cursor()
        .execute("SELECT count(*) FROM incidents WHERE company = ? AND started_at >= ?", [company, since])
        .fetchall()[0][0]
    )
    at = _open(app, company)
    at.selectbox(key=_key("range", company)).set_value("24h").run()
    assert len(at.dataframe[0].value) == len(_stored(company))  # the demo world holds one day
    at.selectbox(key=_key("range", company)).set_value("custom").run()
    assert not at.exception
    at.date_input(key=_key("from", company)).set_value(NOW.date() + timedelta(days=1)).run()
    assert "No incidents match these filters." in texts(at)
    assert recent <= len(_stored(company))


def test_no_match_offers_a_reset(replayed, app) -> None:
    company = replayed[0]
    at = _open(app, company)
    at.multiselect(key=_key("severity", company)).set_value(["info"]).run()
    assert "No incidents match these filters." in texts(at)
    assert not at.dataframe
    at.button(key=f"reset_filters_{company}").click().run()
    assert not at.exception
    assert len(at.dataframe[0].value) == len(_stored(company))
    assert at.multiselect(key=_key("severity", company)).value == []
    assert "severity" not in at.query_params


def test_filters_in_a_link_are_adopted(replayed, app) -> None:
    company = replayed[0]
    at = _open(app, company, status="resolved,bogus", severity="high")
    assert at.multiselect(key=_key("status", company)).value == ["resolved"]
    table = at.dataframe[0].value
    assert set(_chips(table, "Status")) == {"Resolved"} and set(_chips(table, "Severity")) == {"High"}


def test_each_company_keeps_its_own_filters(replayed, app) -> None:
    mine, theirs = replayed
    at = app(mine, page=INCIDENTS, user="maria.lopez").run()  # a role in both companies
    at.multiselect(key=_key("status", mine)).set_value(["resolved"]).run()
    at.selectbox(key="_company_widget").set_value(theirs).run()
    assert not at.exception
    assert at.multiselect(key=_key("status", theirs)).value == []
    assert "status" not in at.query_params
    assert len(at.dataframe[0].value) == len(_stored(theirs))
    at.selectbox(key="_company_widget").set_value(mine).run()
    assert at.multiselect(key=_key("status", mine)).value == ["resolved"]
    assert at.query_params["status"] == "resolved"


def test_selecting_a_row_opens_the_incident_and_the_filters_wait(replayed, app) -> None:
    company = replayed[0]
    at = _open(app, company)
    at.multiselect(key=_key("status", company)).set_value(["resolved"]).run()
    table = at.dataframe[0].value
    chosen_id, chosen_title = _ids(table)[1], table["Title"][1]
    _select_row(at, company, 1)
    assert not at.exception, at.exception
    assert at.query_params["id"] == str(chosen_id) and at.query_params["company"] == company
    assert f"#{chosen_id}" in texts(at) and chosen_title in texts(at)
    at.switch_page(INCIDENTS).run()
    assert not at.exception
    assert at.dataframe, "back on the list, not bounced to the incident again"
    assert at.multiselect(key=_key("status", company)).value == ["resolved"]
    assert at.query_params["status"] == "resolved"
    assert set(_chips(at.dataframe[0].value, "Status")) == {"Resolved"}


def test_the_manual_form_opens_an_incident(replayed, app) -> None:
    company = replayed[0]
    at = _open(app, company)
    at.text_input(key="manual_title").input("Customers report slow label printing")
    at.selectbox(key="manual_service").set_value("web")
    at.selectbox(key="manual_severity").set_value("high")
    at.text_area(key="manual_description").input("Since 11:40, <b>three</b> customers called.")
    at.checkbox(key="manual_customer_impact").check()
    _submit(at)
    assert not at.exception, at.exception
    rows = (
        cursor()
        .execute(
            "SELECT id, service, severity, source, flags FROM incidents "
            "WHERE company = ? AND source = 'manual'",
            [company],
        )
        .fetchall()
    )
    assert len(rows) == 1
    incident_id, service, severity, _, flags = rows[0]
    assert (service, severity) == ("web", "high") and "customer_impact" in flags
    assert "needs_escalation" in flags  # customers are affected: the escalation rules flag it at once
    assert at.query_params["id"] == str(incident_id)
    assert at.success and f"Incident {incident_id} opened" in at.success[0].value
    assert f"Opened by hand by {account_name(company, 'operator')}" in texts(at)


@pytest.mark.parametrize(
    ("title", "service", "field"),
    [
        ("", "web", "Title"),
        ("Slow labels", None, "Service"),
    ],
)
def test_bad_manual_input_names_the_field(replayed, app, title, service, field) -> None:
    company = replayed[0]
    before = len(_stored(company))
    at = _open(app, company)
    at.text_input(key="manual_title").input(title)
    if service:
        at.selectbox(key="manual_service").set_value(service)
    _submit(at)
    assert not at.exception
    assert at.error and at.error[0].value.startswith(f"**{field}:**")
    assert len(_stored(company)) == before
    assert at.dataframe, "still on the list"


def test_no_incidents_says_what_to_do_next(world, app) -> None:
    at = _open(app, world[0])
    said = texts(at)
    assert "No incidents." in said
    assert ("Health page shows trouble" in said) == bool(at.warning)
    assert "Check the Health page" in said and "GET /api/ops/health" in said
    assert "Open an incident by hand" in said
    links = at.get("page_link")
    assert links and links[0].proto.page.endswith("health")
    assert not at.dataframe
    assert at.text_input(key="manual_title") is not None


def test_only_resolved_incidents_is_a_calm_empty_state_with_history(world, app) -> None:
    company = world[0]
    add_incident(company, title="Old disk alarm", service="postgres", status="resolved")
    at = _open(app, company)
    assert "No active incidents." in texts(at)
    table = at.dataframe[0].value
    assert list(table["Title"]) == ["Old disk alarm"]
    assert table["Age"][0] == "20 min"


def test_flags_and_worst_active_first(world, app) -> None:
    company = world[0]
    add_incident(company, title="Queue backlog", service="dispatch-worker", started=NOW - timedelta(hours=2))
    add_incident(
        company,
        title="Error spike after deploy",
        service="api",
        severity="critical",
        status="acknowledged",
        flags=("customer_impact", "flapping"),
        started=NOW - timedelta(hours=3),
    )
    at = _open(app, company)
    table = at.dataframe[0].value
    assert list(table["Title"]) == ["Error spike after deploy", "Queue backlog"]
    assert table["Flags"][0] == "◉ customer impact · ⚑ flapping"
    assert table["Age"][0] == "3 h"
    assert "1 critical" in texts(at)


def test_trouble_on_the_health_page_without_an_incident_is_pointed_out(world, app) -> None:
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


def test_a_viewer_reads_the_list_but_opens_no_incident(world, app) -> None:
    add_incident(world[0], title="Queue backlog", service="dispatch-worker")
    at = _open(app, world[0], role="viewer")
    assert list(at.dataframe[0].value["Title"]) == ["Queue backlog"]
    assert "Open an incident by hand" not in texts(at)
    assert not [t for t in at.text_input if t.key == "manual_title"]
