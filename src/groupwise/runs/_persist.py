"""Safe model persistence (DESIGN.md §7).

Models are written with skops, never loaded with plain pickle. At save time the
types skops does not trust by default are recorded; at load time the file's
SHA-256 must match the one recorded in ``run_meta.json`` and the file may not
reference any type outside the recorded list.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from groupwise.exceptions import ModelIntegrityError
from groupwise.io import atomic_path, sha256_file

__all__ = ["load_model", "save_model"]


def save_model(model: Any, path: str | os.PathLike) -> dict[str, Any]:
    """Write ``model`` with skops; return ``{"file", "format", "sha256", "trusted_types"}``."""
    import skops
    import skops.io as sio

    dest = Path(path)
    with atomic_path(dest) as tmp:
        sio.dump(model, tmp)
    trusted = sorted(sio.get_untrusted_types(file=dest))
    return {
        "file": dest.name,
        "format": "skops",
        "skops_version": skops.__version__,
        "sha256": sha256_file(dest),
        "trusted_types": trusted,
    }


def load_model(path: str | os.PathLike, *, sha256: str, trusted_types: Sequence[str]) -> Any:
    """Load a model saved by :func:`save_model`, refusing a file changed since.

    Raises :class:`ModelIntegrityError` when the checksum differs or the file asks
    for a type that was not recorded at training.
    """
    import skops.io as sio

    p = Path(path)
    actual = sha256_file(p)
    if actual != sha256:
        raise ModelIntegrityError(
            f"The model file {str(p)!r} was changed after training: its SHA-256 is {actual[:16]}…, "
            f"the run recorded {sha256[:16]}…. Refusing to load it. Retrain, or restore the "
            "original file from a backup."
        )
    wanted = set(sio.get_untrusted_types(file=p))
    extra = sorted(wanted - set(trusted_types))
    if extra:
        raise ModelIntegrityError(
            f"The model file {str(p)!r} references types that were not recorded at training: "
            f"{', '.join(extra)}. Refusing to load it."
        )
    return sio.load(p, trusted=list(trusted_types))
