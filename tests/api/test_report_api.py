"""The post-incident report over real HTTP and from the CLI against the session's server: every
format with its content type and file name, refusals, the incident list as CSV, and the CLI and the
API giving the same JSON and Markdown. A viewer's token reads them (another company's ids are tried
with an admin of every company's, which sees both)."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.server
COMPANY = "bluebird-logistics"
OTHER = "northwind-freight"
ROOT = Path(__file__).resolve().parents[2]


def get(server, path: str, **params) -> requests.Response:
    reader = server.client(COMPANY, "viewer") if params.get("company") == COMPANY else server.client()
    return reader.get(path, params=params)


@pytest.fixture(scope="module")
def incident_id(live_server) -> int:
    found = get(live_server, "incidents", company=COMPANY, status="resolved", limit=1).json()["incidents"]
    return found[0]["id"]


def test_every_format_with_its_content_type_and_file_name(live_server, incident_id) -> None:
    types = {"json": "application/json", "md": "text/markdown", "html": "text/html", "pdf": "application/pdf"}
    for fmt, kind in types.items():
        answer = get(live_server, f"incidents/{incident_id}/report", company=COMPANY, format=fmt)
        if fmt == "pdf" and answer.status_code == 422:
            assert "pdf not available" in answer.json()["error"]
            continue
        assert answer.status_code == 200, answer.text[:300]
        assert answer.headers["content-type"].startswith(kind)
        name = f"calmops-incident-{incident_id}-{COMPANY}.{fmt}"
        assert answer.headers["content-disposition"] == f'attachment; filename="{name}"'
        assert answer.content
    body = get(live_server, f"incidents/{incident_id}/report", company=COMPANY, format="json").json()
    assert body["schema"] == "calmops.incident-report/1" and body["incident"]["id"] == incident_id


def test_refusals_bad_format_unknown_and_another_companys(live_server, incident_id) -> None:
    path = f"incidents/{incident_id}/report"
    assert get(live_server, path, company=COMPANY, format="docx").status_code == 400
    other = get(live_server, path, company=OTHER, format="md")
    assert other.status_code == 404 and OTHER in other.json()["error"]
    assert get(live_server, "incidents/999999999/report", company=COMPANY).status_code == 404
    assert get(live_server, "incidents/abc/report", company=COMPANY).status_code == 404
    assert get(live_server, path, format="md").status_code == 400


def test_the_incident_list_as_csv(live_server) -> None:
    answer = get(live_server, "incidents", company=COMPANY, format="csv", severity="critical")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert f'filename="calmops-incidents-{COMPANY}.csv"' in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert rows and {r["severity"] for r in rows} == {"critical"}
    listed = get(live_server, "incidents", company=COMPANY, severity="critical", limit=1000).json()[
        "incidents"
    ]
    assert [int(r["id"]) for r in rows] == [i["id"] for i in listed]
    assert get(live_server, "incidents", company=COMPANY, format="xml").status_code == 400


def _cli(server, incident: int, fmt: str, out: Path, company: str = COMPANY) -> subprocess.CompletedProcess:
    token = server.token(COMPANY, "viewer") if company == COMPANY else server.token()
    env = {**os.environ, "CALMOPS_URL": server.url, "CALMOPS_TOKEN": token}
    return subprocess.run(
        [sys.executable, "-m", "calmops", "report", str(incident), "--company", company, "--format", fmt,
         "-o", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_the_cli_and_the_api_give_the_same_json_and_markdown(live_server, incident_id, tmp_path) -> None:
    for fmt in ("json", "md"):
        out = tmp_path / f"r.{fmt}"
        done = _cli(live_server, incident_id, fmt, out)
        assert done.returncode == 0, done.stderr
        assert "the server is rendering" in done.stderr and "] 100% " in done.stderr  # progress shown
        api = get(live_server, f"incidents/{incident_id}/report", company=COMPANY, format=fmt).text
        cli = out.read_text()
        if fmt == "json":
            api_body, cli_body = json.loads(api), json.loads(cli)
            api_body.pop("generated_at"), cli_body.pop("generated_at")
            assert api_body == cli_body
        else:
            strip = lambda text: "\n".join(x for x in text.splitlines() if not x.startswith("_Generated"))  # noqa: E731
            assert strip(api) == strip(cli)
    refused = _cli(live_server, incident_id, "md", tmp_path / "x.md", company=OTHER)
    assert refused.returncode == 1 and "no incident" in refused.stderr
