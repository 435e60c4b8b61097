"""Split planning (DESIGN.md §5): decided once, recorded, printed.

| roles given | holdout | CV on the rest |
|---|---|---|
| time_col | most recent fraction by time | expanding-window time splits |
| group_col | whole groups, class-balanced where possible | StratifiedGroupKFold / GroupKFold; LOGO when groups < folds |
| neither | stratified random / random | StratifiedKFold / KFold, shuffled |

The plan is a table lookup: the roles give the *kind* (``time``, ``grouped``, ``random``),
the kind gives a holdout strategy (:class:`TimeHoldout`, :class:`GroupHoldout`,
:class:`RandomHoldout`) and the cross-validation of the development rows
(:func:`cv_splits`). The audit previews folds with the same :func:`cv_splits`.
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


@dataclasses.dataclass(frozen=True)
class SplitPlan:
    """Where every row goes.

    Attributes
    ----------
    kind : {"grouped", "time", "random"}
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


def plan_splits(
    table: ResolvedTable, *, holdout: float = 0.2, folds: int = 5, seed: int = 42
) -> SplitPlan:
    """Plan the holdout and the CV folds for the rows of ``table`` (a resolved table).

    Raises :class:`DataError` when the table cannot support an honest split (for
    example fewer than 3 groups).
    """
    if not 0 < holdout < 1:
        raise DataError(f"holdout must be a fraction in (0, 1). Got {holdout!r} instead.")
    kind = plan_kind(table)
    held = HOLDOUTS[kind](holdout).split(table, seed)
    cv = cv_splits(table, held.dev, folds=folds, seed=seed)
    dev_pos, hold_pos = held.dev, held.holdout
    notes = [*held.notes, *cv.notes]
    summary = {
        "kind": kind,
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
        summary["holdout"]["group_ids"] = sorted(held_ids)[:100]
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
