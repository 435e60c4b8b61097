"""Split planning (DESIGN.md §5): decided once, recorded, printed.

| roles given | holdout | CV on the rest |
|---|---|---|
| time_col | most recent fraction by time | expanding-window time splits |
| group_col | whole groups, class-balanced where possible | StratifiedGroupKFold / GroupKFold; LOGO when groups < folds |
| neither | stratified random / random | StratifiedKFold / KFold, shuffled |
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import numpy as np
import pandas as pd

from groupwise.exceptions import DataError
from groupwise.model_selection._splitters import ExpandingWindowSplit
from groupwise.spec import TableSpec

__all__ = ["SplitPlan", "naive_folds", "plan_splits"]


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


def _class_counts(y: pd.Series) -> dict[str, int]:
    return {str(k): int(v) for k, v in y.value_counts().sort_index().items()}


def _describe(frame, spec, idx, task) -> dict[str, Any]:
    part = frame.iloc[idx]
    out: dict[str, Any] = {"rows": int(len(idx))}
    if spec.group_col:
        out["groups"] = int(part[spec.group_col].nunique())
    if task == "classification":
        out["class_counts"] = _class_counts(part[spec.target])
    else:
        out["target_mean"] = float(part[spec.target].mean()) if len(part) else None
    if spec.time_col:
        t = part[spec.time_col]
        out["time_range"] = [str(t.min()), str(t.max())] if len(part) else None
    return out


def _group_codes(frame: pd.DataFrame, col: str) -> np.ndarray:
    codes, _ = pd.factorize(frame[col].astype(object).where(frame[col].notna(), "<missing>"))
    return codes


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


def plan_splits(
    frame: pd.DataFrame,
    spec: TableSpec,
    *,
    holdout: float = 0.2,
    folds: int = 5,
    seed: int = 42,
) -> SplitPlan:
    """Plan the holdout and the CV folds for ``frame`` (rows with a target).

    ``spec`` must be resolved (``task`` decided). Raises :class:`DataError` when the
    table cannot support an honest split (for example fewer than 3 groups).
    """
    if not 0 < holdout < 1:
        raise DataError(f"holdout must be a fraction in (0, 1). Got {holdout!r} instead.")
    task = spec.task
    n = len(frame)
    y_raw = frame[spec.target]
    y = (
        pd.factorize(y_raw, sort=True)[0]
        if task == "classification"
        else y_raw.to_numpy(dtype=float)
    )
    notes: list[str] = []
    positions = np.arange(n)

    if spec.time_col:
        kind = "time"
        t = (
            pd.to_datetime(frame[spec.time_col], errors="coerce", format="mixed")
            if not pd.api.types.is_numeric_dtype(frame[spec.time_col])
            else frame[spec.time_col]
        )
        if t.isna().any():
            raise DataError(
                f"The time column {spec.time_col!r} has {int(t.isna().sum())} missing or unparseable values; "
                "time-ordered splits need a time for every row. Fix or drop those rows."
            )
        tv = t.to_numpy()
        order = np.argsort(tv, kind="stable")
        n_dev = int(round(n * (1 - holdout)))
        cutoff = tv[order[min(n_dev, n - 1)]]
        is_hold = tv >= cutoff
        if is_hold.all() or not is_hold.any():
            raise DataError(
                f"Cannot hold out the most recent {holdout:.0%} of rows: the time column {spec.time_col!r} "
                "has too few distinct values."
            )
        holdout_strategy = f"most recent {holdout:.0%} by {spec.time_col!r} (from {cutoff})"
        dev_pos, hold_pos = positions[~is_hold], positions[is_hold]
        if len(dev_pos) < folds + 1:
            raise DataError(
                f"Only {len(dev_pos)} development rows before the holdout; too few for {folds} time folds."
            )
        splitter = ExpandingWindowSplit(folds)
        cv_folds = list(splitter.split(dev_pos, groups=tv[dev_pos]))
        cv_strategy = f"expanding window, {len(cv_folds)} folds along {spec.time_col!r}"
        if spec.group_col:
            notes.append(
                f"A group column is declared too; splits follow time ({spec.time_col!r} takes precedence)."
            )
    elif spec.group_col:
        kind = "grouped"
        codes = _group_codes(frame, spec.group_col)
        if frame[spec.group_col].isna().any():
            notes.append(
                f"{int(frame[spec.group_col].isna().sum())} rows without a {spec.group_col!r} value form one group '<missing>'."
            )
        n_groups = int(codes.max()) + 1
        if n_groups < 3:
            raise DataError(
                f"Only {n_groups} distinct {spec.group_col!r} value(s): a group-safe holdout plus grouped CV needs "
                "at least 3 groups. Collect more groups, or drop --group to use row-level splits "
                "(the estimate will then not reflect new groups)."
            )
        is_hold = _group_holdout(codes, y, task, holdout, seed)
        dev_pos, hold_pos = positions[~is_hold], positions[is_hold]
        share = len(hold_pos) / n
        holdout_strategy = (
            f"{int(np.unique(codes[hold_pos]).size)} whole group(s) of {spec.group_col!r} "
            f"({share:.0%} of rows{', class-balanced' if task == 'classification' else ''})"
        )
        dev_codes = codes[dev_pos]
        n_dev_groups = int(np.unique(dev_codes).size)
        if n_dev_groups < folds:
            from sklearn.model_selection import LeaveOneGroupOut

            cv_folds = list(LeaveOneGroupOut().split(dev_pos, groups=dev_codes))
            cv_strategy = (
                f"leave-one-group-out over {n_dev_groups} groups (fewer groups than {folds} folds)"
            )
            notes.append(
                f"{n_dev_groups} development groups < {folds} folds: using leave-one-group-out."
            )
        elif task == "classification":
            from sklearn.model_selection import StratifiedGroupKFold

            cv_folds = list(
                StratifiedGroupKFold(folds, shuffle=True, random_state=seed).split(
                    dev_pos, y[dev_pos], dev_codes
                )
            )
            cv_strategy = f"StratifiedGroupKFold, {folds} folds by {spec.group_col!r}"
        else:
            from sklearn.model_selection import GroupKFold

            cv_folds = list(
                GroupKFold(folds, shuffle=True, random_state=seed).split(dev_pos, groups=dev_codes)
            )
            cv_strategy = f"GroupKFold, {folds} folds by {spec.group_col!r}"
    else:
        kind = "random"
        from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

        if task == "classification":
            counts = np.bincount(y)
            if counts.min() < 2:
                raise DataError(
                    f"The smallest class has {int(counts.min())} row(s); a stratified holdout needs at least 2 per class."
                )
            dev_pos, hold_pos = train_test_split(
                positions, test_size=holdout, stratify=y, random_state=seed
            )
            k = int(min(folds, np.bincount(y[dev_pos]).min()))
            if k < 2:
                raise DataError(
                    "Too few rows in the smallest class for stratified cross-validation."
                )
            if k < folds:
                notes.append(
                    f"The smallest class has {k} development rows: using {k} folds instead of {folds}."
                )
            cv_folds = list(
                StratifiedKFold(k, shuffle=True, random_state=seed).split(dev_pos, y[dev_pos])
            )
            holdout_strategy = f"stratified random {holdout:.0%}"
            cv_strategy = f"StratifiedKFold, {k} folds, shuffled"
        else:
            dev_pos, hold_pos = train_test_split(positions, test_size=holdout, random_state=seed)
            cv_folds = list(KFold(folds, shuffle=True, random_state=seed).split(dev_pos))
            holdout_strategy = f"random {holdout:.0%}"
            cv_strategy = f"KFold, {folds} folds, shuffled"
        dev_pos, hold_pos = np.sort(dev_pos), np.sort(hold_pos)

    summary = {
        "kind": kind,
        "holdout_strategy": holdout_strategy,
        "cv_strategy": cv_strategy,
        "seed": seed,
        "holdout_fraction": holdout,
        "development": _describe(frame, spec, dev_pos, task),
        "holdout": _describe(frame, spec, hold_pos, task),
        "folds": [
            {
                "fold": i,
                "train": _describe(frame, spec, dev_pos[tr], task),
                "test": _describe(frame, spec, dev_pos[te], task),
            }
            for i, (tr, te) in enumerate(cv_folds)
        ],
        "notes": notes,
    }
    if spec.group_col and kind == "grouped":
        held = frame[spec.group_col].iloc[hold_pos].astype(str).unique().tolist()
        summary["holdout"]["group_ids"] = sorted(held)[:100]
    return SplitPlan(
        kind=kind,
        dev=np.asarray(dev_pos),
        holdout=np.asarray(hold_pos),
        folds=tuple((np.asarray(tr), np.asarray(te)) for tr, te in cv_folds),
        holdout_strategy=holdout_strategy,
        cv_strategy=cv_strategy,
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
