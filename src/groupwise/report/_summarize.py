"""Read a run directory into one plain, JSON-able dict for the templates.

Only files of the run are read, so ``groupwise report`` can re-render any run.
"""

from __future__ import annotations

import base64
import math
from pathlib import Path
from typing import Any

import pandas as pd

from groupwise.evaluation._bootstrap import few_groups_warning
from groupwise.io import read_json

__all__ = ["summarize_run"]

_PLOT_TITLES = {
    "cv_scores": "Cross-validation scores per candidate",
    "roc": "ROC curve (holdout)",
    "pr": "Precision–recall curve (holdout)",
    "confusion_matrix": "Confusion matrix (holdout)",
    "calibration": "Calibration (out-of-fold)",
    "residuals": "Residuals (holdout)",
    "importance": "Permutation importance (holdout)",
    "naive_vs_grouped": "Naive vs grouped cross-validation",
    "learning_curve": "Learning curve",
}


def _read(path: Path, default=None):
    return read_json(path) if path.exists() else default


def _csv(path: Path, n: int | None = None) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    df = pd.read_csv(path)
    if n:
        df = df.head(n)
    return [{k: _clean(v) for k, v in row.items()} for row in df.to_dict(orient="records")]


def _clean(v):
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def summarize_run(
    root: str | Path, *, meta: dict | None = None, embed_images: bool = True
) -> dict[str, Any]:
    root = Path(root)
    meta = meta or read_json(root / "run_meta.json")
    metrics = root / "metrics"
    primary = meta["primary_metric"]["name"]
    board = _read(metrics / "cv_leaderboard.json", {"rows": []})["rows"]
    holdout = _read(metrics / "holdout_metrics.json", {})
    ng = _read(metrics / "naive_vs_grouped.json", {})
    checks = _read(
        metrics / "model_checks.json", {"findings": [], "passed": [], "not_applicable": []}
    )
    audit = _read(root / "audit" / "audit.json")
    env = _read(root / "env" / "env_meta.json", {})
    images = []
    for name, rel in (meta.get("plots") or {}).items():
        p = root / rel
        if not p.exists():
            continue
        src = (
            "data:image/png;base64," + base64.b64encode(p.read_bytes()).decode()
            if embed_images
            else rel
        )
        images.append(
            {"name": name, "title": _PLOT_TITLES.get(name, name), "src": src, "file": rel}
        )
    serious = [f for f in checks["findings"] if f["severity"] in ("error", "warning")]
    headline = holdout.get(primary, {})
    return {
        "meta": meta,
        "run_id": meta["run_id"],
        "task": meta["spec"]["task"],
        "target": meta["spec"]["target"],
        "primary": primary,
        "primary_reason": meta["primary_metric"]["reason"],
        "greater": meta["primary_metric"]["greater_is_better"],
        "headline": headline,
        "selected": meta["selected_model"],
        "plan": meta["split_plan"],
        "leaderboard": board,
        "metric_columns": _metric_columns(meta["spec"]["task"]),
        "holdout": holdout,
        "baselines": _read(metrics / "baselines.json", {}),
        "holdout_warning": few_groups_warning(
            _read(metrics / "bootstrap_ci.json", {}).get("groups")
        ),
        "threshold": _read(metrics / "threshold.json", {}),
        "naive_vs_grouped": ng if ng.get("naive") else None,
        "tuning": _read(metrics / "tuning.json", []),
        "model_checks": checks,
        "serious_checks": serious,
        "gap_check": next((f for f in checks["findings"] if f["code"] == "MODEL002"), None),
        "audit": audit,
        "audit_serious": [
            f for f in (audit or {}).get("findings", []) if f["severity"] in ("error", "warning")
        ],
        "slices": _csv(root / "tables" / "error_slices.csv", 15),
        "importance": _csv(root / "tables" / "feature_importance.csv", 15),
        "images": images,
        "env": env,
    }


def _metric_columns(task: str) -> list[str]:
    from groupwise.evaluation._metrics import CLASSIFICATION_METRICS, REGRESSION_METRICS

    return list(CLASSIFICATION_METRICS if task == "classification" else REGRESSION_METRICS)
