"""Splitters for time-ordered data."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import BaseCrossValidator

__all__ = ["ExpandingWindowSplit"]


class ExpandingWindowSplit(BaseCrossValidator):
    """Expanding-window cross-validation along a time axis.

    The rows, ordered by time, are cut into ``n_splits + 1`` consecutive blocks;
    fold ``i`` trains on blocks ``0..i`` and tests on block ``i + 1``. Cuts never
    fall between rows with the same time stamp, so a time stamp is never on both
    sides of a split.

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.array([1, 1, 2, 3, 3, 4, 5, 6])
    >>> cv = ExpandingWindowSplit(3)
    >>> [(len(tr), len(te)) for tr, te in cv.split(t, groups=t)]
    [(2, 1), (3, 3), (6, 2)]
    >>> cv.get_n_splits(groups=t)
    3

    With many rows sharing a time stamp, cuts can merge and fewer folds come out;
    :meth:`get_n_splits` counts the folds :meth:`split` yields.
    """

    def __init__(self, n_splits: int = 5):
        self.n_splits = n_splits

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        """The number of folds :meth:`split` yields for these time stamps."""
        return sum(1 for _ in self.split(X, y, groups))

    def split(self, X, y=None, groups=None):
        """Yield (train, test) positions; ``groups`` holds the time of each row."""
        if groups is None:
            raise ValueError(
                "The 'groups' parameter of ExpandingWindowSplit.split must hold the time of each row; got None."
            )
        t = np.asarray(groups)
        n = len(t)
        if n < self.n_splits + 1:
            raise ValueError(f"Cannot make {self.n_splits} time folds from {n} rows.")
        order = np.argsort(t, kind="stable")
        ts = t[order]
        raw = [int(round(n * (i + 1) / (self.n_splits + 1))) for i in range(self.n_splits + 1)]
        cuts = []
        for c in raw[:-1]:
            # move the cut to the first row of its time stamp
            c = int(np.searchsorted(ts, ts[min(c, n - 1)], side="left"))
            cuts.append(c)
        cuts.append(n)
        cuts = sorted(set(cuts))
        for i in range(len(cuts) - 1):
            train, test = order[: cuts[i]], order[cuts[i] : cuts[i + 1]]
            if len(train) and len(test):
                yield np.sort(train), np.sort(test)

    def _iter_test_indices(
        self, X=None, y=None, groups=None
    ):  # pragma: no cover - split() is overridden
        for _, test in self.split(X, y, groups):
            yield test
