"""Adjustments around the selected model: calibration, and the measured effect of class
weights or resampling.

**Calibration** (``calibrate``): the selected model is wrapped in
:class:`~groupwise.estimators._crossfit.Calibrated` — its calibrator fitted on inner
out-of-fold probabilities (grouped like the CV). Before and after are both out-of-fold on
the CV: the calibrated out-of-fold probability of a fold's rows comes from a calibrator
fitted on the *other* folds' out-of-fold probabilities, so neither number has seen the rows
it describes. The threshold is chosen afterwards, on the calibrated probabilities.

**Imbalance** (``class_weight`` / ``resample``): the best rebalanced single candidate is
cross-validated once more without rebalancing, on the same folds, so the report can show
what the option did to PR-AUC and the threshold metrics.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from groupwise._parallel import Executor
from groupwise.audit._model import PoorCalibration
from groupwise.estimators._crossfit import Calibrated, apply_calibrator, fit_calibrator
from groupwise.evaluation._calibration import calibration_table, expected_calibration_error
from groupwise.evaluation._metrics import MetricSet, metric_names
from groupwise.model_selection import SplitPlan
from groupwise.training._config import TrainConfig
from groupwise.training._cv import CVResult, Recipe, run_cv, with_threshold
from groupwise.training._prepare import Prepared, minority_share, rebalancing
from groupwise.training._select import Selection, leaderboard, pooled_scores

__all__ = ["calibrate_selected", "imbalance_effect"]


def _summary(score: np.ndarray, positive: np.ndarray) -> dict[str, Any]:
    ms = MetricSet("classification", positive.astype(int), proba=np.column_stack([1 - score, score]), pos=1)  # fmt: skip
    return {
        "ece": expected_calibration_error(score, positive.astype(float)),
        **ms.point(["brier", "log_loss"]),
        "table": calibration_table(score, positive.astype(float)),
    }


def calibrate_selected(
    prep: Prepared, plan: SplitPlan, selection: Selection, config: TrainConfig
) -> tuple[Selection, dict[str, Any]]:
    """The selection with its model calibrated (a new ``(calibrated)`` candidate, selected),
    or unchanged; and what was done and why."""
    if prep.task != "classification" or prep.n_classes != 2:
        return selection, {"applies": False, "reason": "calibration is for binary targets"}
    if config.calibrate == "none":
        return selection, {"applies": False, "reason": "not requested (calibrate='none')"}
    res = selection.result
    dev = prep.dev(plan)
    tested = res.fold_of_row >= 0
    positive = dev.y == 1  # the calibrator maps the second class's probability
    before = _summary(res.oof[tested, 1], positive[tested])
    cut = PoorCalibration.ECE_CUT
    if config.calibrate == "auto" and before["ece"] < cut:
        return selection, {
            "applies": False, "before": before,
            "reason": f"out-of-fold expected calibration error {before['ece']:.3f} is below {cut} (calibrate='auto')",
        }  # fmt: skip
    method = "sigmoid" if config.calibrate == "auto" else config.calibrate
    oof = res.oof.copy()
    for row in res.folds:
        te = res.fold_of_row == row["fold"]
        cal = fit_calibrator(res.oof[tested & ~te, 1], positive[tested & ~te], method)
        q = apply_calibrator(cal, res.oof[te, 1])
        oof[te] = np.column_stack([1 - q, q])
    after = _summary(oof[tested, 1], positive[tested])
    label = f"{selection.selected} (calibrated)"
    template = Calibrated(
        res.recipe.build(), method=method, split=prep.split, n_folds=config.folds,
        random_state=config.seed,
    )  # fmt: skip
    recipe = Recipe(res.recipe.name, prep.task, prep.table.kinds, config.seed, template=template)
    names = metric_names(prep.task)
    folds = []
    for row in res.folds:
        te = res.fold_of_row == row["fold"]
        ms = MetricSet.from_output(prep.task, dev.y[te], oof[te], pos=prep.pos)
        folds.append({**row, "candidate": label, **ms.point(names)})
    cal = CVResult(label, recipe, oof, res.fold_of_row.copy(), folds, res.fit_time)
    cal = with_threshold(cal, dev.y, pos=prep.pos, strategy=config.threshold)
    results = {**selection.results, label: cal}
    tuned = {k: "(tuned)" in k for k in results}
    board = leaderboard(prep, dev, results, tuned)
    info = {
        "applies": True,
        "method": method,
        "of": selection.selected,
        "inner_folds": {
            "group": "whole groups left out",
            "time": "expanding time windows",
            "row": "stratified rows",
        }[prep.split],  # fmt: skip
        "reason": (
            f"out-of-fold expected calibration error {before['ece']:.3f} ≥ {cut} (calibrate='auto')"
            if config.calibrate == "auto"
            else f"requested (calibrate={config.calibrate!r})"
        ),
        "before": before,
        "after": after,
    }
    return dataclasses.replace(selection, results=results, leaderboard=board, selected=label), info


def imbalance_effect(
    prep: Prepared,
    plan: SplitPlan,
    selection: Selection,
    config: TrainConfig,
    *,
    executor: Executor,
    progress,
) -> dict[str, Any]:
    """The best rebalanced single candidate next to the same candidate without
    rebalancing, on the same folds (pooled out-of-fold, each at its own threshold)."""
    how = rebalancing(config, prep.table)
    share = minority_share(prep.table)
    info: dict[str, Any] = {
        "class_weight": config.class_weight,
        "resample": config.resample,
        "minority_share": share,
        "applied": None if how is None else {"class_weight": how[0], "resample": how[1]},
    }
    if how is None:
        reason = (
            "regression"
            if prep.task != "classification"
            else "not requested"
            if config.class_weight == "none" and config.resample == "none"
            else f"class_weight='auto' and the smallest class is {share:.1%} of the rows (cut 20%)"
        )
        return {**info, "applies": False, "reason": reason}
    label = next(
        (
            c
            for c in selection.leaderboard["candidate"]
            if c in selection.results
            and selection.results[c].recipe.rebalance is not None
            and selection.results[c].recipe.template is None
        ),
        None,
    )
    if label is None:
        return {**info, "applies": False, "reason": "no rebalanced single candidate to compare"}
    res = selection.results[label]
    dev = prep.dev(plan)
    plain = dataclasses.replace(res.recipe, rebalance=None)
    with progress.stage("Imbalance: the same candidate unweighted", total=len(plan.folds)) as bar:
        base = run_cv(
            {f"{label} (no rebalancing)": plain}, dev.X, dev.y, plan.folds, task=prep.task,
            n_classes=prep.n_classes, pos=prep.pos, executor=executor, train_score=False,
            progress=bar, keys=dev.keys,
        )  # fmt: skip
    base = {k: with_threshold(v, dev.y, pos=prep.pos, strategy=config.threshold) if prep.n_classes == 2 else v for k, v in base.items()}  # fmt: skip
    rows = []
    for name, r, applied in [(label, res, how), *[(k, v, None) for k, v in base.items()]]:
        if r.error:
            continue
        scores = pooled_scores(prep, dev, r)
        folds = r.fold_frame()
        rows.append(
            {
                "candidate": name,
                "class_weight": None if applied is None else applied[0],
                "resample": "none" if applied is None else applied[1],
                "threshold": r.threshold,
                **scores,
                **{
                    f"{m}_sd": float(folds[m].std(ddof=1))
                    for m in ("pr_auc", "recall", "balanced_accuracy")
                    if m in folds
                },  # fmt: skip
            }
        )
    return {**info, "applies": True, "candidate": label, "table": pd.DataFrame(rows)}
