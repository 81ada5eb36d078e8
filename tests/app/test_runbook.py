"""The Runbook page shows the operator runbook shipped in the package, as written."""

from __future__ import annotations

from calmops.ui.runbook import runbook_text


def test_the_runbook_page_renders_the_packaged_runbook(world, app) -> None:
    at = app(world[0], page="pages/runbook.py").run()
    assert not at.exception
    body = [m.value for m in at.markdown if "STEP 1: DO NOT PANIC" in m.value]
    assert body and "GOLDEN RULE" in body[0]
    links = [link.proto.page for link in at.get("page_link")]
    assert any(p.endswith("incidents") for p in links) and any(p.endswith("health") for p in links)


def test_the_packaged_runbook_is_the_operator_runbook() -> None:
    text = runbook_text()
    assert text.startswith("# When Things Break")
    assert "If the Incident Response Agent has not recommended an action, do not take it." in text
