"""Split planning (the README's "Honest evaluation"): decided once, recorded, printed.

| roles given | holdout | CV on the rest |
|---|---|---|
| time_col | most recent fraction by time | expanding-window time splits |
| group_col | whole groups, class-balanced where possible | StratifiedGroupKFold / GroupKFold; LOGO when groups < folds |
| neither | stratified random / random | StratifiedKFold / KFold, shuffled |

The plan is a table lookup: the roles give the *kind* (``time``, ``grouped``, ``random``),
the kind gives a holdout strategy (:class:`TimeHoldout`, :class:`GroupHoldout`,
:class:`RandomHoldout`) and the cross-validation of the development rows
(:func:`cv_splits`). The audit previews folds with the same :func:`cv_splits`.

**Few groups.** With fewer than :data:`NESTED_MAX_GROUPS` groups (or distinct time
points) a holdout holds too few groups for an estimate or an interval to mean much. The
plan is then *nested* (``scheme="nested"``): an outer loop over all groups (whole-group
folds; expanding windows for time), each outer training part a plan of its own with inner
CV, in which selection, tuning and the threshold are redone; every group is scored once by
a model that never saw it. The plan's own ``folds`` (CV of all rows) select the shipped
model.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from groupwise._dates import parse_dates
from groupwise.exceptions import DataError
from groupwise.model_selection._splitters import ExpandingWindowSplit
from groupwise.spec import ResolvedTable, TableSpec

__all__ = [
    "NESTED_MAX_GROUPS",
    "CVSplits",
    "GroupHoldout",
    "HOLDOUTS",
    "Holdout",
    "RandomHoldout",
    "SplitPlan",
    "TimeHoldout",
    "cv_splits",
    "naive_folds",
    "plan_kind",
    "plan_splits",
]


#: Below this many groups (or distinct time points) the evaluation is nested CV over all
#: groups instead of a holdout (chosen from the coverage study in benchmarks/bench_honesty.py).
NESTED_MAX_GROUPS = 30
#: Outer folds of nested evaluation.
NESTED_OUTER_FOLDS = 5


@dataclasses.dataclass(frozen=True)
class SplitPlan:
    """Where every row goes.

    Attributes
    ----------
    kind : {"grouped", "time", "random"}
    scheme : {"holdout", "nested"}
        ``"nested"``: no holdout; ``outer`` holds one plan per outer fold (its ``dev`` the
        outer training part with inner ``folds``, its ``holdout`` the outer test part).
    dev : ndarray
        Positions (into the training frame) of the development rows (CV, tuning).
    holdout : ndarray
        Positions of the holdout rows, touched once for the final report.
    folds : tuple of (ndarray, ndarray)
        CV (train, test) positions **into** ``dev``.
    holdout_strategy, cv_strategy : str
        Human-readable names of the strategies.
    notes : tuple of str
        Decisions worth telling the user (LOGO fallback, fewer folds, ...).
    summary : dict
        JSON-safe description: sizes, groups, class balance per split.
    """

    kind: str
    dev: np.ndarray
    holdout: np.ndarray
    folds: tuple[tuple[np.ndarray, np.ndarray], ...]
    holdout_strategy: str
    cv_strategy: str
    notes: tuple[str, ...]
    summary: dict[str, Any]
    scheme: str = "holdout"
    outer: tuple[SplitPlan, ...] = ()

    @property
    def nested(self) -> bool:
        return self.scheme == "nested"

    def evaluated(self) -> np.ndarray:
        """Positions of the rows the evaluation scores (the holdout, or every outer test part)."""
        if not self.nested:
            return self.holdout
        return np.sort(np.concatenate([o.holdout for o in self.outer]))

    def to_dict(self) -> dict[str, Any]:
        return dict(self.summary)


@dataclasses.dataclass(frozen=True)
class Holdout:
    """The result of a holdout strategy: development and holdout positions."""

    dev: np.ndarray
    holdout: np.ndarray
    strategy: str
    notes: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class CVSplits:
    """Cross-validation folds as (train, test) positions into the rows they split."""

    folds: tuple[tuple[np.ndarray, np.ndarray], ...]
    strategy: str
    notes: tuple[str, ...] = ()


def plan_kind(spec: TableSpec | ResolvedTable) -> str:
    """``"time"`` with a time column (it takes precedence), ``"grouped"`` with a group
    column, else ``"random"``."""
    if spec.time_col:
        return "time"
    return "grouped" if spec.group_col else "random"


def format_time(value) -> str:
    """A time stamp for people: the date alone at midnight, else to the second."""
    if isinstance(value, (int, float, np.integer, np.floating)):
        return f"{value:g}"
    t = pd.Timestamp(value)
    if t == t.normalize():
        return t.strftime("%Y-%m-%d")
    return t.isoformat(sep=" ", timespec="seconds")


def time_values(table: ResolvedTable) -> np.ndarray:
    """The time of every row with a target; a clear error when some cannot be read."""
    col = table.time_col
    raw = table.frame[col]
    t = raw if pd.api.types.is_numeric_dtype(raw) else parse_dates(raw)[0]
    if t.isna().any():
        bad = raw[t.isna().to_numpy()]
        shown = ", ".join(repr(v) for v in bad.dropna().astype(str).unique()[:3])
        raise DataError(
            f"The time column {col!r} has {int(t.isna().sum())} missing or unreadable values"
            f"{' (e.g. ' + shown + ')' if shown else ''}; time-ordered splits need a time for every "
            "row. Fix or drop those rows."
        )
    return t.to_numpy()


# --------------------------------------------------------------------------- holdouts
@dataclasses.dataclass(frozen=True)
class TimeHoldout:
    """The most recent ``fraction`` of rows by time (whole time stamps)."""

    fraction: float
    kind: ClassVar[str] = "time"

    def split(self, table: ResolvedTable, seed: int) -> Holdout:
        tv = time_values(table)
        n = len(tv)
        positions = np.arange(n)
        order = np.argsort(tv, kind="stable")
        n_dev = int(round(n * (1 - self.fraction)))
        cutoff = tv[order[min(n_dev, n - 1)]]
        is_hold = tv >= cutoff
        if is_hold.all() or not is_hold.any():
            raise DataError(
                f"Cannot hold out the most recent {self.fraction:.0%} of rows: the time column "
                f"{table.time_col!r} has too few distinct values."
            )
        notes = ()
        if table.group_col:
            notes = (
                f"A group column is declared too; splits follow time ({table.time_col!r} takes precedence).",
            )
        return Holdout(
            positions[~is_hold],
            positions[is_hold],
            f"most recent {self.fraction:.0%} by {table.time_col!r} (from {format_time(cutoff)})",
            notes,
        )


@dataclasses.dataclass(frozen=True)
class GroupHoldout:
    """Whole groups, about ``fraction`` of the rows, class-balanced where possible."""

    fraction: float
    kind: ClassVar[str] = "grouped"

    def split(self, table: ResolvedTable, seed: int) -> Holdout:
        codes = table.groups
        notes = []
        if table.group_missing.any():
            notes.append(
                f"{int(table.group_missing.sum())} rows without a {table.group_col!r} value form one group "
                "'(missing)'."
            )
        n_groups = table.n_groups
        if n_groups < 3:
            raise DataError(
                f"Only {n_groups} distinct {table.group_col!r} value(s): a group-safe holdout plus grouped CV needs "
                "at least 3 groups. Collect more groups, or drop --group to use row-level splits "
                "(the estimate will then not reflect new groups)."
            )
        is_hold = _group_holdout(codes, table.y, table.task, self.fraction, seed)
        positions = np.arange(len(codes))
        hold = positions[is_hold]
        strategy = (
            f"{int(np.unique(codes[hold]).size)} whole group(s) of {table.group_col!r} "
            f"({len(hold) / len(codes):.0%} of rows{', class-balanced' if table.task == 'classification' else ''})"
        )
        return Holdout(positions[~is_hold], hold, strategy, tuple(notes))


@dataclasses.dataclass(frozen=True)
class RandomHoldout:
    """A (stratified, for classification) random ``fraction`` of the rows."""

    fraction: float
    kind: ClassVar[str] = "random"

    def split(self, table: ResolvedTable, seed: int) -> Holdout:
        from sklearn.model_selection import train_test_split

        positions = np.arange(table.n)
        if table.task == "classification":
            counts = np.bincount(table.y)
            if counts.min() < 2:
                raise DataError(
                    f"The smallest class has {int(counts.min())} row(s); a stratified holdout needs at least 2 per class."
                )
            dev, hold = train_test_split(
                positions, test_size=self.fraction, stratify=table.y, random_state=seed
            )
            strategy = f"stratified random {self.fraction:.0%}"
        else:
            dev, hold = train_test_split(positions, test_size=self.fraction, random_state=seed)
            strategy = f"random {self.fraction:.0%}"
        return Holdout(np.sort(dev), np.sort(hold), strategy)


HOLDOUTS = {cls.kind: cls for cls in (TimeHoldout, GroupHoldout, RandomHoldout)}


def _score_holdout(share, target_share, dist) -> float:
    return abs(share - target_share) + 0.5 * dist


def _group_holdout(codes, y, task, holdout, seed) -> np.ndarray:
    """Boolean mask of holdout rows: whole groups, size and class balance near the goal."""
    from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

    n = len(codes)
    n_groups = int(codes.max()) + 1
    k = max(2, int(round(1 / holdout)))
    sizes = np.bincount(codes, minlength=n_groups)
    if task == "classification":
        K = int(y.max()) + 1
        per_group = np.zeros((n_groups, K))
        np.add.at(per_group, (codes, y), 1)
        overall = per_group.sum(0) / n
    else:
        sums = np.bincount(codes, weights=y, minlength=n_groups)
        mean, sd = float(np.mean(y)), float(np.std(y)) or 1.0

    def dist(mask_groups: np.ndarray) -> float:
        rows = sizes[mask_groups].sum()
        if rows == 0:
            return 1e9
        if task == "classification":
            return float(np.abs(per_group[mask_groups].sum(0) / rows - overall).sum())
        return abs(sums[mask_groups].sum() / rows - mean) / sd

    if n_groups >= 2 * k:
        if task == "classification":
            splits = StratifiedGroupKFold(k, shuffle=True, random_state=seed).split(codes, y, codes)
        else:
            splits = GroupKFold(k, shuffle=True, random_state=seed).split(codes, groups=codes)
        best, best_score = None, np.inf
        for _, test in splits:
            groups = np.zeros(n_groups, dtype=bool)
            groups[np.unique(codes[test])] = True
            score = _score_holdout(len(test) / n, holdout, dist(groups))
            if score < best_score:
                best, best_score = groups, score
        return best[codes]
    # few groups: search every subset that leaves at least two groups for CV
    rng = np.random.default_rng(seed)
    order = rng.permutation(n_groups)
    best, best_score = None, np.inf
    for size in range(1, n_groups - 1):
        for combo in itertools.combinations(order, size):
            groups = np.zeros(n_groups, dtype=bool)
            groups[list(combo)] = True
            score = _score_holdout(sizes[groups].sum() / n, holdout, dist(groups))
            if score < best_score - 1e-12:
                best, best_score = groups, score
    return best[codes]


# --------------------------------------------------------------------------- cross-validation
def cv_splits(table: ResolvedTable, rows: np.ndarray, *, folds: int, seed: int) -> CVSplits:
    """The cross-validation of ``rows`` (positions into ``table.frame``) that the plan uses.

    Time: expanding windows along the time column; groups: StratifiedGroupKFold
    (classification) / GroupKFold, shuffled with ``seed``, or leave-one-group-out when
    there are fewer groups than folds; otherwise StratifiedKFold / KFold, shuffled.
    The folds index into ``rows``.
    """
    kind = plan_kind(table)
    rows = np.asarray(rows)
    y = table.y[rows]
    if kind == "time":
        tv = time_values(table)[rows]
        if len(rows) < folds + 1:
            raise DataError(
                f"Only {len(rows)} development rows before the holdout; too few for {folds} time folds."
            )
        out = list(ExpandingWindowSplit(folds).split(rows, groups=tv))
        return CVSplits(tuple(out), f"expanding window, {len(out)} folds along {table.time_col!r}")
    if kind == "grouped":
        codes = table.groups[rows]
        n_groups = int(np.unique(codes).size)
        col = table.group_col
        if n_groups < folds:
            from sklearn.model_selection import LeaveOneGroupOut

            out = list(LeaveOneGroupOut().split(rows, groups=codes))
            return CVSplits(
                tuple(out),
                f"leave-one-group-out over {n_groups} groups (fewer groups than {folds} folds)",
                (f"{n_groups} development groups < {folds} folds: using leave-one-group-out.",),
            )
        if table.task == "classification":
            from sklearn.model_selection import StratifiedGroupKFold

            splitter = StratifiedGroupKFold(folds, shuffle=True, random_state=seed)
            out = list(splitter.split(rows, y, codes))
            return CVSplits(tuple(out), f"StratifiedGroupKFold, {folds} folds by {col!r}")
        from sklearn.model_selection import GroupKFold

        out = list(GroupKFold(folds, shuffle=True, random_state=seed).split(rows, groups=codes))
        return CVSplits(tuple(out), f"GroupKFold, {folds} folds by {col!r}")
    from sklearn.model_selection import KFold, StratifiedKFold

    if table.task == "classification":
        k = int(min(folds, np.bincount(y).min()))
        if k < 2:
            raise DataError("Too few rows in the smallest class for stratified cross-validation.")
        notes = ()
        if k < folds:
            notes = (
                f"The smallest class has {k} development rows: using {k} folds instead of {folds}.",
            )
        out = list(StratifiedKFold(k, shuffle=True, random_state=seed).split(rows, y))
        return CVSplits(tuple(out), f"StratifiedKFold, {k} folds, shuffled", notes)
    out = list(KFold(folds, shuffle=True, random_state=seed).split(rows))
    return CVSplits(tuple(out), f"KFold, {folds} folds, shuffled")


# --------------------------------------------------------------------------- the plan
def _class_counts(y: pd.Series) -> dict[str, int]:
    return {str(k): int(v) for k, v in y.value_counts().sort_index().items()}


def _describe(table: ResolvedTable, idx) -> dict[str, Any]:
    part = table.frame.iloc[idx]
    out: dict[str, Any] = {"rows": int(len(idx))}
    if table.group_col:
        out["groups"] = int(part[table.group_col].nunique())
    if table.task == "classification":
        out["class_counts"] = _class_counts(part[table.target])
    else:
        out["target_mean"] = float(part[table.target].mean()) if len(part) else None
    if table.time_col:
        t = time_values(table)[np.asarray(idx)]
        out["time_range"] = [format_time(t.min()), format_time(t.max())] if len(idx) else None
    return out


def _units(table: ResolvedTable, kind: str) -> int | None:
    """Groups (or distinct time points) the evaluation can resample; None for random plans."""
    if kind == "grouped":
        return table.n_groups
    if kind == "time":
        return int(pd.unique(time_values(table)).size)
    return None


def _nested_plan(
    table: ResolvedTable, kind: str, units: int, *, folds: int, seed: int
) -> SplitPlan:
    """Outer folds over all groups (or expanding windows), each a plan with inner CV."""
    positions = np.arange(table.n)
    if kind == "grouped":
        if units < 3:
            raise DataError(
                f"Only {units} distinct {table.group_col!r} value(s): a grouped estimate needs at least 3 "
                "groups. Collect more groups, or drop --group to use row-level splits (the estimate will "
                "then not reflect new groups)."
            )
        k = min(NESTED_OUTER_FOLDS, units)
        if table.task == "classification":
            from sklearn.model_selection import StratifiedGroupKFold

            outer = StratifiedGroupKFold(k, shuffle=True, random_state=seed).split(
                positions, table.y, table.groups
            )
        else:
            from sklearn.model_selection import GroupKFold

            outer = GroupKFold(k, shuffle=True, random_state=seed).split(
                positions, groups=table.groups
            )
        what = f"{k} outer folds of whole {table.group_col!r} groups over all {units} groups"
    else:
        k = min(NESTED_OUTER_FOLDS - 1, units - 1)
        outer = ExpandingWindowSplit(k).split(positions, groups=time_values(table))
        what = f"{k} expanding outer windows along {table.time_col!r} ({units} time points)"
    plans = []
    for tr, te in outer:
        try:
            inner = cv_splits(table, tr, folds=folds, seed=seed)
        except DataError:
            continue  # an outer training part too small for inner CV (the first time windows)
        if len(inner.folds) < 2:
            continue
        plans.append(
            SplitPlan(
                kind=kind, dev=np.sort(tr), holdout=np.sort(te), folds=inner.folds,
                holdout_strategy="outer test part", cv_strategy=inner.strategy, notes=inner.notes,
                summary={"train": _describe(table, tr), "test": _describe(table, te)},
            )
        )  # fmt: skip
    if len(plans) < 2:
        raise DataError(
            f"Too few {'groups' if kind == 'grouped' else 'time points'} ({units}) for nested "
            "cross-validation with inner CV: collect more, or use fewer --folds."
        )
    cv = cv_splits(table, positions, folds=folds, seed=seed)
    strategy = (
        f"none: nested cross-validation ({what}; selection, tuning and the threshold redone in "
        f"every outer training part), because {units} {'groups' if kind == 'grouped' else 'time points'} "
        f"are fewer than {NESTED_MAX_GROUPS}"
    )
    notes = [
        f"Every {'group' if kind == 'grouped' else 'later time point'} is scored once by a model that never "
        "saw it; the shipped model is selected by CV on all rows.",
        *cv.notes,
    ]
    empty = np.array([], dtype=np.int64)
    summary = {
        "kind": kind,
        "scheme": "nested",
        "holdout_strategy": strategy,
        "cv_strategy": cv.strategy,
        "seed": seed,
        "holdout_fraction": 0.0,
        "development": _describe(table, positions),
        "holdout": _describe(table, empty),
        "outer": [
            {
                "fold": i,
                "train": o.summary["train"],
                "test": o.summary["test"],
                "cv_strategy": o.cv_strategy,
            }
            for i, o in enumerate(plans)
        ],
        "folds": [
            {"fold": i, "train": _describe(table, tr), "test": _describe(table, te)}
            for i, (tr, te) in enumerate(cv.folds)
        ],
        "notes": notes,
    }
    return SplitPlan(
        kind=kind, dev=positions, holdout=empty, folds=cv.folds, holdout_strategy=strategy,
        cv_strategy=cv.strategy, notes=tuple(notes), summary=summary, scheme="nested", outer=tuple(plans),
    )  # fmt: skip


def plan_splits(
    table: ResolvedTable,
    *,
    holdout: float = 0.2,
    folds: int = 5,
    seed: int = 42,
    nested_below: int = NESTED_MAX_GROUPS,
) -> SplitPlan:
    """Plan the evaluation and the CV folds for the rows of ``table`` (a resolved table).

    With groups (or time points) fewer than ``nested_below`` the plan is nested CV over
    all of them (``scheme="nested"``); otherwise a holdout of whole groups (or the latest
    period, or random rows) plus CV of the rest. Raises :class:`DataError` when the table
    cannot support an honest split (for example fewer than 3 groups).
    """
    if not 0 < holdout < 1:
        raise DataError(f"holdout must be a fraction in (0, 1). Got {holdout!r} instead.")
    kind = plan_kind(table)
    units = _units(table, kind)
    if units is not None and units < nested_below:
        return _nested_plan(table, kind, units, folds=folds, seed=seed)
    held = HOLDOUTS[kind](holdout).split(table, seed)
    cv = cv_splits(table, held.dev, folds=folds, seed=seed)
    dev_pos, hold_pos = held.dev, held.holdout
    notes = [*held.notes, *cv.notes]
    summary = {
        "kind": kind,
        "scheme": "holdout",
        "holdout_strategy": held.strategy,
        "cv_strategy": cv.strategy,
        "seed": seed,
        "holdout_fraction": holdout,
        "development": _describe(table, dev_pos),
        "holdout": _describe(table, hold_pos),
        "folds": [
            {
                "fold": i,
                "train": _describe(table, dev_pos[tr]),
                "test": _describe(table, dev_pos[te]),
            }
            for i, (tr, te) in enumerate(cv.folds)
        ],
        "notes": notes,
    }
    if kind == "grouped":
        held_ids = table.frame[table.group_col].iloc[hold_pos].astype(str).unique().tolist()
        summary["holdout"]["group_ids"] = sorted(held_ids)[:100]  # the first 100 …
        summary["holdout"]["n_groups"] = len(held_ids)  # … of this many
        summary["holdout"]["group_ids_truncated"] = len(held_ids) > 100
    return SplitPlan(
        kind=kind,
        dev=np.asarray(dev_pos),
        holdout=np.asarray(hold_pos),
        folds=tuple((np.asarray(tr), np.asarray(te)) for tr, te in cv.folds),
        holdout_strategy=held.strategy,
        cv_strategy=cv.strategy,
        notes=tuple(notes),
        summary=summary,
    )


def naive_folds(y, task: str, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Row-level CV folds that ignore groups (for the naive − grouped comparison)."""
    from sklearn.model_selection import KFold, StratifiedKFold

    idx = np.arange(len(y))
    if task == "classification":
        codes = pd.factorize(pd.Series(y), sort=True)[0]
        k = int(min(folds, np.bincount(codes).min()))
        k = max(k, 2)
        return list(StratifiedKFold(k, shuffle=True, random_state=seed).split(idx, codes))
    return list(KFold(folds, shuffle=True, random_state=seed).split(idx))
