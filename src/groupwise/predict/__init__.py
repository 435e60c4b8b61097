"""Schema-guarded prediction for DataFrames, for files streamed in chunks, and for
partitioned datasets through an executor."""

from groupwise.predict._partitions import find_partitions, predict_partitions
from groupwise.predict._predict import Predictor, format_predictions
from groupwise.predict._schema import InputSchema, ValidationReport
from groupwise.predict._skew import skew_check

__all__ = [
    "InputSchema",
    "Predictor",
    "ValidationReport",
    "find_partitions",
    "format_predictions",
    "predict_partitions",
    "skew_check",
]
