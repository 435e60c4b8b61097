"""Explanations of fitted pipelines (permutation importance; SHAP with the [shap] extra)."""

from groupwise.explain._permutation import permutation_importance_table

__all__ = ["permutation_importance_table"]
