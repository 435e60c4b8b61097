"""Estimators for grouped data and the candidate model zoo.

- :class:`PartialPoolingRegressor`: nested hierarchical ridge by exact empirical Bayes.
- :class:`GroupedRidge`: a ridge per group with fallback to coarser groups (baseline).
- :class:`BatchCorrector`: fold-safe per-batch location / ComBat correction.
"""

from groupwise.estimators._batch import BatchCorrector
from groupwise.estimators._pooling import GroupedRidge, PartialPoolingRegressor
from groupwise.estimators._preprocess import DatetimeToNumber, ToCategorical
from groupwise.estimators._zoo import CANDIDATES, available_candidates, build_candidate

__all__ = [
    "CANDIDATES",
    "BatchCorrector",
    "DatetimeToNumber",
    "GroupedRidge",
    "PartialPoolingRegressor",
    "ToCategorical",
    "available_candidates",
    "build_candidate",
]
