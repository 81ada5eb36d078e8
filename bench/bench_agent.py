"""The Incident Response Agent: how often its brief is right, and how long one brief takes.

**Accuracy.** A real server (`tests.servers.running_server`, an empty store, `CALMOPS_DEMO=0`)
takes ``--replays`` synthetic companies per pattern from `tests.synthetic` (seeds ``--seed``,
``--seed``+1, …; the seed draws the topology, noise, episode shape, amplitude, onset and side
effects), each pushed through the public API in 30-minute chunks with detection after each push,
plus ``--healthy`` healthy noisy companies and ``--ambiguous`` incidents no pattern explains. For
every episode the incident on its root service (the one its dependants joined) is read back with
its brief, and judged:

- *pattern*: ``brief.pattern`` is the injected pattern (``unknown`` for the ambiguous ones, with
  confidence ``low``);
- *recommendation*: ``brief.recommendation`` is the playbook's action with its risk
  (`tests.synthetic.EXPECTED`; for ``unknown``: wait_and_watch or escalate_to_lead, safe);
- *projection* (queue_backlog, disk_filling, memory_leak): a projection with a positive ``eta_s``;
- *detected*: the episode opened an incident on its root service (a generator check: a miss here
  is the bench's fault, not the agent's). A healthy company must open none.

The target: at least 9 in 10 right on pattern and on recommendation. Every miss is listed with its
seed, what was injected and what the brief said, so it can be replayed
(``make_scenario(pattern, seed)``) and the rule fixed.

**Brief latency.** A demo world is built with ``python -m calmops demo`` (or ``--demo-db`` is
copied), opened in-process with the clock at its last sample, and the agent writes the brief of one
active incident ``--runs`` times (each in its own transaction, as after a detection round); the
figure is the median, after one untimed call. The target is ≤ 100 ms.
"""

from __future__ import annotations

import argparse
import inspect
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests import synthetic as syn

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------- accuracy


@dataclass
class Verdict:
    """One replay, judged."""

    scenario: syn.Scenario
    injected: syn.Injected | None = None
    incidents: list[dict] = field(default_factory=list)
    primary: dict | None = None
    error: str | None = None

    @property
    def expected(self) -> str:
        return self.scenario.pattern or "healthy"

    @property
    def brief(self) -> dict:
        return (self.primary or {}).get("brief") or {}

    @property
    def detected(self) -> bool:
        if self.error:
            return False
        if self.scenario.kind == "healthy":
            return not self.incidents
        return self.primary is not None

    @property
    def said(self) -> str | None:
        return self.brief.get("pattern")

    @property
    def recommended(self) -> tuple[str | None, str | None]:
        rec = self.brief.get("recommendation") or {}
        return rec.get("action"), rec.get("risk")

    @property
    def right_pattern(self) -> bool:
        if self.expected == "unknown":
            return self.said == "unknown" and self.brief.get("confidence") == "low"
        return self.said == self.expected

    @property
    def right_recommendation(self) -> bool:
        if self.expected == "unknown":
            return self.recommended in {(action, "safe") for action in syn.UNKNOWN_ACTIONS}
        return self.recommended == syn.EXPECTED.get(self.expected)

    @property
    def projected(self) -> bool:
        projection = (self.brief.get("risk_if_no_action") or {}).get("projection") or {}
        eta = projection.get("eta_s")
        return isinstance(eta, int | float) and eta > 0


def judge(url: str, token: str, scenario: syn.Scenario) -> Verdict:
    verdict = Verdict(scenario)
    try:
        with requests.Session() as session:
            session.headers["Authorization"] = f"Bearer {token}"  # an admin of every company: makes each one
            verdict.injected = syn.replay(url, scenario, session=session)
            wanted = 0 if scenario.kind == "healthy" else 1
            verdict.incidents = syn.settle(
                url, scenario.company, session=session, at_least=wanted, timeout_s=60
            )
            if scenario.root:
                verdict.primary = syn.primary_incident(
                    url, verdict.injected, verdict.incidents, session=session, brief_timeout_s=15
                )
    except Exception as exc:  # a failed replay is reported, not fatal to the run
        verdict.error = f"{type(exc).__name__}: {exc}"
    return verdict


def scenarios(args: argparse.Namespace) -> list[syn.Scenario]:
    out = [
        syn.make_scenario(pattern, args.seed + i) for pattern in args.patterns for i in range(args.replays)
    ]
    out += [syn.healthy_scenario(args.seed + i) for i in range(args.healthy)]
    out += [
        syn.ambiguous_scenario(args.seed + i, syn.AMBIGUOUS[i % len(syn.AMBIGUOUS)])
        for i in range(args.ambiguous)
    ]
    return out


def _frac(hits: int, total: int) -> str:
    return f"{hits}/{total}" if total else "-"


def report(verdicts: list[Verdict]) -> tuple[int, int, int, int]:
    """The per-pattern table; returns (right pattern, right recommendation, judged, detected misses)."""
    groups: dict[str, list[Verdict]] = defaultdict(list)
    for v in verdicts:
        groups[v.expected].append(v)
    print(
        f"  {'pattern':<26} {'replays':>7} {'detected':>9} {'pattern':>8} {'recommendation':>15} "
        f"{'both':>6} {'projection':>11}"
    )
    right_p = right_r = judged = undetected = 0
    for name in [*syn.PATTERNS, "unknown"]:
        group = groups.get(name, [])
        if not group:
            continue
        found = [v for v in group if v.detected]
        undetected += len(group) - len(found)
        p = sum(v.right_pattern for v in group)
        r = sum(v.right_recommendation for v in group)
        both = sum(v.right_pattern and v.right_recommendation for v in group)
        projection = _frac(sum(v.projected for v in group), len(group)) if name in syn.GROWING else ""
        label = "unknown (ambiguous)" if name == "unknown" else name
        print(
            f"  {label:<26} {len(group):>7} {_frac(len(found), len(group)):>9} {_frac(p, len(group)):>8} "
            f"{_frac(r, len(group)):>15} {_frac(both, len(group)):>6} {projection:>11}"
        )
        right_p, right_r, judged = right_p + p, right_r + r, judged + len(group)
    healthy = groups.get("healthy", [])
    if healthy:
        quiet = sum(v.detected for v in healthy)
        undetected += len(healthy) - quiet
        print(f"  {'healthy (no incident)':<26} {len(healthy):>7} {_frac(quiet, len(healthy)):>9}")
    if judged:
        print(
            f"  {'overall':<26} {judged:>7} {'':>9} {right_p / judged:>8.0%} {right_r / judged:>15.0%} "
            f"{'':>6}   (target: >= 90 % on pattern and on recommendation)"
        )
    return right_p, right_r, judged, undetected


def _evidence(brief: dict, limit: int = 6) -> str:
    items = brief.get("evidence") or []
    if not isinstance(items, list):
        return json.dumps(items, default=str)[:600]
    out = []
    for item in items[:limit]:
        if isinstance(item, dict):
            text = item.get("text") or item.get("summary") or json.dumps(item, default=str)
            where = "/".join(str(item[k]) for k in ("service", "metric") if item.get(k))
            out.append(f"{where}: {text}" if where and where not in str(text) else str(text))
        else:
            out.append(str(item))
    more = f" (+{len(items) - limit} more)" if len(items) > limit else ""
    return "; ".join(out) + more


def misses(verdicts: list[Verdict]) -> list[str]:
    lines = []
    for v in verdicts:
        if v.expected == "healthy":
            if not v.detected:
                opened = [(i["service"], i["title"]) for i in v.incidents]
                lines.append(
                    f"- healthy {v.scenario.describe()}: opened {opened} (company {v.scenario.company})"
                )
            continue
        if v.right_pattern and v.right_recommendation and (v.expected not in syn.GROWING or v.projected):
            continue
        sc = v.scenario
        head = f"- {sc.describe()}"
        head += f" details={json.dumps(_short(sc.details), default=str)}"
        head += f" (company {sc.company}"
        head += f", incident {v.primary['id']})" if v.primary else ")"
        if v.error:
            lines.append(f"{head}\n    replay failed: {v.error}")
            continue
        if v.primary is None:
            opened = [(i["service"], i["title"]) for i in v.incidents]
            lines.append(f"{head}\n    no incident on {sc.root}; opened: {opened}")
            continue
        b = v.brief
        if not b:
            lines.append(f"{head}\n    the incident has no brief")
            continue
        action, risk = v.recommended
        projection = (b.get("risk_if_no_action") or {}).get("projection")
        lines.append(
            f"{head}\n    said {b.get('pattern')} [confidence {b.get('confidence')}], recommended "
            f"{action} [{risk}]; projection {json.dumps(projection)}; services {v.primary.get('services')}"
            f"\n    summary: {b.get('summary')}\n    evidence: {_evidence(b)}"
        )
    return lines


def _short(details: dict) -> dict:
    out = {}
    for key, value in details.items():
        if key in ("bursts", "attempt", "root_fires_at"):
            continue
        out[key] = value
    return out


def accuracy(args: argparse.Namespace) -> tuple[int, int, int, int]:
    from tests.servers import running_server

    planned = scenarios(args)
    folder = Path(tempfile.mkdtemp(prefix="calmops-bench-agent-"))
    started = time.perf_counter()
    try:
        with (
            running_server(
                folder / "agent.duckdb", folder / "server.log", interval_s=30, env={"CALMOPS_DEMO": "0"}
            ) as server,
            ThreadPoolExecutor(max_workers=args.workers) as pool,
        ):
            verdicts = list(pool.map(lambda sc: judge(server.url, server.token(), sc), planned))
    finally:
        if args.keep:
            print(f"(kept {folder})")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    elapsed = time.perf_counter() - started
    episodes = sum(1 for sc in planned if sc.kind == "pattern")
    print(
        f"\naccuracy: {episodes} episodes, {args.healthy} healthy and {args.ambiguous} ambiguous companies "
        f"replayed in {elapsed:.0f} s ({args.workers} at a time)"
    )
    result = report(verdicts)
    found = misses(verdicts)
    print(f"misses ({len(found)}):" if found else "misses: none")
    for line in found:
        print(f"  {line}")
    return result


# ---------------------------------------------------------------- brief latency


def demo_copy(args: argparse.Namespace, folder: Path) -> Path:
    """A copy of a demo world's database (built here unless ``--demo-db`` names one)."""
    copy = folder / "demo.duckdb"
    if args.demo_db:
        shutil.copy(args.demo_db, copy)
        return copy
    command = [sys.executable, "-m", "calmops", "demo", "--days", str(args.demo_days), "--db", str(copy)]
    print(f"building the demo world: python {' '.join(command[1:])}", flush=True)
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True, timeout=1800)
    print(f"built in {time.perf_counter() - started:.0f} s", flush=True)
    return copy


def _call(fn, cur, **offered):
    """Call ``fn`` with the keyword arguments it declares (the agent's signature may grow)."""
    params = inspect.signature(fn).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        offered = {k: v for k, v in offered.items() if k in params}
    return fn(cur, **offered)


def _pick_incident(cur) -> tuple:
    """The active incident with the most affected services (the latest such), else the latest."""
    rows = cur.execute(
        """SELECT i.company, i.id, i.service, i.title, count(s.service) AS joined, i.detected_at
           FROM incidents i LEFT JOIN incident_services s ON s.incident_id = i.id
           WHERE i.status <> 'resolved'
           GROUP BY i.company, i.id, i.service, i.title, i.detected_at
           ORDER BY joined DESC, i.detected_at DESC LIMIT 1"""
    ).fetchall()
    if not rows:
        rows = cur.execute(
            "SELECT company, id, service, title, 0 FROM incidents ORDER BY detected_at DESC LIMIT 1"
        ).fetchall()
    return rows[0][:5]


def _timed(fn, runs: int) -> list[float]:
    """Milliseconds per call of ``fn`` (which returns its own timed span), after one untimed call."""
    fn()
    return [fn() for _ in range(runs)]


def latency(args: argparse.Namespace) -> float | None:
    from calmops import agent, clock, incidents
    from calmops.agent.brief import compose
    from calmops.agent.evidence import read_situation
    from calmops.agent.patterns import classify
    from calmops.store import Database

    refresh = getattr(agent, "refresh", None)
    if refresh is None:
        print("\nbrief latency: calmops.agent.refresh is missing; nothing to time")
        return None
    folder = Path(tempfile.mkdtemp(prefix="calmops-bench-agent-demo-"))
    try:
        path = demo_copy(args, folder)
        db = Database(path)
        cur = db.cursor()
        end = cur.execute("SELECT max(ts) FROM latest").fetchall()[0][0]
        company, incident_id, service, title, joined = _pick_incident(cur)
        clock.freeze(end)
        try:

            def whole() -> float:
                """`refresh` as detection calls it (auto-actions asked for), rolled back after, so
                every call does the same work."""
                cur.execute("BEGIN")
                try:
                    started = time.perf_counter()
                    _call(refresh, cur, company=company, incident_id=incident_id, now=end)
                    return (time.perf_counter() - started) * 1000
                finally:
                    cur.execute("ROLLBACK")

            steps: dict[str, list[float]] = defaultdict(list)

            def parts() -> float:
                t0 = time.perf_counter()
                detail = incidents.get_incident(cur, company=company, incident_id=incident_id)
                sit = read_situation(cur, detail=detail, now=end)
                t1 = time.perf_counter()
                finding, others = classify(sit)
                t2 = time.perf_counter()
                compose(sit, finding, others, [])
                t3 = time.perf_counter()
                steps["read (incident + situation)"].append((t1 - t0) * 1000)
                steps["classify"].append((t2 - t1) * 1000)
                steps["compose"].append((t3 - t2) * 1000)
                return (t3 - t0) * 1000

            times = _timed(whole, args.runs)
            pure = _timed(parts, args.runs)
        finally:
            clock.reset()
            db.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    median = statistics.median(times)
    print(
        f"\nbrief latency: incident {incident_id} of {company} ({service}: {title}; {joined} services "
        f"joined), on a copy of the demo world, clock at its last sample"
    )
    print(
        f"  calmops.agent.refresh (one transaction, rolled back)  median {median:6.1f} ms  "
        f"min {min(times):6.1f}  max {max(times):6.1f}  over {args.runs} calls  (target: <= 100 ms)"
    )
    print(f"  read + classify + compose, no writes                  median {statistics.median(pure):6.1f} ms")
    for name, values in steps.items():
        print(f"    {name:<32} median {statistics.median(values[1:]):6.1f} ms")
    return median


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--replays", type=int, default=10, help="replays per pattern (default 10)")
    parser.add_argument("--seed", type=int, default=1000, help="first seed (default 1000)")
    parser.add_argument("--patterns", nargs="+", default=list(syn.PATTERNS), choices=list(syn.PATTERNS))
    parser.add_argument("--healthy", type=int, default=5, help="healthy noisy companies (default 5)")
    parser.add_argument("--ambiguous", type=int, default=6, help="ambiguous incidents (default 6)")
    parser.add_argument("--workers", type=int, default=2, help="replays at a time (default 2)")
    parser.add_argument("--runs", type=int, default=20, help="timed brief generations (default 20)")
    parser.add_argument("--demo-days", type=float, default=14, help="days of demo history (default 14)")
    parser.add_argument("--demo-db", help="copy this demo database instead of building one")
    parser.add_argument("--no-accuracy", action="store_true", help="only the brief latency")
    parser.add_argument("--no-latency", action="store_true", help="only the accuracy")
    parser.add_argument("--keep", action="store_true", help="keep the accuracy server's folder")
    args = parser.parse_args()
    print(f"$ python -m bench.bench_agent {' '.join(sys.argv[1:])}".rstrip(), flush=True)
    ok = True
    if not args.no_accuracy:
        right_p, right_r, judged, _ = accuracy(args)
        ok = judged > 0 and right_p >= 0.9 * judged and right_r >= 0.9 * judged
    if not args.no_latency:
        median = latency(args)
        ok = ok and median is not None and median <= 100
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
