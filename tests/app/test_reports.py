"""The Reports page: a company's period summary over a picked range, and a report generated on demand."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from calmops.store import cursor
from tests.app.conftest import NOW
from tests.app.test_incidents import use_replayed_world

REPORTS = "pages/reports.py"


@pytest.fixture
def replayed() -> Iterator[list[str]]:
    yield from use_replayed_world()


def test_the_period_summary_and_a_download(replayed, app) -> None:
    company, other = replayed
    at = app(company, page=REPORTS, timezone="UTC")
    at.run()
    assert not at.exception, at.exception
    at.date_input(key=f"reports_period_{company}").set_value(
        (NOW.date() - timedelta(days=1), NOW.date())
    ).run()
    assert not at.exception, at.exception
    (stored,) = (
        cursor()
        .execute(
            "SELECT count(*) FROM incidents WHERE company = ? AND started_at >= ?",
            [company, NOW.replace(hour=0) - timedelta(days=1)],
        )
        .fetchall()[0]
    )
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Incidents"] == str(stored) and stored > 0
    by_service = at.dataframe[1].value
    assert by_service["Incidents"].sum() == stored
    text = " ".join(str(m.value) for m in at.markdown)
    assert "Open threshold proposals" in text
    other_name = cursor().execute("SELECT name FROM companies WHERE company = ?", [other]).fetchall()[0][0]
    assert other_name not in text
    at.selectbox(key=f"reports_format_{company}").set_value("md").run()
    at.button(key=f"reports_generate_{company}").click().run()
    assert not at.exception, at.exception
    labels = [b.label for b in at.get("download_button")]
    assert any(
        label.startswith(f"Download calmops-period-{company}-") and label.endswith(".md") for label in labels
    )
