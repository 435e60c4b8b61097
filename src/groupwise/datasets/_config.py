"""Configuration of the synthetic classification / regression generator."""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from groupwise._validation import check_choice, check_known_keys, check_number
from groupwise.exceptions import ConfigError, FileFormatError, MissingDependencyError

__all__ = ["CorrCluster", "DatasetConfig"]

_OWNER = "DatasetConfig"


@dataclasses.dataclass(frozen=True)
class CorrCluster:
    """A cluster of correlated features: one anchor and its proxies.

    Parameters
    ----------
    n_cluster_features : int
        Columns in the cluster (anchor + proxies), at least 2.
    rho : float, default=0.7
        Correlation (equicorrelated) or lag-one correlation (toeplitz: ``rho**|i-j|``).
    structure : {"equicorrelated", "toeplitz"}, default="equicorrelated"
    anchor_role : {"informative", "noise"}, default="informative"
        An informative anchor carries class signal and counts toward
        ``n_informative``; proxies carry signal only through their correlation
        with the anchor (so the cluster adds no information beyond the anchor).
    anchor_effect_size : float, default=1.0
        Weight of the anchor's signal relative to a free informative feature.
    class_rho : dict of {int: float}, default=None
        Class-specific correlation (for example ``{1: 0.9}``: the cluster is
        correlated only in class 1); classes not listed use ``rho``.
    """

    n_cluster_features: int
    rho: float = 0.7
    structure: str = "equicorrelated"
    anchor_role: str = "informative"
    anchor_effect_size: float = 1.0
    class_rho: Mapping[int, float] | None = None

    def __post_init__(self):
        owner = "CorrCluster"
        check_number(self.n_cluster_features, "n_cluster_features", owner, low=2, integer=True)
        check_choice(self.structure, "structure", owner, ("equicorrelated", "toeplitz"))
        check_choice(self.anchor_role, "anchor_role", owner, ("informative", "noise"))
        check_number(self.anchor_effect_size, "anchor_effect_size", owner, low=0, closed="right")
        low = -1.0 / (self.n_cluster_features - 1) if self.structure == "equicorrelated" else -1.0
        check_number(self.rho, "rho", owner, low=low, high=1, closed="neither")
        if self.class_rho is not None:
            if not isinstance(self.class_rho, Mapping):
                raise ConfigError(
                    "The 'class_rho' parameter of CorrCluster must be a mapping of class "
                    f"label to correlation, such as {{1: 0.9}}. Got {self.class_rho!r} instead."
                )
            cleaned = {}
            for k, v in self.class_rho.items():
                try:
                    key = int(k)
                except (TypeError, ValueError):
                    raise ConfigError(
                        f"class_rho keys must be integer class labels. Got {k!r} instead."
                    ) from None
                cleaned[key] = check_number(
                    v, f"class_rho[{key}]", owner, low=low, high=1, closed="neither"
                )
            object.__setattr__(self, "class_rho", cleaned)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["class_rho"] = (
            None if self.class_rho is None else {str(k): v for k, v in self.class_rho.items()}
        )
        return d


def _cluster(value, i: int) -> CorrCluster:
    if isinstance(value, CorrCluster):
        return value
    if isinstance(value, Mapping):
        check_known_keys(
            value.keys(), [f.name for f in dataclasses.fields(CorrCluster)], f"corr_clusters[{i}]"
        )
        return CorrCluster(**value)
    raise ConfigError(
        f"corr_clusters[{i}] must be a CorrCluster or a mapping of its fields. "
        f"Got {value!r} instead."
    )


@dataclasses.dataclass(frozen=True)
class DatasetConfig:
    """What :func:`~groupwise.datasets.generate_dataset` generates.

    The first fields accept the call of ``biomedical_data_generator`` 0.1.x used by
    the batch-effects lesson (``n_samples, n_informative, n_pseudo, n_noise, n_classes,
    class_sep, feature_naming, random_state``); the rest add the structure that
    grouped data has in practice.

    Parameters
    ----------
    n_samples : int, default=200
        Rows.
    n_informative : int, default=4
        Features that carry the signal, including the anchors of informative
        correlated clusters. Free informative features are named ``i1, i2, ...``.
    n_pseudo : int, default=0
        Distractors ``p1, p2, ...`` with a hidden two-group structure of the same
        strength as the real signal but independent of the target.
    n_noise : int, default=0
        Pure noise features ``n1, n2, ...`` (standard normal), including the
        anchors of noise clusters.
    n_classes : int, default=2
        Classes (classification only).
    class_sep : float, default=1.5
        Strength of the signal. Classification: Mahalanobis distance between the two
        class centroids (binary; for more classes the mean distance between class
        centroids), so the Bayes-optimal balanced accuracy of a clean binary table
        is Φ(class_sep / 2). Regression: standard deviation of the linear signal.
    feature_naming : {"prefixed", "simple"}, default="prefixed"
        ``"prefixed"``: ``corr1_anchor, corr1_2, i1, p1, n1``; ``"simple"``: ``feature_1 ...``.
    random_state : int, default=None
        Seed. The same config gives bit-identical output. ``None`` draws fresh
        entropy, recorded in the metadata so the table can be regenerated.
    weights : sequence of float, default=None
        Class proportions (length ``n_classes``, or ``n_classes - 1`` with the last
        implied); realised exactly (largest remainder). Default: balanced.
    signal_geometry : {"alternating", "same_sign", "random"}, default="alternating"
        Signs (and, for ``"random"``, magnitudes) of the informative features'
        loadings on the class.
    corr_clusters : sequence of CorrCluster or dict, default=()
        Correlated clusters, placed first in the table.
    n_batches : int, default=0
        Batches ``B1, B2, ...`` (returned in column ``batch``). Batch ``b`` belongs
        to class ``b mod n_classes``.
    batch_sd : float, default=1.0
        Standard deviation of batch intercepts.
    batch_effect : {"scalar", "per_feature"}, default="scalar"
        One intercept (and scale) per batch shared by all affected features, or
        independent ones per feature.
    batch_slope_sd : float, default=0.0
        Batch-specific multiplicative scaling ``exp(N(0, batch_slope_sd²))``.
    confounding : float in [0, 1], default=0.0
        A unit of class ``k`` lands in one of its class's batches with probability
        ``base + confounding · (1 − base)``, ``base`` being the share of batches that
        belong to ``k``; uniformly within the chosen set. For regression the two
        halves of the target (split at the median) play the role of classes.
    affected : {"all", "informative"} or list of str, default="all"
        Numeric features that batch effects touch.
    n_subjects : int, default=0
        Repeated measures: subjects ``S001, ...`` (column ``subject``) nested in
        batches; every row of a subject has the subject's class.
    subject_sd : float, default=1.0
        Standard deviation of per-subject, per-feature intercepts.
    missing_rate : float in [0, 1), default=0.0
        Expected share of missing cells in ``missing_columns``.
    missing_mechanism : {"MCAR", "MAR", "MNAR"}, default="MCAR"
        MAR: missingness driven by a fully observed driver column (the first noise
        feature if any); MNAR: by the cell's own value (high values go missing).
    missing_columns : list of str, default=None
        Columns that get missing values; default every numeric feature (except the
        MAR driver).
    n_categorical : int, default=0
        Categorical features ``cat1, ...``; the first half (rounded up) are informative.
    categorical_levels : int or list of int, default=4
        Levels per categorical feature.
    label_noise : float in [0, 1), default=0.0
        Share of labels flipped to another class after the features are drawn.
    task : {"classification", "regression"}, default="classification"
    noise_sd : float, default=1.0
        Regression only: standard deviation of the residual.
    dtype : {"float64", "float32"}, default="float64"
        Dtype of numeric features.
    leak_target_proxy : bool, default=False
        Add ``leak_proxy``, the target plus a little noise.
    leak_id_column : bool, default=False
        Add ``record_id``, consecutive integers assigned in target order.
    leak_duplicates : float in [0, 0.5], default=0.0
        Share of rows replaced by exact copies of other rows (of the same class).
    leak_time_column : bool, default=False
        Add ``sample_date``, a date along which the target drifts; rows stay shuffled.
    n_features : int, default=None
        Optional check: if given, must equal the number of numeric feature columns.

    Examples
    --------
    >>> cfg = DatasetConfig(n_samples=240, n_informative=8, n_pseudo=0, n_noise=6,
    ...                     n_classes=2, class_sep=1.2, feature_naming="prefixed",
    ...                     random_state=42)
    >>> cfg.n_feature_columns
    14
    """

    n_samples: int = 200
    n_informative: int = 4
    n_pseudo: int = 0
    n_noise: int = 0
    n_classes: int = 2
    class_sep: float = 1.5
    feature_naming: str = "prefixed"
    random_state: int | None = None
    weights: tuple[float, ...] | None = None
    signal_geometry: str = "alternating"
    corr_clusters: tuple[CorrCluster, ...] = ()
    n_batches: int = 0
    batch_sd: float = 1.0
    batch_effect: str = "scalar"
    batch_slope_sd: float = 0.0
    confounding: float = 0.0
    affected: str | tuple[str, ...] = "all"
    n_subjects: int = 0
    subject_sd: float = 1.0
    missing_rate: float = 0.0
    missing_mechanism: str = "MCAR"
    missing_columns: tuple[str, ...] | None = None
    n_categorical: int = 0
    categorical_levels: int | tuple[int, ...] = 4
    label_noise: float = 0.0
    task: str = "classification"
    noise_sd: float = 1.0
    dtype: str = "float64"
    leak_target_proxy: bool = False
    leak_id_column: bool = False
    leak_duplicates: float = 0.0
    leak_time_column: bool = False
    n_features: int | None = None

    def __post_init__(self):
        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731
        o = _OWNER
        check_choice(self.task, "task", o, ("classification", "regression"))
        classification = self.task == "classification"
        set_("n_samples", check_number(self.n_samples, "n_samples", o, low=2, integer=True))
        for name in (
            "n_informative",
            "n_pseudo",
            "n_noise",
            "n_batches",
            "n_subjects",
            "n_categorical",
        ):
            set_(name, check_number(getattr(self, name), name, o, low=0, integer=True))
        set_("n_classes", check_number(self.n_classes, "n_classes", o, low=2, integer=True))
        set_("class_sep", check_number(self.class_sep, "class_sep", o, low=0))
        check_choice(self.feature_naming, "feature_naming", o, ("prefixed", "simple"))
        if self.random_state is not None:
            set_(
                "random_state",
                check_number(
                    self.random_state, "random_state", o, low=0, high=2**32 - 1, integer=True
                ),
            )
        check_choice(
            self.signal_geometry, "signal_geometry", o, ("alternating", "same_sign", "random")
        )
        check_choice(self.batch_effect, "batch_effect", o, ("scalar", "per_feature"))
        check_choice(self.missing_mechanism, "missing_mechanism", o, ("MCAR", "MAR", "MNAR"))
        check_choice(self.dtype, "dtype", o, ("float64", "float32"))
        for name in ("batch_sd", "batch_slope_sd", "subject_sd"):
            set_(name, check_number(getattr(self, name), name, o, low=0))
        set_("noise_sd", check_number(self.noise_sd, "noise_sd", o, low=0, closed="right"))
        set_("confounding", check_number(self.confounding, "confounding", o, low=0, high=1))
        set_(
            "missing_rate",
            check_number(self.missing_rate, "missing_rate", o, low=0, high=1, closed="left"),
        )
        set_(
            "label_noise",
            check_number(self.label_noise, "label_noise", o, low=0, high=1, closed="left"),
        )
        set_(
            "leak_duplicates",
            check_number(self.leak_duplicates, "leak_duplicates", o, low=0, high=0.5),
        )
        for name in ("leak_target_proxy", "leak_id_column", "leak_time_column"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(
                    f"The {name!r} parameter of {o} must be a bool. Got {getattr(self, name)!r} instead."
                )

        if isinstance(self.corr_clusters, (CorrCluster, Mapping)):
            set_("corr_clusters", (self.corr_clusters,))
        set_("corr_clusters", tuple(_cluster(c, i) for i, c in enumerate(self.corr_clusters or ())))
        for role, total in (("informative", self.n_informative), ("noise", self.n_noise)):
            n_anchor = sum(c.anchor_role == role for c in self.corr_clusters)
            if n_anchor > total:
                raise ConfigError(
                    f"{n_anchor} correlated clusters have a {role} anchor, but n_{role}={total}; "
                    f"{role} anchors count toward n_{role}, so it must be at least {n_anchor}."
                )

        if self.weights is not None:
            set_("weights", self._check_weights(self.weights, classification))

        if isinstance(self.affected, str):
            check_choice(self.affected, "affected", o, ("all", "informative"))
        else:
            set_("affected", self._names(self.affected, "affected"))
        if self.missing_columns is not None:
            set_("missing_columns", self._names(self.missing_columns, "missing_columns"))

        if isinstance(self.categorical_levels, Sequence) and not isinstance(
            self.categorical_levels, str
        ):
            levels = tuple(self.categorical_levels)
            if len(levels) != self.n_categorical:
                raise ConfigError(
                    f"categorical_levels has {len(levels)} entries but n_categorical="
                    f"{self.n_categorical}; give one level count per categorical feature or a single int."
                )
            set_(
                "categorical_levels",
                tuple(
                    check_number(v, "categorical_levels", o, low=2, integer=True) for v in levels
                ),
            )
        else:
            set_(
                "categorical_levels",
                check_number(self.categorical_levels, "categorical_levels", o, low=2, integer=True),
            )

        if not classification:
            if self.label_noise:
                raise ConfigError(
                    "label_noise applies to classification only; set it to 0 for task='regression'."
                )
            if self.weights is not None:
                raise ConfigError(
                    "weights applies to classification only; remove it for task='regression'."
                )
        elif self.n_samples < self.n_classes:
            raise ConfigError(
                f"n_samples={self.n_samples} is smaller than n_classes={self.n_classes}; "
                "every class needs at least one row."
            )
        if self.n_subjects:
            if self.n_subjects > self.n_samples:
                raise ConfigError(
                    f"n_subjects={self.n_subjects} exceeds n_samples={self.n_samples}; "
                    "each subject needs at least one row."
                )
            if classification and self.n_subjects < self.n_classes:
                raise ConfigError(
                    f"n_subjects={self.n_subjects} is smaller than n_classes={self.n_classes}; "
                    "every subject has one class, so each class needs a subject."
                )
        if self.n_feature_columns == 0 and self.n_categorical == 0:
            raise ConfigError(
                "The configuration produces no feature columns; set n_informative, n_noise, "
                "n_pseudo, n_categorical or corr_clusters."
            )
        if self.n_features is not None and self.n_features != self.n_feature_columns:
            raise ConfigError(
                f"n_features={self.n_features} does not match the numeric feature columns the "
                f"configuration produces ({self.n_feature_columns} = n_informative + n_pseudo + "
                "n_noise + cluster proxies); leave n_features unset."
            )

    @staticmethod
    def _names(value, name: str) -> tuple[str, ...]:
        if isinstance(value, str) or not isinstance(value, Sequence):
            raise ConfigError(
                f"The {name!r} parameter of {_OWNER} must be a list of column names. Got {value!r} instead."
            )
        return tuple(str(v) for v in value)

    def _check_weights(self, weights, classification: bool) -> tuple[float, ...]:
        if not classification:
            return tuple(weights)
        try:
            w = [float(v) for v in weights]
        except (TypeError, ValueError):
            raise ConfigError(
                f"The 'weights' parameter of {_OWNER} must be a list of class proportions. "
                f"Got {weights!r} instead."
            ) from None
        k = self.n_classes
        if len(w) == k - 1:
            w.append(1.0 - sum(w))
        if (
            len(w) != k
            or any((not math.isfinite(v)) or v <= 0 for v in w)
            or abs(sum(w) - 1) > 1e-6
        ):
            raise ConfigError(
                f"The 'weights' parameter of {_OWNER} must hold {k} positive proportions "
                f"summing to 1 (or {k - 1}, the last implied). Got {list(weights)!r} instead."
            )
        total = sum(w)
        return tuple(v / total for v in w)

    # ----------------------------------------------------------------- derived
    @property
    def n_feature_columns(self) -> int:
        """Numeric feature columns: ``n_informative + n_pseudo + n_noise`` + cluster proxies.

        Cluster anchors count toward ``n_informative`` or ``n_noise`` (by their role).
        """
        proxies = sum(c.n_cluster_features - 1 for c in self.corr_clusters)
        return self.n_informative + self.n_pseudo + self.n_noise + proxies

    # ------------------------------------------------------------- persistence
    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict of every field (round-trips with :meth:`from_dict`)."""
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["corr_clusters"] = [c.to_dict() for c in self.corr_clusters]
        for key in ("weights", "missing_columns", "affected", "categorical_levels"):
            if isinstance(d[key], tuple):
                d[key] = list(d[key])
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DatasetConfig:
        """Build from a mapping; unknown keys are an error with a did-you-mean hint."""
        check_known_keys(data.keys(), [f.name for f in dataclasses.fields(cls)], _OWNER)
        return cls(**dict(data))

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> DatasetConfig:
        """Read a config from a TOML (``.toml``) or YAML (``.yaml``/``.yml``) file.

        The file holds the fields at top level, or under a ``[dataset]`` table.
        """
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"Config file {str(p)!r} does not exist.")
        text = p.read_text(encoding="utf-8")
        suffix = p.suffix.lower()
        if suffix == ".toml":
            try:
                data = tomllib.loads(text)
            except tomllib.TOMLDecodeError as exc:
                raise FileFormatError(f"Cannot parse {str(p)!r} as TOML: {exc}.") from None
        elif suffix in (".yaml", ".yml"):
            try:
                import yaml
            except ImportError:
                raise MissingDependencyError(
                    "Reading YAML config files needs PyYAML: pip install 'groupwise[yaml]' "
                    "(or use a .toml file)."
                ) from None
            try:
                data = yaml.safe_load(text) or {}
            except yaml.YAMLError as exc:
                raise FileFormatError(f"Cannot parse {str(p)!r} as YAML: {exc}.") from None
        else:
            raise FileFormatError(
                f"Config file {str(p)!r} must end in .toml, .yaml or .yml; got {suffix or 'no extension'!r}."
            )
        if not isinstance(data, Mapping):
            raise FileFormatError(f"{str(p)!r} must contain a mapping of config fields.")
        if "dataset" in data and isinstance(data["dataset"], Mapping):
            data = data["dataset"]
        return cls.from_dict(data)
