"""After shipping: how the model does on new data.

- :func:`evaluate_labelled`: realised performance on newly labelled rows, overall and per
  group, with intervals, next to what the run promised (``groupwise evaluate``).
"""

from groupwise.monitor._evaluate import LabelledEvaluation, evaluate_labelled

__all__ = ["LabelledEvaluation", "evaluate_labelled"]
