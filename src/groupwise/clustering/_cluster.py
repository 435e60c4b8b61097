"""``cluster()``: segments of a table, with the evidence for their number and their sizes.

The pipeline is the linear candidate's preprocessing (dates to numbers, median imputation,
scaling, one-hot categoricals; no missing indicators, which would make the rows with a
rare missing value a cluster of their own) followed by KMeans. Every k of the
range is fitted on all rows and scored by its silhouette on one seeded sample of rows; the
largest silhouette picks k unless ``k`` is given. A density-based alternative (HDBSCAN on
the same sample, same preprocessing) is reported next to it: how many clusters it finds,
which share of rows it calls noise, and how well it agrees with KMeans (adjusted Rand).
Nothing here claims accuracy: there is no target, only the structure of the features.

The result is a run directory like training's — the model (preprocessing + KMeans),
the input schema, tables of assignments, sizes and per-cluster profiles, plots and a
report — and ``groupwise predict`` assigns clusters to new rows through the same schema
guard as a trained model.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from groupwise._progress import NullProgress
from groupwise._validation import check_number
from groupwise.exceptions import ConfigError, DataError

__all__ = ["ClusterConfig", "cluster"]

_OWNER = "ClusterConfig"
#: A cluster holding fewer rows than this share (or than ``TINY_ROWS``) is flagged.
TINY_SHARE = 0.01
TINY_ROWS = 10


@dataclasses.dataclass(frozen=True)
class ClusterConfig:
    """How ``cluster`` runs. Every field is also a ``groupwise cluster`` option.

    Parameters
    ----------
    k : int, default=None
        The number of clusters; default: the largest silhouette over ``k_min..k_max``.
    k_min, k_max : int, default=2, 10
        The range of k tried when ``k`` is not given.
    sample : int, default=5000
        Rows (a seeded sample) the silhouettes, the density alternative and the 2-D
        projection are computed on.
    density : bool, default=True
        Also run the density-based alternative (HDBSCAN) on the sample.
    seed : int, default=42
    models_dir : str, default="models"
    """

    k: int | None = None
    k_min: int = 2
    k_max: int = 10
    sample: int = 5000
    density: bool = True
    seed: int = 42
    models_dir: str = "models"

    def __post_init__(self):
        o, set_ = _OWNER, lambda k, v: object.__setattr__(self, k, v)
        if self.k is not None:
            set_("k", check_number(self.k, "k", o, low=2, high=100, integer=True))
        set_("k_min", check_number(self.k_min, "k_min", o, low=2, high=100, integer=True))
        set_("k_max", check_number(self.k_max, "k_max", o, low=2, high=100, integer=True))
        if self.k_max < self.k_min:
            raise ConfigError(
                f"The k range of {o} is empty: k_min={self.k_min} > k_max={self.k_max}. "
                "Give it as --k-range 2..10.",
                parameter="k_max",
                value=self.k_max,
            )
        set_("sample", check_number(self.sample, "sample", o, low=100, integer=True))
        set_("seed", check_number(self.seed, "seed", o, low=0, high=2**32 - 1, integer=True))

    def ks(self) -> list[int]:
        return [self.k] if self.k is not None else list(range(self.k_min, self.k_max + 1))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def parse_k_range(text: str) -> tuple[int, int]:
    """``"2..10"`` → ``(2, 10)``; a clear error otherwise."""
    lo, sep, hi = str(text).partition("..")
    try:
        if not sep:
            raise ValueError
        return int(lo), int(hi)
    except ValueError:
        raise ConfigError(
            f"--k-range must look like 2..10 (the smallest and largest k). Got {text!r}.",
            parameter="k_range",
            value=text,
        ) from None


@dataclasses.dataclass(frozen=True)
class _Columns:
    features: tuple[str, ...]
    id_cols: tuple[str, ...]
    drop_cols: tuple[str, ...]


def _columns(df: pd.DataFrame, id_cols: Sequence[str], drop_cols: Sequence[str]) -> _Columns:
    from groupwise.exceptions import ColumnNotFoundError, did_you_mean

    present = [str(c) for c in df.columns]
    missing = [c for c in (*id_cols, *drop_cols) if c not in present]
    if missing:
        raise ColumnNotFoundError(
            "Column(s) not found in the table: "
            + "; ".join(f"{c!r}{did_you_mean(c, present)}" for c in missing)
            + f". The table has: {', '.join(map(repr, present[:30]))}."
        )
    out = set(id_cols) | set(drop_cols)
    features = tuple(c for c in present if c not in out)
    if not features:
        raise DataError(
            "No feature columns left to cluster on: every column is an id or dropped. "
            "Remove some --id or --drop."
        )
    return _Columns(features, tuple(id_cols), tuple(drop_cols))


def _silhouette(Z, labels) -> float:
    from sklearn.metrics import silhouette_score

    if len(np.unique(labels)) < 2:
        return float("nan")
    return float(silhouette_score(Z, labels))


def _profiles(X: pd.DataFrame, labels: np.ndarray, kinds) -> pd.DataFrame:
    """Per cluster and feature: the cluster's mean (numeric) or most frequent level, the
    overall value, and for numbers the standardised difference from the overall mean."""
    rows = []
    for c in sorted(np.unique(labels)):
        part = X[labels == c]
        for col in kinds.numeric:
            x, xc = X[col].astype(float), part[col].astype(float)
            sd = float(x.std())
            rows.append({
                "cluster": int(c), "feature": col, "kind": "numeric", "value": float(xc.mean()),
                "overall": float(x.mean()), "share": None,
                "difference_sd": (float(xc.mean()) - float(x.mean())) / sd if sd > 0 else 0.0,
            })  # fmt: skip
        for col in kinds.categorical:
            counts = part[col].astype(str).value_counts(normalize=True)
            overall = X[col].astype(str).value_counts(normalize=True)
            top = counts.index[0] if len(counts) else None
            rows.append({
                "cluster": int(c), "feature": col, "kind": "categorical", "value": top,
                "overall": float(overall.get(top, 0.0)), "share": float(counts.iloc[0]) if len(counts) else None,
                "difference_sd": None,
            })  # fmt: skip
    return pd.DataFrame(rows)


def cluster(
    df: pd.DataFrame,
    *,
    id_cols: Sequence[str] = (),
    drop_cols: Sequence[str] = (),
    config: ClusterConfig | None = None,
    dataset_path: str | None = None,
    progress=None,
):
    """Cluster the rows of ``df`` and write a run directory (returns its :class:`Run`).

    The run is not made ``latest`` (that stays the last trained model); refer to it by its
    id or path.
    """
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score
    from sklearn.pipeline import Pipeline
    from threadpoolctl import threadpool_limits

    from groupwise._parallel import available_cores
    from groupwise.estimators._zoo import scaled_preprocessing
    from groupwise.runs import check_models_dir
    from groupwise.spec import ColumnKinds

    config = config or ClusterConfig()
    check_models_dir(config.models_dir)
    progress = progress or NullProgress()
    t0, started = time.perf_counter(), dt.datetime.now(dt.UTC)
    cols = _columns(df, id_cols, drop_cols)
    n = len(df)
    ks = [k for k in config.ks() if k < n]
    if not ks:
        raise DataError(
            f"The table has {n} rows; clustering into {config.ks()[0]} or more clusters needs more rows."
        )
    X = df[list(cols.features)]
    kinds = ColumnKinds.of(df, cols.features)
    timings: dict[str, float] = {}
    threads = available_cores()
    with progress.stage("Preprocessing", total=1) as bar:
        prep = Pipeline(scaled_preprocessing(kinds, indicators=False))
        Z = np.asarray(prep.fit_transform(X), dtype=np.float64)
        bar.advance()
    rng = np.random.default_rng(config.seed)
    sample = np.sort(rng.choice(n, min(n, config.sample), replace=False))
    scores = []
    fitted = {}
    with progress.stage(f"KMeans for k = {ks[0]}..{ks[-1]}", total=len(ks)) as bar:
        start = time.perf_counter()
        for k in ks:
            with threadpool_limits(threads):
                km = KMeans(n_clusters=k, n_init=4, random_state=config.seed).fit(Z)
            fitted[k] = km
            scores.append({
                "k": k, "silhouette": _silhouette(Z[sample], km.labels_[sample]),
                "inertia": float(km.inertia_),
                "smallest_cluster": int(np.bincount(km.labels_, minlength=k).min()),
            })  # fmt: skip
            bar.advance()
        timings["kmeans"] = time.perf_counter() - start
    board = pd.DataFrame(scores)
    if config.k is not None:
        k, why = config.k, f"given (k={config.k})"
    else:
        best = board.loc[board["silhouette"].idxmax()]
        k = int(best["k"])
        why = f"largest silhouette ({best['silhouette']:.3f}) over k = {ks[0]}..{ks[-1]}"
    labels = fitted[k].labels_
    density = None
    if config.density:
        from sklearn.cluster import HDBSCAN

        with progress.stage("Density-based alternative (HDBSCAN)", total=1) as bar:
            start = time.perf_counter()
            size = max(10, len(sample) // 100)
            dl = HDBSCAN(min_cluster_size=size, copy=True).fit_predict(Z[sample])
            kept = dl >= 0
            density = {
                "method": f"HDBSCAN (min_cluster_size={size}) on the {len(sample)}-row sample",
                "clusters": int(len(np.unique(dl[kept]))),
                "noise_share": float(1 - kept.mean()),
                "silhouette_without_noise": _silhouette(Z[sample][kept], dl[kept])
                if kept.sum() > 1
                else float("nan"),
                "adjusted_rand_vs_kmeans": float(adjusted_rand_score(labels[sample], dl)),
            }
            timings["density"] = time.perf_counter() - start
            bar.advance()
    sizes = pd.DataFrame({"cluster": np.arange(k), "rows": np.bincount(labels, minlength=k)})
    sizes["share"] = sizes["rows"] / n
    tiny_at = max(TINY_ROWS, int(np.ceil(TINY_SHARE * n)))
    sizes["tiny"] = sizes["rows"] < tiny_at
    warnings_ = [
        f"cluster {int(r.cluster)} holds only {int(r.rows)} rows ({r.share:.1%}); a cluster this "
        f"small (< {tiny_at} rows) is often a handful of outliers — look at its rows before "
        "naming it a segment"
        for r in sizes.itertuples()
        if r.tiny
    ]
    profiles = _profiles(X, labels, kinds)
    from sklearn.decomposition import PCA

    pca = PCA(n_components=min(2, Z.shape[1]), random_state=config.seed).fit(Z)
    proj = pca.transform(Z[sample])
    projection = pd.DataFrame({"pc1": proj[:, 0], "pc2": proj[:, 1] if proj.shape[1] > 1 else 0.0})
    projection["cluster"] = labels[sample]
    model = Pipeline([*prep.steps, ("model", fitted[k])])
    doc = {
        "k": k, "why": why, "range": [ks[0], ks[-1]], "scores": board.to_dict(orient="records"),
        "sample_rows": int(len(sample)), "rows": n, "features": len(cols.features),
        "matrix_columns": int(Z.shape[1]), "density": density, "warnings": warnings_,
        "tiny_rows": tiny_at,
        "projection_variance": [float(v) for v in pca.explained_variance_ratio_],
        "note": "no target: the silhouette measures separation in the preprocessed features, not accuracy",
    }  # fmt: skip
    assignments = df[list(cols.id_cols)].reset_index(drop=True).copy()
    assignments["cluster"] = labels
    timings["total"] = time.perf_counter() - t0
    from groupwise.clustering._write import write_cluster_run

    return write_cluster_run(
        model=model, df=df, cols=cols, kinds=kinds, config=config, started=started,
        dataset_path=dataset_path, doc=doc, sizes=sizes, profiles=profiles,
        projection=projection, assignments=assignments, timings=timings, progress=progress,
    )  # fmt: skip
