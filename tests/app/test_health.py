"""The Health page: summary first, a tile per service, bucketed charts with thresholds and deploys."""

from __future__ import annotations

import json
import re
import statistics
import time
from datetime import datetime, timedelta

from calmops import clock
from calmops.store import cursor
from tests.app.conftest import NOW, texts

HEALTH = "pages/health.py"


def _open(app, company: str, **kwargs):
    at = app(company, page=HEALTH, **kwargs).run()
    assert not at.exception, at.exception
    return at


def _specs(at) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def _key(name: str, company: str) -> str:
    return f"health_{name}_{company}"


def test_the_page_leads_with_a_summary_then_tiles(world, app) -> None:
    company = world[0]
    at = _open(app, company)
    said = texts(at)
    assert "Health ·" in said
    rows = cursor().execute("SELECT service FROM services WHERE company = ?", [company]).fetchall()
    services = [r[0] for r in rows]
    badges = next(m.value for m in at.markdown if "-badge[" in m.value and " ok]" in m.value)
    counts = re.findall(r"(\d+) (ok|degraded|down|unknown)\]", badges)
    assert [c[1] for c in counts] == ["ok", "degraded", "down", "unknown"]
    assert sum(int(c[0]) for c in counts) == len(services)
    assert "open incident" in at.get("page_link")[0].proto.label
    assert any("newest data" in c.value for c in at.caption)
    for service in services:
        assert f"**{service.replace('_', chr(92) + '_')}**" in said
    assert "Latest values (raw)" in at.expander[0].label
    assert not at.dataframe  # raw numbers are built only once someone opens them
    at.session_state["latest_values_open"] = True
    at.run()
    assert at.dataframe[0].value.shape[0] > 0


def test_services_with_problems_come_first(world, app) -> None:
    from calmops.health.service import company_health

    company = world[0]
    health = company_health(cursor(), company=company, interval_s=30, now=clock.now())
    at = _open(app, company)
    tile_titles = [m.value for m in at.markdown if m.value.startswith("**") and "-badge[" in m.value]
    statuses = [t.split("-badge[")[1].split("]")[0].split(" ", 1)[1] for t in tile_titles]
    order = {"Down": 0, "Degraded": 1, "Unknown": 2, "OK": 3}
    assert [order[s] for s in statuses] == sorted(order[s] for s in statuses)
    assert len(tile_titles) == len(health.services)


def test_charts_one_per_chosen_metric_with_bounded_points(world, app) -> None:
    company = world[0]
    at = _open(app, company)
    metrics = at.multiselect(key=_key("metrics", company)).value
    services = at.multiselect(key=_key("services", company)).value
    assert metrics and services
    specs = _specs(at)
    assert len(specs) == len(metrics)
    for spec in specs:
        for trace in spec["data"]:
            assert len(trace["x"]) <= 2000
        assert spec["layout"]["yaxis"]["title"]["text"]
    caption = " ".join(c.value for c in at.caption)
    assert "Last 6 h in 1 min buckets" in caption and "UTC" in caption


def test_thresholds_are_dashed_lines_and_units_label_the_axis(world, app) -> None:
    company = world[0]
    at = _open(app, company)
    at.multiselect(key=_key("metrics", company)).set_value(["error_rate"]).run()
    (spec,) = _specs(at)
    dashed = [s for s in spec["layout"]["shapes"] if s["line"].get("dash") == "dash"]
    assert dashed and dashed[0]["y0"] == 0.02
    assert spec["layout"]["yaxis"]["tickformat"] == ".1%"
    assert spec["layout"]["yaxis"]["title"]["text"] == "Error rate (%)"


def test_a_wider_window_uses_wider_buckets(world, app) -> None:
    company = world[0]
    at = _open(app, company)
    at.button_group(key=_key("window", company)).set_value("14d").run()
    assert not at.exception
    caption = " ".join(c.value for c in at.caption)
    assert "Last 14 d in 30 min buckets" in caption
    for spec in _specs(at):
        assert all(len(t["x"]) <= 1344 for t in spec["data"])


def test_selections_survive_a_page_change(world, app) -> None:
    company = world[0]
    at = _open(app, company)
    at.button_group(key=_key("window", company)).set_value("24h").run()
    at.multiselect(key=_key("metrics", company)).set_value(["cpu_pct"]).run()
    at.switch_page("pages/incidents.py").run()
    at.switch_page(HEALTH).run()
    assert at.button_group(key=_key("window", company)).value == "24h"
    assert at.multiselect(key=_key("metrics", company)).value == ["cpu_pct"]


def test_a_custom_range_is_charted_in_the_viewers_zone(world, app) -> None:
    company = world[0]
    at = _open(app, company, timezone="Europe/Berlin")
    at.button_group(key=_key("window", company)).set_value("custom").run()
    assert not at.exception
    start, end = at.datetime_input(key=_key("from", company)), at.datetime_input(key=_key("to", company))
    start.set_value(datetime(2026, 11, 26, 6, 0)).run()
    at.datetime_input(key=_key("to", company)).set_value(datetime(2026, 11, 26, 9, 0)).run()
    assert not at.exception
    caption = " ".join(c.value for c in at.caption)
    assert "Custom range" in caption and "Europe/Berlin (UTC+01:00)" in caption
    spec = _specs(at)[0]
    assert spec["layout"]["xaxis"]["range"][0].startswith("2026-11-26T06:00")
    assert end is not None


def test_a_custom_range_ending_before_it_starts_is_explained(world, app) -> None:
    company = world[0]
    at = _open(app, company)
    at.button_group(key=_key("window", company)).set_value("custom").run()
    at.datetime_input(key=_key("from", company)).set_value(datetime(2026, 11, 26, 9, 0)).run()
    at.datetime_input(key=_key("to", company)).set_value(datetime(2026, 11, 26, 6, 0)).run()
    assert not at.exception
    assert "end of the range must be after its start" in " ".join(w.value for w in at.warning)
    assert not at.get("plotly_chart")


def test_no_services_chosen_asks_for_a_choice(world, app) -> None:
    company = world[0]
    at = _open(app, company)
    at.multiselect(key=_key("services", company)).set_value([]).run()
    assert not at.exception
    assert "Choose at least one service" in " ".join(i.value for i in at.info)


def test_deploys_in_the_window_are_marked(world, app) -> None:
    company, service, ts = (
        cursor()
        .execute("SELECT company, service, ts FROM events WHERE kind = 'deploy' ORDER BY ts DESC LIMIT 1")
        .fetchall()[0]
    )
    at = _open(app, company)
    at.button_group(key=_key("window", company)).set_value("24h").run()
    at.multiselect(key=_key("services", company)).set_value([service]).run()
    spec = _specs(at)[0]
    markers = [t for t in spec["data"] if t.get("name") == "Deploys"]
    assert markers and any(service in text for text in markers[0]["hovertext"])
    assert any(s["line"].get("dash") == "dot" for s in spec["layout"]["shapes"])
    assert ts >= NOW - timedelta(hours=24)


def test_the_health_page_rerun_is_quick(world, app) -> None:
    at = _open(app, world[0])
    samples = []
    for _ in range(5):
        started = time.perf_counter()
        at.run()
        samples.append(time.perf_counter() - started)
    print(f"health page AppTest rerun median {statistics.median(samples) * 1000:.0f} ms")
    assert statistics.median(samples) < 1.5
