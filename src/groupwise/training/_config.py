"""Training configuration."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import Any

from groupwise._parallel import check_executor
from groupwise._validation import check_choice, check_known_keys, check_number
from groupwise.evaluation._metrics import CLASSIFICATION_METRICS, REGRESSION_METRICS
from groupwise.evaluation._threshold import parse_threshold_strategy
from groupwise.exceptions import ConfigError

__all__ = ["TrainConfig"]

#: What every fit worker imports (the extras only when installed); here, not in _train,
#: so that the command line can start the workers before importing the training code.
WORKER_MODULES = (
    "groupwise.training._cv", "sklearn.ensemble", "sklearn.linear_model", "lightgbm", "xgboost",
)  # fmt: skip

#: Seeds are 32-bit: the largest a NumPy and scikit-learn random state accepts.
MAX_SEED = 2**32 - 1
_OWNER = "TrainConfig"


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """How ``train`` runs. Every field is also a ``groupwise train`` option.

    Parameters
    ----------
    metric : str, default=None
        Primary metric; default by task: binary PR-AUC below 10% positives, else ROC-AUC;
        multiclass balanced accuracy; regression MAE.
    models : tuple of str, default=None
        Candidates; default every installed one (dummy, linear, hist_gb,
        random_forest, extra_trees, lightgbm, xgboost). ``dummy`` and ``linear``
        always run as baselines.
    tune_trials : int, default=25
        Optuna (TPE, seeded) trials for the best candidate; 0 disables tuning.
    tune_timeout : float, default=None
        Seconds after which tuning stops (results then depend on machine speed).
    tune_top : int, default=1
        How many of the best candidates to tune (trials split between them).
    tune_patience : int, default=10
        Stop tuning once this many trials in a row bring no improvement; None to
        always use every trial.
    threshold : str, default="max_f1"
        Binary decision threshold strategy: ``fixed:T``, ``max_f1``,
        ``min_precision:P``, ``min_recall:R``, ``cost:fp=A,fn=B``.
    holdout : float, default=0.2
        Share of rows (whole groups / latest period) held out for the final report.
    nested_below : int, default=30
        With fewer groups (or distinct time points) than this, the evaluation is nested CV
        over all of them instead of a holdout; 0 always uses a holdout.
    folds : int, default=5
        CV folds (leave-one-group-out when there are fewer groups).
    seed : int, default=42
        Seed of every random choice; the same seed gives the same metrics.
    models_dir : str, default="models"
        Where runs and the registry live.
    n_jobs : int, default=None
        Parallel workers; default every available core. Native threads per worker
        are capped so that workers × threads never exceeds the cores.
    executor : str, default="local"
        Where CV folds, tuning trials and learning-curve fits run: ``local`` (worker
        processes here), ``dask`` (a Dask cluster on loopback, one single-threaded worker
        per core) or ``dask://HOST:PORT`` (a running scheduler; [dask] extra). The same
        seed gives the same run on every executor.
    fail_on : {"never", "error", "warning"}, default="never"
        Stop before training if the data audit finds problems at this level.
    bootstrap : int, default=2000
        Bootstrap resamples for holdout confidence intervals.
    permutation_repeats : int, default=5
        Most shuffles per column of permutation importance on the holdout: all of them
        on fewer than 2,000 rows, fewer on more (enough for 8,000 shuffled rows per
        column, at least 3; the table records ``repeats``). 0 skips it.
    race : bool, default=True
        On tables of 5,000+ development rows with 4+ folds, fit every candidate on the 2
        folds with the largest training parts first and stop those behind the leader on
        both by more than 0.01 (2% for error metrics); baselines and custom candidates
        always finish (``groupwise.training._race``).
    naive_cv : bool, default=True
        With a group column: also run row-level CV to measure the naive − grouped gap.
    learning_curve : bool, default=True
        Fit the selected pipeline on growing shares of each training fold.
    audit : bool, default=True
        Run the data audit first.
    shap : bool, default=True
        SHAP values of the final model on a seeded sample of rows (needs the [shap]
        extra; without it the run says so and keeps permutation importance).
    class_weight : {"none", "auto", "balanced"}, default="none"
        Classification: ``balanced`` fits every candidate but the dummy with sample weights
        ``n / (K * n_class)``; ``auto`` does so when the smallest class is below 20% of the
        rows. Weights change the probabilities (they no longer estimate the class shares).
    resample : {"none", "under", "over", "smote"}, default="none"
        Classification: resample the training part of every fold (and of the final fit)
        to equal class counts; validation rows are never resampled.
    ensemble : {"auto", "blend", "stack", "none"}, default="auto"
        Compare a blend (mean of the top ``ensemble_top`` candidates' outputs) and/or a
        stack (a linear meta-model on their out-of-fold outputs) on the same folds; ``auto``
        compares both. An ensemble is selected only when it beats the best single model by
        more than the fold-to-fold noise.
    ensemble_top : int, default=3
        Members of the blend and the stack (the best distinct candidates, 2 or more).
    calibrate : {"none", "auto", "sigmoid", "isotonic"}, default="none"
        Binary: wrap the selected model in cross-fitted calibration (inner folds grouped
        like the CV); ``auto`` does so with ``sigmoid`` when its out-of-fold expected
        calibration error is 0.05 or more (where MODEL006 fires).
    hierarchy : tuple of str, default=None
        Regression only: nested id columns (top key → leaf) that add the
        ``partial_pooling`` candidate.
    track : bool, default=False
        Log the finished run to MLflow ([mlflow] extra): params, metrics, artifacts,
        tuning trials as child runs, and the model as a pyfunc. A tracking failure
        warns and keeps the run directory.
    tracking_uri : str, default=None
        Where to track; default ``MLFLOW_TRACKING_URI``, else an embedded SQLite store
        ``<models_dir>/mlflow.db``.
    experiment : str, default="groupwise"
        The MLflow experiment runs are logged to.
    accept : dict of {str: str}, default=None
        Audit or MODEL findings you acknowledge, CODE:COLUMN (CODE:* for any column)
        mapped to the reason; they are kept in the run, marked accepted, and no longer
        count for fail_on.
    """

    metric: str | None = None
    models: tuple[str, ...] | None = None
    tune_trials: int = 25
    tune_timeout: float | None = None
    tune_top: int = 1
    tune_patience: int | None = 10
    threshold: str = "max_f1"
    holdout: float = 0.2
    nested_below: int = 30
    folds: int = 5
    seed: int = 42
    models_dir: str = "models"
    n_jobs: int | None = None
    executor: str = "local"
    fail_on: str = "never"
    bootstrap: int = 2000
    permutation_repeats: int = 5
    race: bool = True
    naive_cv: bool = True
    learning_curve: bool = True
    audit: bool = True
    shap: bool = True
    class_weight: str = "none"
    resample: str = "none"
    ensemble: str = "auto"
    ensemble_top: int = 3
    calibrate: str = "none"
    hierarchy: tuple[str, ...] | None = None
    track: bool = False
    tracking_uri: str | None = None
    experiment: str = "groupwise"
    accept: dict[str, str] | None = dataclasses.field(default=None, metadata={"cli": "repeat"})

    def __post_init__(self):
        o = _OWNER
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731
        if self.metric is not None:
            check_choice(self.metric, "metric", o, CLASSIFICATION_METRICS + REGRESSION_METRICS)
        if self.models is not None:
            models = (self.models,) if isinstance(self.models, str) else tuple(self.models)
            if not models:
                raise ConfigError(
                    "The 'models' parameter of TrainConfig must name at least one model."
                )
            set_("models", models)
        set_("tune_trials", check_number(self.tune_trials, "tune_trials", o, low=0, integer=True))
        if self.tune_timeout is not None:
            set_(
                "tune_timeout",
                check_number(self.tune_timeout, "tune_timeout", o, low=0, closed="neither"),
            )
        set_("tune_top", check_number(self.tune_top, "tune_top", o, low=1, integer=True))
        if self.tune_patience is not None:
            set_(
                "tune_patience",
                check_number(self.tune_patience, "tune_patience", o, low=1, integer=True),
            )
        parse_threshold_strategy(self.threshold)
        set_("holdout", check_number(self.holdout, "holdout", o, low=0.05, high=0.5))
        set_(
            "nested_below", check_number(self.nested_below, "nested_below", o, low=0, integer=True)
        )
        set_("folds", check_number(self.folds, "folds", o, low=2, high=50, integer=True))
        set_("seed", check_number(self.seed, "seed", o, low=0, high=MAX_SEED, integer=True))
        if not isinstance(self.models_dir, (str, os.PathLike)) or not str(self.models_dir):
            raise ConfigError(
                f"The 'models_dir' parameter of {o} must be a directory path (text). "
                f"Got {self.models_dir!r} instead.",
                parameter="models_dir",
                value=self.models_dir,
            )
        set_("models_dir", os.fspath(self.models_dir))
        if self.n_jobs is not None:
            set_("n_jobs", check_number(self.n_jobs, "n_jobs", o, low=1, integer=True))
        check_executor(self.executor, f"The 'executor' parameter of {o}")
        check_choice(self.fail_on, "fail_on", o, ("never", "error", "warning"))
        check_choice(self.class_weight, "class_weight", o, ("none", "auto", "balanced"))
        check_choice(self.resample, "resample", o, ("none", "under", "over", "smote"))
        check_choice(self.ensemble, "ensemble", o, ("auto", "blend", "stack", "none"))
        set_("ensemble_top", check_number(self.ensemble_top, "ensemble_top", o, low=2, high=10, integer=True))  # fmt: skip
        check_choice(self.calibrate, "calibrate", o, ("none", "auto", "sigmoid", "isotonic"))
        set_("bootstrap", check_number(self.bootstrap, "bootstrap", o, low=100, integer=True))
        set_(
            "permutation_repeats",
            check_number(self.permutation_repeats, "permutation_repeats", o, low=0, integer=True),
        )
        if self.hierarchy is not None:
            set_(
                "hierarchy",
                (self.hierarchy,) if isinstance(self.hierarchy, str) else tuple(self.hierarchy),
            )
        for name in ("tracking_uri", "experiment"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise ConfigError(
                    f"The {name!r} parameter of {o} must be non-empty text. Got {value!r} instead.",
                    parameter=name,
                    value=value,
                )
        if self.accept is not None:
            from groupwise.audit import Acceptances

            set_("accept", Acceptances(self.accept).to_dict() or None)
        for name in ("race", "naive_cv", "learning_curve", "audit", "shap", "track"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(
                    f"The {name!r} parameter of {o} must be a bool. Got {getattr(self, name)!r} instead."
                )

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        for k in ("models", "hierarchy"):
            if d[k] is not None:
                d[k] = list(d[k])
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainConfig:
        check_known_keys(data.keys(), [f.name for f in dataclasses.fields(cls)], _OWNER)
        return cls(**dict(data))
