"""``train()``: plan → baselines → compare → tune → evaluate → finalize, into a run directory.

Each stage is a function from earlier stage results to a frozen one (``_prepare``,
``_select``, ``_evaluate``, ``_record``). The holdout rows are sliced off by the plan and
not touched until :func:`~groupwise.training._evaluate.evaluate_holdout`; every earlier
stage sees only the development rows.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from groupwise._parallel import Executor, LocalExecutor, make_executor
from groupwise._progress import NullProgress
from groupwise.exceptions import GroupwiseError
from groupwise.model_selection import plan_splits
from groupwise.spec import TableSpec
from groupwise.training._adjust import calibrate_selected, imbalance_effect
from groupwise.training._config import WORKER_MODULES, TrainConfig
from groupwise.training._evaluate import (
    choose_operating_point,
    evaluate_holdout,
    learning_curve,
    naive_vs_grouped,
)
from groupwise.training._explain import explain_final
from groupwise.training._prepare import Prepared, prepare
from groupwise.training._record import Outcome, build_record, finalize, model_checks
from groupwise.training._select import compare_candidates, select_model

__all__ = ["AuditFailed", "train"]


class AuditFailed(GroupwiseError):
    """The data audit found problems at or above ``fail_on``; training did not start."""

    exit_code = 1

    def __init__(self, message: str, report):
        super().__init__(message)
        self.report = report


def train(
    df: pd.DataFrame,
    spec: TableSpec,
    config: TrainConfig | None = None,
    *,
    dataset_path: str | None = None,
    candidates: Mapping[str, Any] | None = None,
    progress=None,
    events: Callable[[str, Any], None] | None = None,
    executor: Executor | None = None,
):
    """Train, evaluate honestly and write a complete run directory.

    Parameters
    ----------
    df : DataFrame
        The training table (rows with a missing target are dropped and counted).
    spec : TableSpec
        Column roles.
    config : TrainConfig, default=None
        Options (defaults when None).
    dataset_path : str, default=None
        Where ``df`` came from; recorded with its SHA-256 (else a content checksum).
    candidates : dict of {str: estimator}, default=None
        Extra unfitted estimators (or pipelines) to compare, used as given on the
        raw feature columns; they are not tuned.
    progress : Progress, default=None
        Receives one stage per step (see ``groupwise._progress``).
    events : callable, default=None
        ``events(name, payload)`` is called with ``"prepared"``, ``"audit"``, ``"plan"``,
        ``"leaderboard"``, ``"tuning"``, ``"ensembles"``, ``"calibration"``, ``"imbalance"``
        and ``"holdout"`` as results become available, and
        ``"tracked"`` (a :class:`~groupwise.tracking.TrackingResult`) with ``track=True``.
    executor : Executor, default=None
        Runs CV folds, tuning trials and learning-curve fits; default a
        :class:`~groupwise._parallel.LocalExecutor` with ``config.n_jobs`` workers.

    Returns
    -------
    Run
        The written run (also pointed at by ``models_dir/registry/latest.txt``).
    """
    from groupwise.runs import check_models_dir

    config = config or TrainConfig()
    check_models_dir(config.models_dir)  # before any work: a run must be writable
    progress = progress or NullProgress()
    emit = events or (lambda name, payload: None)
    own = executor is None  # an executor this call starts, it also stops
    executor = executor or make_executor(config.executor, config.n_jobs)
    if own and hasattr(executor, "warm_up"):
        # the workers import the estimators while this process reads, plans and audits
        executor.warm_up(WORKER_MODULES)
    try:
        return _train(df, spec, config, executor, dataset_path, candidates, progress, emit)
    finally:
        if own:
            executor.close()


def _train(df, spec, config, executor, dataset_path, candidates, progress, emit):
    run = dict(executor=executor, progress=progress)
    timings: dict[str, float] = {}

    def timed(name: str, fn, *args, **kwargs):
        start = time.perf_counter()
        result = fn(*args, **kwargs)
        timings[name] = time.perf_counter() - start
        return result

    t0, started = time.perf_counter(), dt.datetime.now(dt.UTC)
    warmup = None
    if config.track:  # import MLflow and open its store while training runs
        from groupwise.tracking import Warmup, resolve_tracking_uri

        warmup = Warmup(resolve_tracking_uri(config.tracking_uri, config.models_dir))
    prep = prepare(df, spec, config, candidates=candidates, dataset_path=dataset_path)
    emit("prepared", prep)
    report = timed("audit", audit_table, prep, config, progress=progress, emit=emit)
    plan = timed("plan", plan_splits, prep.table, holdout=config.holdout, folds=config.folds, seed=config.seed, nested_below=config.nested_below)  # fmt: skip
    emit("plan", plan)
    # while the workers fit the candidates: what writing the run needs, and Optuna (0.3 s
    # that tuning would otherwise spend importing it with both workers idle)
    writers = _import_writers(optuna=config.tune_trials > 0)
    comparison = timed("candidates", compare_candidates, prep, plan, config, emit=emit, **run)
    # tuning leaves a core idle between its batches of trials: time for the rest
    later = _import_writers(shap=config.shap, writers=False)
    selection = timed("tuning", select_model, prep, plan, comparison, config, emit=emit, **run)
    selection, calibration = timed("calibration", calibrate_selected, prep, plan, selection, config)
    if calibration.get("applies"):
        emit("calibration", calibration)
    imbalance = timed("imbalance", imbalance_effect, prep, plan, selection, config, **run)
    if imbalance.get("applies"):
        emit("imbalance", imbalance)
    point = timed("threshold", choose_operating_point, prep, plan, selection, config)
    # the holdout once, or, with few groups, nested CV over all of them
    holdout = timed("evaluation", evaluate_holdout, prep, plan, comparison, selection, point, config, emit=emit, **run)  # fmt: skip
    gap = timed("naive_vs_grouped", naive_vs_grouped, prep, plan, selection, point, config, **run)
    curve = timed("learning_curve", learning_curve, prep, plan, selection, point, config, **run)
    final = timed("finalize", finalize, prep, plan, selection, holdout, threads=run["executor"].threads, progress=progress)  # fmt: skip
    why = timed(
        "shap", explain_final, prep, final, config, progress=progress, executor=run["executor"]
    )
    checks = timed("model_checks", model_checks, prep, selection, point, holdout, gap, why, config)  # fmt: skip
    outcome = Outcome(
        prep, report, plan, selection, point, holdout, gap, curve, checks, final, why,
        calibration=calibration, imbalance=imbalance,
    )  # fmt: skip
    writers.join()
    later.join()
    # the plots on two local workers (they read the run from this machine's disk)
    plotting = executor if isinstance(executor, LocalExecutor) else None
    written = _write(
        outcome, config, started, timings, time.perf_counter() - t0, progress, plotting
    )
    if config.track:
        from groupwise.tracking import track_run

        with progress.stage("Tracking in MLflow", total=1) as bar:
            tracked = track_run(written, tracking_uri=config.tracking_uri, experiment=config.experiment, warmup=warmup)  # fmt: skip
            bar.advance()
        emit("tracked", tracked)
    return written


def _import_writers(*, writers: bool = True, shap: bool = False, optuna: bool = False):
    """In a background thread, import what writing the run needs (skops, matplotlib, the
    report: 1.5 s, while the workers fit the candidates and this process mostly waits)
    and, with ``optuna``, the tuning library; or (``writers=False``) list the installed
    distributions for ``env/pip_freeze.txt`` and, with ``shap``, import the extra if
    installed (0.6 s in all, taken out of the SHAP stage and the writing, where one core
    is otherwise idle). Failures are left for the code that needs the module to raise."""
    import threading

    def load() -> None:
        try:
            if writers:
                if optuna:
                    import optuna as _optuna  # noqa: F401

                import matplotlib.backends.backend_agg  # noqa: F401
                import skops.io  # noqa: F401

                import groupwise.report  # noqa: F401

                return
            from groupwise.runs._env import pip_freeze

            pip_freeze()  # cached for the writing
            if shap:
                from groupwise.explain._shap import require_shap, shap_installed

                if shap_installed():
                    require_shap()
        except Exception:  # the same import in _write (or the SHAP stage) reports it
            pass

    thread = threading.Thread(target=load, name="groupwise-import-writers", daemon=True)
    thread.start()
    return thread


def audit_table(prep: Prepared, config: TrainConfig, *, progress, emit):
    """The data audit of the training table (None when disabled); stops at ``fail_on``."""
    if not config.audit:
        return None
    from groupwise.audit import audit

    table = prep.table
    report = audit(
        table.source, table, folds=config.folds, random_state=config.seed,
        accept=config.accept, progress=progress,
    )  # fmt: skip
    emit("audit", report)
    if report.exit_code(config.fail_on):
        raise AuditFailed(
            f"The data audit found problems at or above fail_on={config.fail_on!r} ({report.summary()}); "
            "training did not start. Fix them, ignore specific checks, or set fail_on='never'.",
            report,
        )
    return report


def _write(outcome: Outcome, config: TrainConfig, started, timings, total, progress, plotting=None):
    from groupwise import report
    from groupwise.runs import Run, new_run_id, write_run, writing_run

    run_id = new_run_id(outcome.prep.task, config.seed, started)
    record = build_record(
        outcome, config, run_id=run_id, started=started, timings=timings, total=total
    )
    models_dir = Path(config.models_dir)
    with (
        progress.stage("Writing the run", total=3) as bar,
        writing_run(models_dir, run_id) as layout,
    ):
        write_run(record, layout)
        bar.advance()
        report.draw_plots(Run(layout.root), executor=plotting)
        bar.advance()
        report.render_run(layout.root)
        bar.advance()
    return Run(models_dir / "runs" / run_id)
