"""Realised performance on newly labelled data, compared with the run's promise.

The rows go through the run's :class:`~groupwise.predict.Predictor` (the same schema
validation and prediction as ``groupwise predict``), with the target allowed. The metrics
are the training metrics at the shipped threshold; intervals are the training ones too (a
delete-one-group jackknife-t over the groups, a row bootstrap without groups). The
promise is the run's headline estimate and its interval (``metrics/holdout_metrics.json``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from groupwise.evaluation._intervals import interval_method, metric_intervals
from groupwise.evaluation._metrics import GREATER_IS_BETTER, MetricSet, metric_names
from groupwise.exceptions import ColumnNotFoundError, DataError, SchemaViolationError

__all__ = ["LabelledEvaluation", "evaluate_labelled"]

#: Per-group tables list at most this many groups (the worst first).
MAX_GROUP_ROWS = 200


@dataclasses.dataclass(frozen=True)
class LabelledEvaluation:
    """What ``groupwise evaluate`` found (``to_dict()`` is ``evaluation.json``)."""

    run_id: str
    task: str
    metric: str
    rows: int
    rows_without_label: int
    by: str | None
    groups: int | None
    method: str
    threshold: float | None
    realised: dict[str, dict[str, float]]
    promised: dict[str, dict[str, float]]
    verdicts: dict[str, str]
    per_group: pd.DataFrame
    warnings: tuple[str, ...] = ()

    @property
    def below_promise(self) -> bool:
        """The primary metric's interval lies entirely on the worse side of the promise's."""
        return self.verdicts.get(self.metric) == "below"

    def to_dict(self) -> dict[str, Any]:
        from groupwise.io import to_jsonable

        return to_jsonable(
            {
                "run_id": self.run_id, "task": self.task, "metric": self.metric,
                "rows": self.rows, "rows_without_label": self.rows_without_label,
                "by": self.by, "groups": self.groups, "interval_method": self.method,
                "threshold": self.threshold, "realised": self.realised,
                "promised": self.promised, "verdicts": self.verdicts,
                "below_promise": self.below_promise, "warnings": list(self.warnings),
                "per_group": self.per_group.to_dict("records"),
            }
        )  # fmt: skip


def _label_codes(labels: pd.Series, classes: list) -> np.ndarray:
    """Class codes of the labels (matched by their text, so ``1``, ``"1"`` and ``1.0``
    name the same class); unknown labels are a DataError naming them."""

    def spell(v) -> str:
        if isinstance(v, (float, np.floating)) and float(v).is_integer():
            return str(int(v))
        return str(v)

    index = {spell(c): k for k, c in enumerate(classes)}
    spelled = labels.map(spell)
    unknown = sorted(set(spelled) - set(index))
    if unknown:
        raise DataError(
            f"The target holds label(s) the model was not trained on: {', '.join(map(repr, unknown[:5]))}"
            f"{' …' if len(unknown) > 5 else ''}. Expected one of {', '.join(map(repr, map(spell, classes)))}. "
            "Fix the labels, or retrain with the new classes."
        )
    return spelled.map(index).to_numpy(dtype=np.int64)


def _verdict(metric: str, realised: dict[str, float], promised: dict[str, float] | None) -> str:
    """``below`` / ``above`` when the realised interval lies entirely on the worse / better
    side of the promised one, ``consistent`` when they overlap, ``no promise`` without one."""
    if not promised or not np.isfinite(promised.get("ci_low", np.nan)):
        return "no promise"
    lo, hi = realised.get("ci_low", np.nan), realised.get("ci_high", np.nan)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "no interval"
    better_high = GREATER_IS_BETTER.get(metric, True)
    if hi < promised["ci_low"]:
        return "below" if better_high else "above"
    if lo > promised["ci_high"]:
        return "above" if better_high else "below"
    return "consistent"


def _per_group(ms_all: MetricSet, groups: np.ndarray, names: list[str]) -> pd.DataFrame:
    rows = []
    codes, uniques = pd.factorize(pd.Series(groups).astype(object), use_na_sentinel=False)
    for k, g in enumerate(uniques):
        W = (codes == k).astype(np.float64)[None, :]
        values = {n: float(v[0]) for n, v in ms_all.evaluate(names, W).items()}
        row = {"group": g, "rows": int(W.sum())}
        if ms_all.task == "classification" and ms_all.K == 2:
            row["positives"] = int(((ms_all.y == ms_all.pos) * W[0]).sum())
        rows.append({**row, **values})
    return pd.DataFrame(rows)


def evaluate_labelled(
    run,
    df: pd.DataFrame,
    *,
    by: str | None = None,
    on_bad_values: str = "error",
    level: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> LabelledEvaluation:
    """Realised performance of ``run``'s model on labelled rows ``df``.

    Parameters
    ----------
    run : Run
    df : DataFrame
        The model's input columns plus the target (``run.spec.target``).
    by : str, default=None
        Column whose values are the groups of the intervals and of the per-group table;
        default: the run's group column when ``df`` has it, else rows are independent.

    Raises
    ------
    ColumnNotFoundError
        The target (or ``by``) is not in ``df``.
    SchemaViolationError
        The features do not match the input schema (the violations of ``predict``).
    DataError
        No labelled rows, or labels the model does not know.
    """
    target = run.spec.target
    if target not in df.columns:
        raise ColumnNotFoundError(
            f"evaluate needs the labels: the target column {target!r} is not in the table "
            f"(columns: {', '.join(map(repr, list(df.columns)[:8]))}{' …' if len(df.columns) > 8 else ''}). "
            "Add the labels, or use `groupwise predict` for rows without them."
        )
    if by is None and run.spec.group_col and run.spec.group_col in df.columns:
        by = run.spec.group_col
    if by is not None and by not in df.columns:
        from groupwise.exceptions import did_you_mean

        raise ColumnNotFoundError(
            f"--by {by!r} is not a column of the table.{did_you_mean(by, df.columns)}"
        )
    predictor = run.predictor
    X, report = predictor.validate_frame(df.drop(columns=[target]), on_bad_values=on_bad_values)
    if not report.ok:
        from groupwise.predict._predict import violation_message

        raise SchemaViolationError(violation_message(report, "the labelled table"), report)
    labelled = df[target].notna().to_numpy()
    missing = int((~labelled).sum())
    if not labelled.any():
        raise DataError(f"Every value of the target {target!r} is missing; nothing to evaluate.")
    out = predictor.raw(X)[labelled]
    y_raw = df[target][labelled].reset_index(drop=True)
    warnings = []
    if missing:
        warnings.append(f"{missing} row(s) without a label were predicted but not evaluated")
    if run.task == "classification":
        y = _label_codes(y_raw, run.classes)
        ms = MetricSet.from_output("classification", y, out, pos=run.positive_code or 1,
                                   threshold=run.threshold if run.threshold is not None else 0.5)  # fmt: skip
    else:
        y = pd.to_numeric(y_raw, errors="coerce").to_numpy(dtype=np.float64)
        if np.isnan(y).any():
            raise DataError(
                f"The target {target!r} holds values that are not numbers "
                f"(e.g. {y_raw[np.isnan(y)].iloc[0]!r}); a regression target must be numeric."
            )
        ms = MetricSet.from_output("regression", y, out)
    names = list(metric_names(run.task))
    groups = df[by][labelled].to_numpy(dtype=object) if by else None
    realised = metric_intervals(ms, names, groups=groups, level=level, n_resamples=n_resamples, seed=seed)  # fmt: skip
    promised = run.metrics.holdout()
    verdicts = {n: _verdict(n, realised[n], promised.get(n)) for n in names}
    n_groups = None if groups is None else int(pd.unique(groups).size)
    if n_groups is not None and n_groups < 5:
        warnings.append(f"only {n_groups} group(s): the interval is wide, and a shift that "
                        "affects whole groups shows only as that width")  # fmt: skip
    per_group = pd.DataFrame()
    if groups is not None:
        keep = [run.metric] + [n for n in ("roc_auc", "balanced_accuracy", "mae") if n in names and n != run.metric]  # fmt: skip
        per_group = _per_group(ms, groups, keep)
        worse_first = not GREATER_IS_BETTER.get(run.metric, True)
        per_group = per_group.sort_values(run.metric, ascending=not worse_first, na_position="last")
        per_group = per_group.head(MAX_GROUP_ROWS).reset_index(drop=True)
    return LabelledEvaluation(
        run_id=run.run_id, task=run.task, metric=run.metric, rows=int(labelled.sum()),
        rows_without_label=missing, by=by, groups=n_groups, method=interval_method(groups),
        threshold=run.threshold if run.task == "classification" else None,
        realised=realised, promised={n: promised[n] for n in names if n in promised},
        verdicts=verdicts, per_group=per_group, warnings=tuple(warnings),
    )  # fmt: skip
