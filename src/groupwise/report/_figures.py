"""The plots of a run, drawn from the run's own files (so any run can be redrawn).

Every plot is best effort: one that fails is logged and skipped, never failing a run.
"""

from __future__ import annotations

import logging

import numpy as np

from groupwise.evaluation import _plots as P
from groupwise.evaluation._metrics import MetricSet

__all__ = ["PLOT_TITLES", "draw_plots"]

logger = logging.getLogger(__name__)

PLOT_TITLES = {
    "cv_scores": "Cross-validation scores per candidate",
    "roc": "ROC curve (holdout)",
    "pr": "Precision–recall curve (holdout)",
    "confusion_matrix": "Confusion matrix (holdout)",
    "calibration": "Calibration (out-of-fold)",
    "residuals": "Residuals (holdout)",
    "importance": "Permutation importance (holdout)",
    "shap_summary": "SHAP values of the final model (sample of rows)",
    "shap_dependence": "SHAP dependence of the top columns",
    "naive_vs_grouped": "Naive vs grouped cross-validation",
    "learning_curve": "Learning curve",
}


def _binary_metric(name: str, score: np.ndarray, positive: np.ndarray) -> float:
    ms = MetricSet("classification", positive.astype(int), proba=np.c_[1 - score, score])
    return ms.point([name])[name]


def learning_curve_title(run, curve) -> str:
    """The learning curve's title; for a blend or stack it names the member whose it is."""
    selected = run.meta["selected_model"]["label"]
    whose = curve["model"].iloc[0] if "model" in curve and len(curve) else selected
    if whose == selected:
        return "Learning curve"
    return f"Learning curve of {whose} (strongest member of the {selected})"


def draw_plots(run) -> list[str]:
    """Draw every plot that applies to ``run`` into its ``plots/``; returns the names drawn."""
    layout, metric, task = run.layout, run.metric, run.task
    made: list[str] = []

    def attempt(name: str, fn) -> None:
        try:
            fn(layout.plot(name))
            made.append(name)
        except Exception:  # best effort by design: a plot must never fail a run
            logger.warning("plot %s failed", name, exc_info=True)

    board = run.metrics.leaderboard()["rows"]
    order = [r["candidate"] for r in board]
    attempt(
        "cv_scores",
        lambda p: P.plot_cv_scores(
            run.metrics.folds(), metric, p, title=f"CV {metric} per candidate", order=order
        ),
    )
    hold = run.honest_predictions()
    where = "holdout" if run.scheme == "holdout" else "nested CV"
    if task == "classification":
        classes = run.classes
        labels = [str(c) for c in classes]
        code = {str(c): k for k, c in enumerate(classes)}
        y = hold["y_true"].astype(str).map(code).to_numpy()
        pred = hold["prediction"].astype(str).map(code).to_numpy()
        K = len(classes)
        matrix = np.zeros((K, K), dtype=int)
        np.add.at(matrix, (y, pred), 1)
        title = f"Confusion matrix ({where}"
        title += (
            f", threshold {run.threshold:.3g})"
            if run.threshold is not None
            else ", most probable class)"
        )
        attempt("confusion_matrix", lambda p: P.plot_confusion(matrix, labels, p, title=title))
        if K == 2:
            pos = run.positive_code
            score = hold["score"].to_numpy(dtype=float)
            positive = y == pos
            curves = {where: (score, positive)}
            aucs = {where: _binary_metric("roc_auc", score, positive)}
            aps = {where: _binary_metric("pr_auc", score, positive)}
        else:
            curves, aucs, aps = {}, {}, {}
            for k, lab in enumerate(labels):
                s = hold[f"proba_{classes[k]}"].to_numpy(dtype=float)
                curves[lab] = (s, y == k)
                aucs[lab] = _binary_metric("roc_auc", s, y == k)
                aps[lab] = _binary_metric("pr_auc", s, y == k)
        attempt("roc", lambda p: P.plot_roc(curves, p, title=f"ROC curve ({where})", aucs=aucs))
        attempt(
            "pr", lambda p: P.plot_pr(curves, p, title=f"Precision–recall curve ({where})", aps=aps)
        )
        calibration = run.metrics.threshold_analysis().get("calibration")
        if calibration:
            attempt(
                "calibration",
                lambda p: P.plot_calibration(
                    calibration["table"],
                    p,
                    title=f"Calibration ({calibration['kind']}, out-of-fold)",
                ),
            )
    else:
        y = hold["y_true"].to_numpy(dtype=float)
        pred = hold["prediction"].to_numpy(dtype=float)
        attempt("residuals", lambda p: P.plot_residuals(y, pred, p, title=f"Residuals ({where})"))
    if layout.feature_importance.exists():
        importance = run.table("feature_importance")
        if len(importance):
            attempt(
                "importance",
                lambda p: P.plot_importance(
                    importance, p, title=f"Permutation importance ({where})"
                ),
            )
    shap = run.metrics.shap()
    if shap.get("computed") and layout.shap_values.exists() and layout.shap_sample.exists():
        values = run.table("shap_values").drop(columns="row", errors="ignore")
        sample = run.table("shap_sample")
        units = shap["output"]
        attempt(
            "shap_summary",
            lambda p: P.plot_shap_summary(
                values, sample, p, title=f"SHAP values ({shap['explainer']})", output=units
            ),
        )
        attempt(
            "shap_dependence",
            lambda p: P.plot_shap_dependence(
                values, sample, p, title="SHAP dependence", output=units
            ),
        )
    ng = run.metrics.naive_vs_grouped()
    if ng:
        attempt(
            "naive_vs_grouped",
            lambda p: P.plot_naive_vs_grouped(
                ng, ng["metrics"], p, title="Naive (row-level) vs grouped CV"
            ),
        )
    if layout.learning_curve.exists():
        curve = run.table("learning_curve")
        attempt(
            "learning_curve",
            lambda p: P.plot_learning_curve(curve, p, metric=metric, title=learning_curve_title(run, curve)),
        )  # fmt: skip
    return made
