"""The Incident page's escalation and customer-message panels (AppTest): the reasons shown, the
pre-filled form escalating, and a customer message written, approved and sent — its text inert."""

from __future__ import annotations

from datetime import timedelta

from calmops import incidents, notify
from calmops.demo.accounts import account_name
from calmops.store import cursor
from calmops.workflow import customer
from tests.app.conftest import NOW, add_incident, texts

INCIDENT = "pages/incident.py"
XSS = '<script>alert("x")</script> **bold** [link](http://evil) :red[red]'


def _open(app, company: str, incident_id: int, role: str):
    at = app(company, page=INCIDENT, role=role)
    at.query_params["id"] = str(incident_id)
    at.run()
    assert not at.exception, at.exception
    return at


def _click(at, label: str):
    button = next(b for b in at.button if b.label == label)
    button.click().run()
    assert not at.exception, at.exception
    return at


def test_escalation_reasons_and_the_prefilled_form(world, app) -> None:
    company = world[0]
    service = (
        cursor().execute("SELECT service FROM services WHERE company = ? LIMIT 1", [company]).fetchall()[0][0]
    )
    incident_id = add_incident(
        company, title="Checkout fails", service=service, severity="critical", flags=("customer_impact",),
        started=NOW - timedelta(minutes=45),
    )  # fmt: skip
    at = _open(app, company, incident_id, "operator")
    said = texts(at)
    assert "The escalation rules apply" in said and "Critical and unresolved for 45 min" in said
    assert "Customers are affected" in said
    reason = at.text_input(key=f"escalate_reason_{incident_id}")
    assert "Critical and unresolved" in reason.value
    assert at.text_area(key=f"escalate_note_{incident_id}").value.startswith(f"Incident #{incident_id}")
    reason.input("Customers cannot pay")
    _click(at, "Escalate")
    said = texts(at)
    assert "Escalated; the notification was recorded" in said
    assert "Escalated to the technical lead" in said and "Customers cannot pay" in said
    detail = incidents.get_incident(cursor(), company=company, incident_id=incident_id)
    assert "escalated" in detail.summary.flags and detail.timeline[-1].kind == "escalated"
    assert notify.recent(cursor(), company=company, kind="escalation")[0].status == "recorded"


def test_customer_message_written_approved_and_sent_stays_inert(world, app) -> None:
    company = world[0]
    service = (
        cursor().execute("SELECT service FROM services WHERE company = ? LIMIT 1", [company]).fetchall()[0][0]
    )
    incident_id = add_incident(company, title="Slow", service=service, flags=("customer_impact",))
    at = _open(app, company, incident_id, "lead")
    at.text_area(key=f"customer_text_{incident_id}").input(XSS)
    at.selectbox(key=f"customer_state_{incident_id}").select("identified")
    _click(at, "Save version")
    assert "Saved a new version." in texts(at)
    assert [t.value for t in at.text] == [XSS]  # plain text, exactly as typed
    assert "<script>" not in texts(at)  # never markdown or HTML
    _click(at, "Approve version 1")
    assert "Version 1 approved." in texts(at)
    _click(at, "Send to the status page")
    assert "Version 1 sent." in texts(at)
    (message,) = customer.versions(cursor(), company=company, incident_id=incident_id)
    assert (message.status, message.approved_by, message.sent_by, message.text) == (
        "sent",
        account_name(company, "lead"),
        account_name(company, "lead"),
        XSS,
    )
    sent = notify.recent(cursor(), company=company, kind="customer_message")
    assert sent[0].status == "recorded" and sent[0].text == XSS  # the demo world: recorded, not sent


def test_an_operator_writes_the_customer_message_but_a_lead_approves_it(world, app) -> None:
    company = world[0]
    service = (
        cursor().execute("SELECT service FROM services WHERE company = ? LIMIT 1", [company]).fetchall()[0][0]
    )
    incident_id = add_incident(company, title="Slow", service=service, flags=("customer_impact",))
    at = _open(app, company, incident_id, "operator")
    at.text_area(key=f"customer_text_{incident_id}").input("We are looking into slow pages.")
    _click(at, "Save version")
    assert "Saved a new version." in texts(at)
    assert not [b for b in at.button if b.label.startswith("Approve version")]
    assert "approve or send what customers read needs a lead" in texts(at)
