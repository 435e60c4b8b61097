"""Ground truth returned next to a generated table."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from groupwise.io import to_jsonable

__all__ = ["DatasetMeta"]


@dataclasses.dataclass(frozen=True)
class DatasetMeta:
    """What the generator planted, so methods can be checked against the truth.

    Attributes
    ----------
    feature_names : list of str
        Numeric feature columns in table order.
    columns : list of str
        Every column of ``X`` in order (features, categoricals, leaks, batch, subject).
    informative, pseudo, noise : list of str
        Numeric features by role (informative includes informative cluster anchors;
        proxies are listed under ``corr_clusters``).
    informative_idx, pseudo_idx, noise_idx : list of int
        Positions of those features in ``X``.
    corr_clusters : list of dict
        Per cluster: ``id`` (1-based), ``anchor``, ``proxies``, ``columns``,
        ``structure``, ``rho``, ``class_rho``, ``anchor_role``.
    categorical, categorical_informative : list of str
        Categorical features, and those whose levels depend on the target.
    task : str
    class_counts : dict
        Observed label → count (after label noise); ``class_counts_true`` before it.
    signal : dict
        Classification: ``class_means`` (feature → mean per class, before batch
        effects), ``class_sep``, ``bayes_balanced_accuracy`` (binary, clean table).
        Regression: ``coefficients`` (feature → slope), ``noise_sd``.
    batch_labels : list of str
        Batch ids (``B1``...); ``batch_class`` the class each batch belongs to;
        ``batch_sizes`` rows per batch.
    batch_effects : dict
        ``affected`` columns, ``intercept`` and ``scale`` matrices (batch × affected
        column), with ``x_observed = scale · x + intercept`` for affected columns.
    subject_labels, subject_batch, subject_class : list
        Subjects, the batch each is nested in, and its class.
    subject_effects : dict
        ``columns`` and ``intercept`` matrix (subject × column).
    missing : dict
        ``mechanism``, ``rate``, ``columns``, ``driver`` (MAR) and realised ``rates``.
    leaks : dict
        Planted leak columns: ``target_proxy``, ``id_column``, ``time_column`` (names
        or None) and ``duplicate_rows`` (list of ``[copy, original]`` row pairs).
    config : dict
        The resolved config (with the seed actually used).
    version : str
        groupwise version that generated the table.
    """

    feature_names: list[str]
    columns: list[str]
    informative: list[str]
    pseudo: list[str]
    noise: list[str]
    informative_idx: list[int]
    pseudo_idx: list[int]
    noise_idx: list[int]
    corr_clusters: list[dict[str, Any]]
    categorical: list[str]
    categorical_informative: list[str]
    task: str
    class_counts: dict[str, int]
    class_counts_true: dict[str, int]
    signal: dict[str, Any]
    batch_labels: list[str]
    batch_class: list[int]
    batch_sizes: dict[str, int]
    batch_effects: dict[str, Any]
    subject_labels: list[str]
    subject_batch: list[str | None]
    subject_class: list[int | None]
    subject_effects: dict[str, Any]
    missing: dict[str, Any]
    leaks: dict[str, Any]
    config: dict[str, Any]
    version: str

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-safe dict."""
        return to_jsonable({f.name: getattr(self, f.name) for f in dataclasses.fields(self)})

    def to_json(self, *, indent: int | None = 2) -> str:
        """Strict JSON text."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    @property
    def y_counts(self) -> dict[str, int]:
        """Alias of ``class_counts``."""
        return self.class_counts
