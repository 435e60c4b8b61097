"""``run_meta.json``: what a run is, as one versioned dataclass.

Format 3 runs have a ``manifest.json`` (the checksums of this file, the schema and the
model); format 2 stores the shipped decision threshold here, once (``threshold``: a
:class:`~groupwise.evaluation.ThresholdChoice`); the other places that show it
(``metrics/threshold.json`` analyses, prediction files' metadata, the report) derive
it from the run. Format-1 run directories still load.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar

from groupwise.evaluation._threshold import ThresholdChoice
from groupwise.exceptions import FileFormatError
from groupwise.io import to_jsonable

__all__ = ["FORMAT_VERSION", "RunMeta"]

FORMAT_VERSION = 3


@dataclasses.dataclass(frozen=True)
class RunMeta:
    """The contents of ``run_meta.json``.

    Attributes
    ----------
    run_id, created_at, finished_at : str
        Identity and UTC timestamps (ISO 8601).
    dataset : dict
        ``path``, ``sha256``, ``rows``, ``columns``, ``rows_used``,
        ``rows_dropped_missing_target``.
    spec : dict
        The resolved :class:`~groupwise.spec.TableSpec`.
    features : tuple of str
        The model's input columns; ``feature_kinds`` their kinds.
    classes, positive_code
        Class labels in code order and the code of the positive class (binary).
    config : dict
        The full :class:`~groupwise.training.TrainConfig`.
    primary_metric : dict
        ``name``, ``reason``, ``greater_is_better``.
    split_plan : dict
        The :class:`~groupwise.model_selection.SplitPlan` summary.
    selected_model : dict
        ``label``, ``candidate``, ``params``, ``tuned``, ``pipeline``.
    threshold : ThresholdChoice or None
        The decision threshold of a binary classifier (the one stored copy).
    metrics : dict
        Key numbers: ``cv`` and ``holdout`` point estimates, ``naive_minus_grouped``.
    model : dict
        ``file``, ``format``, ``skops_version``, ``sha256``, ``trusted_types``.
    """

    run_id: str
    created_at: str
    finished_at: str | None
    duration_s: float | None
    groupwise_version: str
    git_commit: str | None
    dataset: Mapping[str, Any]
    spec: Mapping[str, Any]
    features: tuple[str, ...]
    feature_kinds: Mapping[str, Any]
    classes: tuple
    positive_code: int | None
    config: Mapping[str, Any]
    primary_metric: Mapping[str, Any]
    split_plan: Mapping[str, Any]
    selected_model: Mapping[str, Any]
    threshold: ThresholdChoice | None
    metrics: Mapping[str, Any]
    audit_summary: Mapping[str, int] | None
    model_checks_summary: Mapping[str, int]
    failed_candidates: Mapping[str, str]
    timings: Mapping[str, float]
    model: Mapping[str, Any] | None = None
    format_version: int = FORMAT_VERSION

    #: The format this groupwise writes.
    FORMAT: ClassVar[int] = FORMAT_VERSION

    # ------------------------------------------------------------- accessors
    @property
    def task(self) -> str:
        return self.spec["task"]

    @property
    def metric(self) -> str:
        """Name of the primary metric."""
        return self.primary_metric["name"]

    @property
    def greater_is_better(self) -> bool:
        return bool(self.primary_metric["greater_is_better"])

    # ---------------------------------------------------------- serialisation
    def to_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["threshold"] = None if self.threshold is None else self.threshold.to_dict()
        d["features"], d["classes"] = list(self.features), list(self.classes)
        order = ["format_version", *(k for k in d if k != "format_version")]
        return to_jsonable({k: d[k] for k in order})

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RunMeta:
        """Read ``run_meta.json`` of format 1 or 2; a clear error when keys are missing."""
        d = dict(d)
        version = d.get("format_version", 1)
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise FileFormatError(
                f"run_meta.json has format_version {version!r}; this groupwise reads versions "
                f"1 to {FORMAT_VERSION}. Upgrade groupwise to read this run."
            )
        d.pop("plots", None)  # format 1 listed the plots; they are found on disk now
        names = {f.name for f in dataclasses.fields(cls)}
        required = {f.name for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING}
        missing = sorted(required - set(d))
        if missing:
            raise FileFormatError(
                f"run_meta.json lacks the key(s) {', '.join(missing)}; it was not written by a "
                "complete groupwise run (or was edited)."
            )
        kwargs = {k: v for k, v in d.items() if k in names}
        threshold = kwargs.get("threshold")
        kwargs["threshold"] = None if not threshold else ThresholdChoice.from_dict(threshold)
        kwargs["features"] = tuple(kwargs["features"])
        kwargs["classes"] = tuple(kwargs.get("classes") or ())
        kwargs["format_version"] = version
        return cls(**kwargs)
