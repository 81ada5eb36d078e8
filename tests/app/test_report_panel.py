"""The Incident page's Report section: nothing is built until asked; Generate makes the file and
offers its download (the file's content is tested in tests/unit/test_report.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from calmops.store import cursor
from tests.app.test_incidents import use_replayed_world

INCIDENT = "pages/incident.py"


@pytest.fixture
def replayed() -> Iterator[list[str]]:
    yield from use_replayed_world()


def test_generate_then_download(app, replayed) -> None:
    company = replayed[0]
    incident_id = (
        cursor()
        .execute(
            "SELECT id FROM incidents WHERE company = ? AND status = 'resolved' ORDER BY id LIMIT 1",
            [company],
        )
        .fetchall()[0][0]
    )
    at = app(company, page=INCIDENT)
    at.query_params["id"] = str(incident_id)
    at.run()
    assert not at.exception, at.exception
    assert not at.get("download_button")
    at.selectbox(key=f"report_format_{incident_id}").select("md").run()
    next(b for b in at.button if b.key == f"report_make_{incident_id}").click().run()
    assert not at.exception, at.exception
    stored = at.session_state[f"report_file_{incident_id}"]
    assert stored["name"] == f"calmops-incident-{incident_id}-{company}.md" and stored["body"].startswith(
        b"# "
    )
    assert at.get("download_button")
