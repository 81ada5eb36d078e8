"""The embedded demo world: a transport-management SaaS with tenants, services, history and live data.

``build_world`` writes the history into a fresh store; ``Simulation`` keeps it running. Both
evaluate one value model (``model`` + ``episodes``), so live data continues the history exactly.
"""

from calmops.demo.generate import BuildSummary, build_world
from calmops.demo.live import ScenarioError, Simulation
from calmops.demo.world import World, define_world

__all__ = ["BuildSummary", "ScenarioError", "Simulation", "World", "build_world", "define_world"]
