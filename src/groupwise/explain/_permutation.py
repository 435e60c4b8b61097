"""Permutation importance of the raw input columns, on held-out rows."""

from __future__ import annotations

import logging
import os
import time

import numpy as np
import pandas as pd

from groupwise._parallel import limit_fitted_threads, share_fitted
from groupwise.estimators._output import full_proba, predict_output
from groupwise.evaluation._metrics import GREATER_IS_BETTER, MetricSet

logger = logging.getLogger(__name__)

__all__ = ["MIN_REPEATS", "ROW_BUDGET", "permutation_importance_table", "repeats_for"]

#: Rows of the holdout used for importance (a seeded sample above this).
MAX_ROWS = 10_000
#: Shuffled rows scored per column: a column is shuffled as many times as it takes to
#: reach this many rows (the SD of its mean drop shrinks with rows × shuffles), but at
#: least :data:`MIN_REPEATS` times and at most ``n_repeats`` times.
ROW_BUDGET = 8_000
MIN_REPEATS = 3
#: Seconds of predictions (estimated from the first call) above which an executor's
#: workers share the columns; below it the dispatch would cost more than it saves.
PARALLEL_SECONDS = 1.0
#: Rows on which the preprocessed path is checked against the model itself.
_CHECK_ROWS = 256


def permutation_importance_table(
    model,
    X: pd.DataFrame,
    y: np.ndarray,
    *,
    task: str,
    metric: str,
    n_classes: int = 0,
    pos: int = 1,
    n_repeats: int = 5,
    seed: int = 0,
    executor=None,
) -> pd.DataFrame:
    """Drop in ``metric`` when each column is shuffled (mean and SD over repeats).

    Positive importance = the model relies on the column. Sorted, largest first. Each
    column is shuffled :func:`repeats_for` ``(rows, n_repeats)`` times: with the default
    5, 5 times on fewer than 2,000 rows, 4 on up to 2,666 and 3 on more, so that the work
    stops growing once 8,000 shuffled rows per column make the mean drop precise
    (``benchmarks/bench_importance.py`` measures the rankings against 20 shuffles). The
    table records ``repeats`` and ``rows_used``. The shuffles of one column are scored in
    one prediction call on stacked copies of the rows (one call per column, not one per
    shuffle). When the model is a pipeline, or a blend or stack of pipelines, whose
    preprocessing turns each input column into columns of its own (imputation, indicators,
    scaling, one-hot levels, category codes), the rows are preprocessed once and each
    shuffle moves the rows of the preprocessed columns that came from the shuffled input
    column: the same predictions without re-running the preprocessing on every shuffled
    copy (checked against the model on a few rows first; anything else shuffles the input
    rows). With an ``executor`` (:mod:`groupwise._parallel`) the (column, shuffle) pairs
    are shared out among its workers in equal runs when the predictions would take more
    than :data:`PARALLEL_SECONDS` (15 columns on 2 workers split by whole columns leave
    one worker 8 columns and the other 7); the shuffles are drawn here, so the table does
    not depend on where they are scored.
    """
    if len(X) > MAX_ROWS:
        rows = np.sort(np.random.default_rng(seed).choice(len(X), MAX_ROWS, replace=False))
        X, y = X.iloc[rows], y[rows]
    X = X.reset_index(drop=True)
    n, p = X.shape
    columns = list(X.columns)
    n_repeats = repeats_for(n, n_repeats)
    how = (task, metric, n_classes, pos)
    fast = _Preprocessed.build(model, X, task, n_classes, seed)
    t0 = time.perf_counter()
    base = _score(
        predict_output(model, X, task, n_classes) if fast is None else fast.output(), y, how
    )
    expected = (time.perf_counter() - t0) * p * n_repeats
    if fast is not None:  # what the shuffles are scored with; it holds the rows it needs
        model, X = fast, None
    rng = np.random.default_rng(seed)
    perms = np.array(  # n ≤ MAX_ROWS: 32-bit positions
        [[rng.permutation(n) for _ in range(n_repeats)] for _ in range(p)], dtype=np.int32
    ).reshape(p, n_repeats, n)
    units = p * n_repeats
    workers = 1 if executor is None or expected < PARALLEL_SECONDS else executor.workers(units)
    drops = np.zeros((p, n_repeats))
    if workers <= 1:
        runs = [_units(0, units, n_repeats)]
        parts = [_column_drops((model, X, y, runs[0], perms, base, how, os.getpid()), 0)]
    else:
        share = getattr(executor, "share", lambda obj: obj)
        model_, X_ = share_fitted(executor, model), None if X is None else share(X)
        runs = _share_out(p, n_repeats, min(units, 2 * workers))
        parts = executor.map(
            _column_drops,
            [(model_, X_, y, run, perms[[j for j, _, _ in run]], base, how, os.getpid()) for run in runs],
        )  # fmt: skip
    for run, part in zip(runs, parts, strict=True):
        for (j, r0, r1), d in zip(run, part, strict=True):
            drops[j, r0:r1] = d
    table = pd.DataFrame(
        {
            "feature": columns,
            "importance_mean": drops.mean(axis=1),
            "importance_std": drops.std(axis=1),
        }
    )
    table["metric"] = metric
    table["rows_used"] = n
    table["repeats"] = n_repeats
    return table.sort_values("importance_mean", ascending=False, kind="stable").reset_index(
        drop=True
    )


def repeats_for(rows: int, n_repeats: int) -> int:
    """Shuffles per column on ``rows`` rows: enough for :data:`ROW_BUDGET` shuffled rows,
    between :data:`MIN_REPEATS` and ``n_repeats`` (``n_repeats`` itself when it is
    smaller)."""
    if n_repeats <= MIN_REPEATS or rows <= 0:
        return n_repeats
    return int(min(n_repeats, max(MIN_REPEATS, -(-ROW_BUDGET // rows))))


def _score(out, ys, how) -> float:
    task, metric, _, pos = how
    sign = 1.0 if GREATER_IS_BETTER[metric] else -1.0
    ms = (
        MetricSet(task, ys, proba=out, pos=pos)
        if task == "classification"
        else MetricSet(task, ys, pred=out)
    )
    return sign * ms.point([metric])[metric]


def _share_out(p: int, n_repeats: int, chunks: int) -> list[list[tuple[int, int, int]]]:
    """The ``p * n_repeats`` (column, shuffle) units in ``chunks`` runs of equal length
    (±1), each as its :func:`_units`."""
    edges = np.linspace(0, p * n_repeats, chunks + 1).round().astype(int)
    return [_units(a, b, n_repeats) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]


def _units(start: int, stop: int, n_repeats: int) -> list[tuple[int, int, int]]:
    """The (column, first shuffle, end shuffle) runs of units ``start:stop``, where unit
    ``u`` is shuffle ``u % n_repeats`` of column ``u // n_repeats``."""
    out = []
    for j in range(start // n_repeats, (stop - 1) // n_repeats + 1):
        out.append((j, max(start - j * n_repeats, 0), min(stop - j * n_repeats, n_repeats)))
    return out


def _column_drops(args, threads) -> list[np.ndarray]:
    """The drops of the score for each ``(column, r0, r1)`` of ``run``: column ``j``
    (a position) shuffled by its rows ``r0:r1`` of ``perms`` (one block per run item)."""
    model, X, y, run, perms, base, how, owner = args
    task, _, n_classes, _ = how
    if os.getpid() != owner:  # a worker's copy of a model fitted (and its threads set) elsewhere
        for est in model.models() if isinstance(model, _Preprocessed) else (model,):
            limit_fitted_threads(est, threads)
    n, stacked = model.n if isinstance(model, _Preprocessed) else len(X), {}
    drops = []
    for (j, r0, r1), perm in zip(run, perms, strict=True):
        k = r1 - r0
        if isinstance(model, _Preprocessed):
            out = model.output({j: perm[r0:r1]})
            drops.append(
                np.array([base - _score(out[r * n : (r + 1) * n], y, how) for r in range(k)])
            )
            continue
        if k not in stacked:
            stacked[k] = (pd.concat([X] * k, ignore_index=True), np.tile(np.arange(n), k))
        copies, same = stacked[k]
        col = X.columns[j]
        values = X[col].array  # keeps the column's dtype (categories, strings, dates)
        copies[col] = values.take(perm[r0:r1].ravel())
        out = predict_output(model, copies, task, n_classes)
        drops.append(np.array([base - _score(out[r * n : (r + 1) * n], y, how) for r in range(k)]))
        copies[col] = values.take(same)
    return drops


class _Preprocessed:
    """A model's outputs on ``X`` with input columns' rows shuffled, computed from its
    pipelines' preprocessed rows: each pipeline's steps before the model transform ``X``
    once, and shuffling input column ``j`` moves the rows of the preprocessed columns that
    came from ``j`` (its value, missing-value indicator, one-hot levels). Valid when every
    preprocessed column comes from one input column, row by row; :meth:`build` checks
    that on a few rows against the model itself.

    ``parts``: ``(final step, preprocessed rows, {input position: preprocessed column
    positions})`` per pipeline; ``combination``: the blend or stack whose members the
    pipelines are (None for a single pipeline)."""

    def __init__(self, parts, combination, task: str, n_classes: int, n: int):
        self.parts = parts
        self.combination = combination
        self.task = task
        self.n_classes = n_classes
        self.n = n
        self._tiled: dict[tuple[int, int], object] = {}  # (part, copies) -> stacked rows

    @classmethod
    def build(cls, model, X: pd.DataFrame, task: str, n_classes: int, seed: int = 0):
        """The preprocessed path for ``model`` on ``X``, or None where it does not apply
        (not a pipeline of named column transforms, sparse output, or a check that fails)."""
        from groupwise.explain._shap import _source_column

        pipelines, combination = _pipelines(model)
        if not pipelines or task not in ("classification", "regression"):
            return None
        inputs = [str(c) for c in X.columns]
        parts = []
        try:
            for pre, last in pipelines:
                names = [str(v) for v in pre.get_feature_names_out()]
                sources = [_source_column(v, inputs) for v in names]
                if any(s not in inputs for s in sources):
                    return None  # a column not traced to one input column
                Z = pre.transform(X)
                if not isinstance(Z, pd.DataFrame | np.ndarray) or Z.shape != (len(X), len(names)):
                    return None
                where = {j: np.flatnonzero([s == c for s in sources]) for j, c in enumerate(inputs)}
                parts.append((last, Z, where))
        except Exception:  # no feature names, a transform that fails: shuffle the inputs
            return None
        fast = cls(parts, combination, task, n_classes, len(X))
        if not fast._agrees(model, X, seed):
            logger.info("permutation importance: the preprocessed path disagrees; shuffling inputs")
            return None
        return fast

    def _agrees(self, model, X: pd.DataFrame, seed: int) -> bool:
        """Every input column shuffled at once, on up to :data:`_CHECK_ROWS` rows: the same
        outputs from the model on shuffled inputs and from the preprocessed rows."""
        m = min(self.n, _CHECK_ROWS)
        rng = np.random.default_rng(seed)
        perms = {j: rng.permutation(m) for j in range(X.shape[1])}
        shuffled = X.iloc[:m].copy()
        for j, perm in perms.items():
            shuffled.isetitem(j, X.iloc[:m, j].array.take(perm))
        try:
            want = predict_output(model, shuffled, self.task, self.n_classes)
            got = self._outputs([_take_rows(Z, np.arange(m)) for _, Z, _ in self.parts], perms)
        except Exception:
            return False
        return want.shape == got.shape and bool(np.allclose(want, got, rtol=1e-9, atol=1e-12))

    def output(self, moved: dict[int, np.ndarray] | None = None) -> np.ndarray:
        """Outputs (as :func:`predict_output` gives them) on ``k`` stacked copies of the
        rows, where input column ``j`` of copy ``r`` takes rows ``moved[j][r]`` (shape
        ``(k, n)``); one copy of the rows as they are without ``moved``."""
        moved = moved or {}
        k = len(next(iter(moved.values()))) if moved else 1
        Zs = [self._stacked(i, k) for i in range(len(self.parts))]
        flat = {j: np.asarray(perm).ravel() for j, perm in moved.items()}
        return self._outputs(Zs, flat, restore=True)

    def _stacked(self, i: int, k: int):
        if (i, k) not in self._tiled:
            Z = self.parts[i][1]
            rows = np.tile(np.arange(self.n), k)
            self._tiled[(i, k)] = Z if k == 1 else _take_rows(Z, rows)
        return self._tiled[(i, k)]

    def _outputs(self, Zs, flat: dict[int, np.ndarray], restore: bool = False) -> np.ndarray:
        """Outputs of the preprocessed rows ``Zs`` (one per part, changed in place) with the
        columns of each input ``j`` of ``flat`` replaced by the part's own rows ``flat[j]``;
        with ``restore`` the replaced columns are put back afterwards."""
        outs = []
        for (last, Z, where), Zk in zip(self.parts, Zs, strict=True):
            cols = [(where[j], rows) for j, rows in flat.items() if len(where[j])]
            saved = [_set_columns(Zk, c, _take_rows(_columns(Z, c), rows)) for c, rows in cols]
            try:
                outs.append(self._part_output(last, Zk))
            finally:
                if restore:
                    for (c, _), old in zip(cols, saved, strict=True):
                        _set_columns(Zk, c, old)
        if self.combination is None:
            return outs[0]
        out = self.combination.combine(outs)
        if self.task == "classification":
            return full_proba(out, getattr(self.combination, "classes_", None), self.n_classes)
        return np.asarray(out, dtype=np.float64)

    def _part_output(self, last, Z) -> np.ndarray:
        if self.combination is not None:
            return self.combination.member_output(last, Z)
        return predict_output(last, Z, self.task, self.n_classes)

    def models(self) -> list:
        """The fitted models it predicts with (to limit their threads on a worker)."""
        lasts = [last for last, _, _ in self.parts]
        return lasts if self.combination is None else [*lasts, self.combination]

    def __reduce__(self):  # the stacked copies are rebuilt where the object is used
        return (_Preprocessed, (self.parts, self.combination, self.task, self.n_classes, self.n))


def _pipelines(model):
    """``([(preprocessing, final step), ...], combination)``: the pipeline itself, or the
    members of a blend or stack that are all pipelines; ``([], None)`` otherwise."""
    from groupwise.estimators._crossfit import Blend, Stack
    from groupwise.explain._shap import _split

    def split(est):
        pre, last = _split(est)
        return None if pre is None else (pre, last)

    one = split(model)
    if one is not None:
        return [one], None
    members = getattr(model, "members_", None)
    if isinstance(model, Blend | Stack) and members:
        parts = [split(m) for m in members]
        if all(part is not None for part in parts):
            return parts, model
    return [], None


def _take_rows(Z, rows: np.ndarray):
    if isinstance(Z, pd.DataFrame):
        return Z.take(rows).reset_index(drop=True)
    return Z[rows]


def _columns(Z, cols: np.ndarray):
    return Z.iloc[:, cols] if isinstance(Z, pd.DataFrame) else Z[:, cols]


def _set_columns(Z, cols: np.ndarray, values):
    """Put ``values`` (rows of ``len(Z)``) into columns ``cols`` of ``Z`` in place; returns
    what was there."""
    old = _columns(Z, cols).copy()
    if isinstance(Z, pd.DataFrame):
        for i, c in enumerate(cols):
            Z.isetitem(int(c), values.iloc[:, i].array)
    else:
        Z[:, cols] = values
    return old
