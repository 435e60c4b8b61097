"""Writing a run directory (DESIGN.md §4) from a finished training."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from groupwise._version import __version__
from groupwise.io import sha256_file, write_json, write_table, write_text

__all__ = ["write_run"]

logger = logging.getLogger(__name__)
FORMAT_VERSION = 1


def _label(t, code):
    return t.classes[code] if t.task == "classification" else code


def write_run(t, root: Path, run_id: str, bar) -> None:
    """Write every file of the run into ``root`` (a temporary directory)."""
    from groupwise.predict._predict import Predictor
    from groupwise.predict._schema import InputSchema
    from groupwise.runs._env import environment, git_commit, pip_freeze
    from groupwise.runs._persist import save_model

    spec = t.spec
    ids = list(spec.id_cols)
    hold = t.plan.holdout
    # ---- model, schema, environment
    model_info = save_model(t.final_model, root / "model" / "model.skops")
    schema = InputSchema.capture(t.frame, spec)
    write_json(schema.to_dict(), root / "schema" / "input_schema.json")
    write_json(environment(), root / "env" / "env_meta.json")
    write_text(pip_freeze(), root / "env" / "pip_freeze.txt")
    bar.advance()

    # ---- tables
    frame_hold = t.frame.iloc[hold].reset_index(drop=True)
    holdout_input = frame_hold[ids + t.features]
    write_table(holdout_input, root / "tables" / "holdout_input.parquet")
    predictor = Predictor(
        t.final_model,
        schema,
        task=t.task,
        classes=t.classes,
        threshold=t.threshold.threshold if t.threshold else None,
        pos=t.pos,
    )
    reference = predictor.predict_features(t.X_hold, ids=frame_hold[ids] if ids else None)
    evaluated = predictor._format(t.hold_out, None).add_prefix("eval_")
    extra = {"y_true": [_label(t, v) for v in t.y_hold]}
    if spec.group_col:
        extra[spec.group_col] = frame_hold[spec.group_col].to_numpy()
    hold_pred = pd.concat([reference, pd.DataFrame(extra), evaluated], axis=1)
    write_table(
        hold_pred, root / "tables" / "holdout_predictions.parquet", metadata=predictor.metadata()
    )

    sel = t.selected_result
    dev_frame = t.frame.iloc[t.plan.dev].reset_index(drop=True)
    tested = sel.fold_of_row >= 0
    oof = predictor._format(
        np.nan_to_num(sel.oof[tested]) if t.task == "classification" else sel.oof[tested], None
    )
    oof.insert(0, "fold", sel.fold_of_row[tested])
    oof.insert(1, "y_true", [_label(t, v) for v in t.y_dev[tested]])
    for c in ([spec.group_col] if spec.group_col else []) + ids[::-1]:
        oof.insert(0, c, dev_frame[c].to_numpy()[tested])
    write_table(oof, root / "tables" / "oof_predictions.parquet")
    if len(t.slices):
        write_table(t.slices, root / "tables" / "error_slices.csv")
    if t.importance is not None:
        write_table(t.importance, root / "tables" / "feature_importance.csv")
    if t.learning_curve is not None:
        write_table(t.learning_curve, root / "tables" / "learning_curve.csv")

    # ---- metrics
    m = root / "metrics"
    board = t.leaderboard
    write_table(board, m / "cv_leaderboard.csv")
    write_json(
        {
            "metric": t.metric,
            "greater_is_better": t.greater,
            "rows": board.to_dict(orient="records"),
        },
        m / "cv_leaderboard.json",
    )
    write_table(t.fold_table, m / "cv_folds.csv")
    write_json(t.holdout_metrics, m / "holdout_metrics.json")
    write_json(
        {
            "n_resamples": t.cfg.bootstrap,
            "level": 0.95,
            "unit": t.bootstrap_unit,
            "seed": t.cfg.seed,
            "method": "percentile",
            "note": _bootstrap_note(t),
            "groups": t.holdout_groups,
            "metrics": t.holdout_metrics,
        },
        m / "bootstrap_ci.json",
    )
    threshold = {"applies": t.task == "classification" and t.K == 2}
    if t.threshold is not None:
        threshold.update(t.threshold.to_dict())
        threshold["chosen_on"] = (
            "out-of-fold predictions of the selected pipeline (development rows only)"
        )
    elif t.task == "classification":
        threshold["rationale"] = "multiclass: the predicted class is the most probable one"
    if t.calibration is not None:
        threshold["calibration"] = t.calibration
    write_json(threshold, m / "threshold.json")
    write_json(
        t.naive_vs_grouped or {"applies": False, "reason": "no group column, or naive CV disabled"},
        m / "naive_vs_grouped.json",
    )
    write_json(
        {
            "metric": t.metric,
            "baselines": t.baselines,
            "improvement_over_dummy_holdout": t.improvement,
        },
        m / "baselines.json",
    )
    mc = t.model_checks
    write_json(
        {
            "format_version": 1,
            "findings": [f.to_dict() for f in mc.findings],
            "passed": list(mc.passed),
            "not_applicable": list(mc.not_applicable),
        },
        m / "model_checks.json",
    )
    if t.tuning:
        write_json(t.tuning, m / "tuning.json")

    # ---- audit
    if t.audit_report is not None:
        write_json(t.audit_report.to_dict(), root / "audit" / "audit.json")
        write_text(t.audit_report.to_markdown(), root / "audit" / "audit.md")
    bar.advance()

    # ---- plots (best effort)
    plots = _plots(t, root / "plots")

    # ---- run_meta.json
    if t.dataset_path:
        dataset = {"path": str(t.dataset_path), "sha256": sha256_file(t.dataset_path)}
    else:
        from groupwise.audit import table_fingerprint

        dataset = {"path": None, "sha256": table_fingerprint(t.df_in)}
    dataset.update(
        rows=int(len(t.df_in)),
        columns=int(t.df_in.shape[1]),
        rows_used=int(len(t.frame)),
        rows_dropped_missing_target=t.rows_dropped,
    )
    finished = dt.datetime.now(dt.UTC)
    meta: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "run_id": run_id,
        "created_at": t.started.isoformat(),
        "finished_at": finished.isoformat(),
        "duration_s": round(t.total_time, 3),
        "groupwise_version": __version__,
        "git_commit": git_commit(),
        "dataset": dataset,
        "spec": spec.to_dict(),
        "features": t.features,
        "feature_kinds": t.kinds.to_dict(),
        "classes": t.classes,
        "positive_code": t.pos,
        "config": t.cfg.to_dict(),
        "primary_metric": {
            "name": t.metric,
            "reason": t.metric_reason,
            "greater_is_better": t.greater,
        },
        "split_plan": t.plan.to_dict(),
        "selected_model": {
            "label": t.selected,
            "candidate": t.recipe.name,
            "params": {k: _jsonable(v) for k, v in t.recipe.params.items()},
            "tuned": t.selected.endswith("(tuned)"),
            "pipeline": repr(t.final_model),
        },
        "threshold": None
        if t.threshold is None
        else {
            "strategy": t.threshold.strategy,
            "threshold": t.threshold.threshold,
            "rationale": t.threshold.rationale,
        },
        "metrics": {
            "cv": {
                k: _jsonable(board.loc[board["candidate"] == t.selected, k].iloc[0])
                for k in _metric_cols(t)
            },
            "holdout": {k: v["estimate"] for k, v in t.holdout_metrics.items()},
            "naive_minus_grouped": None
            if not t.naive_vs_grouped
            else t.naive_vs_grouped["gap"][t.metric],
        },
        "audit_summary": None if t.audit_report is None else t.audit_report.counts(),
        "model_checks_summary": {
            s: sum(f.severity == s for f in mc.findings) for s in ("error", "warning", "info")
        },
        "model": model_info,
        "failed_candidates": t.failed,
        "plots": plots,
        "timings": {k: round(v, 3) for k, v in t.timings.items()},
    }
    write_json(meta, root / "run_meta.json")
    # ---- report and model card (rendered from the files just written)
    from groupwise.report import render_run

    render_run(root, meta=meta)
    bar.advance()


def _bootstrap_note(t) -> str:
    from groupwise.evaluation._bootstrap import MIN_BOOTSTRAP_GROUPS

    if t.bootstrap_unit != "group":
        return "resamples rows with replacement (treats rows as independent)"
    note = f"resamples the {t.holdout_groups} holdout groups with replacement"
    if t.holdout_groups < MIN_BOOTSTRAP_GROUPS:
        note += f"; with fewer than {MIN_BOOTSTRAP_GROUPS} groups the interval understates the uncertainty"
    return note


def _metric_cols(t) -> list[str]:
    from groupwise.evaluation._metrics import metric_names

    return list(metric_names(t.task))


def _jsonable(v):
    if isinstance(v, np.generic):
        return v.item()
    return v


def _plots(t, d: Path) -> dict[str, str]:
    """Draw every plot that applies; a plot that fails is logged and skipped."""
    from groupwise.evaluation import _plots as P
    from groupwise.evaluation._metrics import MetricSet

    made: dict[str, str] = {}

    def attempt(name: str, fn) -> None:
        try:
            fn(d / f"{name}.png")
            made[name] = f"plots/{name}.png"
        except Exception:  # best effort by design: a plot must never fail a run
            logger.warning("plot %s failed", name, exc_info=True)

    ms = t._metricset(t.y_hold, t.hold_out)
    title_h = "holdout"
    order = list(t.leaderboard["candidate"])
    attempt(
        "cv_scores",
        lambda p: P.plot_cv_scores(
            t.fold_table, t.metric, p, title=f"CV {t.metric} per candidate", order=order
        ),
    )
    if t.task == "classification":
        labels = [str(c) for c in t.classes]
        attempt(
            "confusion_matrix",
            lambda p: P.plot_confusion(
                t.confusion, labels, p, title=f"Confusion matrix ({title_h}, threshold {t.thr:.3g})"
            ),
        )
        if t.K == 2:
            score = t.hold_out[:, t.pos]
            positive = t.y_hold == t.pos
            curves = {"holdout": (score, positive)}
            aucs = {"holdout": ms.point(["roc_auc"])["roc_auc"]}
            aps = {"holdout": ms.point(["pr_auc"])["pr_auc"]}
        else:
            curves = {labels[k]: (t.hold_out[:, k], t.y_hold == k) for k in range(t.K)}
            aucs = {
                labels[k]: MetricSet(
                    "classification",
                    (t.y_hold == k).astype(int),
                    proba=np.c_[1 - t.hold_out[:, k], t.hold_out[:, k]],
                ).point(["roc_auc"])["roc_auc"]
                for k in range(t.K)
            }
            aps = {
                labels[k]: MetricSet(
                    "classification",
                    (t.y_hold == k).astype(int),
                    proba=np.c_[1 - t.hold_out[:, k], t.hold_out[:, k]],
                ).point(["pr_auc"])["pr_auc"]
                for k in range(t.K)
            }
        attempt("roc", lambda p: P.plot_roc(curves, p, title="ROC curve (holdout)", aucs=aucs))
        attempt(
            "pr", lambda p: P.plot_pr(curves, p, title="Precision–recall curve (holdout)", aps=aps)
        )
        if t.calibration:
            attempt(
                "calibration",
                lambda p: P.plot_calibration(
                    t.calibration["table"],
                    p,
                    title=f"Calibration ({t.calibration['kind']}, out-of-fold)",
                ),
            )
    else:
        attempt(
            "residuals",
            lambda p: P.plot_residuals(t.y_hold, t.hold_out, p, title="Residuals (holdout)"),
        )
    if t.importance is not None and len(t.importance):
        attempt(
            "importance",
            lambda p: P.plot_importance(t.importance, p, title="Permutation importance (holdout)"),
        )
    if t.naive_vs_grouped:
        ng = t.naive_vs_grouped
        attempt(
            "naive_vs_grouped",
            lambda p: P.plot_naive_vs_grouped(
                ng, ng["metrics"], p, title="Naive (row-level) vs grouped CV"
            ),
        )
    if t.learning_curve is not None:
        attempt(
            "learning_curve",
            lambda p: P.plot_learning_curve(
                t.learning_curve, p, metric=t.metric, title="Learning curve"
            ),
        )
    return made
