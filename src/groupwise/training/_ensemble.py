"""Blend and stack of the best candidates, compared on the same folds as every candidate.

Both are scored from the out-of-fold outputs the comparison already has, so comparing them
costs no model fit:

- **blend**: the mean of the members' out-of-fold probabilities (or predictions);
- **stack**: for every fold, a linear meta-model fitted on the members' out-of-fold outputs
  of the *other* folds' rows, applied to this fold's rows. A row's meta-feature always comes
  from members that never saw it, and so does every meta-feature its meta-model was fitted
  on. Time plans get no stack (a meta-model fitted on later folds would use the future).

An ensemble is *selectable* only when it beats the best single candidate on the folds by
more than the fold-to-fold noise: its mean paired gain over the folds must exceed the
standard deviation of the paired gains (a paired t above √folds) and a meaningful delta.
The shipped ensemble is :class:`~groupwise.estimators._crossfit.Blend` or ``Stack``: a
stack's meta-model is refitted on inner out-of-fold outputs inside each fit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from groupwise.estimators._crossfit import Blend, Stack, meta_features, meta_model
from groupwise.evaluation._metrics import GREATER_IS_BETTER, MetricSet, metric_names
from groupwise.evaluation._slices import meaningful_delta
from groupwise.model_selection import SplitPlan
from groupwise.training._config import TrainConfig
from groupwise.training._cv import CVResult, Recipe
from groupwise.training._prepare import Prepared, Rows

__all__ = [
    "ENSEMBLES", "ensemble_oof", "ensemble_results", "judge_ensembles", "rejected",
    "stack_meta_features", "strongest_member",
]  # fmt: skip

ENSEMBLES = ("blend", "stack")


def _members(results: Mapping[str, CVResult], board, k: int) -> list[str]:
    """The best ``k`` candidates of distinct models (leaderboard order), no dummy or ensemble."""
    out, seen = [], set()
    for label in board["candidate"]:
        res = results[label]
        base = res.recipe.name
        if label == "dummy" or base in ENSEMBLES or base in seen:
            continue
        seen.add(base)
        out.append(label)
        if len(out) == k:
            break
    return out


def _fold_rows(prep: Prepared, dev: Rows, res_like: dict, label: str, members) -> list[dict]:
    names = metric_names(prep.task)
    rows = []
    for i, row in enumerate(members[0].folds):
        te = res_like["fold_of_row"] == row["fold"]
        ms = MetricSet.from_output(prep.task, dev.y[te], res_like["oof"][te], pos=prep.pos)
        rows.append({
            "candidate": label, "fold": row["fold"], "n_train": row["n_train"], "n_test": row["n_test"],
            "fit_time": float(sum(m.folds[i]["fit_time"] for m in members)), **ms.point(names),
        })  # fmt: skip
    return rows


def ensemble_oof(kind: str, prep: Prepared, y: np.ndarray, members: list[CVResult]) -> np.ndarray:
    """Out-of-fold outputs of the blend or the stack of ``members`` (CV results on the same
    folds), computed from theirs without any new fit."""
    if kind == "blend":
        return np.mean([m.oof for m in members], axis=0)
    return _stack_oof(prep, y, members)


def _stack_oof(prep: Prepared, y: np.ndarray, members: list[CVResult]) -> np.ndarray:
    first = members[0]
    tested = first.fold_of_row >= 0
    classes = np.arange(prep.n_classes) if prep.task == "classification" else None
    outputs = [np.nan_to_num(m.oof) for m in members]
    Z = meta_features(outputs, prep.task, classes)
    oof = np.full_like(first.oof, np.nan)
    for row in first.folds:
        te = first.fold_of_row == row["fold"]
        tr = tested & ~te
        meta = meta_model(prep.task).fit(Z[tr], y[tr])
        if prep.task == "classification":
            p = meta.predict_proba(Z[te])
            full = np.zeros((te.sum(), prep.n_classes))
            full[:, np.asarray(meta.classes_, dtype=int)] = p
            oof[te] = full
        else:
            oof[te] = meta.predict(Z[te])
    return oof


def ensemble_results(
    prep: Prepared, plan: SplitPlan, results: Mapping[str, CVResult], board, config: TrainConfig
) -> tuple[dict[str, CVResult], dict[str, Any]]:
    """CV results of the blend and the stack of the best candidates (none when fewer than two
    candidates qualify), and what was done and why."""
    kinds = ("blend", "stack") if config.ensemble == "auto" else (config.ensemble,)
    if config.ensemble == "none":
        return {}, {"applies": False, "reason": "disabled (ensemble='none')"}
    labels = _members(results, board, config.ensemble_top)
    if len(labels) < 2:
        return {}, {"applies": False, "reason": "fewer than two candidates to combine"}
    dev = prep.dev(plan)
    members = [results[label] for label in labels]
    estimators = [(f"m{i}_{results[label].recipe.name}", results[label].recipe.build()) for i, label in enumerate(labels)]  # fmt: skip
    out: dict[str, CVResult] = {}
    notes = {}
    for kind in kinds:
        if kind == "stack" and plan.kind == "time":
            notes[kind] = "time split: a meta-model fitted on other folds would use later periods"
            continue
        oof = ensemble_oof(kind, prep, dev.y, members)
        if kind == "blend":
            template = Blend(estimators, task=prep.task)
        else:
            template = Stack(estimators, task=prep.task, split=prep.split, n_folds=config.folds, random_state=config.seed)  # fmt: skip
        like = {"oof": oof, "fold_of_row": members[0].fold_of_row}
        recipe = Recipe(kind, prep.task, prep.table.kinds, config.seed, template=template)
        folds = _fold_rows(prep, dev, like, kind, members)
        fit_time = float(sum(m.fit_time for m in members))
        out[kind] = CVResult(kind, recipe, oof, members[0].fold_of_row.copy(), folds, fit_time)
    info = {"applies": True, "members": labels, "kinds": list(out), "not_compared": notes}
    return out, info


def judge_ensembles(
    prep: Prepared, results: Mapping[str, CVResult], board, info: dict[str, Any]
) -> dict[str, Any]:
    """Whether each ensemble beats the best single candidate by more than the fold noise."""
    if not info.get("applies"):
        return info
    metric, sign = prep.metric, 1.0 if GREATER_IS_BETTER[prep.metric] else -1.0
    single = next(
        (c for c in board["candidate"] if c != "dummy" and results[c].recipe.name not in ENSEMBLES),
        None,
    )
    if single is None:
        return {**info, "verdicts": {}}
    best = {r["fold"]: r[metric] for r in results[single].folds}
    verdicts = {}
    for kind in info["kinds"]:
        ens = {r["fold"]: r[metric] for r in results[kind].folds}
        gains = sign * np.array([ens[f] - best[f] for f in best])
        mean, sd = float(np.mean(gains)), float(np.std(gains, ddof=1)) if len(gains) > 1 else 0.0
        scores = np.array([ens[f] for f in best])
        floor = meaningful_delta(float(np.mean(list(best.values()))))
        selectable = bool(mean > sd and mean > floor)
        verdicts[kind] = {
            "versus": single,
            "fold_mean": float(np.mean(scores)),
            "fold_sd": float(np.std(scores, ddof=1)) if len(scores) > 1 else 0.0,
            "best_fold_mean": float(np.mean(list(best.values()))),
            "best_fold_sd": float(np.std(list(best.values()), ddof=1)) if len(best) > 1 else 0.0,
            "gain_mean": mean,
            "gain_sd": sd,
            "selectable": selectable,
            "reason": (
                f"beats {single} by {mean:+.4f} per fold, more than the fold-to-fold noise (SD {sd:.4f})"
                if selectable
                else f"does not beat {single} (mean gain per fold {mean:+.4f})"
                if mean <= floor
                else f"gain over {single} {mean:+.4f} per fold is within the fold-to-fold noise (SD {sd:.4f})"
            ),
        }
    return {**info, "verdicts": verdicts}


def rejected(info: dict[str, Any]) -> set[str]:
    """Ensembles that must not be selected."""
    return {k for k, v in info.get("verdicts", {}).items() if not v["selectable"]} | (
        set(info.get("kinds", ())) - set(info.get("verdicts", {}))
    )


def _is_stack(selection) -> bool:
    return isinstance(selection.recipe.template, Stack) and bool(selection.ensembles.get("members"))


def stack_meta_features(prep: Prepared, selection) -> np.ndarray | None:
    """The selected stack's meta-features over the development rows, from its members' CV
    out-of-fold outputs (None unless the selection is a stack).

    Every row's come from members fitted on other folds, as the stack's own inner folds
    would give, so the development fit needs no inner folds: its meta-model is fitted on
    these and its members once on all development rows."""
    if not _is_stack(selection):
        return None
    classes = np.arange(prep.n_classes) if prep.task == "classification" else None
    outputs = [selection.results[label].oof for label in selection.ensembles["members"]]
    return meta_features(outputs, prep.task, classes)


def strongest_member(selection) -> str | None:
    """The best single member of a selected blend or stack (leaderboard order), else None."""
    if selection.recipe.name not in ENSEMBLES or not selection.ensembles.get("members"):
        return None
    return selection.ensembles["members"][0]
