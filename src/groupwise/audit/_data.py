"""DATA checks: integrity of the table itself."""

from __future__ import annotations

import numpy as np
import pandas as pd

from groupwise._dates import infer_date_format, sample_present
from groupwise.audit._base import Check, NotApplicable
from groupwise.audit._context import beyond_chance, colliding_pairs

__all__ = [
    "ClassImbalance",
    "ConflictingLabels",
    "ConstantColumns",
    "DatesAsText",
    "DuplicateIds",
    "DuplicateRows",
    "HighCardinality",
    "MissingValues",
    "MixedTypes",
    "TargetMissing",
    "TooFewRows",
]

#: Spellings of "missing" people type into spreadsheets (compared lower-cased, stripped).
NULL_SPELLINGS = frozenset(
    {
        "",
        "na",
        "n/a",
        "nan",
        "null",
        "none",
        "nil",
        "-",
        "--",
        "?",
        "missing",
        "#n/a",
        ".",
        "not available",
    }
)


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _text_sample(s: pd.Series, n: int = 20_000, seed: int = 0) -> pd.Series:
    return sample_present(s, n, seed)


class TooFewRows(Check):
    code = "DATA001"
    title = "Too few rows"
    family = "DATA"

    def run(self, ctx):
        out = []
        n = ctx.n
        if n < 30 or n < 2 * ctx.folds:
            out.append(
                self.finding(
                    "error",
                    f"Only {n} rows with a target: too few for a cross-validated estimate.",
                    evidence={"rows": n},
                    fix="Collect more rows; with under 30 rows any reported score is mostly noise.",
                )
            )
        elif n < 100:
            out.append(
                self.finding(
                    "warning",
                    f"Only {n} rows with a target: confidence intervals will be wide.",
                    evidence={"rows": n},
                    fix="Report the bootstrap CIs next to every number, and prefer simple models.",
                )
            )
        if ctx.task == "classification":
            counts = pd.Series(ctx.y_codes).value_counts()
            per_class = {str(ctx.classes[k]): int(v) for k, v in counts.items()}
            smallest = int(counts.min())
            if smallest < ctx.folds:
                out.append(
                    self.finding(
                        "error",
                        f"The smallest class has {smallest} rows, fewer than the {ctx.folds} CV folds.",
                        columns=[ctx.target],
                        evidence={"rows_per_class": per_class, "folds": ctx.folds},
                        fix="Merge rare classes, collect more rows of them, or lower --folds.",
                    )
                )
            elif smallest < 20:
                out.append(
                    self.finding(
                        "warning",
                        f"The smallest class has only {smallest} rows; its metrics will be unstable.",
                        columns=[ctx.target],
                        evidence={"rows_per_class": per_class},
                        fix="Look at per-class metrics with their CIs; consider merging rare classes.",
                    )
                )
        return out


class DuplicateRows(Check):
    code = "DATA002"
    title = "Exact duplicate rows"
    family = "DATA"

    def run(self, ctx):
        h = ctx.row_hash(list(ctx.df.columns))
        twins = ctx.twins(list(ctx.df.columns))  # a copy and its original are both twins
        copies = twins[pd.Series(h[twins]).duplicated(keep="first").to_numpy()]
        count = len(copies)
        if count == 0:
            return []
        share = count / len(h)
        examples = copies[:5].tolist()
        pairs = colliding_pairs(h[twins])
        expected = ctx.chance_pairs(list(ctx.df.columns))
        chance = not beyond_chance(pairs, expected)
        return [
            self.finding(
                "info" if chance else "error" if share >= 0.05 else "warning",
                f"{count} rows ({_pct(share)}) are exact copies of another row"
                + (
                    "; with these few distinct values, that many repeats happen by chance"
                    if chance
                    else ""
                )
                + ".",
                evidence={
                    "duplicate_rows": count,
                    "share": share,
                    "example_rows": examples,
                    "identical_pairs": pairs,
                    "pairs_expected_by_chance": expected,
                },  # fmt: skip
                fix="Drop them (df.drop_duplicates()); if they are real repeated measurements, declare "
                "the entity with --group so copies never sit on both sides of a split.",
            )
        ]


class DuplicateIds(Check):
    code = "DATA003"
    title = "Duplicate ids"
    family = "DATA"

    def run(self, ctx):
        ids = list(ctx.spec.id_cols)
        if not ids:
            raise NotApplicable("no id column declared (--id)")
        if ctx.spec.group_col and ctx.spec.group_kind == "unit":
            # ids numbered within each unit (pupil 1 of every school) identify a row together
            # with the unit
            ids = [ctx.spec.group_col, *ids]
        h = ctx.row_hash(ids)
        dup = pd.Series(h).duplicated(keep=False).to_numpy()
        if not dup.any():
            return []
        n_ids = int(pd.Series(h[dup]).nunique())
        examples = (
            ctx.df.loc[dup, ids]
            .drop_duplicates()
            .head(5)
            .astype(str)
            .agg("/".join, axis=1)
            .tolist()
        )
        return [
            self.finding(
                "warning",
                f"{n_ids} id values appear on more than one row ({int(dup.sum())} rows).",
                columns=ids,
                evidence={"duplicated_ids": n_ids, "rows": int(dup.sum()), "examples": examples},
                fix="If several rows per id are repeated measurements of one entity, declare that "
                "column with --group so all rows of an entity stay on one side of every split; "
                "otherwise fix the ids.",
            )
        ]


class ConstantColumns(Check):
    code = "DATA004"
    title = "Constant or near-constant columns"
    family = "DATA"

    def run(self, ctx):
        constant, near = [], {}
        sample = ctx.sample_frame
        for c in ctx.features:
            s = ctx.df[c]
            if s.isna().all():
                continue  # DATA005 reports all-missing columns
            if ctx.kinds[c] == "numeric":
                x = sample[c].to_numpy(dtype=np.float64, na_value=np.nan)
                x = x[~np.isnan(x)]
                # two values in the sample settle it; otherwise look at every row
                if len(x) == 0 or x.min() == x.max():
                    v = s.to_numpy(dtype=np.float64, na_value=np.nan)
                    if np.nanmin(v) == np.nanmax(v):
                        constant.append(c)
                        continue
                # a value held by ≥ 99% of the rows is their median: one pass, no counting
                share = float(np.mean(x == np.median(x))) if len(x) else 0.0
                if share >= 0.99:
                    near[c] = share
                continue
            top = sample[c].value_counts(normalize=True, dropna=True)
            if len(top) <= 1 and s.nunique(dropna=True) <= 1:
                constant.append(c)
                continue
            if len(top) and top.iloc[0] >= 0.99:
                near[c] = float(top.iloc[0])
        out = []
        if constant:
            out.append(
                self.finding(
                    "warning",
                    f"{len(constant)} feature(s) hold a single value: {', '.join(constant[:10])}.",
                    columns=constant,
                    evidence={"constant": constant},
                    fix="Drop them (--drop); they carry no information and can break scaling.",
                )
            )
        if near:
            out.append(
                self.finding(
                    "info",
                    f"{len(near)} feature(s) hold one value in ≥ 99% of rows.",
                    columns=list(near),
                    evidence={"top_value_share": near, **ctx.sample_note()},
                    fix="Check whether the rare values are real; such features rarely help.",
                )
            )
        return out


class MissingValues(Check):
    code = "DATA005"
    title = "Missing values"
    family = "DATA"

    def run(self, ctx):
        share = ctx.df[ctx.features].isna().mean()
        share = share[share > 0].sort_values(ascending=False)
        if share.empty:
            return []
        out = []
        full = share[share >= 1.0]
        high = share[(share >= 0.5) & (share < 1.0)]
        rest = share[share < 0.5]
        if len(full):
            out.append(
                self.finding(
                    "error",
                    f"{len(full)} feature(s) have no values at all: {', '.join(full.index[:10])}.",
                    columns=list(full.index),
                    evidence={"missing_share": full.to_dict()},
                    fix="Drop them (--drop) or fix the export that lost their values.",
                )
            )
        if len(high):
            out.append(
                self.finding(
                    "warning",
                    f"{len(high)} feature(s) are missing in at least half of the rows.",
                    columns=list(high.index),
                    evidence={"missing_share": high.to_dict()},
                    fix="Check why; the pipeline imputes and adds missing indicators, but mostly-missing "
                    "features are fragile.",
                )
            )
        if len(rest):
            top = rest.head(10)
            out.append(
                self.finding(
                    "info",
                    f"{len(rest)} feature(s) have missing values (up to {_pct(float(rest.iloc[0]))}).",
                    columns=list(rest.index),
                    evidence={"missing_share": top.to_dict(), "columns_with_missing": len(rest)},
                    fix="Nothing needed: imputation and missing indicators live inside the pipeline. "
                    "See MISS001 for missingness that predicts the target.",
                )
            )
        return out


class TargetMissing(Check):
    code = "DATA006"
    title = "Target missing"
    family = "DATA"

    def run(self, ctx):
        missing = int((~ctx.has_target).sum())
        if missing == 0:
            return []
        share = missing / len(ctx.df)
        return [
            self.finding(
                "warning",
                f"The target {ctx.target!r} is missing in {missing} rows ({_pct(share)}); training drops them.",
                columns=[ctx.target],
                evidence={"rows": missing, "share": share},
                fix="Fill the labels if they exist; otherwise nothing to do — the run records the count.",
            )
        ]


class MixedTypes(Check):
    code = "DATA007"
    title = "Mixed types, numbers as text, null spellings"
    family = "DATA"

    def run(self, ctx):
        text_cols = ctx.of_kind("categorical")
        if not text_cols:
            raise NotApplicable("no text or categorical features")
        out = []
        for c in text_cols:
            s = ctx.df[c]
            values = _text_sample(s, seed=ctx.random_state)
            if len(values) == 0:
                continue
            if s.dtype == object:
                types = sorted({type(v).__name__ for v in values})
                if len(types) > 1:
                    out.append(
                        self.finding(
                            "warning",
                            f"Column {c!r} mixes Python types: {', '.join(types)}.",
                            columns=[c],
                            evidence={"types": types},
                            fix="Convert the column to one type before training (e.g. astype(str) or pd.to_numeric).",
                        )
                    )
            as_text = values.astype(str).str.strip()
            lowered = as_text.str.lower()
            is_null = lowered.isin(NULL_SPELLINGS)
            spellings = sorted(set(as_text[is_null]))
            real_nan = bool(s.isna().any())
            kinds = len(spellings) + int(real_nan)
            if spellings and kinds >= 2:
                out.append(
                    self.finding(
                        "warning",
                        f"Column {c!r} spells missing values in {kinds} ways: "
                        + ", ".join(
                            [repr(v) for v in spellings] + (["empty cell/NaN"] if real_nan else [])
                        )
                        + ".",
                        columns=[c],
                        evidence={
                            "spellings": spellings,
                            "also_nan": real_nan,
                            "rows_sampled": len(values),
                        },
                        fix=f"Read the file with na_values={spellings!r} (or replace them with NaN).",
                    )
                )
            elif spellings:
                out.append(
                    self.finding(
                        "info",
                        f"Column {c!r} spells missing values as {spellings[0]!r}.",
                        columns=[c],
                        evidence={"spellings": spellings},
                        fix=f"Read the file with na_values={spellings!r} so they become real missing values.",
                    )
                )
            rest = as_text[~is_null]
            if len(rest):
                numeric = pd.to_numeric(rest, errors="coerce")
                share = float(numeric.notna().mean())
                if share >= 0.9:
                    bad = rest[numeric.isna()].unique()[:5].tolist()
                    out.append(
                        self.finding(
                            "warning",
                            f"Column {c!r} holds numbers stored as text ({_pct(share)} parse as numbers)"
                            + (
                                f"; the rest look like {', '.join(repr(b) for b in bad)}."
                                if bad
                                else "."
                            ),
                            columns=[c],
                            evidence={"numeric_share": share, "non_numeric_examples": bad},
                            fix="Convert with pd.to_numeric(df[col], errors='coerce') after fixing the odd values; "
                            "as text it would be one-hot encoded.",
                        )
                    )
        return out


class DatesAsText(Check):
    code = "DATA008"
    title = "Dates stored as text"
    family = "DATA"

    def run(self, ctx):
        text = [c for c in ctx.features if not pd.api.types.is_datetime64_any_dtype(ctx.df[c])
                and not pd.api.types.is_numeric_dtype(ctx.df[c]) and not pd.api.types.is_bool_dtype(ctx.df[c])]  # fmt: skip
        if not text:
            raise NotApplicable("no text columns")
        # text that reads as dates is a datetime feature everywhere (audit, training,
        # prediction), from CSV and Parquet alike; the declared time column is the time axis
        found = {c: infer_date_format(ctx.df[c]) for c in text if ctx.kinds[c] == "datetime"}
        if not found:
            return []
        return [
            self.finding(
                "warning",
                f"{len(found)} feature column(s) hold dates as text: {', '.join(found)}; they are "
                "read as dates and used as a number of days.",
                columns=list(found),
                evidence={"format": found},
                fix="If one is the time axis, declare it with --time (splits then follow time); "
                "otherwise consider deriving features (month, age at sample) instead of the raw date, "
                "which lets the model learn the collection period.",
            )
        ]


class HighCardinality(Check):
    code = "DATA009"
    title = "High-cardinality categoricals"
    family = "DATA"
    threshold = 50

    def run(self, ctx):
        cols = ctx.of_kind("categorical")
        if not cols:
            raise NotApplicable("no text or categorical features")
        found = {}
        for c in cols:
            k = int(ctx.df[c].nunique(dropna=True))
            if k >= self.threshold and k < 0.9 * len(ctx.df):  # near-unique ones are LEAK002's
                sizes = ctx.df[c].value_counts()
                found[c] = {
                    "levels": k,
                    "median_rows_per_level": float(sizes.median()),
                    "rare_levels_lt5": int((sizes < 5).sum()),
                }
        if not found:
            return []
        return [
            self.finding(
                "warning",
                f"{len(found)} categorical feature(s) have ≥ {self.threshold} levels: "
                + ", ".join(f"{c} ({v['levels']})" for c, v in found.items())
                + ".",
                columns=list(found),
                evidence=found,
                fix="Group rare levels, use a target encoder fitted inside CV, or drop the column if it "
                "identifies entities (then it may be a group: --group).",
            )
        ]


class ClassImbalance(Check):
    code = "DATA010"
    title = "Class imbalance"
    family = "DATA"

    def run(self, ctx):
        if ctx.task != "classification":
            raise NotApplicable("regression target")
        counts = np.bincount(ctx.y_codes, minlength=len(ctx.classes))
        shares = counts / counts.sum()
        k = int(np.argmin(shares))
        if shares[k] >= 0.10:
            return []
        return [
            self.finding(
                "warning",
                f"The minority class {ctx.classes[k]!r} is {_pct(float(shares[k]))} of the rows.",
                columns=[ctx.target],
                evidence={
                    "class_share": {
                        str(c): float(s) for c, s in zip(ctx.classes, shares, strict=True)
                    }
                },
                fix="Use PR-AUC as the primary metric (groupwise train does so by default below 10% "
                "positives) and choose the threshold on out-of-fold predictions.",
            )
        ]


class ConflictingLabels(Check):
    code = "DATA011"
    title = "Conflicting labels"
    family = "DATA"

    def run(self, ctx):
        if ctx.task != "classification":
            raise NotApplicable(
                "regression target: identical features with different targets are ordinary noise"
            )
        h = ctx.row_hash(ctx.features, rows="train")
        twins = ctx.twins(ctx.features, rows="train")
        repeated = pd.DataFrame({"h": h[twins], "y": ctx.y_codes[twins]})
        if repeated.empty:
            return []
        n_labels = repeated.groupby("h")["y"].nunique()
        conflicting = n_labels[n_labels > 1]
        if conflicting.empty:
            return []
        in_conflict = repeated["h"].isin(conflicting.index).to_numpy()
        rows = int(in_conflict.sum())
        positions = twins[in_conflict][:6]
        chance = not beyond_chance(
            colliding_pairs(h[twins]), ctx.chance_pairs(ctx.features, rows="train")
        )
        return [
            self.finding(
                "info" if chance else "warning",
                f"{len(conflicting)} sets of identical feature rows carry different labels ({rows} rows)"
                + (
                    "; with these few distinct values, such overlaps happen by chance"
                    if chance
                    else ""
                )
                + ".",
                columns=[ctx.target],
                evidence={
                    "conflicting_sets": len(conflicting),
                    "rows": rows,
                    "example_rows": ctx.frame.index[positions].tolist(),
                },
                fix="Check the labels of these rows; no model can separate them, and they cap the "
                "achievable accuracy.",
            )
        ]
