"""The Incident page: one incident's header, its timeline in order, the charts of the metrics involved
with the incident shaded, and the same calm message for an unknown id and another company's."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest

from calmops import agent, clock, incidents, timefmt
from calmops.auth import system
from calmops.demo.accounts import account_name
from calmops.store import cursor, unit_of_work
from calmops.ui.brief import action_words
from calmops.ui.style import md
from tests.app.conftest import texts
from tests.app.test_incidents import use_replayed_world

INCIDENT = "pages/incident.py"


@pytest.fixture
def replayed() -> Iterator[list[str]]:
    yield from use_replayed_world()


def _open(app, company: str, incident_id: object | None, **kwargs):
    at = app(company, page=INCIDENT, **kwargs)
    if incident_id is not None:
        at.query_params["id"] = str(incident_id)
    at.run()
    assert not at.exception, at.exception
    return at


def _longest(company: str) -> int:
    """The company's incident with the longest timeline."""
    return (
        cursor()
        .execute(
            """SELECT incident_id FROM incident_events WHERE company = ?
           GROUP BY incident_id ORDER BY count(*) DESC, incident_id LIMIT 1""",
            [company],
        )
        .fetchall()[0][0]
    )


def _specs(at) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def _entries(at) -> list[str]:
    """The timeline's entries as rendered, in page order."""
    return [m.value for m in at.markdown if re.match(r"\*\*\d\d:\d\d\*\* &nbsp; :", m.value)]


def test_header_timeline_in_order_and_charts_with_the_incident_shaded(replayed, app) -> None:
    company = replayed[0]
    incident_id = _longest(company)
    detail = incidents.get_incident(cursor(), company=company, incident_id=incident_id)
    at = _open(app, company, incident_id)
    said = texts(at)
    s = detail.summary
    assert s.title in said and f"#{s.id}" in said
    assert f"**{s.service}**" in said
    assert "Started" in said and "Duration" in said and "Acknowledged" in said
    assert s.started_at.strftime("%H:%M UTC") in said
    brief = agent.current_brief(cursor(), company=company, incident_id=incident_id)
    assert md(brief["summary"]) in said  # the brief leads, as a card
    assert f"{brief['confidence']} confidence" in said and "Expected effect" in said
    assert md(action_words(brief["recommendation"]["action"]).capitalize()) in said
    entries = _entries(at)
    assert len(entries) == len(detail.timeline) >= 5
    times = [e[2:7] for e in entries]
    assert times == [e.ts.strftime("%H:%M") for e in detail.timeline] and times == sorted(times)
    labels = [re.search(r"\*\*([A-Z][a-z ]+)\*\*\]", e).group(1) for e in entries]
    assert labels[0] == "Detected" and "Acknowledged" in labels
    specs = _specs(at)
    assert len(specs) == len(incidents.involved_metrics(detail)) >= 1
    for spec in specs:
        rects = [x for x in spec["layout"]["shapes"] if x["type"] == "rect"]
        assert len(rects) == 1 and rects[0]["x0"].startswith(s.started_at.strftime("%Y-%m-%dT%H:%M"))
    assert any(x["line"].get("dash") == "dash" for spec in specs for x in spec["layout"]["shapes"])
    names = {t.get("name") for spec in specs for t in spec["data"]}
    assert s.service in names
    assert "All incidents" in at.get("page_link")[0].proto.label


def test_times_on_the_viewers_clock_with_utc_beside(replayed, app) -> None:
    company = replayed[0]
    incident_id = _longest(company)
    first = incidents.get_incident(cursor(), company=company, incident_id=incident_id).timeline[0]
    at = _open(app, company, incident_id, timezone="Asia/Kolkata")
    entry = _entries(at)[0]
    local = (first.ts + timedelta(hours=5, minutes=30)).strftime("%H:%M")
    assert entry.startswith(f"**{local}**") and first.ts.strftime("%H:%M UTC") in entry
    assert "UTC" not in _entries(_open(app, company, incident_id))[0], "no second clock for UTC viewers"


def test_raw_timeline_is_one_click_away(replayed, app) -> None:
    company = replayed[0]
    incident_id = _longest(company)
    at = _open(app, company, incident_id)
    shown = len(at.dataframe)  # the brief's current-state table
    assert "Raw timeline" in at.expander[-1].label and shown <= 1
    at.session_state[f"raw_timeline_{incident_id}"] = True
    at.run()
    assert len(at.dataframe) == shown + 1
    frame = at.dataframe[-1].value
    assert len(frame) == len(
        incidents.get_incident(cursor(), company=company, incident_id=incident_id).timeline
    )
    assert frame["UTC"][0].endswith("Z")


@pytest.mark.parametrize("raw", ["999999", "abc", "-3"])
def test_an_unknown_id_says_so_calmly(replayed, app, raw) -> None:
    at = _open(app, replayed[0], raw)
    assert f"No incident {raw} in Bluebird" in texts(at)
    assert at.get("page_link")[0].proto.page.endswith("incidents")
    assert not at.get("plotly_chart")


def test_no_id_at_all(replayed, app) -> None:
    at = _open(app, replayed[0], None)
    assert "No incident chosen." in texts(at)


def test_another_companys_incident_looks_exactly_like_an_unknown_one(replayed, app) -> None:
    mine, theirs = replayed
    their_id = _longest(theirs)
    at = _open(app, mine, their_id)
    said = texts(at)
    assert f"No incident {their_id} in Bluebird" in said
    title = incidents.get_incident(cursor(), company=theirs, incident_id=their_id).summary.title
    assert title not in said


def test_a_manual_incident_charts_the_key_metrics_and_escapes_messages(replayed, app) -> None:
    company = replayed[0]
    with unit_of_work() as cur:
        incident_id = incidents.create_manual(
            cur, company=company, title="Labels **print** slowly", service="web", severity="warning",
            description="Three calls", customer_impact=True, actor=system("Ada"), now=clock.now(),
        )  # fmt: skip
        incidents.add_event(
            cur, company=company, incident_id=incident_id, ts=clock.now(), kind="alert", actor="grafana",
            message="[click](http://evil.example) <script>x()</script> :red[boom]", outcome="resolved",
        )  # fmt: skip
    at = _open(app, company, incident_id)
    said = texts(at)
    assert "Labels \\*\\*print\\*\\* slowly" in said
    assert "customer impact" in said and "opened by hand" in said
    alert = _entries(at)[-1]
    assert "\\[click\\](http\\://evil.example) \\<script\\>x()\\</script\\> \\:red\\[boom\\]" in alert
    assert ":green-badge[resolved]" in alert
    titles = [spec["layout"]["title"]["text"] for spec in _specs(at)]
    assert titles == ["<b>Error rate</b>", "<b>Latency p95</b>", "<b>Up</b>"]
    assert "running" in said


def test_a_resolved_incident_shows_how_long_it_took(replayed, app) -> None:
    company = replayed[0]
    row = (
        cursor()
        .execute(
            "SELECT id, started_at, resolved_at FROM incidents "
            "WHERE company = ? AND status = 'resolved' LIMIT 1",
            [company],
        )
        .fetchall()[0]
    )
    at = _open(app, company, row[0])
    said = texts(at)
    assert f"**{timefmt.duration(row[2] - row[1])}**" in said and "until resolved" in said


def test_a_very_long_timeline_folds_its_middle(replayed, app) -> None:
    company = replayed[0]
    incident_id = _longest(company)
    start = clock.now() - timedelta(hours=3)
    with unit_of_work() as cur:
        for minute in range(60):
            incidents.add_event(
                cur, company=company, incident_id=incident_id, ts=start + timedelta(minutes=minute),
                kind="reminder", message=f"Still going, check {minute}",
            )  # fmt: skip
    total = len(incidents.get_incident(cursor(), company=company, incident_id=incident_id).timeline)
    at = _open(app, company, incident_id)
    assert len(_entries(at)) == 30
    assert "Still going, check 59" in _entries(at)[-1]
    toggle = at.toggle(key=f"timeline_all_{incident_id}")
    assert toggle.label == f"Show the {total - 30} entries in between"
    toggle.set_value(True).run()
    assert len(_entries(at)) == total


def test_a_start_in_the_future_is_explained_not_charted(replayed, app) -> None:
    company = replayed[0]
    ahead = clock.now() + timedelta(hours=3)
    with unit_of_work() as cur:
        incident_id = incidents.open_incident(
            cur, company=company, title="Alert from a skewed clock", service="api", severity="warning",
            started_at=ahead, detected_at=clock.now(), source="alert", message="Alert firing from grafana",
        )  # fmt: skip
    at = _open(app, company, incident_id)
    assert "start lies in the future" in texts(at)
    assert not at.get("plotly_chart")


def _deciding(company: str) -> tuple[int, dict] | None:
    """An active incident whose brief has a proposed recommendation, and that recommendation."""
    for (incident_id,) in (
        cursor()
        .execute("SELECT id FROM incidents WHERE company = ? AND status <> 'resolved' ORDER BY id", [company])
        .fetchall()
    ):
        brief = agent.current_brief(cursor(), company=company, incident_id=incident_id)
        if brief and brief["recommendation"]["status"] == "proposed":
            return incident_id, brief["recommendation"]
    return None


def test_the_operator_decides_the_recommendation_through_the_form(replayed, app) -> None:
    company, incident_id, rec = next((c, *found) for c in replayed if (found := _deciding(c)) is not None)
    at = _open(app, company, incident_id)  # a viewer: reads the brief, decides nothing
    assert not [b for b in at.button if b.label in ("Approve", "Decline", "Acknowledge")]
    assert "You are a viewer here: read-only." in texts(at)
    at = _open(app, company, incident_id, role="operator")
    decline = next(b for b in at.button if b.label == "Decline")
    decline.click().run()  # without the reason a decline needs
    assert not at.exception
    assert "note is required" in texts(at)
    assert agent.current_brief(cursor(), company=company, incident_id=incident_id)["recommendation"][
        "status"
    ] == ("proposed")
    next(t for t in at.text_input if t.label == "Note").set_value("the batch is payroll, it must run")
    next(b for b in at.button if b.label == "Decline").click().run()
    assert not at.exception
    decided = agent.recommendations_by_id(cursor(), company=company, ids=[rec["id"]])[0]
    assert decided["status"] == "declined" and decided["decided_by"] == account_name(company, "operator")
    assert "Declined" in texts(at)
    timeline = incidents.get_incident(cursor(), company=company, incident_id=incident_id).timeline
    assert timeline[-1].kind in ("declined", "brief") and any(e.kind == "declined" for e in timeline)


def test_a_resolved_incident_offers_to_reopen_not_to_decide(replayed, app) -> None:
    company = replayed[0]
    incident_id = _longest(company)
    at = _open(app, company, incident_id, role="operator")
    labels = [b.label for b in at.button]
    assert "Approve" not in labels and "Reopen" in labels and "Resolve" not in labels


def _risky(company: str) -> tuple[int, dict]:
    """An active incident whose proposed recommendation is medium or high risk."""
    for (incident_id,) in (
        cursor()
        .execute("SELECT id FROM incidents WHERE company = ? AND status <> 'resolved' ORDER BY id", [company])
        .fetchall()
    ):
        brief = agent.current_brief(cursor(), company=company, incident_id=incident_id)
        rec = (brief or {}).get("recommendation") or {}
        if rec.get("status") == "proposed" and rec.get("risk") in ("medium", "high"):
            return incident_id, rec
    raise AssertionError(f"the replayed world has no risky recommendation in {company}")


def test_an_operator_cannot_approve_a_medium_risk_recommendation(replayed, app) -> None:
    company = "bluebird-logistics"
    incident_id, rec = _risky(company)
    at = _open(app, company, incident_id, role="operator")
    approve = next(b for b in at.button if b.label == "Approve")
    assert approve.disabled
    assert "needs a lead" in texts(at)
    assert not [c for c in at.checkbox if "I understand" in c.label]
    lead = _open(app, company, incident_id, role="lead")
    assert not next(b for b in lead.button if b.label == "Approve").disabled
    assert [c for c in lead.checkbox if "I understand" in c.label]
    found = agent.recommendations_by_id(cursor(), company=company, ids=[rec["id"]])[0]
    assert found["status"] == "proposed"
