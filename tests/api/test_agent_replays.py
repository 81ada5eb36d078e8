"""The Incident Response Agent judged on synthetic incidents replayed through the public push API.

One server of its own (an empty store, `CALMOPS_DEMO=0`) takes a company per scenario from
`tests.synthetic`: one episode of each known pattern, a healthy but noisy company, and incidents no
pattern explains. Each is pushed like a live company would (30-minute chunks, detection after each
push), then every test reads what detection opened and the brief the agent wrote for it.

The first two tests hold the generator to the default rules (each episode opens an incident on its
root service, its dependants join it, a healthy company opens none); the rest hold the agent to the
mapping pattern → recommendation [risk] of its playbooks.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests import synthetic as syn

pytestmark = pytest.mark.server
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

# One seed per pattern (moderate severity: a growing problem is past its warning threshold and not
# yet past its critical one, so the brief has something ahead to project). Shapes and roots vary.
SEEDS = {
    "queue_backlog": 3,  # tracking, sawtooth
    "db_saturation": 1,  # step; api, billing, dispatch-worker, tracking join
    "error_spike_after_deploy": 4,  # api, step; web's errors join
    "memory_leak": 3,  # api, ramp
    "dependency_outage": 2,  # carrier-gateway; dispatch-worker and tracking join
    "disk_filling": 1,  # postgres, sawtooth
    "service_down": 1,  # api; web's errors join
    "latency_regression": 3,  # web, ramp
}
SEVERITY = 0.35
HEALTHY_SEED = 1
AMBIGUOUS_SEED = 2


@dataclass(frozen=True)
class Replayed:
    scenario: syn.Scenario
    injected: syn.Injected
    incidents: list[dict]  # the company's incident list once detection settled
    primary: dict | None  # the root's incident, with its brief

    @property
    def brief(self) -> dict:
        return (self.primary or {}).get("brief") or {}

    def said(self) -> str:
        """What the agent said, for an assertion's message."""
        return f"{self.injected.description}: brief = {json.dumps(self.brief, indent=1, default=str)[:3000]}"


def _scenarios() -> dict[str, syn.Scenario]:
    out = {p: syn.make_scenario(p, seed, severity=SEVERITY) for p, seed in SEEDS.items()}
    out["healthy"] = syn.healthy_scenario(HEALTHY_SEED)
    for variant in syn.AMBIGUOUS:
        out[f"ambiguous:{variant}"] = syn.ambiguous_scenario(AMBIGUOUS_SEED, variant)
    return out


def _replay(url: str, token: str, scenario: syn.Scenario) -> Replayed:
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {token}"  # an admin of every company: makes each one
        injected = syn.replay(url, scenario, session=session)
        wanted = 0 if scenario.kind == "healthy" else 1
        found = syn.settle(url, scenario.company, session=session, at_least=wanted, timeout_s=40)
        primary = None
        if scenario.root:
            primary = syn.primary_incident(url, injected, found, session=session, brief_timeout_s=10)
        return Replayed(scenario, injected, found, primary)


@pytest.fixture(scope="module")
def replays(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Replayed]:
    from tests.servers import running_server

    folder = tmp_path_factory.mktemp("agent")
    scenarios = _scenarios()
    with running_server(
        folder / "agent.duckdb", ARTIFACTS / "agent-server.log", interval_s=30, env={"CALMOPS_DEMO": "0"}
    ) as server, ThreadPoolExecutor(max_workers=3) as pool:  # fmt: skip
        futures = {
            name: pool.submit(_replay, server.url, server.token(), sc) for name, sc in scenarios.items()
        }
        return {name: future.result() for name, future in futures.items()}


# --- the generator against the default rules


@pytest.mark.parametrize("pattern", syn.PATTERNS)
def test_each_episode_opens_an_incident_on_its_root_service(replays, pattern: str) -> None:
    r = replays[pattern]
    assert r.primary is not None, f"{r.injected.description}: no incident on the root; got {r.incidents}"
    assert {i["service"] for i in r.incidents} == {r.injected.root}, r.incidents
    assert set(r.primary["services"]) >= {r.injected.root, *r.injected.dependants}, r.primary["services"]


def test_a_healthy_noisy_company_opens_no_incident(replays) -> None:
    r = replays["healthy"]
    assert r.scenario.details["bursts"], "the healthy company should be bursty"
    assert r.incidents == [], f"{r.injected.description}: {r.incidents}"


# --- the agent


@pytest.mark.parametrize("pattern", syn.PATTERNS)
def test_the_brief_names_the_pattern_and_recommends_its_playbook(replays, pattern: str) -> None:
    r = replays[pattern]
    assert r.primary is not None, f"{r.injected.description}: no incident on the root; got {r.incidents}"
    assert r.brief, f"{r.injected.description}: incident {r.primary['id']} has no brief"
    said, recommendation = r.brief.get("pattern"), r.brief.get("recommendation") or {}
    assert said == pattern, r.said()
    recommended = (recommendation.get("action"), recommendation.get("risk"))
    assert recommended == syn.EXPECTED[pattern], r.said()


@pytest.mark.parametrize("pattern", syn.GROWING)
def test_a_growing_problem_comes_with_a_projection(replays, pattern: str) -> None:
    r = replays[pattern]
    projection = (r.brief.get("risk_if_no_action") or {}).get("projection") or {}
    metric, eta_s = projection.get("metric"), projection.get("eta_s")
    assert metric in syn.ROOT_METRICS[pattern], r.said()
    assert isinstance(eta_s, int | float) and eta_s > 0, r.said()


@pytest.mark.parametrize("variant", syn.AMBIGUOUS)
def test_an_incident_no_pattern_explains_is_unknown_with_low_confidence(replays, variant: str) -> None:
    r = replays[f"ambiguous:{variant}"]
    assert r.primary is not None, f"{r.injected.description}: no incident; got {r.incidents}"
    said, confidence = r.brief.get("pattern"), r.brief.get("confidence")
    assert (said, confidence) == ("unknown", "low"), r.said()
    recommendation = r.brief.get("recommendation") or {}
    recommended = (recommendation.get("action"), recommendation.get("risk"))
    assert recommended in {(action, "safe") for action in syn.UNKNOWN_ACTIONS}, r.said()


@pytest.mark.parametrize("pattern", ["db_saturation", "dependency_outage", "service_down"])
def test_the_brief_names_the_upstream_service_its_dependants_joined(replays, pattern: str) -> None:
    r = replays[pattern]
    assert r.primary is not None and len(r.primary["services"]) > 1, r.primary
    root, summary = r.injected.root, r.brief.get("summary") or ""
    assert root in summary, r.said()
