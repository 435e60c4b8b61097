"""LEAK checks: columns and layouts that let the model see the answer."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from groupwise._stats import rank_auc
from groupwise.audit._base import Check, NotApplicable
from groupwise.audit._data import _DATE_RE, _text_sample

__all__ = ["IdLikeFeature", "SameEntityInSeveralGroups", "SingleFeatureProxy", "TimeLeakage"]

_HEX_RE = re.compile(r"^[0-9a-fA-F]{16,}$")
_UUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
_N_BINS = 20


def _feature_codes(s: pd.Series, kind: str) -> np.ndarray:
    """Bin a column into integer codes; missing values get their own code (0)."""
    if kind in ("numeric", "bool", "datetime"):
        if kind == "datetime":
            v = pd.to_datetime(s, errors="coerce")
            x = v.to_numpy(dtype="datetime64[ns]").astype(np.int64).astype(np.float64)
            x[v.isna().to_numpy()] = np.nan
        else:
            x = s.to_numpy(dtype=np.float64, na_value=np.nan)
        ok = ~np.isnan(x)
        codes = np.zeros(len(x), dtype=np.int64)
        if ok.any():
            uniq = np.unique(x[ok])
            if len(uniq) <= _N_BINS:
                codes[ok] = np.searchsorted(uniq, x[ok]) + 1
            else:
                edges = np.unique(np.quantile(x[ok], np.linspace(0, 1, _N_BINS + 1)[1:-1]))
                codes[ok] = np.searchsorted(edges, x[ok], side="right") + 1
        return codes
    codes, _ = pd.factorize(s, use_na_sentinel=True)
    return codes.astype(np.int64) + 1  # NaN (-1) → 0


def _oof_code_means(
    codes: np.ndarray, t: np.ndarray, folds, B: int
) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold mean of ``t`` per code, smoothed to the fold's prior (m-estimate, m = 1);
    returns the predictions and the mask of rows that were tested."""
    m = 1.0
    pred = np.full(len(t), np.nan)
    for tr, te in folds:
        prior = t[tr].mean()
        counts = np.bincount(codes[tr], minlength=B)
        sums = np.bincount(codes[tr], weights=t[tr], minlength=B)
        pred[te] = ((sums + m * prior) / (counts + m))[codes[te]]
    return pred, ~np.isnan(pred)


def single_feature_cv(
    codes: np.ndarray, y: np.ndarray, folds, task: str, n_classes: int = 0
) -> float:
    """Pooled out-of-fold AUC (classification, macro one-vs-rest) or R² (regression) of
    a model that predicts the in-fold target mean of each code, smoothed to the prior.

    ``folds`` are (train, test) positions, as the plan's cross-validation gives them."""
    B = int(codes.max()) + 1
    if task == "classification":
        targets = [y == c for c in range(n_classes)] if n_classes > 2 else [y == 1]
        aucs = []
        for t in targets:
            pred, use = _oof_code_means(codes, t.astype(np.float64), folds, B)
            aucs.append(rank_auc(pred[use], t[use]))
        return float(np.nanmean(aucs))
    pred, use = _oof_code_means(codes, y, folds, B)
    yy = y[use]
    ss = float(((yy - yy.mean()) ** 2).sum())
    return 1.0 - float(((yy - pred[use]) ** 2).sum()) / ss if ss > 0 else 0.0


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
    code = "LEAK001"
    title = "Single-feature target proxy"
    family = "LEAK"
    cost = "expensive"

    def run(self, ctx):
        scores = feature_proxy_scores(ctx)
        if ctx.task == "classification":
            metric, err, warn = "roc_auc", 0.95, 0.85
        else:
            metric, err, warn = "r2", 0.9, 0.7
        out = []
        cv = (
            "grouped"
            if ctx.group is not None
            else "stratified"
            if ctx.task == "classification"
            else "random"
        )
        for c, s in sorted(scores.items(), key=lambda kv: -kv[1]):
            if s < warn:
                break
            severity = "error" if s >= err else "warning"
            out.append(
                self.finding(
                    severity,
                    f"{c!r} alone predicts the target with cross-validated {metric} {s:.3f}.",
                    columns=[c],
                    evidence={
                        metric: s,
                        "cv": cv,
                        "folds": len(ctx.cv.folds),
                        **ctx.sample_note(),
                    },
                    fix="Check how this column is produced: if it is measured after (or from) the "
                    "outcome, drop it (--drop). A genuine strong predictor is fine, but confirm it.",
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
            values = s.dropna()
            if len(values) < 10:
                continue
            if kind == "numeric":
                x = values.to_numpy(dtype=np.float64)
                if not np.all(np.mod(x, 1) == 0):
                    continue
                uniq = np.unique(x)
                if len(uniq) >= 0.9 * len(x):
                    found[c] = "near-unique integers"
                elif len(uniq) >= 0.5 * len(x) and np.all(np.diff(uniq) == 1):
                    found[c] = "consecutive integers"
            elif kind == "categorical":
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
    for c in ctx.features:
        kind = ctx.kinds[c]
        if kind == "datetime":
            out.append((c, False))
        elif kind == "categorical":
            sample = _text_sample(ctx.df[c], n=500, seed=ctx.random_state).astype(str)
            if len(sample) and sample.str.match(_DATE_RE).mean() >= 0.9:
                out.append((c, False))
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
            t = pd.to_datetime(frame[c], errors="coerce", format="mixed")
            ok = t.notna().to_numpy()
            if ok.sum() < 10:
                continue
            tv = t.to_numpy(dtype="datetime64[ns]").astype(np.int64)[ok].astype(np.float64)
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
        frame = pd.DataFrame({"h": h, "g": ctx.df[ctx.spec.group_col].to_numpy()})
        repeated = frame[frame["h"].duplicated(keep=False)]
        if repeated.empty:
            return []
        n_groups = repeated.groupby("h")["g"].nunique()
        shared = n_groups[n_groups > 1]
        if shared.empty:
            return []
        rows = int(repeated["h"].isin(shared.index).sum())
        share = rows / len(frame)
        coarse = ctx.feature_rows_coarse
        examples = (
            repeated[repeated["h"].isin(shared.index[:3])]
            .groupby("h")["g"]
            .unique()
            .map(lambda v: [str(x) for x in v])
            .tolist()
        )
        severity = "info" if coarse else "error" if share >= 0.01 else "warning"
        return [
            self.finding(
                severity,
                f"{len(shared)} identical feature rows appear under several group ids ({rows} rows)"
                + ("; the features are coarse, so some coincidences are expected" if coarse else "")
                + ".",
                columns=[ctx.spec.group_col],
                evidence={
                    "entities": len(shared),
                    "rows": rows,
                    "share": share,
                    "example_groups": examples,
                },
                fix="The same sample was probably recorded in several batches; keep one copy or give "
                "copies the same group id, or grouped CV will test on rows it trained on.",
            )
        ]
