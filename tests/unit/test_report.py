"""The post-incident report on the replayed demo world: one incident taken through a decision, an
escalation, a customer message and resolution (with hostile text in a title, a note and the message),
then rendered in every format; the JSON validates against its schema; nothing of another company."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from calmops import agent, reports, workflow
from calmops.reports.markdown import escape
from calmops.store import close_db, cursor, get_db
from calmops.workflow import customer, escalation
from tests.app.test_incidents import use_replayed_world
from tests.people import person

SCHEMA = Path(__file__).resolve().parents[2] / "calmops" / "reports" / "incident-report.schema.json"
XSS_TITLE = '<script>alert("title")</script> [click](javascript:alert(1)) ![x](http://evil.example/x.png)'
XSS_NOTE = '<img src=x onerror=alert("note")> <script>alert("note")</script> [a](https://evil.example)'
XSS_MESSAGE = '<script>alert("message")</script> <a href="javascript:alert(2)">help</a> | col | =1+1'


@pytest.fixture(scope="module")
def world(tmp_path_factory, request):
    """The replayed world, once for this module, with one incident worked end to end."""
    mp = pytest.MonkeyPatch()
    path = tmp_path_factory.mktemp("report") / "calmops.duckdb"
    mp.setenv("CALMOPS_DB", str(path))
    mp.setenv("CALMOPS_PUBLIC_URL", "https://ops.example.com")
    worlds = use_replayed_world()
    companies = next(worlds)
    company, other = companies[0], companies[1]
    db, cur = get_db(), cursor()
    incident_id = next(
        r[0]
        for r in cur.execute(
            "SELECT id FROM incidents WHERE company = ? AND status <> 'resolved' ORDER BY id", [company]
        ).fetchall()
    )
    cur.execute("UPDATE incidents SET title = ? WHERE id = ?", [XSS_TITLE, incident_id])
    rec = next(
        r
        for r in agent.recommendations(cur, company=company, incident_id=incident_id)
        if r["status"] == "proposed"
    )
    workflow.approve(db, company=company, incident_id=incident_id, recommendation_id=rec["id"],
                     expected_version=rec["version"], actor=person("maria.lopez"), note=XSS_NOTE,
                     confirm=True)  # fmt: skip
    workflow.add_note(db, company=company, incident_id=incident_id, actor=person("sam.okafor"), text=XSS_NOTE)
    escalation.escalate(db, company=company, incident_id=incident_id, actor=person("sam.okafor"),
                        reason="customers are waiting", note=XSS_NOTE)  # fmt: skip
    draft = customer.draft(db, company=company, incident_id=incident_id, text=XSS_MESSAGE,
                           state="investigating", actor=person("sam.okafor"))  # fmt: skip
    customer.approve_message(
        db, company=company, incident_id=incident_id, version=draft["version"], actor=person("li.wei")
    )
    customer.mark_sent(
        db, company=company, incident_id=incident_id, version=draft["version"], actor=person("li.wei")
    )
    workflow.resolve(db, company=company, incident_id=incident_id, actor=person("sam.okafor"), note="fixed",
                     customer_impact=True)  # fmt: skip
    data = reports.report_data(cursor(), company=company, incident_id=incident_id)
    other_titles = [
        r[0]
        for r in cur.execute("SELECT DISTINCT title FROM incidents WHERE company = ?", [other]).fetchall()
    ]
    own_services = {
        r[0] for r in cur.execute("SELECT service FROM services WHERE company = ?", [company]).fetchall()
    }
    other_only = [
        r[0] for r in cur.execute("SELECT service FROM services WHERE company = ?", [other]).fetchall()
        if r[0] not in own_services
    ]  # fmt: skip
    close_db()
    yield {"path": path, "company": company, "other": other, "id": incident_id, "data": data,
           "other_titles": other_titles, "other_services": other_only}  # fmt: skip
    next(worlds, None)
    mp.undo()


@pytest.fixture(autouse=True)
def _world_store(world, monkeypatch) -> None:
    """Each test reads the worked world (the session's autouse fixture points CALMOPS_DB elsewhere)."""
    monkeypatch.setenv("CALMOPS_DB", str(world["path"]))
    monkeypatch.setenv("CALMOPS_PUBLIC_URL", "https://ops.example.com")


def test_report_data_tells_the_whole_story(world) -> None:
    data = world["data"]
    i = data["incident"]
    assert (
        data["schema"] == "calmops.incident-report/1" and i["id"] == world["id"] and i["status"] == "resolved"
    )
    assert data["link"] == f"https://ops.example.com/incident?company={world['company']}&id={world['id']}"
    assert i["time_to_resolve_s"] > 0 and i["title"] == XSS_TITLE
    assert data["brief_at_detection"]["version"] == 1 and data["brief_at_resolution"]["version"] >= 1
    assert [d["decided_by"] for d in data["decisions"]] == ["maria.lopez"] and data["decisions"][0][
        "note"
    ] == XSS_NOTE
    assert data["actions"] and data["actions"][-1]["kind"] == "approved"
    assert data["escalations"][-1]["reason"] == "customers are waiting"
    assert [m["sent"] for m in data["customer_messages"]] == [True]
    assert data["review"] and data["review"]["saved"] is False
    chart = data["charts"][0]
    assert chart["series"] and chart["series"][0]["points"] and chart["thresholds"]
    assert len(chart["series"][0]["points"][0]) == 4


def test_the_json_validates_against_its_schema(world) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    body, content_type, name = reports.render(world["data"], "json")
    assert (
        content_type == "application/json"
        and name == f"calmops-incident-{world['id']}-{world['company']}.json"
    )
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    validator.validate(json.loads(body))


def test_every_format_renders_and_an_unknown_one_is_refused(world) -> None:
    for fmt, kind in (("md", "text/markdown"), ("html", "text/html"), ("json", "application/json")):
        body, content_type, name = reports.render(world["data"], fmt)
        assert content_type.startswith(kind) and name.endswith(f".{fmt}") and body
    html = reports.render(world["data"], "html")[0]
    assert len(html) <= 8 * 1024 * 1024 and b"Plotly.newPlot" in html and b"@media print" in html
    with pytest.raises(ValueError):
        reports.render(world["data"], "docx")


def test_hostile_text_is_inert_in_html_and_markdown(world) -> None:
    html = reports.render(world["data"], "html")[0].decode()
    own = html.count("<script>")
    assert own == 2  # plotly.js and the charts: none from the data
    for payload in ("<script>alert(", "<img", '<a href="javascript', 'javascript:alert(2)">'):
        assert payload not in html
    assert "&lt;script&gt;alert(&quot;title&quot;)" in html
    md = reports.render(world["data"], "md")[0].decode()
    for payload in ("<script", "<img", "<a ", "![x]"):
        assert payload not in md
    assert not re.search(r"(?<!\\)\]\(", md)  # no link or image: every bracket from the data is escaped
    assert "&lt;script>" in md and r"\[click\]" in md
    assert escape("| a | <b>") == r"\| a \| &lt;b>" and escape("- b") == r"\- b"


def test_a_report_never_holds_another_companys_data(world) -> None:
    for fmt in ("md", "json", "html"):
        body = reports.render(world["data"], fmt)[0].decode()
        body = body.split("<script>", 1)[0] if fmt == "html" else body
        assert world["other"] not in body
        for title in world["other_titles"]:
            assert title not in body, title
        for service in world["other_services"]:
            assert not re.search(rf"\b{re.escape(service)}\b", body), service
    with pytest.raises(workflow.NotFound):
        reports.report_data(cursor(), company=world["other"], incident_id=world["id"])
    with pytest.raises(workflow.NotFound):
        reports.report_data(cursor(), company=world["company"], incident_id=10**9)


def test_the_cli_offline_writes_the_same_report(world, tmp_path, monkeypatch, capsys) -> None:
    from calmops.cli import main

    close_db()  # the CLI opens the file itself, as when no server holds it
    monkeypatch.setenv("CALMOPS_URL", "http://127.0.0.1:9")  # nothing listens there
    out = tmp_path / "r.json"
    assert (
        main(["report", str(world["id"]), "--company", world["company"], "--format", "json", "-o", str(out)])
        == 0
    )
    assert "wrote" in capsys.readouterr().err
    got = json.loads(out.read_text())
    want = reports.report_data(cursor(), company=world["company"], incident_id=world["id"])
    for body in (got, want):
        body.pop("generated_at")
    assert got == want
    assert (
        main(["report", str(world["id"]), "--company", world["other"], "--format", "md", "-o", str(out)]) == 1
    )
