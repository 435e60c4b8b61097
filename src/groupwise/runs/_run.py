"""A finished run: its metadata, its model (loaded safely) and prediction."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import pandas as pd

from groupwise.io import read_json
from groupwise.runs._layout import resolve_run
from groupwise.runs._persist import load_model
from groupwise.spec import TableSpec

__all__ = ["Run", "load_run"]


class Run:
    """A complete run directory (DESIGN.md §4).

    Attributes
    ----------
    path : Path
        The run directory.
    meta : dict
        ``run_meta.json``.
    pipeline
        The fitted pipeline, loaded on first use after its SHA-256 and the recorded
        trusted types are verified.

    Examples
    --------
    >>> run = load_run("latest", models_dir="models")        # doctest: +SKIP
    >>> run.predict(new_rows).head()                          # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.meta: dict[str, Any] = read_json(self.path / "run_meta.json")

    def __repr__(self) -> str:
        sel = self.meta.get("selected_model", {}).get("label")
        return f"Run({self.run_id!r}, task={self.task!r}, model={sel!r})"

    @property
    def run_id(self) -> str:
        return self.meta["run_id"]

    @property
    def task(self) -> str:
        return self.meta["spec"]["task"]

    @property
    def spec(self) -> TableSpec:
        return TableSpec.from_dict(self.meta["spec"])

    @property
    def classes(self) -> list:
        return list(self.meta.get("classes") or [])

    @property
    def threshold(self) -> float | None:
        return (self.meta.get("threshold") or {}).get("threshold")

    @functools.cached_property
    def pipeline(self):
        m = self.meta["model"]
        return load_model(
            self.path / "model" / m["file"], sha256=m["sha256"], trusted_types=m["trusted_types"]
        )

    @functools.cached_property
    def schema(self):
        from groupwise.predict._schema import InputSchema

        return InputSchema.from_dict(read_json(self.path / "schema" / "input_schema.json"))

    @functools.cached_property
    def predictor(self):
        from groupwise.predict._predict import Predictor

        pos = self.meta.get("positive_code")
        return Predictor(
            self.pipeline,
            self.schema,
            task=self.task,
            classes=self.classes,
            threshold=self.threshold,
            pos=pos,
        )

    def predict(self, df: pd.DataFrame, *, on_bad_values: str = "error") -> pd.DataFrame:
        """Validate ``df`` against the training schema and predict.

        Returns the id columns present, ``prediction``, and for classifiers
        ``proba_<class>`` per class plus ``score`` = P(positive) for binary targets.
        Raises :class:`~groupwise.exceptions.SchemaViolationError` listing every
        violation when the input does not match.
        """
        return self.predictor.predict_frame(df, on_bad_values=on_bad_values)

    def read_metrics(self, name: str) -> Any:
        """A file from ``metrics/`` (``"holdout_metrics"`` → holdout_metrics.json)."""
        return read_json(self.path / "metrics" / f"{name}.json")


def load_run(run: str | os.PathLike = "latest", models_dir: str | os.PathLike = "models") -> Run:
    """Open a run by ``"latest"``, run id (or unique prefix), or path."""
    return Run(resolve_run(run, models_dir))
