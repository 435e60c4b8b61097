"""Estimators for grouped data and the candidate model zoo."""

from groupwise.estimators._preprocess import DatetimeToNumber, ToCategorical
from groupwise.estimators._zoo import CANDIDATES, available_candidates, build_candidate

__all__ = [
    "CANDIDATES",
    "DatetimeToNumber",
    "ToCategorical",
    "available_candidates",
    "build_candidate",
]
