"""The period report on a replayed demo world: counts recomputed in SQL, every format, one company
only; and the API's answers over real HTTP (the session's server)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader

from calmops.reports import period
from calmops.reports.fmt import duration
from calmops.store import cursor, unit_of_work
from tests.app.conftest import NOW
from tests.app.test_incidents import use_replayed_world

SINCE, UNTIL = NOW - timedelta(days=2), NOW + timedelta(hours=1)
MARK = "Zürich <b>tag</b> *{}*"


def _add(company: str, marker: str) -> None:
    """A manual incident, automatic actions with verdicts and an escalation, in ``company``."""
    cur = cursor()
    with unit_of_work(cur):
        (iid,) = cur.execute(
            """INSERT INTO incidents (company, title, service, severity, status, source, pattern, started_at,
                   detected_at, acknowledged_at, escalated_at, escalation_reason, updated_at)
               VALUES (?, ?, 'api', 'critical', 'acknowledged', 'manual', 'queue_backlog', ?, ?, ?, ?, ?, ?)
               RETURNING id""",
            [
                company,
                f"{marker} {MARK}",
                NOW - timedelta(hours=3),
                NOW - timedelta(hours=3),
                NOW - timedelta(hours=2, minutes=50),
                NOW - timedelta(hours=2),
                f"{marker} reason",
                NOW,
            ],
        ).fetchall()[0]
        for action, outcome, verdict in (
            ("scale_workers", "succeeded", "effective"),
            ("scale_workers", "succeeded", "no_effect"),
            ("scale_workers", "skipped", None),
            ("rotate_logs", "failed", "worse"),
        ):
            cur.execute(
                """INSERT INTO action_attempts (company, incident_id, service, action, risk, kind,
                   requested_by, requested_at, outcome, verdict)
                   VALUES (?, ?, 'api', ?, 'safe', 'auto', 'agent', ?, ?, ?)""",
                [company, iid, action, NOW - timedelta(hours=2, minutes=55), outcome, verdict],
            )
        cur.execute(
            """INSERT INTO incident_events (company, incident_id, ts, kind, actor, message, data)
               VALUES (?, ?, ?, 'escalated', 'lead', 'Escalated', ?)""",
            [company, iid, NOW - timedelta(hours=2), json.dumps({"reason": f"{marker} reason"})],
        )


@pytest.fixture
def world() -> Iterator[list[str]]:
    """The replayed demo world (two companies), each with marked incidents, actions and escalations."""
    gen = use_replayed_world()
    slugs = next(gen)
    _add(slugs[0], "ALPHA-MARK")
    _add(slugs[1], "BETA-MARK")
    yield slugs
    gen.close()


def _sql_counts(company: str, column: str) -> dict:
    rows = (
        cursor()
        .execute(
            f"SELECT {column}, count(*) FROM incidents WHERE company = ? "
            "AND started_at >= ? AND started_at < ? GROUP BY 1",
            [company, SINCE, UNTIL],
        )
        .fetchall()
    )
    return dict(rows)


def test_period_data_matches_sql_in_every_format(world) -> None:
    company, other = world
    data = period.period_data(cursor(), company=company, since=SINCE, until=UNTIL)
    assert data["schema"] == "calmops.period-report/1"
    assert {r["key"]: r["count"] for r in data["by_pattern"]} == _sql_counts(
        company, "coalesce(pattern, 'unknown')"
    )
    assert {r["key"]: r["count"] for r in data["by_service"]} == _sql_counts(company, "service")
    assert {r["key"]: r["count"] for r in data["by_severity"]} == _sql_counts(company, "severity")
    total = sum(_sql_counts(company, "company").values())
    assert data["totals"]["incidents"] == total == len(data["incidents"]) >= 5
    assert sum(r["incidents"] for r in data["trend"]) == total and data["period"]["bucket"] == "day"
    (tta,) = (
        cursor()
        .execute(
            "SELECT median(epoch(acknowledged_at) - epoch(detected_at)) FROM incidents "
            "WHERE company = ? AND started_at >= ? AND started_at < ?",
            [company, SINCE, UNTIL],
        )
        .fetchall()[0]
    )
    assert data["totals"]["median_tta_s"] == pytest.approx(tta, abs=0.1)
    actions = {a["action"]: a for a in data["actions"]}
    assert actions["scale_workers"] | {} == {
        "action": "scale_workers",
        "attempts": 2,
        "succeeded": 2,
        "failed": 0,
        "skipped": 1,
        "effective": 1,
        "no_effect": 1,
        "worse": 0,
        "pending": 0,
    }
    assert actions["rotate_logs"]["worse"] == 1 and actions["rotate_logs"]["failed"] == 1
    assert data["escalations"] == {"count": 1, "reasons": [{"reason": "ALPHA-MARK reason", "count": 1}]}
    assert data["proposals"] and all(p["id"].startswith("rule-") for p in data["proposals"])

    rendered = {fmt: period.render(data, fmt) for fmt in period.FORMATS}
    assert json.loads(rendered["json"]) == data
    md = rendered["md"].decode()
    assert "ALPHA-MARK Zürich &lt;b>tag&lt;/b> \\*\\{\\}\\*" in md
    assert f"| {period.md(data['by_service'][0]['key'])} | {data['by_service'][0]['count']} |" in md
    assert duration(data["totals"]["median_ttr_s"]) in md
    page = rendered["html"].decode()
    assert "Zürich &lt;b&gt;tag&lt;/b&gt;" in page and "<b>tag</b>" not in page
    assert "<script src=" not in page and "Plotly.newPlot('chart-by_pattern'" in page
    assert len(rendered["html"]) < 8 * 1024 * 1024
    reader = PdfReader(io.BytesIO(rendered["pdf"]))
    text = " ".join(" ".join((p.extract_text() or "") for p in reader.pages).split())
    assert "ALPHA-MARK Zürich <b>tag</b>" in text and "ALPHA-MARK reason" in text
    assert sum(len(p.images) for p in reader.pages) >= 2  # the breakdowns and the trend
    names = [
        r[0] for r in cursor().execute("SELECT name FROM companies WHERE company = ?", [other]).fetchall()
    ]
    other_services = {
        r[0] for r in cursor().execute("SELECT service FROM services WHERE company = ?", [other]).fetchall()
    } - {
        r[0] for r in cursor().execute("SELECT service FROM services WHERE company = ?", [company]).fetchall()
    }
    for blob in (rendered["json"].decode(), md, page, text):
        assert "BETA-MARK" not in blob and other not in blob
        assert not any(n in blob for n in names)
        assert not any(f'"{s}"' in blob for s in other_services)
    assert period.file_name(data, "pdf") == f"calmops-period-{company}-20261124T1200Z-20261126T1300Z.pdf"


def test_bad_periods_and_unknown_company(world) -> None:
    from calmops.companies import UnknownCompanyError

    with pytest.raises(period.PeriodError):
        period.period_data(cursor(), company=world[0], since=UNTIL, until=SINCE)
    with pytest.raises(UnknownCompanyError):
        period.period_data(cursor(), company="nobody-here", since=SINCE, until=UNTIL)
    long = period.period_data(cursor(), company=world[0], since=NOW - timedelta(days=60), until=UNTIL)
    assert long["period"]["bucket"] == "week"


@pytest.mark.server
def test_the_api_answers_files_and_errors(live_server) -> None:
    api, url = live_server.client(), "reports/period"
    company = sorted({c for c, _ in live_server.tokens if c})[0]  # a demo company (tests add others)
    now = datetime.now(UTC)
    since, until = (
        (now - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        now.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    ok = {"company": company, "since": since, "until": until}
    for fmt, kind in (
        ("json", "application/json"),
        ("md", "text/markdown"),
        ("html", "text/html"),
        ("pdf", "application/pdf"),
    ):
        answer = api.get(url, params={**ok, "format": fmt}, timeout=60)
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith(kind)
        assert f'filename="calmops-period-{company}-' in answer.headers["content-disposition"]
        assert answer.headers["content-disposition"].endswith(f'.{fmt}"')
    body = api.get(url, params=ok, timeout=60).json()
    assert body["company"]["company"] == company and body["totals"]["incidents"] >= 1
    for params, status, field in (
        ({**ok, "format": "docx"}, 400, "format"),
        ({**ok, "since": "yesterday"}, 400, "since"),
        ({**ok, "since": "2026-11-01T00:00:00"}, 400, "since"),
        ({**ok, "since": until, "until": since}, 400, "until"),
        ({"company": company, "until": until}, 400, "since"),
        ({**ok, "company": "nobody-here"}, 404, "company"),
        ({**ok, "company": ""}, 400, "company"),
    ):
        answer = api.get(url, params=params, timeout=60)
        assert answer.status_code == status, (params, answer.text)
        assert answer.json().get("field") == field
    viewer = live_server.client(company, "viewer")  # reading is enough for a report
    assert viewer.get(url, params=ok).status_code == 200
    others = [c for c, role in live_server.tokens if c not in (None, company) and role == "admin"]
    hidden = live_server.client(others[0], "admin").get(url, params=ok)  # another company's admin
    assert hidden.status_code == 404 and hidden.json()["error"] == f"unknown company {company!r}"
