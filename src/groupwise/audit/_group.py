"""GROUP checks: batches, plates, sites and subjects."""

from __future__ import annotations

import numpy as np
import pandas as pd

from groupwise._stats import group_variance_explained
from groupwise.audit._base import Check, NotApplicable
from groupwise.audit._context import integer_valued

__all__ = [
    "BatchEffectStrength",
    "GroupConfounding",
    "GroupPredictability",
    "GroupSizes",
    "TooFewGroups",
    "UndeclaredGrouping",
]


def _need_group(ctx) -> None:
    if ctx.spec.group_col is None:
        raise NotApplicable("no group column declared (--group)")


def _numeric_matrix(frame: pd.DataFrame, columns, rows=None) -> np.ndarray:
    """``columns`` of ``frame`` (at positions ``rows``, all by default) as floats, NaN for
    missing; column-major, as the statistics go column by column."""
    n = len(frame) if rows is None else len(rows)
    out = np.empty((n, len(columns)), order="F")
    for j, c in enumerate(columns):
        x = frame[c].to_numpy(dtype=np.float64, na_value=np.nan)
        out[:, j] = x if rows is None else x[rows]
    return out


def _sample_numeric_matrix(ctx) -> np.ndarray:
    """The sampled rows × numeric features as floats (NaN for missing), built once."""
    if "numeric_matrix" not in ctx.cache:
        ctx.cache["numeric_matrix"] = _numeric_matrix(ctx.sample_frame, ctx.numeric_features)
    return ctx.cache["numeric_matrix"]


def _single_class_share(ctx) -> float:
    """Share of rows whose group holds a single class."""
    g = ctx.group_codes
    ok = g >= 0
    per_group = pd.DataFrame({"g": g[ok], "y": ctx.y_codes[ok]}).groupby("g")["y"].nunique()
    pure = per_group.index[per_group == 1]
    return float(np.isin(g[ok], pure).mean())


def group_target_link(ctx) -> dict:
    """How the group relates to the target.

    ``kind`` is ``"confounded"`` (groups unevenly filled with classes or target values,
    significantly), ``"group_label"`` (each group holds one class: the target is a
    group-level property, as for subjects) or ``"none"``. When confounded,
    ``severity`` is ``"error"`` or ``"warning"``.
    """
    assoc = ctx.group_target_association()
    value, p = assoc["value"], assoc["p_value"]
    evidence = {
        assoc["statistic"]: value,
        "p_value": p,
        "permutations": assoc["permutations"],
        **ctx.sample_note(),
    }
    link = {"label": "η²", "value": value, "p": p, "evidence": evidence, "kind": "none"}
    if ctx.task == "classification":
        warn, err = 0.3, 0.5
        link["label"] = "Cramér's V"
        pure = _single_class_share(ctx)
        evidence["rows_in_single_class_groups"] = pure
        if pure >= 0.9 and value >= warn:
            link["kind"] = "group_label"
            return link
    else:
        warn, err = 0.09, 0.25
    if p < 0.01 and value >= warn:
        link["kind"] = "confounded"
        link["severity"] = "error" if value >= err else "warning"
    return link


class GroupConfounding(Check):
    """The group tied to the target.

    For **batches** (technical groupings: plates, runs, site visits) the tie is a defect:
    batch offsets can pass for signal. For **units** (subjects, persons, firms, schools;
    ``group_kind="unit"``) outcomes differ between units by nature, grouped splits are the
    answer, and the finding is the share of target variation between units (info).
    """

    code = "GROUP001"
    title = "Batch × class confounding"
    family = "GROUP"

    def run(self, ctx):
        _need_group(ctx)
        if ctx.n_groups < 2:
            raise NotApplicable("a single group")
        link = group_target_link(ctx)
        col = ctx.spec.group_col
        if ctx.spec.group_kind == "unit":
            if link["p"] >= 0.01:
                return []
            what = (
                f"{link['value']:.0%} of the target's variance lies between {col!r} units (η²)"
                if ctx.task == "regression"
                else f"the class mix differs between {col!r} units (Cramér's V = {link['value']:.2f})"
            )
            return [
                self.finding(
                    "info",
                    f"Units differ in their outcome: {what}.",
                    columns=[col, ctx.target],
                    evidence={**link["evidence"], "group_kind": "unit"},
                    fix="Nothing to fix: a unit's effect is real. Grouped splits (--group) keep every "
                    "unit on one side, so the estimate is the one to expect on new units.",
                )
            ]
        if link["kind"] == "group_label":
            return [
                self.finding(
                    "info",
                    f"Each {col!r} holds a single class: the target is a property of the group "
                    "(as for subjects or patients).",
                    columns=[col, ctx.target],
                    evidence=link["evidence"],
                    fix="Nothing to fix as long as splits are grouped (they are with --group); "
                    "the model must generalise to new groups. If the groups are subjects or other "
                    "units, declare --group-kind unit.",
                )
            ]
        if link["kind"] == "none":
            return []
        balance = (
            "rebalance classes across batches in future runs"
            if ctx.task == "classification"
            else "spread the target's range evenly across batches in future runs"
        )
        return [
            self.finding(
                link["severity"],
                f"{col!r} and the target are tied ({link['label']} = {link['value']:.2f}, "
                f"permutation p = {link['p']:.3f}): batch offsets can pass for signal.",
                columns=[col, ctx.target],
                evidence=link["evidence"],
                fix=f"Keep the grouped split (train with --group) and read the naive − grouped gap; "
                f"{balance}; consider BatchCorrector. If {col!r} identifies subjects or other units "
                "whose outcome genuinely differs, declare --group-kind unit.",
            )
        ]


class BatchEffectStrength(Check):
    code = "GROUP002"
    title = "Batch effect strength"
    family = "GROUP"

    def run(self, ctx):
        _need_group(ctx)
        cols = ctx.numeric_features
        if not cols:
            raise NotApplicable("no numeric features")
        if ctx.n_groups < 2:
            raise NotApplicable("a single group")
        codes = ctx.group_codes[ctx.sample]
        stats = group_variance_explained(codes, _sample_numeric_matrix(ctx))
        eta2 = pd.Series(stats["eta2"], index=cols).sort_values(ascending=False)
        eps2 = stats["eps2"]
        strong = (eps2 >= 0.05) & (stats["p_value"] < 0.001)
        if not strong.any():
            return []
        top = eta2.head(5)
        return [
            self.finding(
                "info",
                f"{ctx.spec.group_col!r} explains a median {float(np.median(stats['eta2'])):.0%} of feature "
                f"variance (up to {float(top.iloc[0]):.0%} in {top.index[0]!r}); "
                f"{int(strong.sum())} of {len(cols)} features carry a batch effect.",
                columns=list(top.index),
                evidence={
                    "median_eta_squared": float(np.median(stats["eta2"])),
                    "top_features": {k: float(v) for k, v in top.items()},
                    "features_with_batch_effect": int(strong.sum()),
                    **ctx.sample_note(),
                },
                fix="Grouped splits keep the estimate honest; to remove the offsets, put "
                "groupwise.estimators.BatchCorrector in the pipeline.",
            )
        ]


class TooFewGroups(Check):
    code = "GROUP003"
    title = "Too few groups"
    family = "GROUP"

    def run(self, ctx):
        _need_group(ctx)
        k = ctx.n_groups
        col = ctx.spec.group_col
        if k < 3:
            return [
                self.finding(
                    "error",
                    f"Only {k} distinct {col!r} value(s): a grouped estimate needs at least 3 groups.",
                    columns=[col],
                    evidence={"groups": k},
                    fix="Collect more groups; with fewer than 3 no held-out group estimate is meaningful.",
                )
            ]
        if k < ctx.folds:
            return [
                self.finding(
                    "info",
                    f"{k} groups is fewer than {ctx.folds} folds: leave-one-group-out is used.",
                    columns=[col],
                    evidence={"groups": k, "folds": ctx.folds},
                    fix="Nothing to fix; expect wide confidence intervals with so few groups.",
                )
            ]
        return []


#: Candidate groupings have at least this many levels and this many rows per level.
MIN_LEVELS, MIN_ROWS_PER_LEVEL = 5, 5
#: Outcome-only evidence needs more levels and rows (a random intercept in the outcome).
OUTCOME_LEVELS, OUTCOME_ROWS_PER_LEVEL = 10, 20
#: Share of the target's variance between levels (ε²) that counts as an outcome shift.
OUTCOME_EPS2 = 0.1


def _is_code_like(s: pd.Series) -> bool:
    """Integer- or string-coded (not a measurement with decimals, a date or a flag)."""
    dt = s.dtype
    if pd.api.types.is_bool_dtype(dt) or pd.api.types.is_datetime64_any_dtype(dt):
        return False
    if pd.api.types.is_float_dtype(dt):
        x = s.to_numpy(dtype=np.float64, na_value=np.nan)
        return integer_valued(x[~np.isnan(x)])
    return True


def _nested_in(child_codes: np.ndarray, parent_codes: np.ndarray) -> bool:
    """True when every level of the child sits in one level of the parent (codes, -1 for a
    missing value; rows missing either are left out)."""
    ok = (child_codes >= 0) & (parent_codes >= 0)
    if not ok.any():
        return False
    c, p = child_codes[ok], parent_codes[ok]
    first = np.empty(int(c.max()) + 1, dtype=p.dtype)
    first[c[::-1]] = p[::-1]  # the parent each child level is first seen with
    return bool(np.all(first[c] == p))


def _grouping_candidates(ctx) -> list[str]:
    skip = {ctx.target, ctx.spec.group_col, ctx.spec.time_col, *ctx.spec.drop_cols}
    out = []
    for c in ctx.df.columns:
        if c in skip or (c in ctx.kinds and ctx.kinds[c] == "datetime"):
            continue
        s = ctx.frame[c]
        if not _is_code_like(s):
            continue
        codes, _ = pd.factorize(s, use_na_sentinel=True)
        k = int(codes.max()) + 1 if len(codes) else 0
        if k < MIN_LEVELS or k > len(s) / MIN_ROWS_PER_LEVEL:
            continue
        if ctx.group_codes is not None and _nested_in(codes, ctx.group_codes):
            continue  # splitting by the declared group already keeps its levels together
        out.append(c)
    return out


def _trend_share(codes: np.ndarray, values: np.ndarray, x: np.ndarray) -> float:
    """Share of the between-level variation of ``x`` that a straight line in the level's
    value explains (near 1 for a measurement such as body mass, near 0 for arbitrary ids)."""
    ok = ~np.isnan(x) & (codes >= 0)
    n_levels = int(codes.max()) + 1
    counts = np.bincount(codes[ok], minlength=n_levels).astype(float)
    present = counts > 0
    if present.sum() < 3:
        return 0.0
    means = np.bincount(codes[ok], weights=x[ok], minlength=n_levels)[present] / counts[present]
    v, w = values[present], counts[present]
    vm, mm = np.average(v, weights=w), np.average(means, weights=w)
    sxx = float(np.sum(w * (v - vm) ** 2))
    syy = float(np.sum(w * (means - mm) ** 2))
    if sxx <= 0 or syy <= 0:
        return 0.0
    sxy = float(np.sum(w * (v - vm) * (means - mm)))
    return sxy**2 / (sxx * syy)


def _outcome_heterogeneity(ctx, codes: np.ndarray, rng, rows) -> tuple[float, float | None]:
    """Chance-adjusted share of target variance between levels (ε²; one-vs-rest mean for
    classes) and its permutation p-value (200 permutations of the levels over the rows).

    The p-value only decides a finding when ε² reaches :data:`OUTCOME_EPS2`; below it, it is
    not computed (None)."""
    if ctx.task == "classification":
        y = ctx.y_codes[rows]
        Y = np.eye(int(y.max()) + 1)[y][:, 1:] if y.max() >= 1 else y[:, None].astype(float)
    else:
        Y = ctx.y_float[rows][:, None]
    observed = float(np.mean(group_variance_explained(codes, Y)["eps2"]))
    if observed < OUTCOME_EPS2:
        return observed, None
    perms = _permuted_eps2(codes, Y, rng, 200)
    return observed, float((1 + int(np.sum(perms >= observed))) / 201)


def _permuted_eps2(codes: np.ndarray, Y: np.ndarray, rng, n_perm: int) -> np.ndarray:
    """ε² (mean over the columns of ``Y``, as :func:`group_variance_explained` computes it)
    with the level codes permuted over the rows that have one, ``n_perm`` times.

    The level sizes, totals and total sums of squares do not change under a permutation, so
    each one costs a shuffle and one weighted count per column."""
    ok = codes >= 0
    g, Yk = codes[ok], Y[ok]
    n, L = len(g), int(g.max()) + 1
    counts = np.bincount(g, minlength=L)
    nz = counts > 0
    k = int(nz.sum())
    out = np.zeros(n_perm)
    if n < 3 or k < 2 or n - k < 1:
        return out
    mean = Yk.mean(axis=0)
    ss_total = ((Yk - mean) ** 2).sum(axis=0)
    cols = np.flatnonzero(ss_total > 0)
    for b in range(n_perm):
        shuffled = rng.permutation(g)
        eps = np.zeros(Y.shape[1])
        for j in cols:
            sums = np.bincount(shuffled, weights=Yk[:, j], minlength=L)[nz]
            ssb = min(max(float((sums**2 / counts[nz]).sum() - n * mean[j] ** 2), 0.0), ss_total[j])
            msw = (ss_total[j] - ssb) / (n - k)
            eps[j] = (ssb - (k - 1) * msw) / ss_total[j]
        out[b] = eps.mean()
    return out


class UndeclaredGrouping(Check):
    """A column whose levels behave like batches, sites or subjects, not declared as the group.

    Candidates are integer- or string-coded columns whose values repeat heavily (≥ 5 levels,
    ≥ 5 rows per level), not dropped and not nested in the declared group. Evidence is
    either a feature signature (rows sharing a value are alike in most features) or an
    outcome shift across levels beyond chance (≥ 10 levels of ≥ 20 rows), measured on up to
    :attr:`max_rows` rows. Numeric codes whose effect is a straight line in the value are
    measurements, not groupings.
    """

    code = "GROUP004"
    title = "Undeclared grouping"
    family = "GROUP"
    cost = "moderate"
    #: rows of the level statistics (a seeded part of the audit's sample): a level
    #: signature or outcome shift strong enough to report is plain on this many
    max_rows = 50_000

    def run(self, ctx):
        # no candidate column (integer- or string-coded, MIN_LEVELS+ levels of
        # MIN_ROWS_PER_LEVEL+ rows) means every column was looked at and none qualifies
        candidates = _grouping_candidates(ctx)
        out = []
        rng = np.random.default_rng(ctx.random_state)
        part = np.arange(len(ctx.sample))
        if len(part) > self.max_rows:
            part = np.sort(rng.choice(len(part), self.max_rows, replace=False))
        rows = ctx.sample[part]
        X_all = _sample_numeric_matrix(ctx)[part] if len(part) < len(ctx.sample) else _sample_numeric_matrix(ctx)  # fmt: skip
        for c in candidates:
            column = ctx.frame[c].iloc[rows]
            codes, uniques = pd.factorize(column, use_na_sentinel=True)
            n_levels = int(codes.max()) + 1
            numeric = pd.api.types.is_numeric_dtype(column.dtype)
            values = np.asarray(uniques, dtype=np.float64) if numeric else None
            sizes = np.bincount(codes[codes >= 0], minlength=n_levels)
            evidence = {"levels": n_levels, "rows_per_level": float(np.median(sizes))}
            reasons = []
            others = [f for f in ctx.numeric_features if f != c]
            if len(others) >= 2:
                # every numeric feature's statistics at once (each column's are its own),
                # then the candidate's own column left out
                keep = np.array([f != c for f in ctx.numeric_features])
                X = X_all
                st = {k: v[keep] for k, v in group_variance_explained(codes, X).items()}
                kept = np.flatnonzero(keep)  # column of X for each entry of st
                carried = (st["eps2"] >= 0.05) & (st["p_value"] < 0.001)
                share = float(carried.mean())
                evidence.update(
                    features_with_level_signature=int(carried.sum()),
                    share_of_features=share,
                    median_epsilon_squared=float(np.median(st["eps2"])),
                )
                trend = (
                    float(np.median([_trend_share(codes, values, X[:, kept[j]]) for j in np.flatnonzero(carried)]))
                    if numeric and carried.any()
                    else 0.0
                )  # fmt: skip
                if numeric:
                    evidence["feature_trend_share"] = trend
                if share >= 0.5 and trend < 0.5:
                    reasons.append(
                        f"rows sharing a value are alike in {int(carried.sum())} of {len(others)} features"
                    )
            if n_levels >= OUTCOME_LEVELS and np.median(sizes) >= OUTCOME_ROWS_PER_LEVEL:
                eps2, p = _outcome_heterogeneity(ctx, codes, rng, rows)
                target = (
                    ctx.y_float[rows]
                    if ctx.task == "regression"
                    else ctx.y_codes[rows].astype(float)
                )
                trend = _trend_share(codes, values, target) if numeric else 0.0  # fmt: skip
                evidence["target_epsilon_squared"] = eps2
                if p is not None:
                    evidence["target_permutation_p"] = p
                if numeric:
                    evidence["target_trend_share"] = trend
                if eps2 >= OUTCOME_EPS2 and p is not None and p < 0.01 and trend < 0.5:
                    reasons.append(
                        f"the target shifts across its {n_levels} levels beyond chance "
                        f"({eps2:.0%} of its variance, permutation p = {p:.3f})"
                    )
            if reasons:
                role = (
                    "a feature"
                    if c in ctx.features
                    else "an id column"
                    if c in ctx.spec.id_cols
                    else "a column"
                )
                out.append(
                    self.finding(
                        "warning",
                        f"{c!r} ({role}) may be an undeclared grouping: "
                        + "; ".join(reasons)
                        + ". "
                        "It matters only if new levels appear at prediction time.",
                        columns=[c],
                        evidence={**evidence, **ctx.sample_note(), "rows_used": int(len(rows))},
                        fix=f"If new {c} values (batches, sites, subjects) will appear when the model is "
                        f"used, declare it with --group {c}: otherwise rows of one level sit on both sides "
                        "of every split and the estimate covers only levels seen in training. If all "
                        f"levels are known in advance, accept it (--accept GROUP004:{c}).",
                    )
                )
        return out


class GroupSizes(Check):
    code = "GROUP005"
    title = "Unequal group sizes"
    family = "GROUP"

    def run(self, ctx):
        _need_group(ctx)
        sizes = ctx.group.value_counts()
        if len(sizes) < 2:
            raise NotApplicable("a single group")
        ratio = float(sizes.iloc[0] / sizes.iloc[-1])
        largest = float(sizes.iloc[0] / sizes.sum())
        evidence = {
            "groups": len(sizes),
            "largest": {str(sizes.index[0]): int(sizes.iloc[0])},
            "smallest": {str(sizes.index[-1]): int(sizes.iloc[-1])},
            "max_min_ratio": ratio,
            "largest_share": largest,
        }
        if ratio < 10 and largest <= 0.5:
            return []
        reason = (
            f"the largest group holds {largest:.0%} of the rows"
            if largest > 0.5
            else f"the largest is {ratio:.0f}× the smallest"
        )
        return [
            self.finding(
                "warning" if largest > 0.5 else "info",
                f"Group sizes are very unequal: {reason}.",
                columns=[ctx.spec.group_col],
                evidence=evidence,
                fix="Folds will differ in size and the score leans on the big groups; report per-group "
                "scores (train does) and consider merging tiny groups.",
            )
        ]


class GroupPredictability(Check):
    code = "GROUP006"
    title = "Group predictability"
    family = "GROUP"
    cost = "expensive"
    max_rows = 20_000
    max_groups = 50

    def run(self, ctx):
        _need_group(ctx)
        cols = ctx.numeric_features
        if not cols:
            raise NotApplicable("no numeric features")
        if ctx.n_groups < 2:
            raise NotApplicable("a single group")
        from sklearn.metrics import roc_auc_score
        from sklearn.model_selection import StratifiedKFold, cross_val_predict
        from sklearn.naive_bayes import GaussianNB

        g = pd.Series(ctx.group_codes)
        keep_groups = g[g >= 0].value_counts().index[: self.max_groups]
        rows = np.flatnonzero(g.isin(keep_groups).to_numpy())
        rng = np.random.default_rng(ctx.random_state)
        if len(rows) > self.max_rows:
            rows = np.sort(rng.choice(rows, size=self.max_rows, replace=False))
        codes = g.to_numpy()[rows]
        counts = np.bincount(pd.factorize(codes)[0])
        if counts.min() < 3:
            keep = np.isin(codes, pd.Series(codes).value_counts()[lambda v: v >= 3].index)
            rows, codes = rows[keep], codes[keep]
        if len(np.unique(codes)) < 2:
            raise NotApplicable("fewer than two groups with 3 or more rows")
        X = _numeric_matrix(ctx.frame, cols, rows)
        med = np.nanmedian(X, axis=0)
        med = np.where(np.isnan(med), 0.0, med)
        X = np.where(np.isnan(X), med, X)
        folds = int(min(3, np.bincount(pd.factorize(codes)[0]).min()))
        proba = cross_val_predict(
            GaussianNB(),
            X,
            codes,
            cv=StratifiedKFold(folds, shuffle=True, random_state=ctx.random_state),
            method="predict_proba",
        )
        labels = np.unique(codes)
        auc = float(
            roc_auc_score(codes, proba[:, 1])
            if len(labels) == 2
            else roc_auc_score(codes, proba, multi_class="ovr", labels=labels)
        )
        evidence = {
            "auc_ovr_macro": auc,
            "groups_used": int(len(labels)),
            "rows_used": int(len(rows)),
            "model": "Gaussian naive Bayes, 3-fold CV",
        }
        if auc < 0.7:
            return []
        link = group_target_link(ctx)
        tied = link["kind"] == "confounded"
        evidence["group_target_link"] = link["kind"]
        col = ctx.spec.group_col
        if auc >= 0.8 and tied and ctx.spec.group_kind == "batch":
            return [
                self.finding(
                    "warning",
                    f"The features identify {col!r} (AUC {auc:.2f}) and {col!r} is tied to the target: "
                    "a model can learn the batch instead of the biology.",
                    columns=[col],
                    evidence=evidence,
                    fix="Keep splits grouped and compare naive vs grouped scores; consider BatchCorrector.",
                )
            ]
        return [
            self.finding(
                "info",
                f"The features identify {col!r} with AUC {auc:.2f} (strong batch signatures).",
                columns=[col],
                evidence=evidence,
                fix="Harmless while the group is not tied to the target; expect weaker transfer to new groups.",
            )
        ]
