"""Schema-guarded prediction for DataFrames and for files streamed in chunks."""

from groupwise.predict._predict import Predictor, format_predictions
from groupwise.predict._schema import InputSchema, ValidationReport
from groupwise.predict._skew import skew_check

__all__ = ["InputSchema", "Predictor", "ValidationReport", "format_predictions", "skew_check"]
