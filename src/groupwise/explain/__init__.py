"""Explanations of fitted pipelines: permutation importance, and SHAP values with the
``[shap]`` extra (see :mod:`groupwise.explain._shap`)."""

from groupwise.explain._permutation import permutation_importance_table
from groupwise.explain._shap import (
    BACKGROUND_ROWS,
    ENSEMBLE_SHAP_ROWS,
    FALLBACK_ROWS,
    SHAP_ROWS,
    PipelineExplainer,
    ShapUnsupported,
    require_shap,
    shap_installed,
)

__all__ = [
    "BACKGROUND_ROWS",
    "ENSEMBLE_SHAP_ROWS",
    "FALLBACK_ROWS",
    "SHAP_ROWS",
    "PipelineExplainer",
    "ShapUnsupported",
    "permutation_importance_table",
    "require_shap",
    "shap_installed",
]
