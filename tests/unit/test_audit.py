"""The audit log read back: filters, paging, and a CSV that keeps user text as data."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from calmops import audit, companies, incidents
from calmops.store import Database, unit_of_work

T0 = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


def _write(cur, n: int) -> None:
    with unit_of_work(cur):
        companies.create_company(cur, company="acme", name="Acme", now=T0)
        companies.create_company(cur, company="other", name="Other", now=T0)
        for i in range(n):
            incidents.audit(
                cur, company="acme", ts=T0 + timedelta(minutes=i), actor="maria" if i % 2 else "sam",
                action="resolve" if i % 3 == 0 else "note", entity="incident", entity_id=i,
                after={"note": f"n{i}"},
            )  # fmt: skip
        incidents.audit(
            cur, company="other", ts=T0, actor="eve", action="note", entity="incident", entity_id=1
        )


def test_filters_are_exact_paged_newest_first_and_scoped_to_the_company(db: Database) -> None:
    cur = db.cursor()
    _write(cur, 10)
    everything = audit.entries(cur, company="acme")
    assert [e.id for e in everything] == sorted((e.id for e in everything), reverse=True)
    assert all(e.actor != "eve" for e in everything)
    assert {e.actor for e in audit.entries(cur, company="acme", actor="maria")} == {"maria"}
    assert len(audit.entries(cur, company="acme", action="resolve")) == 4
    assert audit.entries(cur, company="acme", actor="maria' OR '1'='1") == []  # a bound parameter, not SQL
    late = audit.entries(cur, company="acme", since=T0 + timedelta(minutes=5))
    assert len(late) == 5
    first = audit.entries(cur, company="acme", limit=3)
    rest = audit.entries(cur, company="acme", before_id=first[-1].id)
    assert len(first) == 3 and len(rest) == len(everything) - 3


def test_csv_export_keeps_formulas_inert(db: Database) -> None:
    cur = db.cursor()
    _write(cur, 3)
    with unit_of_work(cur):
        incidents.audit(cur, company="acme", ts=T0, actor='=HYPERLINK("http://x")', action="note",
                        entity="incident", entity_id="-1+2")  # fmt: skip
    rows = list(csv.reader(io.StringIO(audit.to_csv(audit.entries(cur, company="acme")))))
    assert rows[0] == list(audit.CSV_COLUMNS)
    assert rows[1][2] == '\'=HYPERLINK("http://x")' and rows[1][5] == "'-1+2"
    assert not any(cell[:1] in "=+-@" for row in rows for cell in row if cell)
