"""Log a finished run to MLflow (the ``[mlflow]`` extra).

Tracking reads the run directory after it is complete, so a tracking failure (no MLflow,
an unreachable server, a locked database) never loses a run: :func:`track_run` returns a
:class:`TrackingResult` saying what went wrong and logs a warning.

Where runs go: ``tracking_uri`` when given, else ``MLFLOW_TRACKING_URI``, else an embedded
SQLite store ``<models_dir>/mlflow.db`` with artifacts under ``<models_dir>/mlartifacts``.
MLflow's telemetry is switched off before it is imported; nothing leaves the machine
unless the URI names a server.

One MLflow run per groupwise run: the configuration and column roles as params; CV and
evaluation metrics (with their interval bounds) as metrics; data identity, git commit,
run id and groupwise version as tags; the report, model card, plots, schema and metric
files as artifacts; tuning trials as child runs; and the model as an MLflow pyfunc model
(``model/``) that opens the logged run directory and predicts through
:meth:`groupwise.runs.Run.predict` — the same code path as ``groupwise predict``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from groupwise._version import __version__
from groupwise.exceptions import MissingDependencyError

__all__ = [
    "TrackingResult",
    "Warmup",
    "default_tracking_uri",
    "resolve_tracking_uri",
    "track_run",
]

logger = logging.getLogger(__name__)

#: MLflow limits a param value to 6,000 characters.
_PARAM_MAX = 6000


@dataclasses.dataclass(frozen=True)
class TrackingResult:
    """What tracking did: ``ok``, the URI, MLflow's run id, or the error that stopped it."""

    ok: bool
    uri: str
    mlflow_run_id: str | None = None
    experiment: str | None = None
    error: str | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def default_tracking_uri(models_dir: str | os.PathLike) -> str:
    """The embedded store: ``sqlite:///<absolute models_dir>/mlflow.db``."""
    return "sqlite:///" + str((Path(models_dir) / "mlflow.db").resolve())


def resolve_tracking_uri(tracking_uri: str | None, models_dir: str | os.PathLike) -> str:
    """``tracking_uri``, else ``MLFLOW_TRACKING_URI``, else :func:`default_tracking_uri`."""
    return tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or default_tracking_uri(models_dir)


def _import_mlflow():
    # before the first import: no telemetry, and a bounded wait for a server that is down
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "true")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "20")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    try:
        import mlflow
    except ImportError:
        raise MissingDependencyError(
            "Tracking needs the [mlflow] extra: pip install 'groupwise[mlflow]'."
        ) from None
    return mlflow


def _params(run) -> dict[str, str]:
    out: dict[str, str] = {}

    def put(prefix: str, d: dict[str, Any]) -> None:
        for k, v in d.items():
            if isinstance(v, dict):
                put(f"{prefix}{k}.", v)
            else:
                text = "" if v is None else str(v)
                out[f"{prefix}{k}"] = text[:_PARAM_MAX]

    put("config.", run.meta["config"])
    put("spec.", run.meta["spec"])
    out["selected_model"] = str(run.selected_model)
    out["threshold"] = "" if run.threshold is None else repr(run.threshold)
    return out


def _metrics(run) -> dict[str, float]:
    import math

    out: dict[str, float] = {}
    for k, v in run.metrics.cv().items():
        if isinstance(v, (int, float)) and math.isfinite(v):
            out[f"cv_{k}"] = float(v)
    scheme = run.scheme
    for k, d in run.metrics.holdout().items():
        for part, suffix in (("estimate", ""), ("ci_low", "_ci_low"), ("ci_high", "_ci_high")):
            v = d.get(part)
            if isinstance(v, (int, float)) and math.isfinite(v):
                out[f"{scheme}_{k}{suffix}"] = float(v)
    out["duration_s"] = float(run.meta["duration_s"])
    return out


def _tags(run) -> dict[str, str]:
    m = run.meta
    tags = {
        "mlflow.runName": run.run_id,
        "groupwise.run_id": run.run_id,
        "groupwise.version": __version__,
        "groupwise.task": run.task,
        "groupwise.target": str(m["spec"]["target"]),
        "groupwise.scheme": run.scheme,
        "groupwise.primary_metric": run.metric,
        "groupwise.dataset_sha256": m["dataset"]["sha256"],
        "groupwise.dataset_path": str(m["dataset"]["path"] or "(DataFrame)"),
        "groupwise.run_dir": str(run.path.resolve()),
    }
    if m.get("git_commit"):
        tags["mlflow.source.git.commit"] = m["git_commit"]
    return tags


def _dtype_type(dtype) -> str:
    text = str(dtype)
    if text.startswith(("int", "uint", "Int", "UInt")):
        return "long"
    if text.startswith(("float", "Float")):
        return "double"
    if text.startswith("bool"):
        return "boolean"
    if text.startswith("datetime"):
        return "datetime"
    return "string"


def _mlflow_type(feature) -> str:
    if feature.kind == "numeric":
        return "double"
    if feature.kind == "bool":
        return "boolean"
    if feature.kind == "datetime":
        return "string" if feature.date_format else "datetime"
    return _dtype_type(feature.dtype)


def model_signature(run):
    """An MLflow signature from the run's input schema (ids optional, features required)."""
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    schema = run.schema
    ids = run.table("holdout_input").dtypes if schema.id_cols else {}
    cols = [ColSpec(_dtype_type(ids[c]) if c in ids else "string", c, required=False)
            for c in schema.id_cols]  # fmt: skip
    cols += [ColSpec(_mlflow_type(f), f.name) for f in schema.features]
    return ModelSignature(inputs=Schema(cols))


def _requirements() -> list[str]:
    from importlib.metadata import PackageNotFoundError, version

    reqs = []
    for name in ("groupwise", "scikit-learn", "pandas", "numpy", "skops", "mlflow"):
        try:
            reqs.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            continue
    return reqs


def _experiment(client, name: str, models_dir: Path, uri: str) -> str:
    exp = client.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    artifacts = None
    if uri.startswith("sqlite:") or uri.startswith("file:") or "://" not in uri:
        artifacts = (models_dir / "mlartifacts").resolve().as_uri()
    return client.create_experiment(name, artifact_location=artifacts)


class Warmup:
    """Import MLflow and open (or create) the store in a background thread while training
    runs, so that tracking at the end costs only the logging itself (importing MLflow
    takes about 3 s and creating a new SQLite store about 4 s on the 2-core benchmark
    machine). Errors are kept for :func:`track_run` to report."""

    def __init__(self, uri: str):
        import threading

        self.uri = uri
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name="groupwise-mlflow-warmup", daemon=True)  # fmt: skip
        self._thread.start()

    def _work(self) -> None:
        try:
            _import_mlflow()
            from mlflow.tracking import MlflowClient

            with _quiet():
                MlflowClient(tracking_uri=self.uri).search_experiments(max_results=1)
            # saving a pyfunc maps every installed module to its package (2.4 s of
            # metadata reads here); MLflow caches the map per process, so build it now
            from mlflow.utils import requirements_utils

            requirements_utils._init_modules_to_packages_map()
        except BaseException as exc:  # reported by track_run, never raised in the thread
            self.error = exc

    def wait(self) -> None:
        self._thread.join()


def track_run(
    run, *, tracking_uri: str | None = None, experiment: str = "groupwise",
    warmup: Warmup | None = None,
) -> TrackingResult:  # fmt: skip
    """Log ``run`` (a complete :class:`~groupwise.runs.Run`) to MLflow; never raises for a
    tracking failure (the result says what failed and a warning is logged). ``warmup``:
    a :class:`Warmup` started on the same URI when training began."""
    uri = resolve_tracking_uri(tracking_uri, run.models_dir)
    start = time.perf_counter()
    try:
        if warmup is not None and warmup.uri == uri:
            warmup.wait()
            if isinstance(warmup.error, MissingDependencyError):
                raise warmup.error
        mlflow_id = _log(run, uri, experiment)
    except Exception as exc:  # tracking is best effort by design: the run directory is kept
        message = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
        logger.warning(
            "tracking run %s to %s failed (%s); the run directory %s is complete",
            run.run_id, uri, message, run.path,
        )  # fmt: skip
        return TrackingResult(False, uri, None, experiment, message, time.perf_counter() - start)
    return TrackingResult(True, uri, mlflow_id, experiment, None, time.perf_counter() - start)


@contextlib.contextmanager
def _quiet():
    """MLflow's advice while saving the model (pickling, input examples, type hints) is
    about choices made here on purpose; keep it out of the user's console."""
    log = logging.getLogger("mlflow")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            yield
    finally:
        log.setLevel(level)


def _log(run, uri: str, experiment: str) -> str:
    mlflow = _import_mlflow()
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    with _quiet():  # a new store announces its tables at INFO level
        exp_id = _experiment(client, experiment, run.models_dir, uri)
    now = int(time.time() * 1000)
    parent = client.create_run(exp_id, tags=_tags(run), run_name=run.run_id)
    rid = parent.info.run_id
    try:
        client.log_batch(
            rid,
            metrics=[Metric(k, v, now, 0) for k, v in _metrics(run).items()],
            params=[Param(k, v) for k, v in _params(run).items()],
        )
        layout = run.layout
        for name in ("report", "model_card", "meta"):
            client.log_artifact(rid, str(layout.path(name)))
        for sub in ("plots", "schema", "metrics", "explain"):
            if (run.path / sub).is_dir():
                client.log_artifacts(rid, str(run.path / sub), sub)
        with tempfile.TemporaryDirectory(prefix="groupwise-mlflow-") as tmp, _quiet():
            from groupwise.tracking._pyfunc import GroupwiseModel

            path = Path(tmp) / "model"
            mlflow.pyfunc.save_model(
                path=str(path),
                python_model=GroupwiseModel(),
                artifacts={"run": str(run.path)},
                signature=model_signature(run),
                pip_requirements=_requirements(),
            )
            client.log_artifacts(rid, str(path), "model")
        for tuned in run.metrics.tuning():
            for trial in tuned.get("history", []):
                child = client.create_run(
                    exp_id,
                    tags={
                        "mlflow.parentRunId": rid,
                        "groupwise.run_id": run.run_id,
                        "groupwise.candidate": tuned["candidate"],
                    },  # fmt: skip
                    run_name=f"{tuned['candidate']} trial {trial['number']}",
                )
                client.log_batch(
                    child.info.run_id,
                    metrics=[Metric(f"cv_{run.metric}", float(trial["score"]), now, 0),
                             Metric("fit_time_s", float(trial.get("fit_time") or 0), now, 0)],
                    params=[Param(k, str(v)) for k, v in trial["params"].items()],
                )  # fmt: skip
                client.set_terminated(child.info.run_id)
    except BaseException:
        client.set_terminated(rid, status="FAILED")
        raise
    client.set_terminated(rid)
    return rid
