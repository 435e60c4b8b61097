"""A column summarised as counts over fixed bins, and how far training groups scatter.

Numbers: up to :data:`NUMERIC_BINS` quantile bins of the training column (one bin per
value when it has few); categories: the :data:`TOP_CATEGORIES` most frequent, then one
bin for the other categories seen in training and one for categories never seen. The
last bin is always *missing*. New rows are counted over the same bins, so comparing a
chunk with the reference costs one pass over the chunk whatever its size.

Between-group spread: with groups, every training group's share per bin is compared
with the other groups' (leave-one-group-out). The part of that deviation that is more
than sampling noise is kept (shrunk by ``sqrt(rho / (rho + (1 - rho) / n_g))``, with
``rho`` the between-group share of the variance estimated by moments), so a new group is
judged against how far training groups were from each other, not against zero.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Binning", "MAX_BETWEEN", "NUMERIC_BINS", "TOP_CATEGORIES", "factorized_text"]

#: Quantile bins of a numeric column.
NUMERIC_BINS = 20
#: Categories with their own bin (the rest share one "other seen" bin).
TOP_CATEGORIES = 30
#: Group deviations kept per column (a seeded sample when there are more groups).
MAX_BETWEEN = 100
#: Groups with fewer rows do not enter the between-group estimate.
MIN_GROUP_ROWS = 5
#: Up to this many training groups, each group's own counts are kept, so rows of a group
#: seen in training are compared with that group's training rows.
MAX_KNOWN_GROUPS = 1_000


@dataclasses.dataclass
class Binning:
    """Counts of one column over fixed bins, with the training groups' deviations.

    Attributes
    ----------
    name : str
    kind : {"numeric", "categorical"}
    edges : list of float, optional
        Inner cut points (numeric): bin ``i`` holds ``edges[i-1] < x <= edges[i]``.
    categories : list of str, optional
        The categories with a bin of their own (categorical).
    seen : list of str, optional
        Every category of training (to tell "other seen" from "unseen").
    counts : ndarray of int
        Training rows per bin (the last bin: missing).
    rho : float
        Between-group share of the variance of the bin shares (0 without groups).
    between : ndarray of shape (n, K)
        Shrunk deviations of training groups' shares from the others' (may be empty).
    group_counts : ndarray of shape (G, K), optional
        Training rows per group (row ``g``: the reference's group ``g``) and bin, kept up to
        :data:`MAX_KNOWN_GROUPS` groups.
    mean, sd : float, optional
        Of the finite training values (numeric).
    """

    name: str
    kind: str
    counts: np.ndarray
    edges: list[float] | None = None
    categories: list[str] | None = None
    seen: list[str] | None = None
    rho: float = 0.0
    between: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0)))
    group_counts: np.ndarray | None = None
    mean: float | None = None
    sd: float | None = None

    # -------------------------------------------------------------- layout
    @property
    def K(self) -> int:
        return len(self.counts)

    @property
    def N(self) -> int:
        return int(self.counts.sum())

    @property
    def p(self) -> np.ndarray:
        return self.counts / max(self.N, 1)

    def labels(self) -> list[str]:
        """A short label per bin (for tables and plots)."""
        if self.kind == "numeric":
            e = self.edges or []
            if not e:
                return ["all values", "missing"]
            out = [f"≤ {e[0]:.4g}"]
            out += [f"({a:.4g}, {b:.4g}]" for a, b in zip(e[:-1], e[1:], strict=True)]
            return [*out, f"> {e[-1]:.4g}", "missing"]
        return [*(self.categories or []), "other seen", "unseen", "missing"]

    # ------------------------------------------------------------- binning
    @classmethod
    def fit(
        cls, name: str, values: pd.Series | np.ndarray, kind: str, *,
        groups: np.ndarray | None = None, seed: int = 0,
    ) -> Binning:  # fmt: skip
        """The bins of a training column, and the groups' spread when ``groups`` is given
        (integer group codes, one per row)."""
        if kind == "numeric":
            x = np.asarray(values, dtype=np.float64)
            finite = x[np.isfinite(x)]
            edges: list[float] = []
            mean = sd = None
            if len(finite):
                uniq = np.unique(finite)
                if len(uniq) <= NUMERIC_BINS:
                    edges = [float(v) for v in uniq[:-1]]
                else:
                    qs = np.quantile(finite, np.linspace(0, 1, NUMERIC_BINS + 1)[1:-1])
                    edges = [float(v) for v in np.unique(qs)]
                mean, sd = float(finite.mean()), float(finite.std())
            b = cls(name, "numeric", np.zeros(len(edges) + 2, dtype=np.int64), edges=edges,
                    mean=mean, sd=sd)  # fmt: skip
        else:
            s = pd.Series(values, dtype=object)
            present = s.dropna().astype(str)
            freq = present.value_counts()
            top = [str(c) for c in freq.index[:TOP_CATEGORIES]]
            b = cls(name, "categorical", np.zeros(len(top) + 3, dtype=np.int64),
                    categories=top, seen=sorted(map(str, freq.index)))  # fmt: skip
        codes = b.codes(values)
        b.counts = np.bincount(codes, minlength=b.K).astype(np.int64)
        if groups is not None:
            g = np.asarray(groups)
            b.rho, b.between = _between(codes, g, b.K, seed=seed)
            G = int(g.max()) + 1 if len(g) else 0
            if 0 < G <= MAX_KNOWN_GROUPS:
                b.group_counts = np.bincount(g * b.K + codes, minlength=G * b.K).reshape(G, b.K).astype(np.int64)  # fmt: skip
        return b

    def expected_for(self, shares: np.ndarray) -> tuple[np.ndarray, float, float]:
        """The reference for a chunk whose rows come from known training groups with
        ``shares`` (one per reference group; the rest of the chunk is new groups).

        Returns the expected bin shares (each known group's training shares, the overall
        shares for the new part), the effective number of training rows behind them, and
        the new groups' share of the chunk."""
        p = self.p
        gc = self.group_counts
        if gc is None or shares is None or not len(shares):
            return p, float(self.N), 1.0
        G = min(len(gc), len(shares))
        n_g = gc[:G].sum(1).astype(np.float64)
        w = np.where(n_g > 0, shares[:G], 0.0)
        known = float(w.sum())
        if known <= 0:
            return p, float(self.N), 1.0
        # each group's shares shrunk toward the overall ones (the posterior mean when group
        # shares scatter around the overall ones like a Dirichlet of concentration
        # (1 - rho) / rho): a small group's empty bins are not impossible for its new rows
        a = min((1 - self.rho) / self.rho, 1e6) if self.rho > 0 else 1e6
        own = (gc[:G] + a * p[None, :]) / (n_g + a)[:, None]
        mix = (w[:, None] * own).sum(0) + (1 - known) * p
        # the variance of the mixture's shares: sum of w_g^2 / (n_g + a) (known) + (1-known)^2 / N
        var = float((w**2 / (n_g + a)).sum() + (1 - known) ** 2 / max(self.N, 1))
        return mix, min(1.0 / max(var, 1e-300), float(self.N)), 1.0 - known

    def codes(self, values) -> np.ndarray:
        """The bin of every value."""
        if self.kind == "numeric":
            x = np.asarray(values, dtype=np.float64)
            out = np.searchsorted(np.asarray(self.edges or [], dtype=np.float64), x, side="left")
            out[~np.isfinite(x)] = self.K - 1
            return out.astype(np.int64)
        # each distinct value is looked up once (factorize), then spread over the rows
        codes, uniques = factorized_text(values)
        C = len(self.categories or [])
        idx = pd.Index(self.categories or [], dtype=object).get_indexer(uniques)
        seen = pd.Index(self.seen or [], dtype=object).get_indexer(uniques) >= 0
        per_value = np.append(np.where(idx >= 0, idx, np.where(seen, C, C + 1)), C + 2)
        return per_value[codes].astype(np.int64)  # code -1 (missing) takes the last entry

    def count(self, values) -> np.ndarray:
        return np.bincount(self.codes(values), minlength=self.K).astype(np.int64)

    # --------------------------------------------------------------- storage
    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "kind": self.kind, "counts": self.counts.tolist(),
            "edges": self.edges, "categories": self.categories, "seen": self.seen,
            "rho": self.rho, "mean": self.mean, "sd": self.sd,
            "between_groups": int(len(self.between)),
        }  # fmt: skip

    @classmethod
    def from_dict(
        cls, d: dict[str, Any], between: np.ndarray | None = None, group_counts: np.ndarray | None = None
    ) -> Binning:  # fmt: skip
        K = len(d["counts"])
        return cls(
            group_counts=None if group_counts is None else np.asarray(group_counts, dtype=np.int64)[:, :K],
            name=d["name"], kind=d["kind"], counts=np.asarray(d["counts"], dtype=np.int64),
            edges=d.get("edges"), categories=d.get("categories"), seen=d.get("seen"),
            rho=float(d.get("rho", 0.0)), mean=d.get("mean"), sd=d.get("sd"),
            between=np.zeros((0, K)) if between is None else np.asarray(between, dtype=np.float64)[:, :K],
        )  # fmt: skip


def factorized_text(values) -> tuple[np.ndarray, np.ndarray]:
    """A code per value (-1: missing) and the distinct values as text."""
    codes, uniques = pd.factorize(pd.Series(values), use_na_sentinel=True)
    return np.asarray(codes), np.asarray([str(u) for u in uniques], dtype=object)


def _between(
    codes: np.ndarray, groups: np.ndarray, K: int, *, seed: int
) -> tuple[float, np.ndarray]:
    """``rho`` and the shrunk leave-one-group-out deviations of the groups' bin shares."""
    G = int(groups.max()) + 1 if len(groups) else 0
    if G < 3:
        return 0.0, np.zeros((0, K))
    counts = np.bincount(groups * K + codes, minlength=G * K).reshape(G, K).astype(np.float64)
    n_g = counts.sum(1)
    use = n_g >= MIN_GROUP_ROWS
    if use.sum() < 3:
        return 0.0, np.zeros((0, K))
    counts, n_g = counts[use], n_g[use]
    total = counts.sum(0)
    N = total.sum()
    p = total / N
    pos = p > 0
    if pos.sum() < 2:
        return 0.0, np.zeros((0, K))
    others = (total[None, :] - counts) / (N - n_g)[:, None]
    d = counts / n_g[:, None] - others
    Q = (d[:, pos] ** 2 / p[pos]).sum(1)
    k1 = pos.sum() - 1
    inv = (1.0 / n_g) + 1.0 / (N - n_g)  # sampling noise of both sides
    Gu = len(n_g)
    rho = (Q.sum() / k1 - inv.sum()) / max(Gu - inv.sum(), 1e-12)
    rho = float(np.clip(rho, 0.0, 0.99))
    if rho == 0.0:
        return 0.0, np.zeros((0, K))
    lam = np.sqrt(rho / (rho + (1 - rho) * inv))
    D = lam[:, None] * d
    if len(D) > MAX_BETWEEN:
        keep = np.random.default_rng(seed).choice(len(D), MAX_BETWEEN, replace=False)
        D = D[np.sort(keep)]
    return rho, D
