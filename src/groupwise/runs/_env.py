"""Capture of the software environment and the project's git commit."""

from __future__ import annotations

import functools
import importlib.metadata as md
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from groupwise._version import __version__

__all__ = ["environment", "git_commit", "pip_freeze"]

_KEY_PACKAGES = (
    "numpy", "pandas", "pyarrow", "scipy", "scikit-learn", "optuna", "skops", "joblib",
    "threadpoolctl", "matplotlib", "jinja2", "typer", "rich", "lightgbm", "xgboost", "shap",
)  # fmt: skip
#: Other distributions that install a key package's module under the same name (the
#: CPU-only XGBoost wheel is the distribution ``xgboost-cpu`` of the module ``xgboost``).
_ALSO_SHIPPED_AS = {"xgboost": ("xgboost-cpu",)}


def _version(dist: str) -> str | None:
    """The installed version of the package ``dist`` names, under whichever of its
    distribution names is installed."""
    for name in (dist, *_ALSO_SHIPPED_AS.get(dist, ())):
        try:
            return md.version(name)
        except md.PackageNotFoundError:
            continue
    return None


def environment() -> dict[str, Any]:
    """Python, platform, CPU and the versions of the packages a run depends on."""
    from groupwise._parallel import available_cores

    return {
        "groupwise": __version__,
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "available_cores": available_cores(),
        "packages": {p: v for p in _KEY_PACKAGES if (v := _version(p)) is not None},
    }


@functools.cache
def pip_freeze() -> str:
    """``name==version`` of every installed distribution, sorted (no subprocess); listed
    once per process (0.2 s of metadata reads)."""
    seen = {}
    for dist in md.distributions():
        name = dist.metadata["Name"]
        if name and name.lower() not in seen:
            seen[name.lower()] = f"{name}=={dist.version}"
    return "\n".join(seen[k] for k in sorted(seen)) + "\n"


def git_commit(cwd: str | os.PathLike | None = None) -> str | None:
    """HEAD commit of the git repository containing ``cwd`` (None outside a repository)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(cwd or os.getcwd()),
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and len(commit) == 40 else None
