"""MODEL checks: diagnostics that need a fitted model, run inside ``train``.

They use the audit's check framework (codes, severities, not-applicable reasons) on a
:class:`ModelContext` that training fills from its stage results.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from groupwise.audit._base import Check, NotApplicable
from groupwise.evaluation._bootstrap import MIN_BOOTSTRAP_GROUPS
from groupwise.evaluation._intervals import BOUNDED
from groupwise.evaluation._metrics import GREATER_IS_BETTER

__all__ = ["MODEL_CHECKS", "ModelContext"]

#: Metrics on a [0, 1] scale (R² at most 1): gaps are absolute. Others (MAE, RMSE, log
#: loss) relative.
_BOUNDED = BOUNDED | {"r2"}


@dataclasses.dataclass
class ModelContext:
    task: str
    metric: str
    selected: str
    cv: dict[str, float]  # pooled OOF primary metric per candidate
    folds: pd.DataFrame  # per-fold rows of every candidate (with train_* columns)
    holdout: dict[str, dict[str, float]]
    #: paired bootstrap CI of selected − dummy on the holdout
    improvement_over_dummy: dict[str, float] | None = None
    #: groups in the holdout (None when rows were resampled)
    holdout_groups: int | None = None
    naive_vs_grouped: dict[str, Any] | None = None
    importance: pd.DataFrame | None = None
    #: mean |SHAP value| per input column of the final model (feature, mean_abs_shap)
    shap_importance: pd.DataFrame | None = None
    calibration: dict[str, Any] | None = None
    #: "holdout" or "nested" (no holdout: nested CV over all groups)
    scheme: str = "holdout"
    #: the shipped decision threshold (binary), with its out-of-fold operating point
    threshold: Any = None
    #: share of evaluated rows predicted positive at the shipped threshold(s)
    evaluated_positive_share: float | None = None

    @property
    def greater(self) -> bool:
        return GREATER_IS_BETTER[self.metric]

    def optimism(self, optimistic: float, honest: float) -> tuple[float, str]:
        """How much better ``optimistic`` looks than ``honest``: absolute or relative."""
        if self.metric in _BOUNDED:
            gap = optimistic - honest if self.greater else honest - optimistic
            return float(gap), "absolute"
        denom = abs(honest) if honest else 1.0
        gap = (optimistic - honest) / denom if self.greater else (honest - optimistic) / denom
        return float(gap), "relative"


class SingleFeatureDominates(Check):
    code = "MODEL001"
    title = "One feature dominates"
    family = "MODEL"

    def run(self, ctx: ModelContext):
        # SHAP values of the final model when they were computed, else permutation importance
        shap = ctx.shap_importance
        if shap is not None and len(shap):
            imp, column, source = shap, "mean_abs_shap", "shap"
        else:
            imp, column, source = ctx.importance, "importance_mean", "permutation"
        what = "the mean |SHAP value|" if source == "shap" else "the permutation importance"
        if imp is None or imp.empty:
            raise NotApplicable("no SHAP values or permutation importance computed")
        imp = imp.sort_values(column, ascending=False, kind="stable")
        positive = imp[column].clip(lower=0)
        if positive.sum() <= 0 or len(imp) < 2:
            raise NotApplicable("no feature has positive importance")
        share = float(positive.iloc[0] / positive.sum())
        if share <= 0.5:
            return []
        feature = imp["feature"].iloc[0]
        return [
            self.finding(
                "warning",
                f"{feature!r} holds {share:.0%} of {what}.",
                columns=[feature],
                evidence={
                    "share": share,
                    "importance": float(imp[column].iloc[0]),
                    "source": source,
                    "metric": ctx.metric,
                },
                fix="Make sure this feature is available at prediction time and not derived from the "
                "outcome (see LEAK001); a model resting on one feature is fragile.",
            )
        ]


class NaiveGroupedGap(Check):
    code = "MODEL002"
    title = "Naive − grouped gap"
    family = "MODEL"

    def run(self, ctx: ModelContext):
        ng = ctx.naive_vs_grouped
        if not ng:
            raise NotApplicable("no group column, or naive CV was disabled")
        m = ctx.metric
        naive = ng["naive"][m]["estimate"]
        grouped = ng["grouped"][m]["estimate"]
        gap, kind = ctx.optimism(naive, grouped)
        ci = ng["gap"][m]
        # the CI of naive − grouped, oriented so that positive = naive CV is optimistic
        lo = ci["ci_low"] if ctx.greater else -ci["ci_high"]
        evidence = {
            "metric": m,
            "naive": naive,
            "grouped": grouped,
            "gap": gap,
            "gap_kind": kind,
            "gap_ci": [ci["ci_low"], ci["ci_high"]],
        }
        warn, err = (0.02, 0.05) if kind == "absolute" else (0.05, 0.15)
        if gap < warn or not lo > 0:
            return []
        return [
            self.finding(
                "error" if gap >= err else "warning",
                f"Row-level CV scores {m} {naive:.3f} but grouped CV {grouped:.3f}: naive CV is "
                f"optimistic by {gap:.3f}{' (relative)' if kind == 'relative' else ''}.",
                evidence=evidence,
                fix="Report the grouped estimate; the gap means rows of a group resemble each other "
                "(batch effects, repeated measures). Expect the grouped number on new groups.",
            )
        ]


class Overfitting(Check):
    code = "MODEL003"
    title = "Overfitting"
    family = "MODEL"

    def run(self, ctx: ModelContext):
        col = f"train_{ctx.metric}"
        rows = ctx.folds[ctx.folds["candidate"] == ctx.selected]
        if col not in rows or rows[col].isna().all():
            raise NotApplicable("no training-fold scores for the selected model")
        train, cv = float(rows[col].mean()), float(rows[ctx.metric].mean())
        gap, kind = ctx.optimism(train, cv)
        info, warn = (0.1, 0.2) if kind == "absolute" else (0.5, 2.0)
        if gap < info:
            return []
        return [
            self.finding(
                "warning" if gap >= warn else "info",
                f"The selected model scores {ctx.metric} {train:.3f} on its training folds but {cv:.3f} in CV.",
                evidence={"train": train, "cv": cv, "gap": gap, "gap_kind": kind},
                fix="Some gap is normal for flexible models; a large one suggests more regularisation "
                "(the tuning space covers it) or more data.",
            )
        ]


class CVHoldoutGap(Check):
    code = "MODEL004"
    title = "CV vs holdout gap"
    family = "MODEL"

    def run(self, ctx: ModelContext):
        h = ctx.holdout.get(ctx.metric)
        if h is None or not np.isfinite(h.get("ci_low", np.nan)):
            raise NotApplicable("no holdout interval for the primary metric")
        cv = ctx.cv[ctx.selected]
        if h["ci_low"] <= cv <= h["ci_high"]:
            return []
        direction = "above" if cv > h["ci_high"] else "below"
        evidence = {
            "cv": cv,
            "holdout": h["estimate"],
            "holdout_ci": [h["ci_low"], h["ci_high"]],
            "scheme": ctx.scheme,
        }
        if ctx.scheme == "nested":
            return [
                self.finding(
                    "warning" if direction == "above" else "info",
                    f"The CV estimate of {ctx.metric} of the shipped model's selection ({cv:.3f}) lies {direction} "
                    f"the nested estimate's 95% CI [{h['ci_low']:.3f}, {h['ci_high']:.3f}]: choosing among "
                    "candidates on the same folds flattered it.",
                    evidence=evidence,
                    fix="Report the nested estimate; it redoes the selection without the groups it scores.",
                )
            ]
        message = (
            f"The CV estimate of {ctx.metric} ({cv:.3f}) lies {direction} the holdout's 95% CI "
            f"[{h['ci_low']:.3f}, {h['ci_high']:.3f}]"
        )
        if ctx.holdout_groups is not None:
            evidence["holdout_groups"] = ctx.holdout_groups
            if ctx.holdout_groups < MIN_BOOTSTRAP_GROUPS:
                return [
                    self.finding(
                        "info",
                        f"{message}; the holdout holds only {ctx.holdout_groups} groups, so its interval is unreliable.",
                        evidence=evidence,
                        fix="With few holdout groups, lean on the cross-validated estimate.",
                    )
                ]
        return [
            self.finding(
                "warning",
                message + ".",
                evidence=evidence,
                fix="The holdout differs from the development data (time drift, different groups) or "
                "model selection overfit the CV; trust the holdout and check the split plan.",
            )
        ]


class NoBetterThanDummy(Check):
    code = "MODEL005"
    title = "No better than the dummy"
    family = "MODEL"

    def run(self, ctx: ModelContext):
        if ctx.selected == "dummy":
            return [
                self.finding(
                    "error",
                    "The dummy baseline was selected: no candidate beat it.",
                    evidence={"metric": ctx.metric},
                    fix="The features carry no usable signal for this target under honest splits.",
                )
            ]
        if "dummy" not in ctx.cv:
            raise NotApplicable("the dummy baseline did not run")
        # fold means over identical folds: pooled dummy scores suffer from prior shift
        means = ctx.folds.groupby("candidate")[ctx.metric].mean()
        sel, dummy = float(means[ctx.selected]), float(means["dummy"])
        gap, _ = ctx.optimism(sel, dummy)
        ev = {"metric": ctx.metric, "selected_fold_mean": sel, "dummy_fold_mean": dummy}
        imp = ctx.improvement_over_dummy
        if imp:
            ev["holdout_improvement"] = imp["estimate"]
            ev["holdout_improvement_ci"] = [imp["ci_low"], imp["ci_high"]]
        if gap <= 0:
            return [
                self.finding(
                    "error",
                    f"The selected model ({sel:.3f}) is no better than the dummy ({dummy:.3f}) on {ctx.metric}.",
                    evidence=ev,
                    fix="The features carry no usable signal under honest splits; check the target and the features.",
                )
            ]
        if imp and (imp["ci_low"] <= 0 <= imp["ci_high"]):
            return [
                self.finding(
                    "warning",
                    f"On the holdout, the improvement over the dummy on {ctx.metric} is not "
                    f"distinguishable from zero (95% CI [{imp['ci_low']:.3f}, {imp['ci_high']:.3f}]).",
                    evidence=ev,
                    fix="Treat the model as unproven; collect more data or better features.",
                )
            ]
        return []


class PoorCalibration(Check):
    code = "MODEL006"
    title = "Poor calibration"
    family = "MODEL"
    #: expected calibration error from which it fires (info; warning from twice this);
    #: ``train --calibrate auto`` calibrates from here too
    ECE_CUT = 0.05

    def run(self, ctx: ModelContext):
        if ctx.task != "classification" or not ctx.calibration:
            raise NotApplicable(
                "regression" if ctx.task != "classification" else "no calibration computed"
            )
        ece = ctx.calibration["ece"]
        if ece < self.ECE_CUT:
            return []
        return [
            self.finding(
                "warning" if ece >= 2 * self.ECE_CUT else "info",
                f"Predicted probabilities are off by {ece:.3f} on average (expected calibration error, out-of-fold).",
                evidence={"ece": ece, "brier": ctx.calibration.get("brier")},
                fix="Use scores for ranking only, or train with --calibrate auto (cross-fitted "
                "calibration on grouped folds) before reading them as probabilities.",
            )
        ]


class TooGoodToBeTrue(Check):
    """A holdout score near perfect (ROC-AUC ≥ 0.995, R² ≥ 0.99) on data that is rarely that
    clean: the first suspect is a column that carries the answer."""

    code = "MODEL007"
    title = "Too good to be true"
    family = "MODEL"
    LIMITS = {"roc_auc": 0.995, "r2": 0.99}

    def run(self, ctx: ModelContext):
        metric = "roc_auc" if ctx.task == "classification" else "r2"
        h = ctx.holdout.get(metric)
        if h is None or not np.isfinite(h.get("estimate", np.nan)):
            raise NotApplicable(f"no holdout {metric}")
        value = float(h["estimate"])
        if value < self.LIMITS[metric]:
            return []
        return [
            self.finding(
                "warning",
                f"The holdout {metric} is {value:.4f}: near perfect, too good to be true for most "
                "real data. Look for leakage before trusting it.",
                evidence={metric: value, "limit": self.LIMITS[metric]},
                fix="Check the audit's LEAK findings and the permutation importance: a column that is "
                "recorded after (or computed from) the outcome, a duplicated unit, or a target proxy. "
                "If the task is genuinely that easy, accept this finding (--accept MODEL007:*).",
            )
        ]


class DegenerateThreshold(Check):
    """The shipped threshold predicts (almost) one class, on the out-of-fold predictions it
    was chosen on or on the rows it was evaluated on."""

    code = "MODEL008"
    title = "Degenerate threshold"
    family = "MODEL"

    def run(self, ctx: ModelContext):
        from groupwise.evaluation._threshold import DEGENERATE_SHARE

        choice = ctx.threshold
        if choice is None:
            raise NotApplicable("no decision threshold (multiclass or regression)")
        shares = {"out-of-fold": choice.at_threshold.get("predicted_positive_share")}
        if ctx.evaluated_positive_share is not None:
            shares["holdout" if ctx.scheme == "holdout" else "nested CV"] = (
                ctx.evaluated_positive_share
            )
        bad = {
            k: v
            for k, v in shares.items()
            if v is not None and (v >= DEGENERATE_SHARE or v <= 1 - DEGENERATE_SHARE)
        }
        if not bad:
            return []
        where = ", ".join(f"{v:.0%} of the {k} rows" for k, v in bad.items())
        return [
            self.finding(
                "error",
                f"The shipped threshold {choice.threshold:.4g} ({choice.strategy}) predicts the positive class for {where}: "
                "the classifier's decisions are (almost) one class.",
                evidence={
                    "threshold": choice.threshold,
                    "strategy": choice.strategy,
                    "predicted_positive_share": shares,
                },
                fix="Use a threshold strategy that keeps both classes (max_f1, min_recall:R, cost:fp=A,fn=B) or a "
                "fixed threshold near the positive rate; if the scores carry little signal, the model is not usable "
                "for decisions.",
            )
        ]


MODEL_CHECKS = (
    SingleFeatureDominates,
    NaiveGroupedGap,
    Overfitting,
    CVHoldoutGap,
    NoBetterThanDummy,
    PoorCalibration,
    TooGoodToBeTrue,
    DegenerateThreshold,
)
