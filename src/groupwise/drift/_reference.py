"""The monitoring reference: what training data looked like, kept compactly in the run.

Built at training from every row the final model was trained on, it holds per feature
the counts over fixed bins (:class:`~groupwise.drift.Binning`) and how far training
groups scattered around them; the same for the out-of-fold score (or prediction) and
for a multivariate summary, the PCA reconstruction error of the encoded rows; the
calibration map (binary) or the error map (regression) for estimating performance
without labels; and, up to :data:`~groupwise.drift._bins.MAX_KNOWN_GROUPS` groups, each
group's own counts by name. ``monitor/reference.json`` holds the document,
``monitor/reference_between.parquet`` the groups' deviations and
``monitor/reference_groups.parquet`` the groups' counts.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from groupwise.drift._bins import MAX_KNOWN_GROUPS, Binning, factorized_text
from groupwise.drift._estimate import (
    calibration_map,
    error_map,
    estimate_classification,
    estimate_regression,
)

__all__ = ["Reference", "RowEncoder", "build_reference"]

FORMAT_VERSION = 1
#: Rows the PCA of the multivariate summary is fit on (a seeded sample beyond).
PCA_ROWS = 50_000
#: Rows whose reconstruction error makes the reference's distribution.
ERROR_ROWS = 200_000
#: One-hot columns per categorical feature in the encoding.
ENCODED_CATEGORIES = 5
#: Share of the encoded variance the components keep.
PCA_VARIANCE = 0.8
MAX_COMPONENTS = 20

SCORE = "model output"
RECONSTRUCTION = "reconstruction error"


@dataclasses.dataclass
class RowEncoder:
    """Numbers standardised (missing → training median), the most frequent categories
    one-hot and standardised; then a PCA whose reconstruction error summarises a row."""

    numeric: list[dict[str, Any]]
    categorical: list[dict[str, Any]]
    components: np.ndarray | None = None  # (p, q)

    @classmethod
    def fit(cls, X: pd.DataFrame, kinds: dict[str, str]) -> RowEncoder:
        num, cat = [], []
        for c, kind in kinds.items():
            if kind == "numeric":
                x = np.asarray(X[c], dtype=np.float64)
                finite = x[np.isfinite(x)]
                if len(finite) == 0:
                    continue
                sd = float(finite.std()) or 1.0
                num.append({"name": c, "median": float(np.median(finite)),
                            "mean": float(finite.mean()), "sd": sd})  # fmt: skip
            elif kind == "categorical":
                freq = X[c].dropna().astype(str).value_counts(normalize=True)
                top = [(str(k), float(v)) for k, v in freq.head(ENCODED_CATEGORIES).items() if 0 < v < 1]  # fmt: skip
                if top:
                    cat.append({"name": c, "categories": [k for k, _ in top], "shares": [v for _, v in top]})  # fmt: skip
        return cls(num, cat)

    @property
    def width(self) -> int:
        return len(self.numeric) + sum(len(c["categories"]) for c in self.categorical)

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        Z = np.empty((len(X), self.width))
        j = 0
        for f in self.numeric:
            x = np.asarray(X[f["name"]], dtype=np.float64)
            np.subtract(np.where(np.isfinite(x), x, f["median"]), f["mean"], out=Z[:, j])
            Z[:, j] /= f["sd"]
            j += 1
        for f in self.categorical:
            codes, uniques = factorized_text(X[f["name"]])
            for k, share in zip(f["categories"], f["shares"], strict=True):
                hit = np.append(uniques == k, False)[codes]  # missing (-1) is no hit
                Z[:, j] = (hit - share) / np.sqrt(share * (1 - share))
                j += 1
        return Z

    @staticmethod
    def pca(Z: np.ndarray) -> np.ndarray:
        _, s, vt = np.linalg.svd(Z - Z.mean(0), full_matrices=False)
        var = s**2 / max(float((s**2).sum()), 1e-300)
        q = int(np.searchsorted(np.cumsum(var), PCA_VARIANCE) + 1)
        q = max(1, min(q, MAX_COMPONENTS, Z.shape[1] - 1))
        return vt[:q].T

    @staticmethod
    def errors(Z: np.ndarray, V: np.ndarray) -> np.ndarray:
        """Mean squared residual of each row off the components (orthonormal columns of
        ``V``): ``(|z|^2 - |z V|^2) / p``."""
        P = Z @ V
        return (
            np.maximum(np.einsum("ij,ij->i", Z, Z) - np.einsum("ij,ij->i", P, P), 0.0) / Z.shape[1]
        )

    def reconstruction_error(self, X: pd.DataFrame) -> np.ndarray:
        return self.errors(self.transform(X), self.components)

    def to_dict(self) -> dict[str, Any]:
        return {"numeric": self.numeric, "categorical": self.categorical,
                "components": None if self.components is None else self.components.tolist()}  # fmt: skip

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RowEncoder:
        comp = d.get("components")
        return cls(d["numeric"], d["categorical"], None if comp is None else np.asarray(comp))


@dataclasses.dataclass
class Reference:
    """The compact picture of the training data the monitor compares new rows with."""

    task: str
    rows: int
    group_col: str | None
    groups: int | None
    effective_groups: float
    features: dict[str, Binning]
    skipped: dict[str, str]
    output: Binning | None = None
    output_kind: str | None = None  # positive score | prediction | predicted class
    encoder: RowEncoder | None = None
    reconstruction: Binning | None = None
    calibration: dict[str, list[float]] | None = None
    error_map: dict[str, Any] | None = None
    threshold: float | None = None
    expected: dict[str, float] = dataclasses.field(default_factory=dict)
    source: str = "training"
    #: The training groups by name, in the order of each Binning's ``group_counts`` rows
    #: (kept up to MAX_KNOWN_GROUPS groups).
    group_names: list[str] | None = None

    def group_shares(self, values) -> tuple[np.ndarray | None, float]:
        """For a chunk's group values: the share of its rows in each training group (None
        without known groups) and the effective number of new groups among the rest."""
        codes, uniques = pd.factorize(pd.Series(values), use_na_sentinel=False)
        n = max(len(codes), 1)
        index: dict[str, int] = {}
        for k, name in enumerate(self.group_names or []):
            index.setdefault(name, k)
        known = np.asarray([index.get(_spell(u), -1) for u in uniques], dtype=np.int64)
        per_unique = np.bincount(codes, minlength=len(uniques)) / n
        shares = None
        if (known >= 0).any():
            shares = np.zeros(len(self.group_names))
            np.add.at(shares, known[known >= 0], per_unique[known >= 0])
        new = per_unique[known < 0]
        if not len(new) or new.sum() <= 0:
            return shares, 1.0
        w = new / new.sum()
        return shares, float(1.0 / (w**2).sum())

    @property
    def columns(self) -> dict[str, Binning]:
        """Every binned column: the features, then the model output and the reconstruction error."""
        out = dict(self.features)
        if self.output is not None:
            out[SCORE] = self.output
        if self.reconstruction is not None:
            out[RECONSTRUCTION] = self.reconstruction
        return out

    def estimate(self, output: np.ndarray) -> dict[str, float]:
        """Performance estimated without labels from the model's raw output."""
        if self.calibration is not None and self.threshold is not None:
            return estimate_classification(output, self.calibration, self.threshold)
        if self.error_map is not None:
            return estimate_regression(output, self.error_map)
        return {}

    # --------------------------------------------------------------- storage
    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION, "task": self.task, "rows": self.rows,
            "group_col": self.group_col, "groups": self.groups,
            "effective_groups": None if not np.isfinite(self.effective_groups) else self.effective_groups,
            "features": [b.to_dict() for b in self.features.values()], "skipped": self.skipped,
            "output": None if self.output is None else self.output.to_dict(),
            "output_kind": self.output_kind,
            "encoder": None if self.encoder is None else self.encoder.to_dict(),
            "reconstruction": None if self.reconstruction is None else self.reconstruction.to_dict(),
            "calibration": self.calibration, "error_map": self.error_map,
            "threshold": self.threshold, "expected": self.expected, "source": self.source,
            "group_names": self.group_names,
        }  # fmt: skip

    def group_counts_frame(self) -> pd.DataFrame:
        """Every column's training counts per known group, long (column, group, bin, count; nonzero only)."""
        parts = []
        for name, b in self.columns.items():
            if b.group_counts is not None:
                g, k = np.nonzero(b.group_counts)
                parts.append(pd.DataFrame({"column": name, "group": g.astype(np.int32), "bin": k.astype(np.int32),
                                           "count": b.group_counts[g, k].astype(np.int64)}))  # fmt: skip
        if not parts:
            return pd.DataFrame({"column": pd.Series(dtype=str), "group": pd.Series(dtype=np.int32),
                                 "bin": pd.Series(dtype=np.int32), "count": pd.Series(dtype=np.int64)})  # fmt: skip
        return pd.concat(parts, ignore_index=True)

    def between_frame(self) -> pd.DataFrame:
        """The groups' deviations of every column as one table (column, slot, b0, b1, ...)."""
        parts = []
        for name, b in self.columns.items():
            if len(b.between):
                f = pd.DataFrame(
                    b.between.astype(np.float32), columns=[f"b{k}" for k in range(b.K)]
                )
                f.insert(0, "slot", np.arange(len(f), dtype=np.int32))
                f.insert(0, "column", name)
                parts.append(f)
        if not parts:
            return pd.DataFrame({"column": pd.Series(dtype=str), "slot": pd.Series(dtype=np.int32)})
        return pd.concat(parts, ignore_index=True)

    @classmethod
    def from_parts(
        cls, doc: dict[str, Any], between: pd.DataFrame | None, group_counts: pd.DataFrame | None = None
    ) -> Reference:  # fmt: skip
        if doc.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"unknown reference format {doc.get('format_version')!r}")
        dev: dict[str, np.ndarray] = {}
        if between is not None and len(between):
            bcols = [c for c in between.columns if c.startswith("b")]
            for name, part in between.groupby("column", sort=False):
                dev[str(name)] = part.sort_values("slot")[bcols].to_numpy(dtype=np.float64)

        names = doc.get("group_names")
        counts: dict[str, np.ndarray] = {}
        if group_counts is not None and len(group_counts) and names:
            for name, part in group_counts.groupby("column", sort=False):
                K = int(part["bin"].max()) + 1
                m = np.zeros((len(names), K), dtype=np.int64)
                m[part["group"].to_numpy(), part["bin"].to_numpy()] = part["count"].to_numpy()
                counts[str(name)] = m

        def binning(d):
            if d is None:
                return None
            m = dev.get(d["name"])
            gc = counts.get(d["name"])
            if gc is not None and gc.shape[1] < len(d["counts"]):
                gc = np.pad(gc, ((0, 0), (0, len(d["counts"]) - gc.shape[1])))
            return Binning.from_dict(d, None if m is None else np.nan_to_num(m), gc)

        eg = doc.get("effective_groups")
        return cls(
            task=doc["task"], rows=int(doc["rows"]), group_col=doc.get("group_col"),
            groups=doc.get("groups"), effective_groups=np.inf if eg is None else float(eg),
            features={d["name"]: binning(d) for d in doc["features"]},
            skipped=dict(doc.get("skipped") or {}), output=binning(doc.get("output")),
            output_kind=doc.get("output_kind"),
            encoder=None if doc.get("encoder") is None else RowEncoder.from_dict(doc["encoder"]),
            reconstruction=binning(doc.get("reconstruction")), calibration=doc.get("calibration"),
            error_map=doc.get("error_map"), threshold=doc.get("threshold"),
            expected=dict(doc.get("expected") or {}), source=doc.get("source", "training"),
            group_names=names,
        )  # fmt: skip


def _spell(v) -> str:
    """A group's name as text, the same whichever way it was read (``3``, ``3.0`` and
    ``"3"`` are one group)."""
    if isinstance(v, (float, np.floating)) and np.isfinite(v) and float(v).is_integer():
        return str(int(v))
    return str(v)


def _kind(schema_kind: str) -> str | None:
    return {"numeric": "numeric", "bool": "numeric", "categorical": "categorical"}.get(schema_kind)


def build_reference(
    X: pd.DataFrame,
    kinds: dict[str, str],
    *,
    task: str,
    groups: np.ndarray | None = None,
    group_col: str | None = None,
    output: np.ndarray | None = None,
    y: np.ndarray | None = None,
    pos: int | None = None,
    classes: list | None = None,
    threshold: float | None = None,
    seed: int = 0,
    source: str = "training",
) -> Reference:
    """The reference of the rows ``X`` (the schema's coerced features).

    Parameters
    ----------
    kinds : dict
        Feature → schema kind (numeric, bool, categorical, datetime). Datetime features
        are not compared (time moves on by design).
    groups : array, optional
        The group of every row (the run's group column).
    output : ndarray, optional
        The model's out-of-fold output per row (probabilities ``(n, K)`` or predictions;
        rows without one are NaN). With ``y``: the calibration or error map.
    y : ndarray, optional
        Labels (class codes) or targets, aligned with ``output``.
    """
    rng = np.random.default_rng(seed)
    codes = None
    n_groups, eff = None, np.inf
    if groups is not None:
        codes, uniq = pd.factorize(pd.Series(groups).astype(object), use_na_sentinel=False)
        n_groups = len(uniq)
        sizes = np.bincount(codes).astype(np.float64)
        eff = float(sizes.sum() ** 2 / (sizes**2).sum())
    features, skipped = {}, {}
    for c, k in kinds.items():
        kind = _kind(k)
        if kind is None:
            skipped[c] = f"{k} feature: not compared (values move on with time by design)"
            continue
        features[c] = Binning.fit(c, X[c], kind, groups=codes, seed=seed)
    ref = Reference(task=task, rows=len(X), group_col=group_col, groups=n_groups,
                    effective_groups=eff, features=features, skipped=skipped, source=source)  # fmt: skip
    if codes is not None and n_groups <= MAX_KNOWN_GROUPS:
        ref.group_names = [_spell(u) for u in uniq]

    # the multivariate summary: the PCA reconstruction error. The PCA is fit on one half
    # of the rows (of the groups, when there are groups) and the reference errors are the
    # other half's, so that new rows are scored as rows the PCA never saw, like those.
    enc = RowEncoder.fit(X, {c: _kind(k) for c, k in kinds.items() if _kind(k)})
    if enc.width >= 2 and len(X) >= 40:
        take = np.sort(rng.choice(len(X), min(len(X), ERROR_ROWS), replace=False))
        Z = enc.transform(X.iloc[take])
        g = None if codes is None else codes[take]
        if g is not None and len(np.unique(g)) >= 4:
            side = rng.random(int(g.max()) + 1) < 0.5
            fit_side = side[g]
        else:
            fit_side = rng.random(len(Z)) < 0.5
        fit_rows = np.flatnonzero(fit_side)[:PCA_ROWS]
        scored = ~fit_side
        if len(fit_rows) >= 10 and scored.sum() >= 10:
            enc.components = enc.pca(Z[fit_rows])
            ref.encoder = enc
            ref.reconstruction = Binning.fit(RECONSTRUCTION, enc.errors(Z[scored], enc.components), "numeric",
                                             groups=None if g is None else g[scored], seed=seed)  # fmt: skip

    if output is not None:
        out = np.asarray(output, dtype=np.float64)
        if task == "classification" and out.ndim == 2 and out.shape[1] == 2:
            s = out[:, pos if pos is not None else 1]
            have = np.isfinite(s)
            ref.output_kind = "positive score"
            ref.output = Binning.fit(SCORE, s[have], "numeric",
                                     groups=None if codes is None else codes[have], seed=seed)  # fmt: skip
            if y is not None and have.sum() >= 20 and threshold is not None:
                positive = np.asarray(y)[have] == (pos if pos is not None else 1)
                if 0 < positive.sum() < len(positive):
                    ref.calibration = calibration_map(s[have], positive)
                    ref.threshold = float(threshold)
                    ref.expected = estimate_classification(s[have], ref.calibration, ref.threshold)
        elif task == "classification" and out.ndim == 2:
            have = np.isfinite(out).all(1)
            labels = np.asarray([str(c) for c in (classes or range(out.shape[1]))], dtype=object)
            ref.output_kind = "predicted class"
            ref.output = Binning.fit(SCORE, labels[out[have].argmax(1)], "categorical",
                                     groups=None if codes is None else codes[have], seed=seed)  # fmt: skip
        elif task == "regression":
            out = out.ravel()
            have = np.isfinite(out)
            ref.output_kind = "prediction"
            ref.output = Binning.fit(SCORE, out[have], "numeric",
                                     groups=None if codes is None else codes[have], seed=seed)  # fmt: skip
            if y is not None and have.sum() >= 20:
                ref.error_map = error_map(out[have], np.asarray(y, dtype=np.float64)[have])
                ref.expected = estimate_regression(out[have], ref.error_map)
    return ref
