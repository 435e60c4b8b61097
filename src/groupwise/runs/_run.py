"""A finished run: its metadata, files, model (loaded safely) and prediction."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from groupwise.evaluation._threshold import ThresholdChoice
from groupwise.exceptions import BrokenRunError, DataError, FileFormatError, ModelIntegrityError
from groupwise.io import read_json, read_table
from groupwise.runs._layout import RunLayout, resolve_run
from groupwise.runs._manifest import RunFiles
from groupwise.runs._meta import RunMeta
from groupwise.runs._persist import load_model_bytes
from groupwise.spec import TableSpec

_REQUIRED = object()

__all__ = ["Run", "load_run"]


class _Metrics:
    """``run.metrics``: the run's metric files, read on demand."""

    def __init__(self, run: Run):
        self._run = run

    def _json(self, name: str, default=None):
        return self._run.document(name, default)

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
        return self._run.table("cv_folds") if path.exists() else pd.DataFrame()

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

    def ensembles(self) -> dict[str, Any]:
        """The blend/stack comparison: members, per-fold gains over the best single model,
        selectable or not and why."""
        return self._json("ensembles", {"applies": False, "reason": "run trained before ensembles were compared"})  # fmt: skip

    def racing(self) -> dict[str, Any]:
        """The racing over folds: the rule, the folds, who was raced out on which scores."""
        return self._json("racing", {"applies": False, "reason": "run trained before racing"})

    def calibration(self) -> dict[str, Any]:
        """Calibration of the selected model: method, out-of-fold before/after (ECE, Brier,
        log loss, reliability table), or why it was not applied."""
        return self._json("calibration", {"applies": False, "reason": "run trained before calibration was offered"})  # fmt: skip

    def imbalance(self) -> dict[str, Any]:
        """Class weights / resampling: what was applied and the same candidate without it."""
        return self._json("imbalance", {"applies": False, "reason": "run trained before class weights were offered"})  # fmt: skip

    def evaluation(self) -> dict[str, Any]:
        """How the headline numbers were estimated (scheme, interval method, outer folds)."""
        return self._json("evaluation", {})

    def shap(self) -> dict[str, Any]:
        """SHAP values of the final model: explainer, output units, base value, mean |SHAP|
        per input column (``{"computed": False, "reason": ...}`` when they were not)."""
        return self._json("shap", {"computed": False, "reason": "run trained before SHAP values were kept"})  # fmt: skip

    def threshold_analysis(self) -> dict[str, Any]:
        """Calibration and the threshold's applicability (``metrics/threshold.json``)."""
        return self._json("threshold", {})


class Run:
    """A complete run directory (the README's "The run directory").

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

    def __init__(self, path: str | os.PathLike, *, extra_trusted: Iterable[str] = ()):
        self.path = Path(path)
        self.layout = RunLayout(self.path)
        self.extra_trusted = tuple(extra_trusted)
        self.files = RunFiles(self.path)
        doc = self.files.json(RunLayout.FILES["meta"])
        if not isinstance(doc, dict):
            raise BrokenRunError(
                f"Run {self.path.name!r}: run_meta.json holds {type(doc).__name__}, not an object; "
                "it was damaged or edited. Restore it from a backup or retrain."
            )
        try:
            self.run_meta = RunMeta.from_dict(doc)
        except FileFormatError as exc:
            raise BrokenRunError(f"Run {self.path.name!r}: {exc}") from None
        if not self.files.verified:
            if self.run_meta.format_version >= 3:
                raise ModelIntegrityError(
                    f"Run {self.path.name!r} was written with a manifest.json, which is missing "
                    "now: its files cannot be verified. Restore the file or retrain."
                )
            self.files.warn_unverified()
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
        doc = self.document("model_checks", {})
        return doc.get("findings", []) if isinstance(doc, dict) else []

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
        return self.document("audit_json", None)

    # ------------------------------------------------------------------ files
    def _missing(self, name: str) -> BrokenRunError:
        return BrokenRunError(
            f"Run {self.path.name!r} is incomplete: {RunLayout.FILES[name]} is missing. "
            "Restore the run directory from a backup or retrain."
        )

    def require_supervised(self, what: str) -> None:
        """A clear error when ``what`` (a command) needs a trained model and this is a
        clustering run (no target, no evaluation)."""
        if self.task == "clustering":
            from groupwise.exceptions import ConfigError

            raise ConfigError(
                f"Run {self.run_id!r} is a clustering run: it has no target, so {what} does not "
                "apply. Use 'groupwise predict' to assign clusters and 'groupwise report' to "
                "redraw its report; give a trained run instead."
            )

    def require(self, *names: str) -> None:
        """Raise :class:`BrokenRunError` naming every file of ``names`` that is missing
        (default: :attr:`RunLayout.REQUIRED`)."""
        missing = [RunLayout.FILES[n] for n in names or RunLayout.REQUIRED
                   if not self.layout.path(n).exists()]  # fmt: skip
        if missing:
            raise BrokenRunError(
                f"Run {self.path.name!r} is incomplete: {', '.join(missing)} "
                f"{'is' if len(missing) == 1 else 'are'} missing. Restore the run directory "
                "from a backup or retrain."
            )

    def document(self, name: str, default: Any = _REQUIRED) -> Any:
        """A JSON file of the run by :class:`RunLayout` name; ``default`` when it is absent
        (a :class:`BrokenRunError` naming the file when no default is given)."""
        path = self.layout.path(name)
        if not path.exists():
            if default is _REQUIRED:
                raise self._missing(name)
            return default
        try:
            return read_json(path)
        except FileFormatError as exc:
            raise BrokenRunError(f"Run {self.path.name!r}: {exc}") from None

    def read_metrics(self, name: str) -> Any:
        """A file from ``metrics/`` (``"holdout_metrics"`` → holdout_metrics.json)."""
        return self.document(name)

    def table(self, name: str) -> pd.DataFrame:
        """A table of the run (``"holdout_predictions"``, ``"oof_predictions"``, ...)."""
        path = self.layout.path(name)
        if not path.exists():
            raise self._missing(name)
        try:
            return read_table(path)
        except (FileFormatError, DataError) as exc:
            raise BrokenRunError(f"Run {self.path.name!r}: {exc}") from None

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
        """The fitted pipeline: its bytes read once, checked against the manifest and the
        recorded SHA-256, its types against :data:`~groupwise.runs.TRUSTED_TYPES`."""
        m = self.run_meta.model
        rel = RunLayout.FILES["model"]
        if not isinstance(m, dict) or m.get("file") != Path(rel).name or "sha256" not in m:
            raise BrokenRunError(
                f"Run {self.path.name!r}: run_meta.json does not describe the model file "
                f"{rel} (model: {m!r}). Restore the run directory or retrain."
            )
        data = self.files.read(rel)
        model = load_model_bytes(
            data,
            sha256=m["sha256"],
            where=f"{rel} of run {self.path.name!r}",
            extra_trusted=self.extra_trusted,
        )
        needs = ("predict", "predict_proba") if self.task == "classification" else ("predict",)
        lacking = [a for a in needs if not callable(getattr(model, a, None))]
        if lacking:
            raise ModelIntegrityError(
                f"The model file {rel} of run {self.path.name!r} holds a "
                f"{type(model).__module__}.{type(model).__name__}, not a fitted model (no "
                f"{' or '.join(lacking)}). Refusing to use it; retrain, or restore the original "
                "run directory."
            )
        return model

    @functools.cached_property
    def schema(self):
        """The input schema (``schema/input_schema.json``), checked against the manifest."""
        from groupwise.predict._schema import InputSchema

        rel = RunLayout.FILES["schema"]
        doc = self.files.json(rel)
        try:
            return InputSchema.from_dict(doc)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise BrokenRunError(
                f"Run {self.path.name!r}: {rel} is not a valid input schema "
                f"({type(exc).__name__}: {exc}). Restore it from a backup or retrain."
            ) from None

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

    @functools.cached_property
    def monitor_reference(self):
        """What ``groupwise monitor`` compares new rows with (``monitor/reference.json``),
        or None for a run trained before the reference was kept."""
        from groupwise.drift import Reference

        doc = self.document("monitor_reference", None)
        if doc is None:
            return None
        between = self.table("monitor_between") if self.layout.monitor_between.exists() else None
        groups = self.table("monitor_groups") if self.layout.monitor_groups.exists() else None
        try:
            return Reference.from_parts(doc, between, groups)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise BrokenRunError(
                f"Run {self.path.name!r}: {RunLayout.FILES['monitor_reference']} is not a valid "
                f"monitoring reference ({type(exc).__name__}: {exc}). Restore it or retrain."
            ) from None

    @functools.cached_property
    def explainer(self):
        """A :class:`~groupwise.explain.PipelineExplainer` of the shipped model against the
        run's background rows (``explain/background.parquet``). Raises
        :class:`~groupwise.exceptions.ConfigError` when the run cannot be explained."""
        from groupwise.exceptions import ConfigError
        from groupwise.explain import PipelineExplainer, ShapUnsupported
        from groupwise.predict import ValidationReport

        if not self.layout.shap_background.exists():
            raise ConfigError(
                f"Run {self.run_id!r} cannot explain its predictions: "
                + (
                    "it has no background sample (trained before explanations were kept); "
                    "retrain it"
                    if self.task != "classification" or len(self.classes) == 2
                    else f"SHAP values are computed for binary classifiers and regressors, "
                    f"and it has {len(self.classes)} classes"
                )
                + "."
            )
        background = self.schema.coerce(self.table("shap_background"), ValidationReport())
        try:
            return PipelineExplainer(
                self.pipeline, background, task=self.task, n_classes=len(self.classes),
                pos=self.positive_code, seed=self.run_meta.config.get("seed", 0),
            )  # fmt: skip
        except ShapUnsupported as exc:
            raise ConfigError(
                f"Run {self.run_id!r} cannot explain its predictions: {exc}"
            ) from None

    def explain_columns(self, k: int):
        """``augment(X)`` for :meth:`Predictor.predict_file`: the top-``k`` SHAP
        contributions of each row (see :meth:`PipelineExplainer.top_k`)."""
        from groupwise.explain import require_shap

        explainer = self.explainer
        if explainer.kind in ("tree", "linear", "stack"):
            require_shap()
        return lambda X: explainer.top_k(X, k)

    def predict(
        self, df: pd.DataFrame, *, on_bad_values: str = "error", explain: int = 0
    ) -> pd.DataFrame:
        """Validate ``df`` against the training schema and predict.

        Returns the id columns present, ``prediction``, and for classifiers
        ``proba_<class>`` per class plus ``score`` = P(positive) for binary targets;
        with ``explain=K``, the top-K SHAP contributions of each row
        (``explain_<i>_feature``, ``explain_<i>_contribution``). Raises
        :class:`~groupwise.exceptions.SchemaViolationError` listing every violation when
        the input does not match.
        """
        augment = self.explain_columns(explain) if explain else None
        return self.predictor.predict_checked(df, on_bad_values=on_bad_values, augment=augment)[0]


def load_run(
    run: str | os.PathLike = "latest",
    models_dir: str | os.PathLike = "models",
    *,
    extra_trusted: Iterable[str] = (),
) -> Run:
    """Open a run by ``"latest"``, run id (or unique prefix), or path.

    ``extra_trusted`` names types beyond :data:`~groupwise.runs.TRUSTED_TYPES` that the
    model may reference (only needed for custom estimators you trained yourself).
    """
    return Run(resolve_run(run, models_dir), extra_trusted=extra_trusted)
