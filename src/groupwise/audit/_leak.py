"""LEAK checks: columns and layouts that let the model see the answer."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from groupwise._dates import parse_dates
from groupwise._stats import rank_auc
from groupwise.audit._base import Check, NotApplicable
from groupwise.audit._context import beyond_chance, colliding_pairs, integer_valued
from groupwise.audit._data import _text_sample
from groupwise.exceptions import DataError

__all__ = [
    "IdLikeFeature",
    "MultiFeatureReconstruction",
    "SameEntityInSeveralGroups",
    "SingleFeatureProxy",
    "TimeLeakage",
]

#: Column names that say the value is recorded after (or from) the outcome.
AFTER_OUTCOME = re.compile(
    r"(?:^|[_\W])(final|results?|outcomes?|discharged?|followup|follow_up|post)(?:[_\W]|$)|^total_",
    re.IGNORECASE,
)

_HEX_RE = re.compile(r"^[0-9a-fA-F]{16,}$")
_UUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
_N_BINS = 20


def _feature_codes(s: pd.Series, kind: str) -> np.ndarray:
    """Bin a column into integer codes; missing values get their own code (0)."""
    if kind in ("numeric", "bool", "datetime"):
        if kind == "datetime":
            v = parse_dates(s)[0]
            x = v.to_numpy(dtype="datetime64[ns]").astype(np.int64).astype(np.float64)
            x[v.isna().to_numpy()] = np.nan
        else:
            x = s.to_numpy(dtype=np.float64, na_value=np.nan)
        ok = ~np.isnan(x)
        codes = np.zeros(len(x), dtype=np.int64)
        if ok.any():
            present = x[ok]
            ordered = np.sort(present)  # one sort serves the distinct values and the quantiles
            new_value = np.empty(len(ordered), dtype=bool)
            new_value[0] = True
            np.not_equal(ordered[1:], ordered[:-1], out=new_value[1:])
            if np.count_nonzero(new_value) <= _N_BINS:
                codes[ok] = np.searchsorted(ordered[new_value], present) + 1
            else:
                inner = np.linspace(0, 1, _N_BINS + 1)[1:-1]
                edges = np.unique(np.quantile(ordered, inner))
                codes[ok] = np.searchsorted(edges, present, side="right") + 1
        return codes
    codes, _ = pd.factorize(s, use_na_sentinel=True)
    return codes.astype(np.int64) + 1  # NaN (-1) → 0


def _partition(folds, n: int) -> bool:
    """True when the folds test every one of ``n`` rows exactly once and each training part
    is the rest: then a training part's sums are the whole table's minus its test fold's."""
    if not folds:
        return False
    tested = np.bincount(np.concatenate([te for _, te in folds]), minlength=n)
    return len(tested) == n and bool(np.all(tested == 1)) and all(len(tr) + len(te) == n for tr, te in folds)  # fmt: skip


def _oof_cells(codes: np.ndarray, folds, B: int) -> np.ndarray:
    """Cell of every row: ``fold · B + code`` for the fold that tests it, -1 if untested.

    Out of fold, a row's prediction depends only on its cell, so statistics over rows
    become statistics over at most ``folds · B`` cells."""
    cell = np.full(len(codes), -1, dtype=np.int64)
    for f, (_, te) in enumerate(folds):
        cell[te] = f * B + codes[te]
    return cell


def _cell_means(codes: np.ndarray, t: np.ndarray, folds, B: int, cell: np.ndarray) -> np.ndarray:
    """Per cell, the in-fold mean of ``t`` for the cell's code, smoothed to the fold's
    prior (m-estimate, m = 1)."""
    m = 1.0
    K = len(folds)
    if _partition(folds, len(codes)):
        # every row is tested once (every cell >= 0): the in-fold counts are the totals
        # minus the test fold's, two passes over the rows for all folds together
        counts = np.bincount(cell, minlength=K * B).reshape(K, B)
        sums = np.bincount(cell, weights=t, minlength=K * B).reshape(K, B)
        counts, sums = counts.sum(axis=0) - counts, sums.sum(axis=0) - sums
        prior = sums.sum(axis=1, keepdims=True) / counts.sum(axis=1, keepdims=True)
        return ((sums + m * prior) / (counts + m)).ravel()
    out = np.empty(K * B)
    for f, (tr, _) in enumerate(folds):
        prior = t[tr].mean()
        counts = np.bincount(codes[tr], minlength=B)
        sums = np.bincount(codes[tr], weights=t[tr], minlength=B)
        out[f * B : (f + 1) * B] = (sums + m * prior) / (counts + m)
    return out


def _cell_auc(value: np.ndarray, positives: np.ndarray, negatives: np.ndarray) -> float:
    """ROC AUC of rows scored by their cell's ``value`` (ties get half credit), from the
    positive and negative counts per cell; NaN if one class is empty."""
    n1, n0 = positives.sum(), negatives.sum()
    if n1 == 0 or n0 == 0:
        return float("nan")
    distinct, inverse = np.unique(value, return_inverse=True)
    pos = np.bincount(inverse, weights=positives, minlength=len(distinct))
    neg = np.bincount(inverse, weights=negatives, minlength=len(distinct))
    below = np.cumsum(neg) - neg  # negatives scored strictly lower
    return float((pos * (below + 0.5 * neg)).sum() / (n1 * n0))


def single_feature_cv(
    codes: np.ndarray, y: np.ndarray, folds, task: str, n_classes: int = 0
) -> float:
    """Pooled out-of-fold AUC (classification, macro one-vs-rest) or R² (regression) of
    a model that predicts the in-fold target mean of each code, smoothed to the prior.

    ``folds`` are (train, test) positions, as the plan's cross-validation gives them."""
    B = int(codes.max()) + 1
    cell = _oof_cells(codes, folds, B)
    use = cell >= 0
    cells = cell[use]
    size = len(folds) * B
    rows = np.bincount(cells, minlength=size).astype(np.float64)
    if task == "classification":
        targets = [y == c for c in range(n_classes)] if n_classes > 2 else [y == 1]
        aucs = []
        for t in targets:
            value = _cell_means(codes, t.astype(np.float64), folds, B, cell)
            positives = np.bincount(cells, weights=t[use].astype(np.float64), minlength=size)
            aucs.append(_cell_auc(value, positives, rows - positives))
        return float(np.nanmean(aucs))
    pred = _cell_means(codes, y, folds, B, cell)[cells]
    yy = y[use]
    ss = float(((yy - yy.mean()) ** 2).sum())
    return 1.0 - float(((yy - pred) ** 2).sum()) / ss if ss > 0 else 0.0


def feature_proxy_scores(ctx) -> dict[str, float]:
    """Single-feature CV score of every feature (cached on the context)."""
    if "proxy_scores" in ctx.cache:
        return ctx.cache["proxy_scores"]
    cv = ctx.cv
    if cv is None:
        raise NotApplicable("too few rows or groups for a cross-validated single-feature score")
    folds = cv.folds
    frame = ctx.sample_frame
    if ctx.task == "classification":
        y = ctx.y_codes[ctx.sample]
        n_classes = len(ctx.classes)
        if n_classes == 2:
            y = (y == ctx.positive_code()).astype(np.int64)
    else:
        y = ctx.y_float[ctx.sample]
        n_classes = 0
    scores = {}
    for c in ctx.features:
        codes = _feature_codes(frame[c], ctx.kinds[c])
        scores[c] = single_feature_cv(codes, y, folds, ctx.task, n_classes)
    ctx.cache["proxy_scores"] = scores
    return scores


class SingleFeatureProxy(Check):
    """One feature that alone reconstructs the target.

    A strong biomarker and a leak look the same to one number, so the severity says what
    the evidence supports: near-perfect reconstruction (AUC ≥ 0.99, R² ≥ 0.9), or a
    strong one from a column whose name says it is recorded after the outcome, is an
    error (one finding per column); strong ones (AUC ≥ 0.85, R² ≥ 0.7) share one warning
    that asks whether each value is known before the outcome.
    """

    code = "LEAK001"
    title = "Single-feature target proxy"
    family = "LEAK"
    cost = "expensive"
    LIMITS = {"classification": ("roc_auc", 0.99, 0.85), "regression": ("r2", 0.9, 0.7)}

    def run(self, ctx):
        scores = feature_proxy_scores(ctx)
        metric, err, warn = self.LIMITS[ctx.task]
        cv = (
            "grouped"
            if ctx.group is not None and not ctx.spec.time_col
            else "time"
            if ctx.spec.time_col
            else "stratified"
            if ctx.task == "classification"
            else "random"
        )
        base = {"cv": cv, "folds": len(ctx.cv.folds), **ctx.sample_note()}
        out, strong = [], {}
        for c, s in sorted(scores.items(), key=lambda kv: -kv[1]):
            if s < warn:
                break
            named = AFTER_OUTCOME.search(c)
            if s < err and not named:
                strong[c] = s
                continue
            why = (
                "near-perfectly"
                if s >= err
                else f"strongly, and its name ({named.group(0).strip('_ ')!r}) says it is recorded after the outcome,"
            )
            out.append(
                self.finding(
                    "error",
                    f"{c!r} alone predicts the target {why} with cross-validated {metric} {s:.3f}.",
                    columns=[c],
                    evidence={metric: s, **base},
                    fix="Check how this column is produced: if it is measured after (or from) the "
                    "outcome, drop it (--drop). If it is known before the outcome, accept it "
                    f"(--accept LEAK001:{c}).",
                )
            )
        if strong:
            names = list(strong)
            shown = ", ".join(f"{c} ({v:.2f})" for c, v in list(strong.items())[:6])
            more = f" and {len(names) - 6} more" if len(names) > 6 else ""
            out.append(
                self.finding(
                    "warning",
                    f"{len(names)} feature(s) alone predict the target strongly (cross-validated "
                    f"{metric}): {shown}{more}. Is each known before the outcome?",
                    columns=names,
                    evidence={metric: strong, **base},
                    fix="A strong predictor is fine if its value is available when the prediction is "
                    "made (measured before the outcome); then accept it with --accept LEAK001:<column>. "
                    "If it is recorded after or from the outcome, drop it (--drop).",
                )
            )
        return out


class IdLikeFeature(Check):
    code = "LEAK002"
    title = "ID-like feature"
    family = "LEAK"

    def run(self, ctx):
        found = {}
        n = len(ctx.df)
        for c in ctx.features:
            s = ctx.df[c]
            kind = ctx.kinds[c]
            if kind == "numeric":
                x = s.to_numpy(dtype=np.float64, na_value=np.nan)
                x = x[~np.isnan(x)]
                if len(x) < 10 or not integer_valued(x):
                    continue
                uniq = np.unique(x)
                if len(uniq) >= 0.9 * len(x):
                    found[c] = "near-unique integers"
                elif len(uniq) >= 0.5 * len(x) and np.all(np.diff(uniq) == 1):
                    found[c] = "consecutive integers"
            elif kind == "categorical":
                values = s.dropna()
                if len(values) < 10:
                    continue
                k = int(values.nunique())
                sample = _text_sample(values, n=2000, seed=ctx.random_state).astype(str)
                hashlike = float((sample.str.match(_HEX_RE) | sample.str.match(_UUID_RE)).mean())
                if hashlike >= 0.9:
                    found[c] = "hash-like strings"
                elif k >= 0.9 * len(values) and k >= 0.5 * n:
                    found[c] = "near-unique strings"
        if not found:
            return []
        return [
            self.finding(
                "warning",
                f"{c!r} looks like an identifier ({why}).",
                columns=[c],
                evidence={"pattern": why, "distinct": int(ctx.df[c].nunique()), "rows": n},
                fix=f"Declare it with --id {c} (carried into predictions, never a feature) or drop it; "
                "identifiers can encode collection order and leak the target.",
            )
            for c, why in found.items()
        ]


def _date_candidates(ctx) -> list[tuple[str, bool]]:
    """(column, declared) pairs: the declared time column and undeclared date-like columns."""
    out = []
    if ctx.spec.time_col:
        out.append((ctx.spec.time_col, True))
    out += [(c, False) for c in ctx.of_kind("datetime")]
    return out


class TimeLeakage(Check):
    code = "LEAK003"
    title = "Time leakage"
    family = "LEAK"

    def run(self, ctx):
        from scipy import stats

        candidates = _date_candidates(ctx)
        if not candidates:
            raise NotApplicable("no time column declared (--time) and no date-like column")
        out = []
        frame = ctx.sample_frame
        for c, declared in candidates:
            t = frame[c]
            if not pd.api.types.is_numeric_dtype(t):
                t = parse_dates(t)[0]
            ok = t.notna().to_numpy()
            if ok.sum() < 10:
                continue
            tv = (
                t.to_numpy(dtype=np.float64)
                if pd.api.types.is_numeric_dtype(t)
                else t.to_numpy(dtype="datetime64[ns]").astype(np.int64).astype(np.float64)
            )[ok]
            if ctx.task == "classification":
                y = ctx.y_codes[ctx.sample][ok]
                if len(ctx.classes) == 2:
                    pos = y == ctx.positive_code()
                    auc = rank_auc(tv, pos)
                    p = (
                        float(stats.mannwhitneyu(tv[pos], tv[~pos]).pvalue)
                        if 0 < pos.sum() < len(pos)
                        else 1.0
                    )
                    effect, name, drift = abs(auc - 0.5), "auc_of_time", auc
                    strong = effect >= 0.1
                else:
                    groups = [tv[y == k] for k in range(len(ctx.classes)) if (y == k).sum() > 0]
                    h, p = stats.kruskal(*groups)
                    drift = float(h / (len(tv) - 1))
                    name, strong = "epsilon_squared", drift >= 0.04
            else:
                drift, p = stats.spearmanr(tv, ctx.y_float[ctx.sample][ok])
                name, strong = "spearman_rho", abs(drift) >= 0.2
            ordered = bool(pd.Series(ctx.df[c]).is_monotonic_increasing)
            evidence = {
                name: float(drift),
                "p_value": float(p),
                "rows_in_time_order": ordered,
                **ctx.sample_note(),
            }
            if strong and p < 0.001:
                if declared:
                    out.append(
                        self.finding(
                            "info",
                            f"The target drifts along the time column {c!r}; the holdout is the most "
                            "recent period, so expect it to score below cross-validation.",
                            columns=[c],
                            evidence=evidence,
                            fix="Nothing to fix: splits follow time. Monitor the drift after deployment.",
                        )
                    )
                else:
                    out.append(
                        self.finding(
                            "warning",
                            f"The target drifts along the date column {c!r}: a random split would train "
                            "on the future and test on the past"
                            + ("" if ordered else " (rows are not in time order)")
                            + ".",
                            columns=[c],
                            evidence=evidence,
                            fix=f"Declare it with --time {c} so holdout and CV follow time, or drop it.",
                        )
                    )
            elif declared and not ordered:
                out.append(
                    self.finding(
                        "info",
                        f"Rows are not in order of the time column {c!r}.",
                        columns=[c],
                        evidence=evidence,
                        fix="Nothing to fix: groupwise sorts by time before splitting.",
                    )
                )
        return out


class SameEntityInSeveralGroups(Check):
    code = "LEAK004"
    title = "Same entity in several groups"
    family = "LEAK"

    def run(self, ctx):
        if ctx.spec.group_col is None:
            raise NotApplicable("no group column declared (--group)")
        if not ctx.features:
            raise NotApplicable("no features")
        h = ctx.row_hash(ctx.features)
        twins = ctx.twins(ctx.features)
        repeated = pd.DataFrame({"h": h[twins], "g": ctx.df[ctx.spec.group_col].to_numpy()[twins]})
        if repeated.empty:
            return []
        n_groups = repeated.groupby("h")["g"].nunique()
        shared = n_groups[n_groups > 1]
        if shared.empty:
            return []
        rows = int(repeated["h"].isin(shared.index).sum())
        share = rows / len(h)
        # pairs of rows from different groups with identical features, against the number
        # that would agree by chance given how often each column's values repeat (only
        # twins can form a pair)
        pairs = colliding_pairs(repeated["h"].to_numpy()) - colliding_pairs(
            pd.util.hash_pandas_object(repeated, index=False).to_numpy()
        )
        if all(ctx.df[c].nunique() <= 20 for c in ctx.features):
            return []  # only low-cardinality features: identical rows are expected
        expected = ctx.chance_pairs(ctx.features, also=[ctx.target])
        if not beyond_chance(pairs, expected):
            return []
        examples = (
            repeated[repeated["h"].isin(shared.index[:3])]
            .groupby("h")["g"]
            .unique()
            .map(lambda v: [str(x) for x in v])
            .tolist()
        )
        severity = "error" if share >= 0.01 else "warning"
        return [
            self.finding(
                severity,
                f"{len(shared)} identical feature rows appear under several group ids ({rows} rows), "
                "more than chance explains.",
                columns=[ctx.spec.group_col],
                evidence={
                    "entities": len(shared),
                    "rows": rows,
                    "share": share,
                    "cross_group_pairs": pairs,
                    "pairs_expected_by_chance": expected,
                    "example_groups": examples,
                },
                fix="The same sample was probably recorded in several batches; keep one copy or give "
                "copies the same group id, or grouped CV will test on rows it trained on.",
            )
        ]


def _design_blocks(frame: pd.DataFrame, ctx) -> dict[str, np.ndarray]:
    """Per feature, its standardised numeric columns: value (+ missing indicator) for
    numbers and dates, one-hot of the 20 most frequent levels for categoricals."""
    blocks = {}
    for c in ctx.features:
        kind = ctx.kinds[c]
        s = frame[c]
        if kind in ("numeric", "bool", "datetime"):
            if kind == "datetime":
                t = parse_dates(s)[0]
                x = t.to_numpy(dtype="datetime64[ns]").astype(np.int64).astype(np.float64)
                x[t.isna().to_numpy()] = np.nan
            else:
                x = s.to_numpy(dtype=np.float64, na_value=np.nan)
            miss = np.isnan(x)
            if miss.all():
                continue
            x = np.where(miss, np.nanmedian(x), x)
            cols = [x] + ([miss.astype(np.float64)] if miss.any() else [])
        else:
            top = s.value_counts().index[:20]
            if len(top) < 2:
                continue
            cols = [(s == v).to_numpy(dtype=np.float64) for v in top]
        m = np.column_stack(cols)
        sd = m.std(axis=0)
        keep = sd > 0
        if keep.any():
            blocks[c] = (m[:, keep] - m[:, keep].mean(axis=0)) / sd[keep]
    return blocks


def _oof_linear(Xb: np.ndarray, Y: np.ndarray, folds) -> np.ndarray:
    """Out-of-fold least-squares predictions of each column of ``Y`` (tiny ridge)."""
    pred = np.full(Y.shape, np.nan)
    A = np.column_stack([np.ones(len(Xb)), Xb])
    ridge = 1e-6 * np.eye(A.shape[1])
    ridge[0, 0] = 0.0
    if _partition(folds, len(A)):
        # the folds partition the rows: each training part's cross-products are the whole
        # table's minus the test fold's
        G, B = A.T @ A, A.T @ Y
        for tr, te in folds:
            At = A[te]
            coef = np.linalg.solve(G - At.T @ At + ridge * len(tr), B - At.T @ Y[te])
            pred[te] = At @ coef
        return pred
    for tr, te in folds:
        coef = np.linalg.solve(A[tr].T @ A[tr] + ridge * len(tr), A[tr].T @ Y[tr])
        pred[te] = A[te] @ coef
    return pred


def _oof_tree(Xb: np.ndarray, y: np.ndarray, folds, task: str) -> np.ndarray:
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    tree = (
        DecisionTreeClassifier(max_depth=4, random_state=0)
        if task == "classification"
        else DecisionTreeRegressor(max_depth=4, random_state=0)
    )
    if task == "classification":
        pred = np.full((len(y), int(y.max()) + 1), np.nan)
    else:
        pred = np.full((len(y), 1), np.nan)
    for tr, te in folds:
        tree.fit(Xb[tr], y[tr])
        if task == "classification":
            p = np.zeros((len(te), pred.shape[1]))
            p[:, tree.classes_.astype(int)] = tree.predict_proba(Xb[te])
            pred[te] = p
        else:
            pred[te, 0] = tree.predict(Xb[te])
    return pred


def _reconstruction_score(pred: np.ndarray, y: np.ndarray, task: str) -> float:
    """Pooled out-of-fold R² (regression) or balanced accuracy (classification)."""
    ok = ~np.isnan(pred).any(axis=1)
    if ok.sum() < 10:
        return float("nan")
    if task == "regression":
        yy, pp = y[ok], pred[ok, 0]
        ss = float(((yy - yy.mean()) ** 2).sum())
        return 1.0 - float(((yy - pp) ** 2).sum()) / ss if ss > 0 else float("nan")
    yy = y[ok].astype(int)
    guess = pred[ok].argmax(axis=1)
    recalls = [np.mean(guess[yy == k] == k) for k in np.unique(yy)]
    return float(np.mean(recalls))


class MultiFeatureReconstruction(Check):
    """The target is (almost) a function of a few features together.

    Greedy forward selection of up to five columns with a fast linear fit, and a shallow
    tree on all features, each under the plan's own cross-validation on a sample of rows
    (up to 20,000; the greedy search on 5,000 of them, the tree on 10,000).
    When a set of columns reconstructs the target near perfectly (R² ≥ 0.98, or balanced
    accuracy ≥ 0.995) the finding names it; one column alone is LEAK001's finding.
    """

    code = "LEAK005"
    title = "Target reconstructed from several features"
    family = "LEAK"
    cost = "expensive"
    max_rows = 20_000
    greedy_rows = 5_000
    tree_rows = 10_000
    max_columns = 5
    LIMITS = {"classification": ("balanced_accuracy", 0.995), "regression": ("r2", 0.98)}

    def run(self, ctx):
        from groupwise.model_selection import cv_splits

        if len(ctx.features) < 2:
            raise NotApplicable("fewer than two features")
        rows = ctx.sample
        if len(rows) > self.max_rows:
            rng = np.random.default_rng(ctx.random_state)
            rows = np.sort(rng.choice(rows, self.max_rows, replace=False))
        try:
            folds = cv_splits(ctx.table, rows, folds=min(ctx.folds, 5), seed=ctx.random_state).folds
        except (DataError, ValueError) as exc:
            raise NotApplicable(f"the table cannot be cross-validated: {exc}") from None
        metric, limit = self.LIMITS[ctx.task]
        if ctx.task == "classification" and len(rows) < 100:
            raise NotApplicable("fewer than 100 rows: perfect separation happens by chance")
        blocks = _design_blocks(ctx.frame.iloc[rows], ctx)
        if len(blocks) < 2:
            raise NotApplicable("fewer than two usable features")
        if ctx.task == "classification":
            y = ctx.y_codes[rows]
            Y = np.eye(int(y.max()) + 1)[y]
        else:
            y = ctx.y_float[rows]
            Y = y[:, None]

        def part(size):
            """A seeded subset of ``rows`` (positions into it) and its own folds."""
            if len(rows) <= size:
                return np.arange(len(rows)), folds
            pick = np.sort(np.random.default_rng(ctx.random_state).choice(len(rows), size, replace=False))  # fmt: skip
            return pick, cv_splits(ctx.table, rows[pick], folds=min(ctx.folds, 5), seed=ctx.random_state).folds  # fmt: skip

        greedy_rows, greedy_folds = part(self.greedy_rows)
        # the tree sorts every column at every node: the cost that grows with the rows
        tree_rows, tree_folds = part(self.tree_rows)

        def linear(columns, part=None):
            X = np.column_stack([blocks[c] for c in columns])
            if part is None:
                return _reconstruction_score(_oof_linear(X, Y, folds), y, ctx.task)
            return _reconstruction_score(
                _oof_linear(X[part], Y[part], greedy_folds), y[part], ctx.task
            )

        def tree(columns):
            X = np.column_stack([blocks[c][tree_rows] for c in columns])
            yt = y[tree_rows]
            return _reconstruction_score(_oof_tree(X, yt, tree_folds, ctx.task), yt, ctx.task)

        def greedy(score, steps):
            chosen, best = [], -np.inf
            for _ in range(min(steps, len(blocks))):
                trials = {
                    c: np.nan_to_num(score([*chosen, c]), nan=-np.inf)
                    for c in blocks
                    if c not in chosen
                }
                c, sc = max(trials.items(), key=lambda kv: kv[1])
                if chosen and sc <= best + 1e-4:
                    break
                chosen.append(c)
                best = sc
                if sc >= limit:
                    break
            return chosen, best

        # a linear formula of a few columns (a difference, a ratio's log, a total), found by
        # greedy forward selection on a sample; threshold rules by a shallow tree on all
        chosen, _ = greedy(lambda cols: linear(cols, greedy_rows), self.max_columns)
        best, model = np.nan_to_num(linear(chosen), nan=-np.inf), "linear"
        full = np.nan_to_num(tree(list(blocks)), nan=-np.inf)
        if best < limit and full >= limit:
            chosen, best = greedy(tree, 3)
            model = "tree of depth 4"
        if best < limit or len(chosen) < 2:
            return []  # nothing near-perfect, or one column alone (LEAK001's finding)
        best = (best, model)
        return [
            self.finding(
                "error",
                f"The target is reconstructed near-perfectly from {len(chosen)} columns together "
                f"({', '.join(chosen)}): cross-validated {metric} {best[0]:.3f} with a {best[1]} model.",
                columns=chosen,
                evidence={
                    metric: float(best[0]),
                    "model": best[1],
                    "rows_used": int(len(rows) if model == "linear" else len(tree_rows)),
                    "folds": len(folds),
                },
                fix="A target that is (almost) a formula of other columns is usually one of them "
                "computed from the others (a difference, a ratio, a total): check how these columns "
                "are produced and drop the ones derived from the target. If the relation is real "
                "and the columns are known before the outcome, accept it (--accept LEAK005:<column>).",
            )
        ]
