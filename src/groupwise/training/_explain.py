"""The explanation stage: SHAP values of the shipped model on a seeded sample of rows."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from groupwise.explain import (
    BACKGROUND_ROWS,
    PipelineExplainer,
    ShapUnsupported,
    shap_installed,
)
from groupwise.training._config import TrainConfig
from groupwise.training._prepare import Prepared

__all__ = ["Explanation", "explain_final"]


@dataclasses.dataclass(frozen=True)
class Explanation:
    """SHAP values of the final model (``values`` is None with ``reason`` when not computed)."""

    background: pd.DataFrame | None
    reason: str | None = None
    values: pd.DataFrame | None = None  # rows × input columns, plus "row"
    sample: pd.DataFrame | None = None  # the explained rows' input columns
    summary: dict[str, Any] | None = None

    @property
    def importance(self) -> pd.DataFrame | None:
        """Mean |SHAP value| per input column, largest first (None when not computed)."""
        if self.summary is None:
            return None
        return pd.DataFrame(self.summary["mean_abs"])

    def document(self) -> dict[str, Any]:
        if self.summary is None:
            return {"computed": False, "reason": self.reason}
        return {"computed": True, **self.summary}


def _sample(n: int, size: int, seed: int) -> np.ndarray:
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size, replace=False))


def explain_final(
    prep: Prepared, final_model, config: TrainConfig, *, progress, executor=None
) -> Explanation:
    """SHAP values of ``final_model`` on up to :data:`SHAP_ROWS` seeded rows of the table
    (:data:`ENSEMBLE_SHAP_ROWS` for a stack of two or more tree members,
    :data:`FALLBACK_ROWS` for the permutation fallback); the background sample is kept
    either way so that ``predict --explain`` works once the extra is installed."""
    table = prep.table
    X = table.X
    bg_rows = _sample(len(X), BACKGROUND_ROWS, config.seed)
    background = X.iloc[bg_rows].reset_index(drop=True)
    if not config.shap:
        return Explanation(background, reason="disabled (shap=False, --no-shap)")
    try:
        explainer = PipelineExplainer(
            final_model, background, task=table.task, n_classes=table.n_classes, pos=table.pos,
            seed=config.seed,
        )  # fmt: skip
    except ShapUnsupported as exc:
        return Explanation(None, reason=str(exc))
    if not shap_installed():
        return Explanation(
            background,
            reason="the [shap] extra is not installed (pip install 'groupwise[shap]'); "
            "permutation importance only",
        )
    size = explainer.sample_rows
    rows = _sample(len(X), size, config.seed + 1)
    sample = X.iloc[rows].reset_index(drop=True)
    with progress.stage(f"SHAP values ({explainer.kind})", total=1) as bar:
        values, base = explainer.explain(sample, executor)
        error = explainer.check(sample, values, base)
        bar.advance()
    frame = pd.DataFrame(values, columns=explainer.names)
    mean_abs = np.abs(values).mean(axis=0)
    total = float(mean_abs.sum())
    order = np.argsort(-mean_abs, kind="stable")
    summary = {
        **explainer.describe(),
        "base_value": base,
        "rows": len(rows),
        "background_rows": len(background),
        "seed": config.seed,
        "additivity_max_error": error,
        "mean_abs": [
            {
                "feature": explainer.names[j],
                "mean_abs_shap": float(mean_abs[j]),
                "share": float(mean_abs[j] / total) if total > 0 else 0.0,
            }
            for j in order
        ],
    }
    return Explanation(
        background,
        values=frame.assign(row=rows),
        sample=table.frame.iloc[rows][list(table.features)].reset_index(drop=True),
        summary=summary,
    )
