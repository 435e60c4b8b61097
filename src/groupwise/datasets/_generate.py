"""Synthetic tables with known truth: class signal, correlated clusters, batches,
subjects, missingness, categoricals and planted leaks.

Determinism: every block draws from its own random stream, derived from the seed
as ``SeedSequence(seed, spawn_key=(purpose, block, column))`` (the same streams
``SeedSequence.spawn`` hands out). Adding noise features therefore leaves the
informative columns, their batch effects and their missing cells unchanged.

Memory: numeric features are drawn in place into one ``(n_features, n_samples)``
buffer that becomes the DataFrame's block without a copy, so the peak stays close
to the size of the output.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit, ndtr

from groupwise._version import __version__
from groupwise.datasets._config import CorrCluster, DatasetConfig
from groupwise.datasets._meta import DatasetMeta
from groupwise.exceptions import ConfigError, did_you_mean

__all__ = ["generate_dataset"]

# Purposes of random streams. Append only: changing a number changes every table.
_LABELS, _SIGNAL, _BLOCK, _CLUSTER, _BATCH_ASSIGN, _BATCH_EFFECT = 1, 2, 3, 4, 5, 6
_SUBJECT_ASSIGN, _SUBJECT_EFFECT, _MISSING, _CATEGORICAL, _LABEL_NOISE = 7, 8, 9, 10, 11
_LEAK, _TARGET, _PSEUDO_LABEL = 12, 13, 14
# Feature blocks (second element of a stream key).
_INF, _PSEUDO, _NOISE, _CLUSTER0, _CAT0 = 1, 2, 3, 100, 10_000

TIME_START = np.datetime64("2023-01-02")
TIME_SPAN_DAYS = 730


class _Streams:
    """Independent generators keyed by purpose (and block, column)."""

    def __init__(self, entropy: int):
        self.entropy = entropy

    def __call__(self, *key: int) -> np.random.Generator:
        seq = np.random.SeedSequence(self.entropy, spawn_key=tuple(int(k) for k in key))
        return np.random.Generator(np.random.PCG64(seq))


@dataclasses.dataclass
class _Column:
    name: str
    role: str  # informative | pseudo | noise | proxy
    block: int
    index: int  # position within its block (stream key)
    cluster: int | None = None  # 0-based cluster id
    signal: int | None = None  # position among informative loadings


def _exact_counts(weights: np.ndarray, n: int) -> np.ndarray:
    """Largest-remainder rounding of ``weights * n`` (sums to ``n``, each ≥ 1 when possible)."""
    raw = weights * n
    counts = np.floor(raw).astype(np.int64)
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[: n - counts.sum()]] += 1
    if n >= len(weights):  # every class (or subject group) gets at least one unit
        for k in np.flatnonzero(counts == 0):
            donor = int(np.argmax(counts))
            counts[donor] -= 1
            counts[k] += 1
    return counts


def _corr_matrix(m: int, rho: float, structure: str) -> np.ndarray:
    if structure == "toeplitz":
        idx = np.arange(m)
        return rho ** np.abs(idx[:, None] - idx[None, :])
    r = np.full((m, m), rho)
    np.fill_diagonal(r, 1.0)
    return r


def _layout(cfg: DatasetConfig) -> list[_Column]:
    cols: list[_Column] = []
    n_signal = 0
    for c, cl in enumerate(cfg.corr_clusters):
        informative = cl.anchor_role == "informative"
        cols.append(
            _Column(
                f"corr{c + 1}_anchor",
                "informative" if informative else "noise",
                _CLUSTER0 + c,
                0,
                cluster=c,
                signal=n_signal if informative else None,
            )
        )
        n_signal += informative
        for j in range(2, cl.n_cluster_features + 1):
            cols.append(_Column(f"corr{c + 1}_{j}", "proxy", _CLUSTER0 + c, j - 1, cluster=c))
    n_anchor_inf = sum(cl.anchor_role == "informative" for cl in cfg.corr_clusters)
    n_anchor_noise = len(cfg.corr_clusters) - n_anchor_inf
    for j in range(cfg.n_informative - n_anchor_inf):
        cols.append(_Column(f"i{j + 1}", "informative", _INF, j, signal=n_signal))
        n_signal += 1
    for j in range(cfg.n_pseudo):
        cols.append(_Column(f"p{j + 1}", "pseudo", _PSEUDO, j))
    for j in range(cfg.n_noise - n_anchor_noise):
        cols.append(_Column(f"n{j + 1}", "noise", _NOISE, j))
    if cfg.feature_naming == "simple":
        for i, col in enumerate(cols):
            col.name = f"feature_{i + 1}"
    return cols


def _loadings(n: int, geometry: str, rng: np.random.Generator, weights=None) -> np.ndarray:
    if n == 0:
        return np.zeros(0)
    if geometry == "alternating":
        w = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    elif geometry == "same_sign":
        w = np.ones(n)
    else:
        w = rng.choice([-1.0, 1.0], size=n) * rng.uniform(0.5, 1.5, size=n)
    if weights is not None:
        w = w * weights
    return w


def _standardise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    sd = np.nanstd(x)
    return (x - np.nanmean(x)) / (sd if sd > 0 else 1.0)


def _missing_prob(z: np.ndarray, rate: float, slope: float = 2.0) -> np.ndarray:
    """``expit(a + slope·z)`` with ``a`` chosen so that the mean probability is ``rate``."""
    sample = z if len(z) <= 20_000 else np.quantile(z, np.linspace(0, 1, 20_000))
    lo, hi = -40.0, 40.0
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        if expit(mid + slope * sample).mean() < rate:
            lo = mid
        else:
            hi = mid
    return expit(0.5 * (lo + hi) + slope * z)


def _assign_batches(
    unit_class: np.ndarray, n_classes: int, n_batches: int, confounding: float, rng
) -> np.ndarray:
    """Batch per unit (row or subject) under the confounding rule of DatasetConfig."""
    n = len(unit_class)
    u = rng.random(n)
    pick = rng.random(n)
    batches = np.arange(n_batches)
    out = np.empty(n, dtype=np.int64)
    for k in range(n_classes):
        rows = np.flatnonzero(unit_class == k)
        own = batches[batches % n_classes == k]
        other = batches[batches % n_classes != k]
        base = len(own) / n_batches
        p_own = base + confounding * (1.0 - base)
        if len(own) == 0:
            in_own = np.zeros(len(rows), dtype=bool)
        elif len(other) == 0:
            in_own = np.ones(len(rows), dtype=bool)
        else:
            in_own = u[rows] < p_own
        chosen = np.where(
            in_own,
            own[np.minimum((pick[rows] * max(len(own), 1)).astype(np.int64), max(len(own) - 1, 0))]
            if len(own)
            else 0,
            other[
                np.minimum(
                    (pick[rows] * max(len(other), 1)).astype(np.int64), max(len(other) - 1, 0)
                )
            ]
            if len(other)
            else 0,
        )
        out[rows] = chosen
    return out


def _labels(prefix: str, n: int) -> list[str]:
    width = max(len(str(n)), 1 if prefix == "B" else 3)
    return [f"{prefix}{i + 1:0{width}d}" for i in range(n)]


def generate_dataset(cfg: DatasetConfig | None = None, return_dataframe: bool = True, **overrides):
    """Generate a table with known truth.

    Parameters
    ----------
    cfg : DatasetConfig, default=None
        The configuration; keyword ``overrides`` replace its fields (or build one).
    return_dataframe : bool, default=True
        ``True``: ``X`` is a DataFrame (numeric features, categoricals, planted leak
        columns, then ``batch`` and ``subject`` when present) and ``y`` a Series
        named ``"y"``. ``False``: ``X`` is a 2-D array of the numeric features only
        and ``y`` an array; batch and subject ids are then in the DataFrame form only.

    Returns
    -------
    X : DataFrame or ndarray
    y : Series or ndarray
        Integer class labels ``0..n_classes-1`` (classification) or floats (regression).
    meta : DatasetMeta
        The planted truth, JSON-safe via ``meta.to_dict()``.

    Examples
    --------
    >>> cfg = DatasetConfig(n_samples=240, n_informative=8, n_noise=6, class_sep=1.2,
    ...                     n_batches=4, batch_sd=1.6, confounding=0.5, random_state=42)
    >>> X, y, meta = generate_dataset(cfg, return_dataframe=True)
    >>> X.shape, y.name, meta.batch_labels
    ((240, 15), 'y', ['B1', 'B2', 'B3', 'B4'])
    """
    if cfg is None:
        cfg = DatasetConfig(**overrides)
    elif overrides:
        cfg = DatasetConfig.from_dict({**cfg.to_dict(), **overrides})
    if not isinstance(cfg, DatasetConfig):
        raise ConfigError(f"cfg must be a DatasetConfig. Got {type(cfg).__name__} instead.")
    entropy = (
        cfg.random_state
        if cfg.random_state is not None
        else int(np.random.SeedSequence().entropy % 2**32)
    )
    if cfg.random_state is None:
        cfg = dataclasses.replace(cfg, random_state=entropy)
    return _Generator(cfg, _Streams(entropy)).run(return_dataframe)


class _Generator:
    def __init__(self, cfg: DatasetConfig, streams: _Streams):
        self.cfg = cfg
        self.rng = streams
        self.n = cfg.n_samples
        self.dtype = np.dtype(cfg.dtype)
        self.classification = cfg.task == "classification"
        self.K = cfg.n_classes if self.classification else 2
        self.columns = _layout(cfg)
        self.by_name = {c.name: i for i, c in enumerate(self.columns)}
        self.cat_names = [f"cat{j + 1}" for j in range(cfg.n_categorical)]
        self.n_cat_informative = math.ceil(cfg.n_categorical / 2)

    # ----------------------------------------------------------------- driver
    def run(self, return_dataframe: bool):
        n = self.n
        arr = np.empty((len(self.columns), n), dtype=self.dtype)
        self.arr = arr
        self._signal_loadings()
        if self.classification:
            self.y_true = self._draw_labels()
            self._draw_numeric(self.y_true)
            cat_codes = self._draw_categoricals(self.y_true)
            self.y_value = self.y_true
        else:
            self._draw_numeric(None)
            cat_codes = self._draw_categoricals(None)
            self.y_value = self._regression_target(cat_codes)
            self.y_true = None
        subjects = self._assign_subjects()
        batch = self._assign_batch(subjects)
        self._apply_subject_effects(subjects)
        self._apply_batch_effects(batch)
        y_obs = self._label_noise()
        missing = self._apply_missing(cat_codes)
        leaks, leak_cols = self._leaks(y_obs)
        dup_pairs = self._duplicates(y_obs, cat_codes, batch, subjects, leak_cols)
        if dup_pairs:
            leaks["duplicate_rows"] = dup_pairs
        return self._assemble(
            return_dataframe, y_obs, cat_codes, batch, subjects, leak_cols, missing, leaks
        )

    # ------------------------------------------------------------------ signal
    def _signal_loadings(self):
        cfg = self.cfg
        signal_cols = [c for c in self.columns if c.signal is not None]
        weights = np.array(
            [
                cfg.corr_clusters[c.cluster].anchor_effect_size if c.cluster is not None else 1.0
                for c in signal_cols
            ]
        )
        w = _loadings(len(signal_cols), cfg.signal_geometry, self.rng(_SIGNAL), weights)
        ss = float(np.sum(w**2))
        if self.classification:
            scale = cfg.class_sep / math.sqrt(2.0 / self.K * ss) if ss > 0 else 0.0
            delta = w * scale
            assigned = np.ones(len(w), dtype=int) if self.K == 2 else np.arange(len(w)) % self.K
            k = np.arange(self.K)[:, None]
            self.means = delta[None, :] * ((k == assigned[None, :]) - 1.0 / self.K)  # (K, n_signal)
        else:
            self.beta = w * (cfg.class_sep / math.sqrt(ss)) if ss > 0 else w
        # pseudo features: same construction, hidden binary label
        wp = _loadings(cfg.n_pseudo, cfg.signal_geometry, self.rng(_SIGNAL, 1))
        ssp = float(np.sum(wp**2))
        self.pseudo_delta = wp * (cfg.class_sep / math.sqrt(ssp)) if ssp > 0 else wp

    def _draw_labels(self) -> np.ndarray:
        cfg = self.cfg
        weights = (
            np.asarray(cfg.weights) if cfg.weights is not None else np.full(self.K, 1 / self.K)
        )
        self.class_counts_true = _exact_counts(weights, self.n)
        y = np.repeat(np.arange(self.K), self.class_counts_true)
        self.rng(_LABELS).shuffle(y)
        return y

    # --------------------------------------------------------------- features
    def _draw_numeric(self, y):
        cfg, arr, dt = self.cfg, self.arr, self.dtype
        block_rngs: dict[int, np.random.Generator] = {}
        hidden = None
        if cfg.n_pseudo:
            hidden = self.rng(_PSEUDO_LABEL).integers(0, 2, size=self.n)
        for i, col in enumerate(self.columns):
            if col.cluster is not None:
                continue
            rng = block_rngs.setdefault(col.block, self.rng(_BLOCK, col.block))
            rng.standard_normal(out=arr[i], dtype=dt)
            if col.signal is not None and y is not None:
                arr[i] += self.means[:, col.signal].astype(dt)[y]
            elif col.role == "pseudo":
                shift = self.pseudo_delta[col.index] * np.array([-0.5, 0.5])
                arr[i] += shift.astype(dt)[hidden]
        for c, cl in enumerate(cfg.corr_clusters):
            self._draw_cluster(c, cl, y)

    def _draw_cluster(self, c: int, cl: CorrCluster, y):
        idx = [i for i, col in enumerate(self.columns) if col.cluster == c]
        m = len(idx)
        rng = self.rng(_CLUSTER, c)
        e = rng.standard_normal((m, self.n), dtype=self.dtype)
        anchor = self.columns[idx[0]]
        groups = [(None, np.arange(self.n))]
        if cl.class_rho and y is not None:
            groups = [(k, np.flatnonzero(y == k)) for k in range(self.K)]
        for k, rows in groups:
            rho = cl.class_rho.get(k, cl.rho) if (cl.class_rho and k is not None) else cl.rho
            r = _corr_matrix(m, rho, cl.structure)
            chol = np.linalg.cholesky(r).astype(self.dtype)
            block = chol @ (e[:, rows] if k is not None else e)
            if anchor.signal is not None and y is not None:
                shift = np.outer(r[:, 0], self.means[:, anchor.signal]).astype(self.dtype)  # (m, K)
                block += shift[:, y[rows]]
            if k is None:
                self.arr[idx] = block
            else:
                self.arr[np.ix_(idx, rows)] = block

    def _draw_categoricals(self, y) -> list[np.ndarray]:
        cfg = self.cfg
        levels = (
            cfg.categorical_levels
            if isinstance(cfg.categorical_levels, tuple)
            else (cfg.categorical_levels,) * cfg.n_categorical
        )
        self.cat_levels = list(levels)
        self.cat_effects: dict[str, list[float]] = {}
        codes_all = []
        for j, n_levels in enumerate(levels):
            rng = self.rng(_CATEGORICAL, j)
            informative = j < self.n_cat_informative
            if informative and y is not None:
                logits = cfg.class_sep * (
                    (np.arange(n_levels)[None, :] % self.K) == np.arange(self.K)[:, None]
                )
                p = np.exp(logits)
                p /= p.sum(axis=1, keepdims=True)
                cum = np.cumsum(p, axis=1)
                u = rng.random(self.n)
                codes = np.empty(self.n, dtype=np.int64)
                for k in range(self.K):
                    rows = y == k
                    codes[rows] = np.searchsorted(cum[k], u[rows], side="right")
                codes = np.minimum(codes, n_levels - 1)
            else:
                codes = rng.integers(0, n_levels, size=self.n)
                if informative:  # regression: level effects on the target
                    self.cat_effects[self.cat_names[j]] = list(
                        rng.normal(0.0, 0.5 * cfg.class_sep, size=n_levels)
                    )
            codes_all.append(codes)
        return codes_all

    def _regression_target(self, cat_codes) -> np.ndarray:
        cfg = self.cfg
        y = np.zeros(self.n)
        for col_i, col in enumerate(self.columns):
            if col.signal is not None:
                y += self.beta[col.signal] * self.arr[col_i].astype(np.float64)
        for j, name in enumerate(self.cat_names):
            if name in self.cat_effects:
                y += np.asarray(self.cat_effects[name])[cat_codes[j]]
        y += self.rng(_TARGET).normal(0.0, cfg.noise_sd, size=self.n)
        return y

    # ------------------------------------------------------------------ groups
    def _unit_class(self, values: np.ndarray) -> np.ndarray:
        """Class of each unit; for regression the half of the target it falls in."""
        if self.classification:
            return values
        return (values > np.median(values)).astype(np.int64)

    def _assign_subjects(self):
        cfg = self.cfg
        if not cfg.n_subjects:
            return None
        rng = self.rng(_SUBJECT_ASSIGN)
        S = cfg.n_subjects
        subject = np.empty(self.n, dtype=np.int64)
        if self.classification:
            weights = self.class_counts_true / self.n
            per_class = _exact_counts(weights, S)
            subject_class = np.repeat(np.arange(self.K), per_class)
            start = 0
            for k in range(self.K):
                rows = rng.permutation(np.flatnonzero(self.y_true == k))
                ids = np.arange(start, start + per_class[k])
                subject[rows] = ids[np.arange(len(rows)) % len(ids)]
                start += per_class[k]
        else:
            rows = rng.permutation(self.n)
            subject[rows] = np.arange(self.n) % S
            means = np.bincount(subject, weights=self.y_value, minlength=S) / np.bincount(
                subject, minlength=S
            )
            subject_class = self._unit_class(means)
        self.subject_class = subject_class
        return subject

    def _assign_batch(self, subjects):
        cfg = self.cfg
        if not cfg.n_batches:
            self.subject_batch = None
            return None
        rng = self.rng(_BATCH_ASSIGN)
        if subjects is not None:
            per_subject = _assign_batches(
                self.subject_class, self.K, cfg.n_batches, cfg.confounding, rng
            )
            self.subject_batch = per_subject
            return per_subject[subjects]
        self.subject_batch = None
        unit_class = self._unit_class(self.y_true if self.classification else self.y_value)
        return _assign_batches(unit_class, self.K, cfg.n_batches, cfg.confounding, rng)

    def _affected(self) -> list[int]:
        cfg = self.cfg
        if cfg.affected == "all":
            return list(range(len(self.columns)))
        if cfg.affected == "informative":
            return [i for i, c in enumerate(self.columns) if c.signal is not None]
        out = []
        for name in cfg.affected:
            if name not in self.by_name:
                raise ConfigError(
                    f"affected names a column the configuration does not produce: {name!r}."
                    f"{did_you_mean(name, self.by_name)} Numeric features: "
                    f"{', '.join(self.by_name)}."
                )
            out.append(self.by_name[name])
        return out

    def _apply_subject_effects(self, subjects):
        cfg = self.cfg
        self.subject_intercepts = None
        if subjects is None or cfg.subject_sd == 0 or not self.columns:
            return
        eff = np.empty((cfg.n_subjects, len(self.columns)))
        for i, col in enumerate(self.columns):
            eff[:, i] = self.rng(_SUBJECT_EFFECT, col.block, col.index).normal(
                0.0, cfg.subject_sd, size=cfg.n_subjects
            )
            self.arr[i] += eff[:, i].astype(self.dtype)[subjects]
        self.subject_intercepts = eff

    def _apply_batch_effects(self, batch):
        cfg = self.cfg
        B = cfg.n_batches
        self.affected_idx = self._affected() if B else []
        A = len(self.affected_idx)
        self.batch_intercept = np.zeros((B, A))
        self.batch_scale = np.ones((B, A))
        if batch is None or A == 0:
            return
        if cfg.batch_effect == "scalar":
            rng = self.rng(_BATCH_EFFECT, 0)
            a = rng.normal(0.0, cfg.batch_sd, size=B)
            g = rng.normal(0.0, cfg.batch_slope_sd, size=B)
            self.batch_intercept[:] = a[:, None]
            self.batch_scale[:] = np.exp(g)[:, None]
        else:
            for j, i in enumerate(self.affected_idx):
                col = self.columns[i]
                rng = self.rng(_BATCH_EFFECT, col.block, col.index)
                self.batch_intercept[:, j] = rng.normal(0.0, cfg.batch_sd, size=B)
                self.batch_scale[:, j] = np.exp(rng.normal(0.0, cfg.batch_slope_sd, size=B))
        scaled = cfg.batch_slope_sd > 0
        for j, i in enumerate(self.affected_idx):
            if scaled:
                self.arr[i] *= self.batch_scale[:, j].astype(self.dtype)[batch]
            self.arr[i] += self.batch_intercept[:, j].astype(self.dtype)[batch]

    def _label_noise(self):
        cfg = self.cfg
        if not self.classification:
            return self.y_value
        y = self.y_true.copy()
        self.flipped = np.zeros(0, dtype=np.int64)
        if cfg.label_noise:
            rng = self.rng(_LABEL_NOISE)
            n_flip = int(round(cfg.label_noise * self.n))
            rows = np.sort(rng.choice(self.n, size=n_flip, replace=False))
            y[rows] = (y[rows] + rng.integers(1, self.K, size=n_flip)) % self.K
            self.flipped = rows
        return y

    # ------------------------------------------------------------- missingness
    def _apply_missing(self, cat_codes) -> dict[str, Any]:
        cfg = self.cfg
        info: dict[str, Any] = {
            "mechanism": cfg.missing_mechanism,
            "rate": cfg.missing_rate,
            "columns": [],
            "driver": None,
            "rates": {},
        }
        if cfg.missing_rate == 0:
            return info
        numeric = [c.name for c in self.columns]
        allowed = numeric + self.cat_names
        if cfg.missing_columns is None:
            targets = list(numeric)
        else:
            targets = []
            for name in cfg.missing_columns:
                if name not in allowed:
                    raise ConfigError(
                        f"missing_columns names a column the configuration does not produce: "
                        f"{name!r}.{did_you_mean(name, allowed)} Feature columns: {', '.join(allowed)}."
                    )
                targets.append(name)
        driver_values = None
        if cfg.missing_mechanism == "MAR":
            driver = next(
                (c.name for c in self.columns if c.role == "noise"),
                next(
                    (c.name for c in self.columns if c.role == "pseudo"),
                    numeric[0] if numeric else None,
                ),
            )
            if driver is None:
                raise ConfigError(
                    "missing_mechanism='MAR' needs at least one numeric feature as driver."
                )
            targets = [t for t in targets if t != driver]
            info["driver"] = driver
            driver_values = _standardise(self.arr[self.by_name[driver]])
        info["columns"] = targets
        for name in targets:
            if name in self.by_name:
                i = self.by_name[name]
                col = self.columns[i]
                rng = self.rng(_MISSING, col.block, col.index)
                values = self.arr[i]
            else:
                j = self.cat_names.index(name)
                rng = self.rng(_MISSING, _CAT0 + j, 0)
                values = cat_codes[j].astype(np.float64)
            if cfg.missing_mechanism == "MCAR":
                p = cfg.missing_rate
            elif cfg.missing_mechanism == "MAR":
                p = _missing_prob(driver_values, cfg.missing_rate)
            else:
                p = _missing_prob(_standardise(values), cfg.missing_rate)
            mask = rng.random(self.n) < p
            if name in self.by_name:
                self.arr[self.by_name[name]][mask] = np.nan
            else:
                cat_codes[self.cat_names.index(name)][mask] = -1
            info["rates"][name] = float(mask.mean())
        return info

    # ------------------------------------------------------------------- leaks
    def _leaks(self, y_obs):
        cfg = self.cfg
        rng = self.rng(_LEAK)
        leaks: dict[str, Any] = {"target_proxy": None, "id_column": None, "time_column": None}
        cols: dict[str, np.ndarray] = {}
        y = np.asarray(y_obs, dtype=np.float64)
        scale = float(np.std(y)) or 1.0
        noise_a, noise_b, noise_c = (rng.standard_normal(self.n) for _ in range(3))
        if cfg.leak_target_proxy:
            cols["leak_proxy"] = (y + 0.25 * scale * noise_a).astype(self.dtype)
            leaks["target_proxy"] = "leak_proxy"
        if cfg.leak_id_column:
            order = np.lexsort((noise_b, y))  # by target, ties at random
            ids = np.empty(self.n, dtype=np.int64)
            ids[order] = 100_000 + np.arange(self.n)
            cols["record_id"] = ids
            leaks["id_column"] = "record_id"
        if cfg.leak_time_column:
            key = y / scale + noise_c
            rank = np.empty(self.n, dtype=np.int64)
            rank[np.argsort(key, kind="stable")] = np.arange(self.n)
            days = (rank * TIME_SPAN_DAYS) // max(self.n, 1)
            cols["sample_date"] = TIME_START + days.astype("timedelta64[D]")
            leaks["time_column"] = "sample_date"
        return leaks, cols

    def _duplicates(self, y_obs, cat_codes, batch, subjects, leak_cols) -> list[list[int]]:
        cfg = self.cfg
        if not cfg.leak_duplicates:
            return []
        rng = self.rng(_LEAK, 1)
        strata = (
            [np.flatnonzero(y_obs == k) for k in range(self.K)]
            if self.classification
            else [np.arange(self.n)]
        )
        targets, sources = [], []
        for rows in strata:
            n_dup = int(round(cfg.leak_duplicates * len(rows)))
            if n_dup == 0 or len(rows) - n_dup < 1:
                continue
            perm = rng.permutation(rows)
            targets.append(perm[:n_dup])
            sources.append(rng.choice(perm[n_dup:], size=n_dup, replace=True))
        if not targets:
            return []
        t = np.concatenate(targets)
        s = np.concatenate(sources)
        self.arr[:, t] = self.arr[:, s]
        for codes in cat_codes:
            codes[t] = codes[s]
        for arr in (batch, subjects, *leak_cols.values()):
            if arr is not None:
                arr[t] = arr[s]
        if not self.classification:
            y_obs[t] = y_obs[s]
        order = np.argsort(t)
        return [[int(a), int(b)] for a, b in zip(t[order], s[order], strict=True)]

    # ---------------------------------------------------------------- assemble
    def _assemble(
        self, return_dataframe, y_obs, cat_codes, batch, subjects, leak_cols, missing, leaks
    ):
        cfg = self.cfg
        names = [c.name for c in self.columns]
        batch_labels = _labels("B", cfg.n_batches) if cfg.n_batches else []
        subject_labels = _labels("S", cfg.n_subjects) if cfg.n_subjects else []
        extra_names = list(self.cat_names) + list(leak_cols)
        if batch is not None:
            extra_names.append("batch")
        if subjects is not None:
            extra_names.append("subject")
        meta = self._meta(
            names, extra_names, y_obs, batch, batch_labels, subject_labels, missing, leaks
        )
        y_values = y_obs.astype(np.int64) if self.classification else y_obs.astype(np.float64)
        if not return_dataframe:
            return self.arr.T, y_values, meta
        if names:
            X = pd.DataFrame(self.arr.T, columns=names, copy=False)
        else:
            X = pd.DataFrame(index=pd.RangeIndex(self.n))
        for j, name in enumerate(self.cat_names):
            cats = [f"L{i + 1}" for i in range(self.cat_levels[j])]
            X[name] = pd.Categorical.from_codes(cat_codes[j], categories=cats)
        for name, values in leak_cols.items():
            X[name] = values
        if batch is not None:
            X["batch"] = np.asarray(batch_labels, dtype=object)[batch]
        if subjects is not None:
            X["subject"] = np.asarray(subject_labels, dtype=object)[subjects]
        return X, pd.Series(y_values, name="y"), meta

    def _meta(self, names, extra, y_obs, batch, batch_labels, subject_labels, missing, leaks):
        cfg = self.cfg
        cols = self.columns
        role = lambda r: [c.name for c in cols if c.role == r]  # noqa: E731
        idx = lambda r: [i for i, c in enumerate(cols) if c.role == r]  # noqa: E731
        clusters = []
        for c, cl in enumerate(cfg.corr_clusters):
            members = [col.name for col in cols if col.cluster == c]
            clusters.append(
                {
                    "id": c + 1,
                    "anchor": members[0],
                    "proxies": members[1:],
                    "columns": members,
                    "structure": cl.structure,
                    "rho": cl.rho,
                    "class_rho": None if cl.class_rho is None else dict(cl.class_rho),
                    "anchor_role": cl.anchor_role,
                }
            )
        if self.classification:
            counts = np.bincount(y_obs, minlength=self.K)
            class_counts = {str(k): int(v) for k, v in enumerate(counts)}
            class_counts_true = {str(k): int(v) for k, v in enumerate(self.class_counts_true)}
            class_means = {}
            anchors = {
                col.cluster: col for col in cols if col.cluster is not None and col.index == 0
            }
            for col in cols:
                anchor = anchors[col.cluster] if col.cluster is not None else col
                if anchor.signal is None:
                    continue
                factor = 1.0
                if col is not anchor:
                    cl = cfg.corr_clusters[col.cluster]
                    factor = float(
                        _corr_matrix(cl.n_cluster_features, cl.rho, cl.structure)[col.index, 0]
                    )
                class_means[col.name] = [float(v) * factor for v in self.means[:, anchor.signal]]
            signal = {
                "class_sep": cfg.class_sep,
                "class_means": class_means,
                "bayes_balanced_accuracy": float(ndtr(cfg.class_sep / 2)) if self.K == 2 else None,
                "note": "class means and Bayes accuracy refer to the numeric features before "
                "batch/subject effects, label noise and missingness",
                "label_flips": int(len(self.flipped)),
            }
        else:
            class_counts = class_counts_true = {}
            signal = {
                "coefficients": {
                    c.name: float(self.beta[c.signal]) for c in cols if c.signal is not None
                },
                "categorical_effects": self.cat_effects,
                "noise_sd": cfg.noise_sd,
            }
        affected = [cols[i].name for i in getattr(self, "affected_idx", [])]
        batch_sizes = (
            {
                lab: int(v)
                for lab, v in zip(
                    batch_labels, np.bincount(batch, minlength=cfg.n_batches), strict=True
                )
            }
            if batch is not None
            else {}
        )
        subject_effects = {
            "columns": names if self.subject_intercepts is not None else [],
            "intercept": self.subject_intercepts if self.subject_intercepts is not None else [],
        }
        return DatasetMeta(
            feature_names=names,
            columns=names + extra,
            informative=role("informative"),
            pseudo=role("pseudo"),
            noise=role("noise"),
            informative_idx=idx("informative"),
            pseudo_idx=idx("pseudo"),
            noise_idx=idx("noise"),
            corr_clusters=clusters,
            categorical=list(self.cat_names),
            categorical_informative=self.cat_names[: self.n_cat_informative],
            task=cfg.task,
            class_counts=class_counts,
            class_counts_true=class_counts_true,
            signal=signal,
            batch_labels=batch_labels,
            batch_class=[b % self.K for b in range(cfg.n_batches)],
            batch_sizes=batch_sizes,
            batch_effects={
                "affected": affected,
                "type": cfg.batch_effect,
                "intercept": self.batch_intercept,
                "scale": self.batch_scale,
            },
            subject_labels=subject_labels,
            subject_batch=(
                [batch_labels[b] for b in self.subject_batch]
                if self.subject_batch is not None
                else ([None] * len(subject_labels))
            ),
            subject_class=([int(k) for k in self.subject_class] if cfg.n_subjects else []),
            subject_effects=subject_effects,
            missing=missing,
            leaks=leaks,
            config=cfg.to_dict(),
            version=__version__,
        )
