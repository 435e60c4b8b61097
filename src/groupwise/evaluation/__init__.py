"""Metrics with bootstrap confidence intervals, thresholds, calibration, slices and plots."""

from groupwise.evaluation._bootstrap import bootstrap_ci, paired_bootstrap_difference
from groupwise.evaluation._calibration import calibration_table, expected_calibration_error
from groupwise.evaluation._metrics import (
    CLASSIFICATION_METRICS,
    GREATER_IS_BETTER,
    REGRESSION_METRICS,
    MetricSet,
    default_primary_metric,
)
from groupwise.evaluation._slices import error_slices
from groupwise.evaluation._support import evaluate_by_support
from groupwise.evaluation._threshold import choose_threshold

__all__ = [
    "CLASSIFICATION_METRICS",
    "GREATER_IS_BETTER",
    "REGRESSION_METRICS",
    "MetricSet",
    "bootstrap_ci",
    "calibration_table",
    "choose_threshold",
    "default_primary_metric",
    "error_slices",
    "evaluate_by_support",
    "expected_calibration_error",
    "paired_bootstrap_difference",
]
