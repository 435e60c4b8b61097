"""Training–serving skew check: the serving path must reproduce training's predictions."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["skew_check"]


def skew_check(run, *, tolerance: float = 1e-9, chunk_rows: int = 100_000) -> dict[str, Any]:
    """Predict the run's ``tables/holdout_input.parquet`` through the file-based prediction
    path and compare with the shipped model's predictions recorded in memory at training
    time (``refit_*`` in ``tables/holdout_predictions.parquet``).

    Returns a dict with ``ok``, ``rows``, ``label_mismatches``, ``max_abs_diff`` per score
    column and up to five ``examples`` of differing rows.
    """
    run.require("holdout_input", "holdout_predictions")
    expected = run.shipped_predictions()
    with tempfile.TemporaryDirectory(prefix="groupwise-skew-") as tmp:
        out = Path(tmp) / "served.parquet"
        run.predictor.predict_file(run.layout.holdout_input, out, chunk_rows=chunk_rows)
        served = pd.read_parquet(out)
    result: dict[str, Any] = {
        "rows": int(len(served)),
        "expected_rows": int(len(expected)),
        "tolerance": tolerance,
    }
    if len(served) != len(expected):
        result.update(
            ok=False, reason=f"served {len(served)} rows, training recorded {len(expected)}"
        )
        return result
    labels_equal = (
        served["prediction"].astype(str).to_numpy() == expected["prediction"].astype(str).to_numpy()
    )
    score_cols = [c for c in served.columns if c.startswith("proba_") or c == "score"]
    if run.task == "regression":
        score_cols = ["prediction"]
        labels_equal = np.ones(len(served), dtype=bool)
    diffs = {}
    bad_rows = ~labels_equal
    for c in score_cols:
        d = np.abs(served[c].to_numpy(dtype=float) - expected[c].to_numpy(dtype=float))
        d = np.where(np.isnan(d), np.inf, d)
        diffs[c] = float(d.max()) if len(d) else 0.0
        bad_rows |= d > tolerance
    examples = []
    for i in np.flatnonzero(bad_rows)[:5]:
        row = {
            "row": int(i),
            "served_prediction": _plain(served["prediction"].iloc[i]),
            "recorded_prediction": _plain(expected["prediction"].iloc[i]),
        }
        for c in score_cols:
            row[f"served_{c}"] = float(served[c].iloc[i])
            row[f"recorded_{c}"] = float(expected[c].iloc[i])
        examples.append(row)
    result.update(
        ok=bool(not bad_rows.any()),
        label_mismatches=int((~labels_equal).sum()),
        rows_differing=int(bad_rows.sum()),
        max_abs_diff=diffs,
        examples=examples,
    )
    return result


def _plain(v):
    return v.item() if isinstance(v, np.generic) else v
