"""What the audit checks see: the table, its roles, and cached derived arrays.

Expensive derived data (row hashes, the row sample, fold assignments, the
group × target association) is computed once and shared between checks.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pandas as pd

from groupwise.spec import ResolvedTable

__all__ = ["AuditContext", "integer_valued"]


class AuditContext:
    """A resolved table + cached helpers for checks.

    Parameters
    ----------
    table : ResolvedTable
        The table encoded once (:meth:`TableSpec.resolve`): class codes, group codes,
        feature kinds. ``table.source`` is the whole table as given.
    folds : int
        Folds that training will use (for group-count and CV-based checks).
    sample_rows : int
        Row budget of expensive checks; above it they use a seeded random sample.
    random_state : int
        Seed of every random choice the audit makes.
    """

    def __init__(
        self,
        table: ResolvedTable,
        *,
        folds: int = 5,
        sample_rows: int = 200_000,
        random_state: int = 0,
    ):
        self.table = table
        self.df = table.source
        self.spec = table.spec
        self.task = table.task
        self.target = table.target
        self.folds = folds
        self.sample_rows = sample_rows
        self.random_state = random_state
        self.features = list(table.features)
        self.has_target = self.df[table.target].notna().to_numpy()
        self.frame = table.frame
        self.y = self.frame[table.target]
        self.n = table.n
        self.group = self.frame[table.group_col] if table.group_col else None
        self.cache: dict[str, Any] = {}

    # ----------------------------------------------------------------- columns
    @property
    def kinds(self) -> dict[str, str]:
        """Feature → ``numeric`` | ``bool`` | ``categorical`` | ``datetime`` (one vocabulary)."""
        if "kinds" not in self.cache:
            self.cache["kinds"] = {c: self.table.kinds.kind(c) for c in self.features}
        return self.cache["kinds"]

    def of_kind(self, *kinds: str) -> list[str]:
        return [c for c, k in self.kinds.items() if k in kinds]

    @property
    def numeric_features(self) -> list[str]:
        return self.of_kind("numeric", "bool")

    # ------------------------------------------------------------------ target
    @property
    def classes(self) -> list:
        return list(self.table.classes)

    @property
    def y_codes(self) -> np.ndarray:
        """Integer class codes (classification) in the order of :attr:`classes`."""
        return self.table.y

    @functools.cached_property
    def y_float(self) -> np.ndarray:
        return self.y.to_numpy(dtype=np.float64)

    def positive_code(self) -> int:
        """Code of the positive class of a binary target."""
        return self.table.pos if self.table.pos is not None else len(self.classes) - 1

    # ------------------------------------------------------------------ groups
    @functools.cached_property
    def group_codes(self) -> np.ndarray | None:
        """Group code per row; rows without a group value are -1 (left out of statistics)."""
        if self.table.groups is None:
            return None
        return np.where(self.table.group_missing, -1, self.table.groups)

    @functools.cached_property
    def n_groups(self) -> int:
        return 0 if self.group is None else int(self.group.nunique(dropna=True))

    # ------------------------------------------------------------------ sample
    @functools.cached_property
    def sample(self) -> np.ndarray:
        """Sorted positions (into :attr:`frame`) of the rows expensive checks use."""
        if self.n <= self.sample_rows:
            return np.arange(self.n)
        rng = np.random.default_rng(self.random_state)
        return np.sort(rng.choice(self.n, size=self.sample_rows, replace=False))

    @property
    def sampled(self) -> bool:
        return self.n > self.sample_rows

    def sample_note(self) -> dict[str, Any]:
        """Evidence entry stating the sample used (only when sampling)."""
        if not self.sampled:
            return {}
        return {
            "rows_used": int(self.sample_rows),
            "rows_total": int(self.n),
            "sample_seed": self.random_state,
        }

    @functools.cached_property
    def sample_frame(self) -> pd.DataFrame:
        return self.frame if not self.sampled else self.frame.iloc[self.sample]

    @functools.cached_property
    def cv(self):
        """The plan's own cross-validation of the sampled rows (``CVSplits``; folds index
        into :attr:`sample`), or None when the table cannot be split that way."""
        from groupwise.exceptions import DataError
        from groupwise.model_selection import cv_splits

        try:
            return cv_splits(self.table, self.sample, folds=self.folds, seed=self.random_state)
        except (DataError, ValueError):
            return None

    # --------------------------------------------------------------- row hashes
    def row_hash(self, columns: list[str], *, rows: str = "all") -> np.ndarray:
        """64-bit key per row over ``columns`` (``rows="all"`` or ``"train"``): rows that
        agree on every column share a key; any other two rows share one with probability
        about 2⁻⁶⁴.

        The key is refined column by column, most distinct column first, and each further
        column is hashed only on the rows that still have a twin: on a table where most rows
        are unique after a column or two, the rest is hashed on a handful of rows. A row's
        key is therefore fixed once it is unique — a key, not a hash of the whole row."""
        key = f"hash:{rows}:{'|'.join(columns)}"
        if key in self.cache:
            return self.cache[key]
        frame = self.df if rows == "all" else self.frame
        n = len(frame)
        if not columns or n == 0:
            h = np.zeros(n, dtype=np.uint64)
            self.cache[key] = h
            self.cache[f"twins:{key}"] = np.arange(n if n > 1 else 0)
            return h
        order = sorted(columns, key=lambda c: -self._distinct_in_probe(c))
        h = self._column_hash(order[0], rows)
        first = f"twins:{rows}:{order[0]}"
        if first not in self.cache:  # checks asking for different keys often start alike
            self.cache[first] = np.flatnonzero(pd.Series(h).duplicated(keep=False).to_numpy())
        twins = self.cache[first]
        rest = order[1:]
        settled, unchecked = False, 0
        for i, c in enumerate(rest):
            if len(twins) == 0:
                break
            part = frame[c].iloc[twins]
            mixed = (h[twins] * np.uint64(0x100000001B3)) ^ _hash_values(part)
            h[twins] = mixed
            unchecked += 1
            # looking for twins after every column pays while the set shrinks; real copies
            # stay twins to the last column, so once it stops shrinking look every 8 columns
            if not settled or unchecked >= 8 or i == len(rest) - 1:
                before = len(twins)
                twins = twins[pd.Series(mixed).duplicated(keep=False).to_numpy()]
                settled, unchecked = len(twins) > 0.95 * before, 0
        self.cache[key] = h
        self.cache[f"twins:{key}"] = twins
        return h

    def twins(self, columns: list[str], *, rows: str = "all") -> np.ndarray:
        """Sorted positions of the rows whose :meth:`row_hash` key another row shares."""
        self.row_hash(columns, rows=rows)
        return self.cache[f"twins:hash:{rows}:{'|'.join(columns)}"]

    def _column_hash(self, column: str, rows: str) -> np.ndarray:
        """Hash of every value of one column (a fresh array); computed once on all rows."""
        ck = f"colhash:{column}"
        if ck not in self.cache:
            self.cache[ck] = _hash_values(self.df[column])
        full = self.cache[ck]
        if rows == "all" or self.has_target.all():
            return full.copy()
        return full[self.has_target]  # ``frame`` is ``df`` without the rows lacking a target

    def _distinct_in_probe(self, column: str) -> int:
        """Distinct values of a column in its first 2,000 rows (orders the refinement)."""
        return int(self.df[column].iloc[:2000].nunique(dropna=False))

    def chance_pairs(self, columns: list[str], *, rows: str = "all", also=()) -> float:
        """How many pairs of rows would agree on all ``columns`` by chance.

        Two rows agree on every column at most as often as they agree on the column
        where agreement is rarest, so the estimate is C(n, 2) · min_j q_j, with q_j the
        share of agreeing pairs on column j among rows that are distinct in ``columns``
        plus ``also`` (copies are collapsed first, so that copies do not count as their
        own chance; ``also`` keeps apart rows that agree on ``columns`` but not on, say,
        the target). A continuous column makes it ≈ 0; a few discrete columns make it large.
        """
        frame = self.df if rows == "all" else self.frame
        n = len(frame)
        if n < 2 or not columns:
            return float("inf")
        key = list(dict.fromkeys([*columns, *also]))
        h = self.row_hash(key, rows=rows)
        twins = self.twins(key, rows=rows)
        distinct = np.ones(n, dtype=bool)  # one row of each set of copies
        distinct[twins[pd.Series(h[twins]).duplicated().to_numpy()]] = False
        rows_kept = np.flatnonzero(distinct) if len(twins) else None
        m = int(distinct.sum())
        if m < 2:
            return float("inf")
        q = 1.0
        # the minimum does not depend on the order; the most distinct columns first reach
        # a column without repeats (q = 0) soonest
        for c in sorted(columns, key=lambda c: -self._distinct_in_probe(c)):
            values = frame[c] if rows_kept is None else frame[c].iloc[rows_kept]
            counts = values.value_counts(dropna=False).to_numpy(dtype=np.float64)
            q = min(q, float((counts * (counts - 1)).sum() / (m * (m - 1))))
            if q == 0.0:
                break
        return n * (n - 1) / 2 * q

    # ----------------------------------------------------- group × target link
    def group_target_association(self) -> dict[str, float] | None:
        """Cramér's V (classification) or η² (regression) of group vs target, with a
        permutation p-value (500 permutations on the sample)."""
        if "group_target" in self.cache:
            return self.cache["group_target"]
        if self.group_codes is None:
            return None
        g = self.group_codes[self.sample]
        ok = g >= 0
        g = g[ok]
        rng = np.random.default_rng(self.random_state)
        n_perm = 500
        if self.task == "classification":
            y = self.y_codes[self.sample][ok]
            stat, perm = _cramers_v_perm(g, y, rng, n_perm)
            name = "cramers_v"
        else:
            y = self.y_float[self.sample][ok]
            stat, perm = _eta2_perm(g, y, rng, n_perm)
            name = "eta_squared"
        p = (1 + int(np.sum(perm >= stat))) / (n_perm + 1)
        out = {"statistic": name, "value": float(stat), "p_value": float(p), "permutations": n_perm}
        self.cache["group_target"] = out
        return out


def _cramers_v_codes(g: np.ndarray, y: np.ndarray, n_g: int, n_y: int) -> float:
    table = np.bincount(g * n_y + y, minlength=n_g * n_y).reshape(n_g, n_y).astype(float)
    from groupwise._stats import cramers_v_from_table

    return cramers_v_from_table(table)


def _cramers_v_perm(g, y, rng, n_perm):
    """The statistic and its permutation distribution. Permuting ``y`` against ``g`` gives a
    random contingency table with both margins fixed, so each permutation is drawn as that
    table directly: group by group, its class counts from the classes not yet dealt out
    (multivariate hypergeometric, drawn for all permutations at once) — the same
    distribution at O(groups × classes) a draw (up to 100 groups; above, rows are permuted)."""
    from groupwise._stats import cramers_v_from_table

    n_g, n_y = int(g.max()) + 1, int(y.max()) + 1
    stat = _cramers_v_codes(g, y, n_g, n_y)
    if n_g > 100:  # many groups: permuting the rows is the faster way to the same tables
        perm = np.array([_cramers_v_codes(g, rng.permutation(y), n_g, n_y) for _ in range(n_perm)])
        return stat, perm
    sizes = np.bincount(g, minlength=n_g)
    classes = np.bincount(y, minlength=n_y)
    # all permutations at once, group by group and class by class: a group's count of a
    # class is hypergeometric given the rows of that class not yet dealt out and the rows
    # of the later classes
    tables = np.zeros((n_perm, n_g, n_y))
    left = np.tile(classes, (n_perm, 1)).astype(np.int64)
    for k in np.flatnonzero(sizes):
        need = np.full(n_perm, int(sizes[k]), dtype=np.int64)
        for c in range(n_y - 1):
            later = left[:, c + 1 :].sum(axis=1)
            draw = rng.hypergeometric(left[:, c], later, need)
            tables[:, k, c] = draw
            left[:, c] -= draw
            need -= draw
        tables[:, k, n_y - 1] = need
        left[:, n_y - 1] -= need
    perm = np.array([cramers_v_from_table(t) for t in tables])
    return stat, perm


def _eta2_codes(g, y, n_g):
    counts = np.bincount(g, minlength=n_g)
    sums = np.bincount(g, weights=y, minlength=n_g)
    mean = y.mean()
    total = float(((y - mean) ** 2).sum())
    nz = counts > 0
    between = float((sums[nz] ** 2 / counts[nz]).sum() - len(y) * mean**2)
    return between / total if total > 0 else 0.0


def _eta2_perm(g, y, rng, n_perm):
    n_g = int(g.max()) + 1
    stat = _eta2_codes(g, y, n_g)
    perm = np.array([_eta2_codes(g, rng.permutation(y), n_g) for _ in range(n_perm)])
    return stat, perm


def integer_valued(x: np.ndarray) -> bool:
    """True when every value of ``x`` (float, no NaN) is a whole number; non-empty only.

    A measurement with decimals is rejected on its first values, before the whole column
    is looked at."""
    if len(x) == 0:
        return False
    head = x[:1024]
    if not np.all(np.mod(head, 1) == 0):
        return False
    return bool(np.all(np.mod(x, 1) == 0))


def _hash_values(s: pd.Series) -> np.ndarray:
    return pd.util.hash_pandas_object(s, index=False).to_numpy()


def colliding_pairs(keys: np.ndarray) -> int:
    """Pairs of rows with equal keys."""
    counts = pd.Series(keys).value_counts().to_numpy(dtype=np.int64)
    return int((counts * (counts - 1) // 2).sum())


def beyond_chance(observed_pairs: int, expected_pairs: float) -> bool:
    """True when more pairs agree than chance explains (twice the estimate, plus slack)."""
    return observed_pairs > 2.0 * expected_pairs + 3.0 * np.sqrt(max(expected_pairs, 0.0)) + 2.0
