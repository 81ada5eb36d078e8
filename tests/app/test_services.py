"""The Services page: catalogue, dependency graph by health, and the two registration forms."""

from __future__ import annotations

import json

from calmops.companies import Service, list_services
from calmops.demo.accounts import account_name
from calmops.store import cursor
from calmops.ui.services import crossings, graph_nodes, layers
from calmops.vocabulary import ServiceKind
from tests.app.conftest import texts

SERVICES = "pages/services.py"


def _open(app, company: str, role: str | None = "admin", user: str | None = None):
    at = app(company, page=SERVICES, role=role, user=user).run()
    assert not at.exception, at.exception
    return at


def _submit(at, label: str):
    next(b for b in at.button if b.label == label).click()
    at.run()
    assert not at.exception, at.exception
    return at


def _graph_names(at) -> set[str]:
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    return {name for trace in spec["data"] for name in trace.get("text") or ()}


def test_catalogue_and_graph_of_the_company_in_the_url(world, app) -> None:
    company = world[1]
    at = _open(app, company)
    services = list_services(cursor(), company=company)
    assert at.query_params["company"] == company
    assert "Services ·" in texts(at)
    assert f"**{len(services)} services**" in texts(at)
    assert _graph_names(at) == {s.service for s in services}
    table = at.dataframe[0].value
    assert list(table["Service"]) == [s.service for s in services]
    upstream = next(s for s in services if s.depends_on)
    row = table[table["Service"] == upstream.depends_on[0]].iloc[0]
    assert upstream.service in row["Dependants"]


def test_layers_put_stores_at_the_bottom_and_every_arrow_points_down() -> None:
    def svc(name: str, kind: ServiceKind, *deps: str) -> Service:
        return Service("c", name, kind, kind == ServiceKind.WEB, "", deps)

    services = [
        svc("web", ServiceKind.WEB, "api"),
        svc("api", ServiceKind.API, "db", "cache"),
        svc("worker", ServiceKind.WORKER, "db", "partner"),
        svc("db", ServiceKind.DATABASE),
        svc("cache", ServiceKind.CACHE),
        svc("partner", ServiceKind.EXTERNAL),
        svc("lonely", ServiceKind.WORKER),
    ]
    layer = layers(services)
    assert layer["db"] == layer["cache"] == layer["partner"] == 0
    assert layer["lonely"] == layer["api"] == layer["worker"] == 1 and layer["web"] == 2
    nodes = {n.service: n for n in graph_nodes(services, None)}
    for s in services:
        for upstream in s.depends_on:
            assert nodes[upstream].y < nodes[s.service].y
    edges = [(s.service, u) for s in services for u in s.depends_on]
    assert crossings(edges, {n: node.x for n, node in nodes.items()}) == 0
    assert {n.status.value for n in nodes.values()} == {"unknown"}


def test_register_a_service(world, app) -> None:
    company = world[0]
    at = _open(app, company)
    at.text_input(key="svc_name").input("ledger")
    at.selectbox(key="svc_kind").select("worker")
    at.multiselect(key="svc_depends_on").select("postgres")
    at.checkbox(key="svc_customer_facing").check()
    at.text_input(key="svc_description").input("Keeps the books")
    _submit(at, "Register service")
    created = {s.service: s for s in list_services(cursor(), company=company)}["ledger"]
    assert created.depends_on == ("postgres",) and created.customer_facing
    assert created.kind == ServiceKind.WORKER and created.description == "Keeps the books"
    assert "ledger" in _graph_names(at)
    assert any("ledger" in s.value for s in at.success)
    assert at.text_input(key="svc_name").value == ""
    actor = (
        cursor()
        .execute("SELECT actor FROM audit_log WHERE action = 'service.create' AND entity_id = 'ledger'")
        .fetchall()
    )
    assert actor == [(account_name(company, "admin"),)]


def test_a_bad_service_names_the_field(world, app) -> None:
    company = world[0]
    at = _open(app, company)
    before = len(list_services(cursor(), company=company))
    at.text_input(key="svc_name").input("Not A Name!")
    _submit(at, "Register service")
    assert "**Name:**" in at.error[0].value
    at.text_input(key="svc_name").input("postgres")
    _submit(at, "Register service")
    assert "**Name:**" in at.error[0].value and "already exists" in at.error[0].value
    assert len(list_services(cursor(), company=company)) == before


def test_register_a_company_and_switch_to_it(world, app) -> None:
    at = _open(app, world[0], user="admin")  # the installation's admin: every company, new ones too
    at.text_input(key="svc_company_slug").input("acme-freight")
    at.text_input(key="svc_company_name").input("Acme Freight")
    _submit(at, "Register company")
    assert at.query_params["company"] == "acme-freight"
    said = texts(at)
    assert "Acme Freight" in said and "No services registered yet" in said
    rules = cursor().execute("SELECT count(*) FROM rules WHERE company = 'acme-freight'").fetchall()[0][0]
    assert rules > 0
    at.text_input(key="svc_company_slug").input("Bad Slug")
    at.text_input(key="svc_company_name").input("x")
    _submit(at, "Register company")
    assert "**Slug:**" in at.error[0].value
