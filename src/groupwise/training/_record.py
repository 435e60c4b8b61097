"""The last stages: MODEL checks, the final fit, and the record a run directory is written from."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from groupwise._version import __version__
from groupwise.audit import MODEL_CHECKS, Acceptances, ModelContext, run_checks
from groupwise.audit._base import CheckOutcome
from groupwise.audit._report import AuditReport
from groupwise.evaluation._bootstrap import MIN_BOOTSTRAP_GROUPS
from groupwise.evaluation._metrics import metric_names
from groupwise.io import sha256_file, table_fingerprint
from groupwise.model_selection import SplitPlan
from groupwise.predict import InputSchema, Predictor
from groupwise.runs import RunMeta, RunRecord
from groupwise.runs._env import git_commit
from groupwise.training._config import TrainConfig
from groupwise.training._cv import fit_recipe
from groupwise.training._ensemble import stack_meta_features
from groupwise.training._evaluate import HoldoutResult, OperatingPoint
from groupwise.training._explain import Explanation
from groupwise.training._prepare import Prepared
from groupwise.training._select import Selection

__all__ = ["Outcome", "build_record", "finalize", "model_checks"]


@dataclasses.dataclass(frozen=True)
class Outcome:
    """Every stage result of one training, in flow order."""

    prep: Prepared
    audit: AuditReport | None
    plan: SplitPlan
    selection: Selection
    point: OperatingPoint
    holdout: HoldoutResult
    naive_vs_grouped: dict[str, Any] | None
    learning_curve: pd.DataFrame | None
    checks: CheckOutcome
    final_model: Any
    explanation: Explanation
    calibration: dict[str, Any] = dataclasses.field(default_factory=dict)
    imbalance: dict[str, Any] = dataclasses.field(default_factory=dict)


def model_checks(
    prep: Prepared,
    selection: Selection,
    point: OperatingPoint,
    holdout: HoldoutResult,
    gap: dict[str, Any] | None,
    explanation: Explanation,
    config: TrainConfig,
) -> CheckOutcome:
    """The MODEL checks on what the earlier stages measured (accepted ones marked)."""
    ctx = ModelContext(
        task=prep.task, metric=prep.metric, selected=selection.selected,
        cv=selection.cv_scores(prep.metric), folds=selection.fold_table(), holdout=holdout.metrics,
        improvement_over_dummy=holdout.improvement, naive_vs_grouped=gap,
        importance=holdout.importance, shap_importance=explanation.importance,
        calibration=point.calibration,
        holdout_groups=holdout.groups if holdout.scheme == "holdout" else None,
        scheme=holdout.scheme, threshold=point.threshold,
        evaluated_positive_share=holdout.predicted_positive_share,
    )  # fmt: skip
    outcome = run_checks([c() for c in MODEL_CHECKS], ctx)
    findings = tuple(Acceptances(config.accept).apply(outcome.findings))
    return dataclasses.replace(outcome, findings=findings)


def finalize(
    prep: Prepared, plan: SplitPlan, selection: Selection, holdout: HoldoutResult, *, threads: int, progress
):  # fmt: skip
    """The selected pipeline refitted on every row with a target (the shipped model).

    A stack's meta-model is fitted on every row's out-of-sample meta-features that the
    evaluation already has (CV for development rows, the development fit for holdout
    rows) instead of on new inner folds; its members are refitted on all rows (or were,
    beside the development fits: ``holdout.final_members``)."""
    meta, members = holdout.final_meta, holdout.final_members
    if meta is None and plan.nested and len(plan.dev) == prep.table.n:
        dev_meta = stack_meta_features(prep, selection)
        if dev_meta is not None:
            meta = np.full((prep.table.n, dev_meta.shape[1]), np.nan)
            meta[plan.dev] = dev_meta
    with progress.stage("Final fit on all rows", total=1) as bar:
        model = fit_recipe(
            selection.recipe, prep.table.X, prep.table.y, threads, prep.keys, meta=meta,
            members=members,
        )  # fmt: skip
        bar.advance()
    return model


def _jsonable(v):
    return v.item() if isinstance(v, np.generic) else v


def _interval_note(holdout: HoldoutResult) -> str:
    what = "holdout" if holdout.scheme == "holdout" else "nested-CV"
    if holdout.unit != "group":
        return f"{holdout.method} ({what} rows treated as independent)"
    note = f"{holdout.method}, over the {holdout.groups} {what} groups"
    if holdout.scheme == "holdout" and holdout.groups < MIN_BOOTSTRAP_GROUPS:
        note += f"; with fewer than {MIN_BOOTSTRAP_GROUPS} groups the interval is wide and rests on few groups"
    return note


def _honest(table, out: np.ndarray, codes: np.ndarray | None) -> dict[str, Any]:
    """Output columns of the honest predictions (at each row's own threshold)."""
    if table.task != "classification":
        return {"prediction": out}
    cols: dict[str, Any] = {"prediction": table.label(codes)}
    for k, label in enumerate(table.classes):
        cols[f"proba_{label}"] = out[:, k]
    if table.n_classes == 2:
        cols["score"] = out[:, table.pos]
    return cols


def _tables(o: Outcome, predictor: Predictor) -> dict[str, pd.DataFrame]:
    table, plan, sel = o.prep.table, o.plan, o.selection
    ids = list(table.id_cols)
    features = list(table.features)
    positions = o.holdout.positions
    frame_hold = table.frame.iloc[positions].reset_index(drop=True)
    X_hold = table.X.iloc[positions].reset_index(drop=True)
    # the shipped model's predictions of these rows, as the serving path must reproduce them
    refit = predictor.predict_features(X_hold).add_prefix("refit_")
    honest = pd.DataFrame(_honest(table, o.holdout.out, o.holdout.pred))
    lead = {c: frame_hold[c].to_numpy() for c in ids}
    extra = {"y_true": table.label(o.holdout.y)}
    if table.group_col:
        extra[table.group_col] = frame_hold[table.group_col].to_numpy()
    if o.holdout.thresholds is not None:
        extra["threshold"] = o.holdout.thresholds
    dev_frame = table.frame.iloc[plan.dev].reset_index(drop=True)
    res = sel.result
    tested = res.fold_of_row >= 0
    raw = np.nan_to_num(res.oof[tested]) if o.prep.task == "classification" else res.oof[tested]
    oof = predictor.format(raw)
    oof.insert(0, "fold", res.fold_of_row[tested])
    oof.insert(1, "y_true", table.label(table.y[plan.dev][tested]))
    for c in ([table.group_col] if table.group_col else []) + ids[::-1]:
        oof.insert(0, c, dev_frame[c].to_numpy()[tested])
    out = {
        "holdout_input": frame_hold[ids + features],
        "holdout_predictions": pd.concat(
            [pd.DataFrame(lead), honest, pd.DataFrame(extra), refit], axis=1
        ),
        "oof_predictions": oof,
        "cv_leaderboard_csv": sel.leaderboard,
        "cv_folds": sel.fold_table(),
    }
    if len(o.holdout.slices):
        out["error_slices"] = o.holdout.slices
    if o.holdout.importance is not None:
        out["feature_importance"] = o.holdout.importance
    if o.learning_curve is not None:
        out["learning_curve"] = o.learning_curve
    why = o.explanation
    if why.background is not None:
        out["shap_background"] = why.background
    if why.values is not None:
        out["shap_values"] = why.values
        out["shap_sample"] = why.sample
    return out


def _why_no_naive(o: Outcome, config: TrainConfig) -> str:
    """Why the naive (row-level) CV was not compared with the grouped one."""
    if not config.naive_cv:
        return "naive CV disabled (naive_cv=False, --no-naive-cv)"
    if o.plan.kind == "time":
        return "time split: the comparison is made for group splits only (row-level CV would mix past and future)"  # fmt: skip
    return "no group column: the splits are row-level already"


def _documents(o: Outcome, config: TrainConfig) -> dict[str, Any]:
    prep, sel, h, point = o.prep, o.selection, o.holdout, o.point
    threshold: dict[str, Any] = {"applies": point.threshold is not None}
    if point.threshold is None and prep.task == "classification":
        threshold["rationale"] = "multiclass: the predicted class is the most probable one"
    if point.calibration is not None:
        threshold["calibration"] = point.calibration
    mc = o.checks
    docs = {
        "cv_leaderboard": {
            "metric": prep.metric,
            "greater_is_better": prep.greater,
            "rows": sel.leaderboard.to_dict(orient="records"),
        },
        "holdout_metrics": h.metrics,
        "bootstrap_ci": {
            "level": 0.95,
            "unit": h.unit,
            "method": h.method,
            "scheme": h.scheme,
            "n_resamples": config.bootstrap if h.unit == "row" else None,
            "seed": config.seed,
            "note": _interval_note(h),
            "groups": h.groups,
            "metrics": h.metrics,
            "model_variation": h.variation,
        },
        "evaluation": {
            "scheme": h.scheme,
            "method": h.method,
            "rows": int(len(h.positions)),
            "groups": h.groups,
            "models": "each row is scored by a model fitted without it: "
            + (
                "the development fit (the selected pipeline refitted on the development rows)"
                if h.scheme == "holdout"
                else "its outer fold's own selection, tuning and threshold"
            ),
            "shipped_model": "the selected pipeline refitted on every row with a target",
            "predicted_positive_share": h.predicted_positive_share,
            "outer": list(h.outer),
        },
        "threshold": threshold,
        "naive_vs_grouped": o.naive_vs_grouped
        or {"applies": False, "reason": _why_no_naive(o, config)},
        "baselines": {
            "metric": prep.metric,
            "baselines": h.baselines,
            "improvement_over_dummy_holdout": h.improvement,
        },
        "model_checks": {
            "format_version": 1,
            "findings": [f.to_dict() for f in mc.findings],
            "passed": list(mc.passed),
            "not_applicable": list(mc.not_applicable),
        },
    }
    if sel.tuning:
        docs["tuning"] = list(sel.tuning)
    docs["ensembles"] = _ensemble_doc(o)
    docs["racing"] = dict(sel.racing or {"applies": False, "reason": "not run"})
    docs["calibration"] = o.calibration or {"applies": False, "reason": "not run"}
    imb = dict(o.imbalance or {"applies": False, "reason": "not run"})
    if isinstance(imb.get("table"), pd.DataFrame):
        imb["table"] = imb["table"].to_dict(orient="records")
    docs["imbalance"] = imb
    docs["shap"] = o.explanation.document()
    return docs


def _ensemble_doc(o: Outcome) -> dict[str, Any]:
    """The blend/stack comparison, with the shipped ensemble's weights when one was selected."""
    info = dict(o.selection.ensembles or {"applies": False, "reason": "not run"})
    model = getattr(o.final_model, "estimator_", o.final_model)  # inside a calibration
    weights = getattr(model, "weights_", None)
    if weights is not None:
        info["shipped_weights"] = [float(w) for w in weights]
    info["selected"] = o.selection.recipe.name in ("blend", "stack")
    return info


def _meta(o: Outcome, config: TrainConfig, run_id: str, started, timings, total) -> RunMeta:
    prep, table, sel = o.prep, o.prep.table, o.selection
    if prep.dataset_path:
        dataset = {"path": str(prep.dataset_path), "sha256": sha256_file(prep.dataset_path)}
    else:
        dataset = {"path": None, "sha256": table_fingerprint(table.source)}
    dataset.update(
        rows=int(table.rows_total),
        columns=int(table.source.shape[1]),
        rows_used=int(table.n),
        rows_dropped_missing_target=table.rows_dropped,
    )
    board = sel.leaderboard
    selected_row = board.loc[board["candidate"] == sel.selected]
    findings = o.checks.findings
    return RunMeta(
        run_id=run_id,
        created_at=started.isoformat(),
        finished_at=dt.datetime.now(dt.UTC).isoformat(),
        duration_s=round(total, 3),
        groupwise_version=__version__,
        git_commit=git_commit(),
        dataset=dataset,
        spec=table.spec.to_dict(),
        features=table.features,
        feature_kinds=table.kinds.to_dict(),
        classes=table.classes,
        positive_code=table.pos,
        config=config.to_dict(),
        primary_metric={
            "name": prep.metric,
            "reason": prep.metric_reason,
            "greater_is_better": prep.greater,
        },
        split_plan=o.plan.to_dict(),
        selected_model={
            "label": sel.selected,
            "candidate": sel.recipe.name,
            "params": {k: _jsonable(v) for k, v in sel.recipe.params.items()},
            "tuned": "(tuned)" in sel.selected,
            "pipeline": repr(o.final_model),
        },
        threshold=o.point.threshold,
        metrics={
            "cv": {k: _jsonable(selected_row[k].iloc[0]) for k in metric_names(prep.task)},
            "holdout": {k: v["estimate"] for k, v in o.holdout.metrics.items()},
            "naive_minus_grouped": None
            if not o.naive_vs_grouped
            else o.naive_vs_grouped["gap"][prep.metric],
        },
        audit_summary=None if o.audit is None else o.audit.counts(),
        model_checks_summary={
            **{
                s: sum(f.severity == s and f.accepted is None for f in findings)
                for s in ("error", "warning", "info")
            },
            "accepted": sum(f.accepted is not None for f in findings),
        },
        failed_candidates=dict(sel.failed),
        timings={k: round(v, 3) for k, v in timings.items()},
    )


def _reference(o: Outcome, schema: InputSchema, config: TrainConfig):
    """The monitoring reference: every training row's features (as the schema reads them),
    the groups, and each row's out-of-fold (or evaluation) output."""
    from groupwise.drift import build_reference
    from groupwise.predict import ValidationReport

    table, plan, res = o.prep.table, o.plan, o.selection.result
    X = schema.coerce(table.frame[schema.feature_names], ValidationReport())
    n = len(X)
    width = res.oof.shape[1] if res.oof.ndim == 2 else None
    output = np.full((n, width) if width else n, np.nan)
    tested = res.fold_of_row >= 0
    output[np.asarray(plan.dev)[tested]] = res.oof[tested]
    output[np.asarray(o.holdout.positions)] = o.holdout.out
    groups = table.frame[table.group_col].to_numpy() if table.group_col else None
    return build_reference(
        X, {f.name: f.kind for f in schema.features}, task=table.task, groups=groups,
        group_col=table.group_col, output=output, y=np.asarray(table.y), pos=table.pos,
        classes=list(table.classes) if table.task == "classification" else None,
        threshold=None if o.point.threshold is None else o.point.threshold.threshold,
        seed=config.seed,
    )  # fmt: skip


def build_record(
    o: Outcome, config: TrainConfig, *, run_id: str, started, timings, total
) -> RunRecord:
    """Everything the run directory holds, from the stage results."""
    table = o.prep.table
    schema = InputSchema.capture(table.frame, table)
    predictor = Predictor(
        o.final_model, schema, task=table.task, classes=list(table.classes),
        threshold=None if o.point.threshold is None else o.point.threshold.threshold, pos=table.pos,
    )  # fmt: skip
    reference = _reference(o, schema, config)
    return RunRecord(
        meta=_meta(o, config, run_id, started, timings, total),
        model=o.final_model,
        schema=schema,
        tables={
            **_tables(o, predictor),
            "monitor_between": reference.between_frame(),
            "monitor_groups": reference.group_counts_frame(),
        },  # fmt: skip
        documents={**_documents(o, config), "monitor_reference": reference.to_dict()},
        table_metadata={"holdout_predictions": predictor.metadata()},
        audit=None if o.audit is None else (o.audit.to_dict(), o.audit.to_markdown()),
    )
