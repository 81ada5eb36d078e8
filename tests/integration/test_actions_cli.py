"""`executor set|list|remove`, straight on the store and through a running server."""

from __future__ import annotations

import uuid

import pytest

from calmops.cli import main
from tests.integration.test_cli_registry import NO_SERVER, calmops, ok


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """The CLI in this process (no interpreter start per command); the autouse fixture's CALMOPS_DB."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_executor_commands_straight_on_the_store(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CALMOPS_URL", NO_SERVER)
    assert _cli(capsys, "company", "add", "acme-freight", "--name", "Acme Freight")[0] == 0
    code, out, err = _cli(
        capsys, "executor", "set", "--company", "acme-freight", "--url", "https://hooks.example/a"
    )
    assert code == 0 and "working on" in err  # no server: straight on the store
    assert "* of acme-freight is POSTed to https://hooks.example/a" in out
    secret = out.split("secret (shown only now; the receiver checks signatures with it): ")[1].strip()
    assert len(secret) >= 32
    code, out, _ = _cli(capsys, "executor", "set", "--company", "acme-freight", "--action", "scale_workers",
                        "--url", "https://hooks.example/scale", "--secret", "a-long-enough-secret",
                        "--timeout", "3", "--retries", "1")  # fmt: skip
    assert code == 0 and "scale_workers of acme-freight" in out and "secret" not in out
    code, listed, _ = _cli(capsys, "executor", "list", "--company", "acme-freight")
    assert code == 0 and listed.index("*") < listed.index("scale_workers")
    assert "timeout 3 s, 1 retries, secret …cret" in listed
    assert secret not in listed and "a-long-enough-secret" not in listed
    code, _, err = _cli(capsys, "executor", "set", "--company", "acme-freight", "--url", "ftp://x")
    assert code == 1 and "error:" in err and "field url" in err
    code, _, err = _cli(capsys, "executor", "list", "--company", "nobody")
    assert code == 1 and "unknown company" in err
    code, out, _ = _cli(
        capsys, "executor", "remove", "--company", "acme-freight", "--action", "scale_workers"
    )
    assert code == 0 and "removed the executor for scale_workers" in out
    code, _, err = _cli(
        capsys, "executor", "remove", "--company", "acme-freight", "--action", "scale_workers"
    )
    assert code == 1 and "no executor" in err


@pytest.mark.server
def test_executor_commands_and_the_api_through_a_running_server(live_server) -> None:
    company = f"t-{uuid.uuid4().hex[:12]}"
    url, api, token = live_server.url, live_server.client(), live_server.token()
    ok(calmops("company", "add", company, "--name", "Hook Freight", url=url, token=token))
    done = calmops("executor", "set", "--company", company, "--action", "restart_service", "--url",
                   "https://hooks.example/restart", "--secret", "a-long-enough-secret", url=url,
                   token=token)  # fmt: skip
    assert "restart_service of" in ok(done) and "no server" not in done.stderr  # the server holds the file
    listed = api.get("executors", params={"company": company}).json()
    assert [(e["action"], e["url"], e["secret_hint"]) for e in listed["executors"]] == [
        ("restart_service", "https://hooks.example/restart", "…cret")
    ]
    assert listed["next"] is None and "a-long-enough-secret" not in str(listed)
    made = api.post("executors", json={"company": company, "url": "https://hooks.example/all"})  # fmt: skip
    assert made.status_code == 201 and made.json()["action"] == "*" and len(made.json()["secret"]) >= 32
    bad = api.post("executors", json={"company": company, "url": "nope"})
    assert bad.status_code == 400 and bad.json()["field"] == "url"
    gone = api.delete("executors", params={"company": company, "action": "*"})
    assert gone.status_code == 204
    again = api.delete("executors", params={"company": company, "action": "*"})
    assert again.status_code == 404
    unknown = api.get("executors", params={"company": "no-such-co"})
    assert unknown.status_code == 404
    out = ok(
        calmops(
            "executor", "remove", "--company", company, "--action", "restart_service", url=url, token=token
        )
    )
    assert "removed the executor for restart_service" in out
