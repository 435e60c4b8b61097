"""Run directories, the registry pointer, safe persistence and environment capture.

The layout helpers (``check_models_dir`` and the like, standard library only) are imported
with the package; the rest on first use, so that a command can check its models
directory before loading scikit-learn and the prediction stack (0.5 s).
"""

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

#: Names imported on first use, by the module that defines them.
_LAZY = {
    "KEY_ENV": "_manifest",
    "MANIFEST": "_manifest",
    "RunFiles": "_manifest",
    "RunMeta": "_meta",
    "TRUSTED_TYPES": "_persist",
    "load_model": "_persist",
    "load_model_bytes": "_persist",
    "save_model": "_persist",
    "RunRecord": "_record",
    "write_run": "_record",
    "Run": "_run",
    "load_run": "_run",
}

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


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"groupwise.runs.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'groupwise.runs' has no attribute {name!r}")
