"""The Audit page: the log of the replayed world's writes, filterable, with its CSV export."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from calmops import audit
from calmops.store import cursor
from tests.app.test_incidents import use_replayed_world

AUDIT = "pages/audit.py"


@pytest.fixture
def replayed() -> Iterator[list[str]]:
    yield from use_replayed_world()


def test_the_log_is_shown_filtered_and_exportable(replayed, app) -> None:
    company = replayed[0]
    at = app(company, page=AUDIT)
    at.run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    stored = audit.entries(cursor(), company=company, limit=audit.MAX_ROWS)
    assert 0 < len(table) <= len(stored)
    assert set(table["Who"]) <= {e.actor for e in stored}
    assert any(b.label == "Download CSV" for b in at.get("download_button"))
    actor = table["Who"][0]
    at.selectbox(key=f"audit_actor_{company}").set_value(actor).run()
    assert set(at.dataframe[0].value["Who"]) == {actor}
    at.selectbox(key=f"audit_range_{company}").set_value("All time").run()
    assert len(at.dataframe[0].value) == len(audit.entries(cursor(), company=company, actor=actor,
                                                           limit=audit.MAX_ROWS))  # fmt: skip
