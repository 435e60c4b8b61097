"""Run directories and the registry (the README's "The run directory"): every file name of a run, spelled once.

A run is written into a hidden temporary sibling directory and renamed into place
when complete; ``registry/latest.txt`` is replaced atomically only after that, so
a crash never leaves a half-written run that ``latest`` points to.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import secrets
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from groupwise.exceptions import (
    BrokenRunError,
    ConfigError,
    EnvironmentFault,
    RegistryError,
    RunNotFoundError,
    did_you_mean,
)
from groupwise.io import probe_write, write_text

__all__ = [
    "RUN_ID_RE",
    "RunLayout",
    "check_models_dir",
    "clean_stale",
    "is_run_id",
    "latest_run_id",
    "list_run_ids",
    "new_run_id",
    "resolve_run",
    "run_dirs",
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
    """Where every file of a run lives (the README's "The run directory").

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
    SUBDIRS = (
        "model",
        "schema",
        "metrics",
        "tables",
        "plots",
        "audit",
        "env",
        "monitor",
        "explain",
    )

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
    ensembles = _File("metrics/ensembles.json")
    racing = _File("metrics/racing.json")
    calibration = _File("metrics/calibration.json")
    imbalance = _File("metrics/imbalance.json")
    holdout_input = _File("tables/holdout_input.parquet")
    holdout_predictions = _File("tables/holdout_predictions.parquet")
    oof_predictions = _File("tables/oof_predictions.parquet")
    error_slices = _File("tables/error_slices.csv")
    feature_importance = _File("tables/feature_importance.csv")
    learning_curve = _File("tables/learning_curve.csv")
    audit_json = _File("audit/audit.json")
    audit_md = _File("audit/audit.md")
    monitor_reference = _File("monitor/reference.json")
    monitor_between = _File("monitor/reference_between.parquet")
    monitor_groups = _File("monitor/reference_groups.parquet")
    shap = _File("explain/shap.json")
    shap_values = _File("explain/shap_values.parquet")
    shap_sample = _File("explain/shap_sample.parquet")
    shap_background = _File("explain/background.parquet")
    clustering = _File("metrics/clustering.json")
    cluster_sizes = _File("tables/cluster_sizes.csv")
    cluster_profiles = _File("tables/cluster_profiles.csv")
    cluster_assignments = _File("tables/cluster_assignments.parquet")
    cluster_projection = _File("tables/cluster_projection.parquet")
    report = _File("report.html")
    model_card = _File("model_card.md")

    #: The files every complete run has (the others depend on the task and the options).
    REQUIRED = (
        "meta", "model", "schema", "cv_leaderboard", "holdout_metrics", "model_checks",
        "holdout_input", "holdout_predictions",
    )  # fmt: skip

    #: The plots a run can have, in the order the report shows them.
    PLOTS = (
        "cv_scores", "roc", "pr", "confusion_matrix", "calibration", "residuals", "importance",
        "shap_summary", "shap_dependence", "naive_vs_grouped", "learning_curve",
        "silhouette", "cluster_map", "cluster_sizes",
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


#: A run id: ``<UTC time>__<clf|reg>__seed<seed>__<6 hex>`` (what :func:`new_run_id` makes).
RUN_ID_RE = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z__(clf|reg|clu)__seed\d{1,10}__[0-9a-f]{6}"
)
#: Temporary run directories older than this without a lock file are abandoned.
_STALE_SECONDS = 3600


def new_run_id(task: str, seed: int, now: dt.datetime | None = None) -> str:
    """``2026-01-04T21-35-10Z__clf__seed42__a1b2c3``."""
    now = now or dt.datetime.now(dt.UTC)
    kind = {"classification": "clf", "clustering": "clu"}.get(task, "reg")
    return f"{now:%Y-%m-%dT%H-%M-%SZ}__{kind}__seed{seed}__{secrets.token_hex(3)}"


def is_run_id(text: str) -> bool:
    """Whether ``text`` is spelled like a run id (no path separators, no dots).

    Examples
    --------
    >>> is_run_id("2026-01-04T21-35-10Z__clf__seed42__a1b2c3"), is_run_id("../elsewhere")
    (True, False)
    """
    return bool(RUN_ID_RE.fullmatch(text))


def runs_dir(models_dir: str | os.PathLike) -> Path:
    return Path(models_dir) / "runs"


def registry_file(models_dir: str | os.PathLike) -> Path:
    return Path(models_dir) / "registry" / "latest.txt"


def _fault(path: Path, what: str, exc: OSError) -> EnvironmentFault:
    return EnvironmentFault(
        f"Cannot {what} {str(path)!r}: {exc.strerror or exc}. Choose a --models-dir on a "
        "writable disk with free space (or fix the permissions)."
    )


def check_models_dir(models_dir: str | os.PathLike, *, min_free: int = 20 << 20) -> None:
    """Make sure a run can be written into ``models_dir`` before any work starts.

    Creates nothing: writes (and removes) a probe file in ``runs/`` and ``registry/``, or in
    their nearest existing parent when they do not exist yet, so bad input leaves no trace.
    Raises :class:`ConfigError` when a part of the layout is the wrong kind of file and
    :class:`EnvironmentFault` when the disk refuses (read-only, full, permissions).
    """
    root = Path(models_dir)
    for path, kind in ((root, "directory"), (runs_dir(root), "directory"),
                       (registry_file(root).parent, "directory"), (registry_file(root), "file")):  # fmt: skip
        for parent in [path, *path.parents]:
            if parent.exists() and not parent.is_dir() and parent != path:
                raise ConfigError(
                    f"The models directory {str(root)!r} cannot be used: {str(parent)!r} is a "
                    f"file, so {str(path)!r} cannot be a {kind}. Choose another --models-dir or "
                    "move the file away.",
                    parameter="models_dir",
                    value=str(root),
                )
        if path.exists() and (path.is_dir() != (kind == "directory")):
            raise ConfigError(
                f"The models directory {str(root)!r} cannot be used: {str(path)!r} should be a "
                f"{kind} but is {'a directory' if path.is_dir() else 'a file'}. Remove it or "
                "choose another --models-dir.",
                parameter="models_dir",
                value=str(root),
            )
    for d in (runs_dir(root), registry_file(root).parent):
        existing = next(p for p in [d, *d.parents] if p.exists())
        try:
            probe_write(existing)
        except OSError as exc:
            raise _fault(existing, "write to", exc) from None
    existing = next(p for p in [runs_dir(root), *runs_dir(root).parents] if p.exists())
    free = shutil.disk_usage(existing).free
    if free < min_free:
        raise EnvironmentFault(
            f"The disk of {str(root)!r} has {free / 2**20:.1f} MB free; a run needs at least "
            f"{min_free / 2**20:.0f} MB. Free some space or choose another --models-dir."
        )


@contextlib.contextmanager
def _locked(path: Path, *, blocking: bool = True) -> Iterator[bool]:
    """Hold an exclusive lock on ``path`` (created when missing); yields False when
    ``blocking=False`` and another process holds it."""
    import fcntl

    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def clean_stale(models_dir: str | os.PathLike) -> list[str]:
    """Remove temporary run directories whose writer died (its lock is free); returns them."""
    d = runs_dir(models_dir)
    removed = []
    if not d.is_dir():
        return removed
    for tmp in d.glob(".tmp-*"):
        if not tmp.is_dir():
            continue
        lock = tmp / ".lock"
        try:
            if lock.exists():
                with _locked(lock, blocking=False) as free:
                    dead = free
            else:  # the writer died before taking its lock, or an older groupwise wrote it
                dead = time.time() - tmp.stat().st_mtime > _STALE_SECONDS
        except OSError:
            continue
        if dead:
            shutil.rmtree(tmp, ignore_errors=True)
            removed.append(tmp.name)
    return removed


@contextlib.contextmanager
def writing_run(
    models_dir: str | os.PathLike, run_id: str, *, latest: bool = True
) -> Iterator[RunLayout]:
    """Yield the layout of a temporary directory for the run; on success rename it to its
    final place and point ``latest`` at it (unless ``latest=False``: clustering runs); on
    failure remove it and leave ``latest`` alone.

    The temporary directory holds a lock for as long as this process writes it; a later
    run removes directories whose lock is free (their writer was killed).
    """
    final = runs_dir(models_dir) / run_id
    tmp = runs_dir(models_dir) / f".tmp-{run_id}"
    clean_stale(models_dir)
    try:
        tmp.mkdir(parents=True, exist_ok=False)
    except OSError as exc:
        raise _fault(tmp, "create", exc) from None
    try:
        with _locked(tmp / ".lock"):
            layout = RunLayout(tmp)
            layout.make_dirs()
            yield layout
            os.remove(tmp / ".lock")
            os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if not latest:
        return
    try:
        set_latest(models_dir, run_id)
    except OSError as exc:
        raise RegistryError(
            f"The run is complete at {str(final)!r}, but {str(registry_file(models_dir))!r} "
            f"could not be updated ({exc.strerror or exc}), so 'latest' still points at the "
            f"previous run. Use --run {run_id} to refer to it, and fix the registry directory.",
            run_id=run_id,
        ) from None


def set_latest(models_dir: str | os.PathLike, run_id: str) -> bool:
    """Point ``latest`` at ``run_id`` unless it already points at a newer complete run.

    "Newer" is the larger run id (ids start with the UTC time the training started), so
    with trainings running at once ``latest`` is the one started last, whichever finishes
    last. Returns whether the pointer moved.
    """
    reg = registry_file(models_dir)
    reg.parent.mkdir(parents=True, exist_ok=True)
    with _locked(reg.parent / ".lock"):
        current = _read_latest(models_dir, strict=False)
        if current is not None and current > run_id and _complete(models_dir, current):
            return False
        write_text(run_id + "\n", reg)
        return True


def _complete(models_dir, run_id: str) -> bool:
    return RunLayout(runs_dir(models_dir) / run_id).meta.exists()


def _read_latest(models_dir: str | os.PathLike, *, strict: bool) -> str | None:
    p = registry_file(models_dir)
    if not p.exists():
        return None
    try:
        text = p.read_bytes().decode("utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        if not strict:
            return None
        raise BrokenRunError(
            f"{str(p)!r} cannot be read as a run id ({exc}). Delete it and point it at a run "
            "again by training, or pass --run RUN_ID."
        ) from None
    if not text:
        return None
    if not is_run_id(text):
        if not strict:
            return None
        raise BrokenRunError(
            f"{str(p)!r} holds {text[:80]!r}, which is not a run id "
            "(<time>__<clf|reg>__seed<n>__<hex>). It was edited or damaged; delete it and "
            "retrain, or pass --run RUN_ID ('groupwise runs list' shows them)."
        )
    return text


def latest_run_id(models_dir: str | os.PathLike) -> str | None:
    """The run id ``registry/latest.txt`` points at (None when there is none)."""
    return _read_latest(models_dir, strict=True)


def list_run_ids(models_dir: str | os.PathLike) -> list[str]:
    """Complete runs (directories named like a run id with a run_meta.json), oldest first."""
    d = runs_dir(models_dir)
    if not d.is_dir():
        return []
    return sorted(
        p.name for p in d.iterdir() if is_run_id(p.name) and _complete(models_dir, p.name)
    )


def run_dirs(models_dir: str | os.PathLike) -> list[Path]:
    """Every directory of ``models_dir/runs`` named like a run id, complete or not, oldest first."""
    d = runs_dir(models_dir)
    if not d.is_dir():
        return []
    return sorted(
        (p for p in d.iterdir() if is_run_id(p.name) and p.is_dir()), key=lambda p: p.name
    )


def resolve_run(
    run: str | os.PathLike = "latest", models_dir: str | os.PathLike = "models"
) -> Path:
    """Directory of ``run``: ``"latest"``, a run id (or unique prefix), or a path.

    ``latest`` and run ids resolve only inside ``models_dir/runs``; a path is used as given.
    """
    run = str(run)
    if not run.strip():
        raise ConfigError(
            "The run to use is empty. Pass --run latest, a run id (or a unique prefix), or a "
            "run directory."
        )
    if len(run) > 1024 or "\0" in run:
        raise ConfigError(
            f"--run {run[:40]!r}... is not a run id or a path ({len(run)} characters). Pass "
            "--run latest, a run id, or a run directory."
        )
    if run == "latest":
        rid = latest_run_id(models_dir)
        if rid is None:
            raise RunNotFoundError(
                f"No run found in {str(Path(models_dir))!r} (no registry/latest.txt). Train one with "
                "'groupwise train TABLE --target Y', or pass --models-dir pointing at your models folder."
            )
        if not _complete(models_dir, rid):
            raise RunNotFoundError(
                f"registry/latest.txt points at {rid!r}, which is not a complete run in {str(runs_dir(models_dir))!r}."
            )
        return runs_dir(models_dir) / rid
    candidate = Path(run)
    try:
        if RunLayout(candidate).meta.exists():
            return candidate
    except OSError:  # a name too long for the file system, say
        pass
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
