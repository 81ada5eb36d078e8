"""`executor set|list|remove`, straight on the store and through a running server."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import requests

from tests.integration.test_cli_registry import calmops, ok, refused


def test_executor_commands_straight_on_the_store(tmp_path: Path) -> None:
    db = tmp_path / "cli.duckdb"
    ok(calmops("company", "add", "acme-freight", "--name", "Acme Freight", db=db))
    out = ok(calmops("executor", "set", "--company", "acme-freight", "--url", "https://hooks.example/calmops",
                     db=db))  # fmt: skip
    assert "* of acme-freight is POSTed to https://hooks.example/calmops" in out
    secret = out.split("secret (shown only now; the receiver checks signatures with it): ")[1].strip()
    assert len(secret) >= 32
    out = ok(calmops("executor", "set", "--company", "acme-freight", "--action", "scale_workers", "--url",
                     "https://hooks.example/scale", "--secret", "a-long-enough-secret", "--timeout", "3",
                     "--retries", "1", db=db))  # fmt: skip
    assert "scale_workers of acme-freight" in out and "secret" not in out.split("\n", 1)[1]
    listed = ok(calmops("executor", "list", "--company", "acme-freight", db=db))
    assert listed.index("*") < listed.index("scale_workers")
    assert "timeout 3 s, 1 retries, secret …cret" in listed
    assert secret not in listed and "a-long-enough-secret" not in listed
    refused(calmops("executor", "set", "--company", "acme-freight", "--url", "ftp://x", db=db), "field url")
    out = ok(calmops("executor", "remove", "--company", "acme-freight", "--action", "scale_workers", db=db))
    assert "removed the executor for scale_workers" in out
    refused(calmops("executor", "remove", "--company", "acme-freight", "--action", "scale_workers", db=db),
            "no executor")  # fmt: skip


@pytest.mark.server
def test_executor_commands_and_the_api_through_a_running_server(live_server) -> None:
    company = f"t-{uuid.uuid4().hex[:12]}"
    url = live_server.url
    ok(calmops("company", "add", company, "--name", "Hook Freight", url=url))
    done = calmops("executor", "set", "--company", company, "--action", "restart_service", "--url",
                   "https://hooks.example/restart", "--secret", "a-long-enough-secret", url=url)  # fmt: skip
    assert "restart_service of" in ok(done) and "no server" not in done.stderr  # the server holds the file
    listed = requests.get(f"{url}/api/ops/executors", params={"company": company}, timeout=10).json()
    assert [(e["action"], e["url"], e["secret_hint"]) for e in listed["executors"]] == [
        ("restart_service", "https://hooks.example/restart", "…cret")
    ]
    assert listed["next"] is None and "a-long-enough-secret" not in str(listed)
    made = requests.post(f"{url}/api/ops/executors", json={"company": company, "url": "https://hooks.example/all"},
                         timeout=10)  # fmt: skip
    assert made.status_code == 201 and made.json()["action"] == "*" and len(made.json()["secret"]) >= 32
    bad = requests.post(f"{url}/api/ops/executors", json={"company": company, "url": "nope"}, timeout=10)
    assert bad.status_code == 400 and bad.json()["field"] == "url"
    gone = requests.delete(f"{url}/api/ops/executors", params={"company": company, "action": "*"}, timeout=10)
    assert gone.status_code == 204
    again = requests.delete(
        f"{url}/api/ops/executors", params={"company": company, "action": "*"}, timeout=10
    )
    assert again.status_code == 404
    unknown = requests.get(f"{url}/api/ops/executors", params={"company": "no-such-co"}, timeout=10)
    assert unknown.status_code == 404
    out = ok(calmops("executor", "remove", "--company", company, "--action", "restart_service", url=url))
    assert "removed the executor for restart_service" in out
