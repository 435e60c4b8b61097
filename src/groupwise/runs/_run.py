"""A finished run: its metadata, files, model (loaded safely) and prediction."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import pandas as pd

from groupwise.evaluation._threshold import ThresholdChoice
from groupwise.io import read_json
from groupwise.runs._layout import RunLayout, resolve_run
from groupwise.runs._meta import RunMeta
from groupwise.runs._persist import load_model
from groupwise.spec import TableSpec

__all__ = ["Run", "load_run"]


class _Metrics:
    """``run.metrics``: the run's metric files, read on demand."""

    def __init__(self, run: Run):
        self._run = run

    def _json(self, name: str, default=None):
        path = self._run.layout.path(name)
        return read_json(path) if path.exists() else default

    def holdout(self) -> dict[str, dict[str, float]]:
        """``{metric: {"estimate", "ci_low", "ci_high"}}`` on the holdout."""
        return self._json("holdout_metrics", {})

    def cv(self) -> dict[str, float]:
        """Pooled out-of-fold point estimates of the selected model."""
        return dict(self._run.run_meta.metrics["cv"])

    def leaderboard(self) -> dict[str, Any]:
        """``{"metric", "greater_is_better", "rows": [...]}`` of the candidates."""
        return self._json("cv_leaderboard", {"rows": []})

    def folds(self) -> pd.DataFrame:
        """Per-fold scores of every candidate."""
        path = self._run.layout.cv_folds
        return pd.read_csv(path) if path.exists() else pd.DataFrame()

    def bootstrap(self) -> dict[str, Any]:
        """How the holdout intervals were computed (resamples, unit, groups, method)."""
        return self._json("bootstrap_ci", {})

    def naive_vs_grouped(self) -> dict[str, Any] | None:
        """Naive vs grouped CV and their gap, or None when it does not apply."""
        d = self._json("naive_vs_grouped", {})
        return d if d.get("naive") else None

    def baselines(self) -> dict[str, Any]:
        return self._json("baselines", {})

    def tuning(self) -> list[dict[str, Any]]:
        return self._json("tuning", [])

    def evaluation(self) -> dict[str, Any]:
        """How the headline numbers were estimated (scheme, interval method, outer folds)."""
        return self._json("evaluation", {})

    def threshold_analysis(self) -> dict[str, Any]:
        """Calibration and the threshold's applicability (``metrics/threshold.json``)."""
        return self._json("threshold", {})


class Run:
    """A complete run directory (DESIGN.md §4).

    Attributes
    ----------
    path : Path
        The run directory; ``layout`` names its files.
    run_meta : RunMeta
        ``run_meta.json`` (``meta`` is the same as a plain dict).
    metrics
        Accessors for the metric files: ``run.metrics.holdout()``, ``.cv()``,
        ``.leaderboard()``, ``.naive_vs_grouped()``, ...
    pipeline
        The fitted pipeline, loaded on first use after its SHA-256 and the recorded
        trusted types are verified.

    Examples
    --------
    >>> run = load_run("latest", models_dir="models")        # doctest: +SKIP
    >>> run.threshold, run.metrics.holdout()["roc_auc"]       # doctest: +SKIP
    >>> run.predict(new_rows).head()                          # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.layout = RunLayout(self.path)
        self.run_meta = RunMeta.from_dict(read_json(self.layout.meta))
        self.metrics = _Metrics(self)

    def __repr__(self) -> str:
        return f"Run({self.run_id!r}, task={self.task!r}, model={self.selected_model!r})"

    # --------------------------------------------------------------- identity
    @functools.cached_property
    def meta(self) -> dict[str, Any]:
        """``run_meta.json`` as a plain dict."""
        return self.run_meta.to_dict()

    @property
    def run_id(self) -> str:
        return self.run_meta.run_id

    @property
    def task(self) -> str:
        return self.run_meta.task

    @property
    def spec(self) -> TableSpec:
        return TableSpec.from_dict(self.run_meta.spec)

    @property
    def classes(self) -> list:
        return list(self.run_meta.classes)

    @property
    def positive_code(self) -> int | None:
        return self.run_meta.positive_code

    @property
    def metric(self) -> str:
        """The primary metric's name."""
        return self.run_meta.metric

    @property
    def selected_model(self) -> str:
        return self.run_meta.selected_model.get("label")

    @property
    def models_dir(self) -> Path:
        """The models directory this run lives in (``<models_dir>/runs/<run_id>``)."""
        return self.path.parent.parent

    @property
    def scheme(self) -> str:
        """How the headline numbers were estimated: ``"holdout"`` or ``"nested"``."""
        return self.run_meta.split_plan.get("scheme", "holdout")

    # ----------------------------------------------------------- the decision
    @property
    def threshold_choice(self) -> ThresholdChoice | None:
        """The decision threshold the model ships with, and why (binary classifiers)."""
        return self.run_meta.threshold

    @property
    def threshold(self) -> float | None:
        choice = self.run_meta.threshold
        return None if choice is None else choice.threshold

    # ----------------------------------------------------------------- checks
    @functools.cached_property
    def model_checks(self) -> list[dict[str, Any]]:
        """MODEL check findings (dicts with code, severity, message, evidence, fix)."""
        path = self.layout.model_checks
        return read_json(path)["findings"] if path.exists() else []

    def exit_code(self, fail_on: str = "never") -> int:
        """1 if a model check not accepted found something at or above ``fail_on``, else 0."""
        from groupwise._validation import check_choice
        from groupwise.audit._base import Finding
        from groupwise.audit._report import FAIL_ON

        check_choice(fail_on, "fail_on", "Run.exit_code", FAIL_ON)
        if fail_on == "never":
            return 0
        return int(any(Finding.from_dict(f).counts_for(fail_on) for f in self.model_checks))

    @functools.cached_property
    def audit(self) -> dict[str, Any] | None:
        """The data audit of the training table (``audit/audit.json``), if it ran."""
        path = self.layout.audit_json
        return read_json(path) if path.exists() else None

    # ------------------------------------------------------------------ files
    def read_metrics(self, name: str) -> Any:
        """A file from ``metrics/`` (``"holdout_metrics"`` → holdout_metrics.json)."""
        return read_json(self.layout.path(name))

    def table(self, name: str) -> pd.DataFrame:
        """A table of the run (``"holdout_predictions"``, ``"oof_predictions"``, ...)."""
        path = self.layout.path(name)
        return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)

    def honest_predictions(self) -> pd.DataFrame:
        """The evaluation's predictions (every row scored by a model that never saw it):
        ids, ``prediction``, ``proba_*``/``score``, ``y_true``, the group."""
        t = self.table("holdout_predictions")
        if any(c.startswith("refit_") for c in t.columns):  # format 2
            return t[[c for c in t.columns if not c.startswith("refit_")]]
        # format 1: the development fit's predictions were prefixed eval_
        keep = [
            c for c in t.columns if not c.startswith(("prediction", "proba_", "score", "eval_"))
        ]
        return pd.concat(
            [
                t[keep],
                t[[c for c in t.columns if c.startswith("eval_")]].rename(columns=lambda c: c[5:]),
            ],
            axis=1,
        )

    def shipped_predictions(self) -> pd.DataFrame:
        """The shipped model's predictions of the evaluation rows, as recorded at training
        (what the serving path must reproduce): ``prediction``, ``proba_*``/``score``."""
        t = self.table("holdout_predictions")
        refit = [c for c in t.columns if c.startswith("refit_")]
        if refit:
            return t[refit].rename(columns=lambda c: c[len("refit_") :])
        return t[[c for c in t.columns if c.startswith(("prediction", "proba_")) or c == "score"]]

    @property
    def plots(self) -> list[str]:
        """Names of the plots the run has, in report order."""
        return self.layout.plots()

    # ------------------------------------------------------------- prediction
    @functools.cached_property
    def pipeline(self):
        m = self.run_meta.model
        return load_model(
            self.layout.root / "model" / m["file"],
            sha256=m["sha256"],
            trusted_types=m["trusted_types"],
        )

    @functools.cached_property
    def schema(self):
        from groupwise.predict._schema import InputSchema

        return InputSchema.from_dict(read_json(self.layout.schema))

    @functools.cached_property
    def predictor(self):
        from groupwise.predict._predict import Predictor

        return Predictor(
            self.pipeline,
            self.schema,
            task=self.task,
            classes=self.classes,
            threshold=self.threshold,
            pos=self.positive_code,
        )

    def predict(self, df: pd.DataFrame, *, on_bad_values: str = "error") -> pd.DataFrame:
        """Validate ``df`` against the training schema and predict.

        Returns the id columns present, ``prediction``, and for classifiers
        ``proba_<class>`` per class plus ``score`` = P(positive) for binary targets.
        Raises :class:`~groupwise.exceptions.SchemaViolationError` listing every
        violation when the input does not match.
        """
        return self.predictor.predict_frame(df, on_bad_values=on_bad_values)


def load_run(run: str | os.PathLike = "latest", models_dir: str | os.PathLike = "models") -> Run:
    """Open a run by ``"latest"``, run id (or unique prefix), or path."""
    return Run(resolve_run(run, models_dir))
