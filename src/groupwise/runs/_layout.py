"""Run directories and the registry (DESIGN.md §4).

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
    "RUN_SUBDIRS",
    "latest_run_id",
    "list_run_ids",
    "new_run_id",
    "resolve_run",
    "set_latest",
    "writing_run",
]

RUN_SUBDIRS = ("model", "schema", "metrics", "tables", "plots", "audit", "env")


def new_run_id(task: str, seed: int, now: dt.datetime | None = None) -> str:
    """``2026-01-04T21-35-10Z__clf__seed42__a1b2c3``."""
    now = now or dt.datetime.now(dt.UTC)
    kind = "clf" if task == "classification" else "reg"
    return f"{now:%Y-%m-%dT%H-%M-%SZ}__{kind}__seed{seed}__{secrets.token_hex(3)}"


def runs_dir(models_dir: str | os.PathLike) -> Path:
    return Path(models_dir) / "runs"


@contextlib.contextmanager
def writing_run(models_dir: str | os.PathLike, run_id: str) -> Iterator[Path]:
    """Yield a temporary directory for the run; on success rename it to its final
    place and point ``latest`` at it; on failure remove it and leave ``latest`` alone."""
    final = runs_dir(models_dir) / run_id
    tmp = runs_dir(models_dir) / f".tmp-{run_id}"
    tmp.mkdir(parents=True, exist_ok=False)
    for sub in RUN_SUBDIRS:
        (tmp / sub).mkdir()
    try:
        yield tmp
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    set_latest(models_dir, run_id)


def set_latest(models_dir: str | os.PathLike, run_id: str) -> None:
    write_text(run_id + "\n", Path(models_dir) / "registry" / "latest.txt")


def latest_run_id(models_dir: str | os.PathLike) -> str | None:
    p = Path(models_dir) / "registry" / "latest.txt"
    return p.read_text().strip() or None if p.exists() else None


def list_run_ids(models_dir: str | os.PathLike) -> list[str]:
    """Complete runs (those with run_meta.json), oldest first."""
    d = runs_dir(models_dir)
    if not d.is_dir():
        return []
    return sorted(
        p.name
        for p in d.iterdir()
        if p.is_dir() and not p.name.startswith(".") and (p / "run_meta.json").exists()
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
        if not (path / "run_meta.json").exists():
            raise RunNotFoundError(
                f"registry/latest.txt points at {rid!r}, which is not a complete run in {str(runs_dir(models_dir))!r}."
            )
        return path
    candidate = Path(run)
    if (candidate / "run_meta.json").exists():
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
