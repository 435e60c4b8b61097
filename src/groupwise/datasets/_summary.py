"""A plain-dict summary of a generated table (rendered by the CLI)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from groupwise._stats import cramers_v
from groupwise.datasets._meta import DatasetMeta


def summarize_dataset(X: pd.DataFrame, y: pd.Series, meta: DatasetMeta) -> dict[str, Any]:
    """Rows, roles, class balance, batch × class table and planted problems."""
    out: dict[str, Any] = {
        "rows": int(len(X)),
        "columns": int(X.shape[1]) + 1,
        "task": meta.task,
        "features": {
            "informative": len(meta.informative),
            "pseudo": len(meta.pseudo),
            "noise": len(meta.noise),
            "cluster proxies": sum(len(c["proxies"]) for c in meta.corr_clusters),
            "categorical": len(meta.categorical),
        },
        "class_counts": meta.class_counts,
        "missing_share": float(X[meta.feature_names + meta.categorical].isna().to_numpy().mean())
        if meta.feature_names or meta.categorical
        else 0.0,
        "leaks": {k: v for k, v in meta.leaks.items() if v and k != "duplicate_rows"},
        "duplicate_rows": len(meta.leaks.get("duplicate_rows", [])),
    }
    if "batch" in X:
        strat = (
            y
            if meta.task == "classification"
            else (y > y.median()).map({True: "high", False: "low"})
        )
        table = pd.crosstab(X["batch"], strat)
        out["batches"] = {
            "n": len(meta.batch_labels),
            "by_class": {
                str(b): {str(k): int(v) for k, v in row.items()} for b, row in table.iterrows()
            },
            "cramers_v": cramers_v(X["batch"], strat),
        }
    if "subject" in X:
        out["subjects"] = {
            "n": len(meta.subject_labels),
            "rows_per_subject": float(len(X) / len(meta.subject_labels)),
        }
    return out
