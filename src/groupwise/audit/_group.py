"""GROUP checks: batches, plates, sites and subjects."""

from __future__ import annotations

import numpy as np
import pandas as pd

from groupwise._stats import group_variance_explained
from groupwise.audit._base import Check, NotApplicable

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


def _numeric_matrix(frame: pd.DataFrame, columns) -> np.ndarray:
    if not columns:
        return np.empty((len(frame), 0))
    return np.column_stack([frame[c].to_numpy(dtype=np.float64, na_value=np.nan) for c in columns])


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
    code = "GROUP001"
    title = "Batch × class confounding"
    family = "GROUP"

    def run(self, ctx):
        _need_group(ctx)
        if ctx.n_groups < 2:
            raise NotApplicable("a single group")
        link = group_target_link(ctx)
        col = ctx.spec.group_col
        if link["kind"] == "group_label":
            return [
                self.finding(
                    "info",
                    f"Each {col!r} holds a single class: the target is a property of the group "
                    "(as for subjects or patients).",
                    columns=[col, ctx.target],
                    evidence=link["evidence"],
                    fix="Nothing to fix as long as splits are grouped (they are with --group); "
                    "the model must generalise to new groups.",
                )
            ]
        if link["kind"] == "none":
            return []
        return [
            self.finding(
                link["severity"],
                f"{col!r} and the target are tied ({link['label']} = {link['value']:.2f}, "
                f"permutation p = {link['p']:.3f}): batch offsets can pass for signal.",
                columns=[col, ctx.target],
                evidence=link["evidence"],
                fix="Keep the grouped split (train with --group) and read the naive − grouped gap; "
                "rebalance classes across batches in future runs; consider BatchCorrector.",
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
        stats = group_variance_explained(codes, _numeric_matrix(ctx.sample_frame, cols))
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


def _grouping_candidates(ctx) -> list[str]:
    skip = {ctx.target, ctx.spec.group_col, ctx.spec.time_col}
    out = []
    for c in ctx.df.columns:
        if c in skip:
            continue
        s = ctx.frame[c]
        dt = s.dtype
        if pd.api.types.is_float_dtype(dt):
            x = s.dropna().to_numpy(dtype=np.float64)
            if len(x) == 0 or not np.all(np.mod(x, 1) == 0):
                continue
        elif pd.api.types.is_datetime64_any_dtype(dt) or pd.api.types.is_bool_dtype(dt):
            continue
        k = int(s.nunique(dropna=True))
        if 3 <= k <= len(s) / 2:
            out.append(c)
    return out


class UndeclaredGrouping(Check):
    code = "GROUP004"
    title = "Undeclared grouping"
    family = "GROUP"
    cost = "moderate"

    def run(self, ctx):
        candidates = _grouping_candidates(ctx)
        if not candidates:
            raise NotApplicable("no undeclared column with repeated values (3 or more levels)")
        out = []
        frame = ctx.sample_frame
        for c in candidates:
            codes, _ = pd.factorize(frame[c], use_na_sentinel=True)
            n_levels = int(codes.max()) + 1
            others = [f for f in ctx.numeric_features if f != c]
            evidence = {"levels": n_levels, "rows_per_level": float(len(codes) / max(n_levels, 1))}
            reasons = []
            if len(others) >= 2:
                st = group_variance_explained(codes, _numeric_matrix(frame, others))
                carried = (st["eps2"] >= 0.05) & (st["p_value"] < 0.001)
                share = float(carried.mean())
                evidence.update(
                    features_with_level_signature=int(carried.sum()),
                    share_of_features=share,
                    median_epsilon_squared=float(np.median(st["eps2"])),
                )
                if share >= 0.5:
                    reasons.append(
                        f"rows sharing a value are alike in {int(carried.sum())} of {len(others)} features"
                    )
            if n_levels >= 10:
                if ctx.task == "classification":
                    y = ctx.y_codes[ctx.sample]
                    ok = codes >= 0
                    per_level = (
                        pd.DataFrame({"g": codes[ok], "y": y[ok]})
                        .groupby("g")["y"]
                        .agg(lambda v: v.value_counts(normalize=True).iloc[0])
                    )
                    sizes = np.bincount(codes[ok])
                    purity = float(np.average(per_level.to_numpy(), weights=sizes[per_level.index]))
                    base = float(np.bincount(y).max() / len(y))
                    evidence.update(label_purity=purity, majority_share=base)
                    if purity >= 0.95 and purity - base >= 0.3:
                        reasons.append(
                            f"every level holds (almost) one class (purity {purity:.2f})"
                        )
                else:
                    st_y = group_variance_explained(codes, ctx.y_float[ctx.sample])
                    evidence.update(target_epsilon_squared=float(st_y["eps2"][0]))
                    if st_y["eps2"][0] >= 0.5:
                        reasons.append(f"levels explain {st_y['eps2'][0]:.0%} of the target")
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
                        f"{c!r} ({role}) looks like an undeclared grouping: "
                        + "; ".join(reasons)
                        + ".",
                        columns=[c],
                        evidence={**evidence, **ctx.sample_note()},
                        fix=f"If it identifies batches, sites or subjects, declare it with --group {c}: "
                        "otherwise rows of one level sit on both sides of every split and inflate the score.",
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
                "warning",
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
        X = _numeric_matrix(ctx.frame.iloc[rows], cols)
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
        if auc >= 0.8 and tied:
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
