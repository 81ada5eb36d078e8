"""The Rules page: the default rules by family, editable, with the incidents each family opened lately."""

from __future__ import annotations

from datetime import timedelta

from calmops.detect.rules import DEFAULT_RULES, list_rules
from calmops.store import cursor, unit_of_work
from calmops.ui.rules import families, rule_line
from calmops.ui.style import md
from tests.app.conftest import NOW, add_incident, texts

RULES = "pages/rules.py"


def _open(app, company: str):
    at = app(company, page=RULES).run()
    assert not at.exception, at.exception
    return at


def _by_family(company: str, family: str, *, days_ago: float) -> None:
    incident = add_incident(
        company, title=f"{family} breach", service="api", started=NOW - timedelta(days=days_ago)
    )
    with unit_of_work() as cur:
        cur.execute(
            "UPDATE incidents SET rule_family = ?, detected_at = started_at WHERE id = ?", [family, incident]
        )


def test_the_default_rules_by_family_for_the_company_in_the_url(world, app) -> None:
    company = world[1]
    at = _open(app, company)
    said = texts(at)
    assert at.query_params["company"] == company
    assert "Rules ·" in said and "Edit a rule below" in said
    assert f"**{len(DEFAULT_RULES)} rules** in 9 families" in said
    rules = list_rules(cursor(), company=company)
    for rule in rules:
        assert md(rule.describe()) in said
    assert "**Error rate**" in said and ":red-badge[:material/error: Critical]" in said
    assert "clears at ≤ 0.01 (1.0%) for 2 samples · on all services" in said


def test_incidents_per_family_in_the_last_14_days(world, app) -> None:
    company = world[0]
    _by_family(company, "error_rate", days_ago=1)
    _by_family(company, "error_rate", days_ago=13)
    _by_family(company, "error_rate", days_ago=20)  # too old to count
    _by_family(world[1], "error_rate", days_ago=1)  # another company's
    _by_family(company, "up", days_ago=2)
    at = _open(app, company)
    captions = [c.value for c in at.caption]
    error_rate = next(c for c in captions if "fraction of requests" in c)
    assert "2 incidents in the last 14 days" in error_rate
    assert any("1 incident in the last 14 days" in c and "health check" in c for c in captions)
    assert "3 incidents opened by them in the last 14 days" in texts(at)


def test_a_family_lists_its_mildest_tier_first_and_greys_a_disabled_rule(world) -> None:
    company = world[0]
    with unit_of_work() as cur:
        cur.execute(
            "UPDATE rules SET enabled = false WHERE company = ? AND metric = 'cpu_pct' AND severity = 'high'",
            [company],
        )
    grouped = families(list_rules(cursor(), company=company))
    warning, high = grouped["cpu_pct"]
    assert warning.severity.value == "warning" and high.severity.value == "high"
    assert rule_line(high).startswith(":gray-badge[disabled]")
    assert rule_line(warning).startswith(":yellow-badge[")
