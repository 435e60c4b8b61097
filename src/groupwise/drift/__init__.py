"""Drift statistics calibrated on the training data's own variation, and performance
estimated without labels (what ``groupwise monitor`` and the model card's monitoring
section are built from).

- :class:`Binning`: a column as counts over fixed bins, with the training groups' spread.
- :func:`drift_test`: a chunk's divergence from the reference, its p-value from the
  no-drift distribution simulated at the chunk's size; :func:`benjamini_hochberg`.
- :class:`Reference` / :func:`build_reference`: what a run keeps for monitoring.
"""

from groupwise.drift._bins import Binning
from groupwise.drift._calibrate import (
    DriftTest,
    benjamini_hochberg,
    drift_test,
    js_divergence,
    null_divergences,
    threshold_at,
)
from groupwise.drift._estimate import estimate_classification, estimate_regression
from groupwise.drift._reference import RECONSTRUCTION, SCORE, Reference, RowEncoder, build_reference

__all__ = [
    "Binning",
    "DriftTest",
    "RECONSTRUCTION",
    "Reference",
    "RowEncoder",
    "SCORE",
    "benjamini_hochberg",
    "build_reference",
    "drift_test",
    "estimate_classification",
    "estimate_regression",
    "js_divergence",
    "null_divergences",
    "threshold_at",
]
