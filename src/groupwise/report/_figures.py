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


#: The plots that take longest to draw (about 0.2 s each against 0.07 s for the others).
_HEAVY = ("shap_summary", "shap_dependence")


def draw_plots(run, *, executor=None) -> list[str]:
    """Draw every plot that applies to ``run`` into its ``plots/``; returns the names drawn.

    With an ``executor`` whose workers share this machine's file system (a
    :class:`~groupwise._parallel.LocalExecutor`), two workers draw half of the plots each
    from the run's files: about 1 s of drawing in a training run, on one core otherwise.
    A plot that fails is logged here either way; if the workers fail as a whole, this
    process draws what they did not."""
    if executor is not None and executor.workers(2) > 1:
        first = {"cv_scores", *_HEAVY}
        if not run.metrics.shap().get("computed"):
            first = {"cv_scores", "importance", "learning_curve", "naive_vs_grouped", "calibration"}
        halves = [sorted(first), sorted(set(PLOT_TITLES) - first)]
        try:
            parts = executor.map(_draw_task, [(str(run.path), half) for half in halves])
        except Exception:  # the workers' loss: draw here instead
            logger.warning("drawing the plots on workers failed; drawing them here", exc_info=True)
        else:
            made = set()
            for drawn, failed in parts:
                made.update(drawn)
                for name, trace in failed:
                    logger.warning("plot %s failed\n%s", name, trace)
            return [name for name in PLOT_TITLES if name in made]
    return _draw(run)


def _draw_task(args, threads) -> tuple[list[str], list[tuple[str, str]]]:
    """A worker's share of the plots: the names drawn and (name, traceback) of failures."""
    from groupwise.runs import Run

    root, only = args
    failed: list[tuple[str, str]] = []
    return _draw(Run(root), only=set(only), failed=failed), failed


def _draw(run, *, only: set[str] | None = None, failed: list | None = None) -> list[str]:
    """The plots of ``run`` (those in ``only``, if given); failures are logged, or
    collected in ``failed`` as (name, traceback)."""
    layout, metric, task = run.layout, run.metric, run.task
    made: list[str] = []

    def attempt(name: str, fn) -> None:
        if only is not None and name not in only:
            return
        try:
            fn(layout.plot(name))
            made.append(name)
        except Exception:  # best effort by design: a plot must never fail a run
            if failed is None:
                logger.warning("plot %s failed", name, exc_info=True)
            else:
                import traceback

                failed.append((name, traceback.format_exc()))

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
