"""Run directories, the registry pointer, safe persistence and environment capture."""

from groupwise.runs._layout import (
    RUN_ID_RE,
    RunLayout,
    check_models_dir,
    clean_stale,
    is_run_id,
    latest_run_id,
    list_run_ids,
    new_run_id,
    resolve_run,
    run_dirs,
    writing_run,
)
from groupwise.runs._manifest import KEY_ENV, MANIFEST, RunFiles
from groupwise.runs._meta import RunMeta
from groupwise.runs._persist import TRUSTED_TYPES, load_model, load_model_bytes, save_model
from groupwise.runs._record import RunRecord, write_run
from groupwise.runs._run import Run, load_run

__all__ = [
    "KEY_ENV",
    "RUN_ID_RE",
    "check_models_dir",
    "clean_stale",
    "is_run_id",
    "MANIFEST",
    "TRUSTED_TYPES",
    "Run",
    "RunFiles",
    "RunLayout",
    "RunMeta",
    "RunRecord",
    "latest_run_id",
    "list_run_ids",
    "load_model",
    "load_model_bytes",
    "load_run",
    "new_run_id",
    "resolve_run",
    "run_dirs",
    "save_model",
    "write_run",
    "writing_run",
]
