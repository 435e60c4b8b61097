"""Run directories and the registry (DESIGN.md §4): every file name of a run, spelled once.

A run is written into a hidden temporary sibling directory and renamed into place
when complete; ``registry/latest.txt`` is replaced atomically only after that, so
a crash never leaves a half-written run that ``latest`` points to.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

from groupwise.exceptions import RunNotFoundError, did_you_mean
from groupwise.io import write_text

__all__ = [
    "RunLayout",
    "latest_run_id",
    "list_run_ids",
    "new_run_id",
    "resolve_run",
    "set_latest",
    "writing_run",
]


class _File:
    """A file of the run, relative to its root; ``layout.<name>`` is its path."""

    def __init__(self, rel: str):
        self.rel = rel

    def __set_name__(self, owner, name: str) -> None:
        owner.FILES = {**getattr(owner, "FILES", {}), name: self.rel}

    def __get__(self, obj, owner=None):
        return self.rel if obj is None else obj.root / self.rel


class RunLayout:
    """Where every file of a run lives (DESIGN.md §4).

    ``RunLayout(root).holdout_metrics`` is the path of ``metrics/holdout_metrics.json``;
    ``RunLayout.FILES`` maps each name to its path relative to the run directory.

    Examples
    --------
    >>> layout = RunLayout("models/runs/r1")
    >>> str(layout.holdout_metrics)
    'models/runs/r1/metrics/holdout_metrics.json'
    >>> RunLayout.FILES["model"]
    'model/model.skops'
    """

    FILES: dict[str, str]
    SUBDIRS = ("model", "schema", "metrics", "tables", "plots", "audit", "env")

    meta = _File("run_meta.json")
    model = _File("model/model.skops")
    schema = _File("schema/input_schema.json")
    env_meta = _File("env/env_meta.json")
    pip_freeze = _File("env/pip_freeze.txt")
    cv_leaderboard = _File("metrics/cv_leaderboard.json")
    cv_leaderboard_csv = _File("metrics/cv_leaderboard.csv")
    cv_folds = _File("metrics/cv_folds.csv")
    holdout_metrics = _File("metrics/holdout_metrics.json")
    bootstrap_ci = _File("metrics/bootstrap_ci.json")
    evaluation = _File("metrics/evaluation.json")
    threshold = _File("metrics/threshold.json")
    naive_vs_grouped = _File("metrics/naive_vs_grouped.json")
    baselines = _File("metrics/baselines.json")
    model_checks = _File("metrics/model_checks.json")
    tuning = _File("metrics/tuning.json")
    holdout_input = _File("tables/holdout_input.parquet")
    holdout_predictions = _File("tables/holdout_predictions.parquet")
    oof_predictions = _File("tables/oof_predictions.parquet")
    error_slices = _File("tables/error_slices.csv")
    feature_importance = _File("tables/feature_importance.csv")
    learning_curve = _File("tables/learning_curve.csv")
    audit_json = _File("audit/audit.json")
    audit_md = _File("audit/audit.md")
    report = _File("report.html")
    model_card = _File("model_card.md")

    #: The plots a run can have, in the order the report shows them.
    PLOTS = (
        "cv_scores", "roc", "pr", "confusion_matrix", "calibration", "residuals", "importance",
        "naive_vs_grouped", "learning_curve",
    )  # fmt: skip

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"RunLayout({str(self.root)!r})"

    def path(self, name: str) -> Path:
        """The path of the file called ``name`` (a key of :attr:`FILES`)."""
        try:
            return self.root / self.FILES[name]
        except KeyError:
            raise KeyError(
                f"{name!r} is not a file of a run.{did_you_mean(name, self.FILES)}"
            ) from None

    def plot(self, name: str) -> Path:
        """The PNG of plot ``name``."""
        return self.root / "plots" / f"{name}.png"

    def plots(self) -> list[str]:
        """Names of the plots present, in report order."""
        return [p for p in self.PLOTS if self.plot(p).exists()]

    def make_dirs(self) -> None:
        for sub in self.SUBDIRS:
            (self.root / sub).mkdir(parents=True, exist_ok=True)


def new_run_id(task: str, seed: int, now: dt.datetime | None = None) -> str:
    """``2026-01-04T21-35-10Z__clf__seed42__a1b2c3``."""
    now = now or dt.datetime.now(dt.UTC)
    kind = "clf" if task == "classification" else "reg"
    return f"{now:%Y-%m-%dT%H-%M-%SZ}__{kind}__seed{seed}__{secrets.token_hex(3)}"


def runs_dir(models_dir: str | os.PathLike) -> Path:
    return Path(models_dir) / "runs"


def registry_file(models_dir: str | os.PathLike) -> Path:
    return Path(models_dir) / "registry" / "latest.txt"


@contextlib.contextmanager
def writing_run(models_dir: str | os.PathLike, run_id: str) -> Iterator[RunLayout]:
    """Yield the layout of a temporary directory for the run; on success rename it to its
    final place and point ``latest`` at it; on failure remove it and leave ``latest`` alone."""
    final = runs_dir(models_dir) / run_id
    tmp = runs_dir(models_dir) / f".tmp-{run_id}"
    tmp.mkdir(parents=True, exist_ok=False)
    layout = RunLayout(tmp)
    layout.make_dirs()
    try:
        yield layout
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    set_latest(models_dir, run_id)


def set_latest(models_dir: str | os.PathLike, run_id: str) -> None:
    write_text(run_id + "\n", registry_file(models_dir))


def latest_run_id(models_dir: str | os.PathLike) -> str | None:
    p = registry_file(models_dir)
    return p.read_text().strip() or None if p.exists() else None


def list_run_ids(models_dir: str | os.PathLike) -> list[str]:
    """Complete runs (those with run_meta.json), oldest first."""
    d = runs_dir(models_dir)
    if not d.is_dir():
        return []
    return sorted(
        p.name
        for p in d.iterdir()
        if p.is_dir() and not p.name.startswith(".") and RunLayout(p).meta.exists()
    )


def resolve_run(
    run: str | os.PathLike = "latest", models_dir: str | os.PathLike = "models"
) -> Path:
    """Directory of ``run``: ``"latest"``, a run id (or unique prefix), or a path."""
    run = str(run)
    if run == "latest":
        rid = latest_run_id(models_dir)
        if rid is None:
            raise RunNotFoundError(
                f"No run found in {str(Path(models_dir))!r} (no registry/latest.txt). Train one with "
                "'groupwise train TABLE --target Y', or pass --models-dir pointing at your models folder."
            )
        path = runs_dir(models_dir) / rid
        if not RunLayout(path).meta.exists():
            raise RunNotFoundError(
                f"registry/latest.txt points at {rid!r}, which is not a complete run in {str(runs_dir(models_dir))!r}."
            )
        return path
    candidate = Path(run)
    if RunLayout(candidate).meta.exists():
        return candidate
    ids = list_run_ids(models_dir)
    if run in ids:
        return runs_dir(models_dir) / run
    matches = [i for i in ids if i.startswith(run)]
    if len(matches) == 1:
        return runs_dir(models_dir) / matches[0]
    if len(matches) > 1:
        raise RunNotFoundError(
            f"Run {run!r} is ambiguous; it matches {', '.join(matches[:5])}. Give more of the id."
        )
    shown = ", ".join(ids[-5:]) if ids else "none"
    raise RunNotFoundError(
        f"Run {run!r} not found in {str(runs_dir(models_dir))!r}.{did_you_mean(run, ids)} "
        f"Recent runs: {shown}. Use 'groupwise runs list' to see them all."
    )
