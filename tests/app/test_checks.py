"""The Health page's "Run health check" button and the live demo scenarios panel."""

from __future__ import annotations

from calmops.store import cursor
from tests.app.conftest import texts

HEALTH = "pages/health.py"


def _open(app, company: str, role: str = "operator"):
    at = app(company, page=HEALTH, role=role).run()
    assert not at.exception, at.exception
    return at


def test_a_check_without_a_running_server_says_so_calmly(world, app) -> None:
    at = _open(app, world[0])
    at.button(key="run_check").click().run()
    assert not at.exception
    assert any("No collector runs in this process" in i.value for i in at.info)


def test_a_scenario_starts_and_stops_from_the_page(world, app) -> None:
    company = world[0]
    at = _open(app, company)
    at.selectbox(key="scn_pattern").select("service_down")
    at.selectbox(key="scn_service").select("billing")
    at.button(key="scn_start").click().run()
    assert not at.exception, at.exception
    assert any("started on billing" in s.value for s in at.success)
    ongoing = (
        cursor()
        .execute(
            "SELECT pattern FROM demo_episodes WHERE company = ? AND service = 'billing' "
            "AND ended_at IS NULL",
            [company],
        )
        .fetchall()
    )
    assert ("service_down",) in ongoing
    at.button(key="scn_stop_billing_service_down").click().run()
    assert not at.exception, at.exception
    still = (
        cursor()
        .execute(
            "SELECT count(*) FROM demo_episodes WHERE company = ? AND service = 'billing' "
            "AND ended_at IS NULL",
            [company],
        )
        .fetchall()[0][0]
    )
    assert still == 0


def test_a_pattern_the_service_cannot_play_is_refused_with_a_reason(world, app) -> None:
    at = _open(app, world[0])
    at.selectbox(key="scn_pattern").select("disk_filling")
    at.selectbox(key="scn_service").select("web")
    at.button(key="scn_start").click().run()
    assert not at.exception
    assert any("disk_pct" in e.value for e in at.error)


def test_a_viewer_reads_health_but_plays_no_scenarios(world, app) -> None:
    at = _open(app, world[0], role="viewer")
    assert "Health ·" in texts(at)
    assert not [s for s in at.selectbox if s.key == "scn_pattern"]
