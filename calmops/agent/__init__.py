"""The Incident Response Agent: reads an incident's data, names the pattern, writes the brief.

Data flow: `evidence.read_situation` (rows → statistics) → `patterns.classify` (statistics →
finding) → `brief.compose` (finding → words, projection, customer draft) → `service.refresh`
(brief → store, recommendation, safe auto-actions).
"""

from calmops.agent.service import (
    Headline,
    after_detection,
    current_brief,
    headlines,
    recommendations,
    recommendations_by_id,
    refresh,
)

__all__ = [
    "Headline",
    "after_detection",
    "current_brief",
    "headlines",
    "recommendations",
    "recommendations_by_id",
    "refresh",
]
