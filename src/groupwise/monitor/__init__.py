"""After shipping: how the model does on new data.

- :func:`evaluate_labelled`: realised performance on newly labelled rows, overall and per
  group, with intervals, next to what the run promised (``groupwise evaluate``).
- :func:`monitor_frames`: new rows compared with the run's reference chunk by chunk —
  calibrated drift per feature, of the model's output and of the rows as a whole, data
  quality, and performance estimated without labels (``groupwise monitor``).
"""

from groupwise.monitor._evaluate import LabelledEvaluation, evaluate_labelled
from groupwise.monitor._monitor import ChunkResult, MonitorResult, monitor_frames

__all__ = [
    "ChunkResult",
    "LabelledEvaluation",
    "MonitorResult",
    "evaluate_labelled",
    "monitor_frames",
]
