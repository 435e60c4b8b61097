"""Run directories, the registry pointer, safe persistence and environment capture."""

from groupwise.runs._layout import (
    RunLayout,
    latest_run_id,
    list_run_ids,
    new_run_id,
    resolve_run,
    writing_run,
)
from groupwise.runs._meta import RunMeta
from groupwise.runs._persist import load_model, save_model
from groupwise.runs._record import RunRecord, write_run
from groupwise.runs._run import Run, load_run

__all__ = [
    "Run",
    "RunLayout",
    "RunMeta",
    "RunRecord",
    "latest_run_id",
    "list_run_ids",
    "load_model",
    "load_run",
    "new_run_id",
    "resolve_run",
    "save_model",
    "write_run",
    "writing_run",
]
