"""How the demo world reacts to the action catalogue, so approving an action visibly works.

An action applied to a demo service either *ends* the episode it addresses (scaled-out workers
drain a backlog, a rollback ends an error spike, a restart ends a leak or an outage, a bigger
volume ends a filling disk) or *eases* it from then on (a circuit breaker shields the callers of a
failing external service, paused batch jobs slow a queue's growth, read replicas take load off a
saturated database, more workers soften a latency regression, a log rotation frees some disk).
Both are recorded in ``demo_mitigations`` and honoured by the episode effects, which every
reader of the world (history, live rounds, the demo's endpoints) evaluates alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from calmops.demo.episodes import Episode, Mitigation
from calmops.demo.world import CompanyWorld
from calmops.vocabulary import Action, Pattern

# Actions that end an episode of these patterns on the service they are applied to.
ENDS: dict[Action, frozenset[Pattern]] = {
    Action.SCALE_WORKERS: frozenset({Pattern.QUEUE_BACKLOG}),
    Action.ROLLBACK_DEPLOY: frozenset({Pattern.ERROR_SPIKE_AFTER_DEPLOY}),
    Action.RESTART_SERVICE: frozenset({Pattern.MEMORY_LEAK, Pattern.SERVICE_DOWN}),
    Action.EXPAND_VOLUME: frozenset({Pattern.DISK_FILLING}),
}
# Actions that ease an episode of these patterns (the episode goes on, its effects shrink).
EASES: dict[Action, frozenset[Pattern]] = {
    Action.SCALE_WORKERS: frozenset({Pattern.LATENCY_REGRESSION}),
    Action.OPEN_CIRCUIT_BREAKER: frozenset({Pattern.DEPENDENCY_OUTAGE}),
    Action.ROTATE_LOGS: frozenset({Pattern.DISK_FILLING}),
    Action.PAUSE_BATCH_JOBS: frozenset({Pattern.QUEUE_BACKLOG}),
    Action.ENABLE_READ_REPLICA_ROUTING: frozenset({Pattern.DB_SATURATION}),
}
# Easing actions a caller can apply to its upstream's episode (the breaker and the replica routing
# live in the client): on a dependant they act on the upstream service's episode.
FROM_CALLER: frozenset[Action] = frozenset({Action.OPEN_CIRCUIT_BREAKER, Action.ENABLE_READ_REPLICA_ROUTING})

EFFECT_TEXT: dict[tuple[Action, Pattern], str] = {
    (Action.SCALE_WORKERS, Pattern.QUEUE_BACKLOG): "workers scaled out; the backlog drains",
    (Action.SCALE_WORKERS, Pattern.LATENCY_REGRESSION): "more instances share the slow calls; latency eases",
    (Action.ROLLBACK_DEPLOY, Pattern.ERROR_SPIKE_AFTER_DEPLOY): "rolled back to the previous version; "
    "the errors stop",
    (Action.RESTART_SERVICE, Pattern.MEMORY_LEAK): "restarted; the leaked memory is released",
    (Action.RESTART_SERVICE, Pattern.SERVICE_DOWN): "restarted; it answers again and queued jobs drain",
    (Action.EXPAND_VOLUME, Pattern.DISK_FILLING): "the volume was expanded; the disk has room again",
    (Action.ROTATE_LOGS, Pattern.DISK_FILLING): "old logs rotated out; some disk is free again",
    (Action.OPEN_CIRCUIT_BREAKER, Pattern.DEPENDENCY_OUTAGE): "the circuit breaker is open: callers fail "
    "fast to their fallback instead of waiting",
    (Action.PAUSE_BATCH_JOBS, Pattern.QUEUE_BACKLOG): "batch jobs paused; the queue grows more slowly",
    (Action.ENABLE_READ_REPLICA_ROUTING, Pattern.DB_SATURATION): "reads go to the replica; connection "
    "pressure on the primary eases",
}


@dataclass(frozen=True)
class Applied:
    """One episode an action acts on: ended (``ends``) or eased from ``mitigation.at`` on."""

    episode: Episode
    mitigation: Mitigation
    ends: bool

    @property
    def repeated(self) -> bool:
        """An easing action applied before: the first application did what it could."""
        return (
            not self.ends
            and self.episode.mitigated_at(self.mitigation.action, self.mitigation.scope) is not None
        )

    @property
    def text(self) -> str:
        words = EFFECT_TEXT[(Action(self.mitigation.action), self.episode.pattern)]
        if self.repeated:
            words = f"{self.mitigation.action} was applied already; nothing more changes"
        if self.episode.pattern == Pattern.DEPENDENCY_OUTAGE:
            words += f" ({self.episode.service} itself stays down)"
        if self.mitigation.scope:
            return f"{self.mitigation.scope} → {self.episode.service}: {words}"
        return words


@dataclass(frozen=True)
class Outcome:
    """What an action did to the demo world (``applied`` empty: nothing it addresses is going on)."""

    action: Action
    service: str
    applied: tuple[Applied, ...]

    @property
    def message(self) -> str:
        if not self.applied:
            return (
                f"nothing {self.action.value} addresses is going on at {self.service}: "
                "the demo world did not change"
            )
        return "; ".join(
            a.text
            if a.episode.service == self.service or a.mitigation.scope
            else f"{a.episode.service}: {a.text}"
            for a in self.applied
        )


def plan(
    world: CompanyWorld, ongoing: list[Episode], *, action: Action | str, service: str, at: datetime
) -> Outcome:
    """Which ongoing episodes ``action`` on ``service`` ends or eases (pure; the caller records it)."""
    action = Action(action)
    spec = world.service(service)
    upstream = spec.depends_on if spec is not None else ()
    applied = []
    for ep in ongoing:
        if ep.ended_at is not None:
            continue
        own = ep.service == service
        if own and ep.pattern in ENDS.get(action, ()):
            applied.append(Applied(ep, Mitigation(action.value, at), ends=True))
        elif own and ep.pattern in EASES.get(action, ()):
            applied.append(Applied(ep, Mitigation(action.value, at), ends=False))
        elif action in FROM_CALLER and ep.service in upstream and ep.pattern in EASES[action]:
            scope = service if action == Action.OPEN_CIRCUIT_BREAKER else None
            applied.append(Applied(ep, Mitigation(action.value, at, scope), ends=False))
    return Outcome(action, service, tuple(applied))
