"""Detection: threshold rules turn snapshots into incidents."""

from calmops.detect.engine import Evaluation, evaluate

__all__ = ["Evaluation", "evaluate"]
