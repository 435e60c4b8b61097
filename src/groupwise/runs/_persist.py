"""Safe model persistence (the README's threat model).

Models are written with skops, never loaded with plain pickle. Loading reads the file's
bytes once; the checksum, the type check and the load all use those bytes, so the file
cannot change between the check and the use. The types a model may reference beyond
what skops trusts by default come from :data:`TRUSTED_TYPES`, a fixed list of what
``train`` can produce, never from the run directory; code that trains its own
estimators passes their type names explicitly (``extra_trusted``).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from groupwise.exceptions import ModelIntegrityError
from groupwise.io import atomic_path

__all__ = ["TRUSTED_TYPES", "load_model", "load_model_bytes", "save_model"]

#: Every type outside skops' defaults that a model written by ``train`` can reference
#: (the built-in candidates with and without the lightgbm / xgboost extras, partial
#: pooling, the groupwise transformers, blends, stacks, calibration and rebalancing). A test builds every candidate and checks that
#: this list covers it; a new candidate that needs a type must add it here.
TRUSTED_TYPES: frozenset[str] = frozenset(
    {
        "collections.OrderedDict",
        "functools.partial",
        "numpy.dtype",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.tree._tree.Tree",
        "sklearn.utils.validation.check_array",
        "groupwise.estimators._batch.BatchCorrector",
        "groupwise.estimators._crossfit.Blend",
        "groupwise.estimators._crossfit.Calibrated",
        "groupwise.estimators._crossfit.Stack",
        "groupwise.estimators._imbalance.Rebalanced",
        "groupwise.estimators._pooling.GroupedRidge",
        "groupwise.estimators._pooling.PartialPoolingRegressor",
        "groupwise.estimators._pooling._Encoder",
        "groupwise.estimators._preprocess.DatetimeToNumber",
        "groupwise.estimators._preprocess.ToCategorical",
        "lightgbm.basic.Booster",
        "lightgbm.sklearn.LGBMClassifier",
        "lightgbm.sklearn.LGBMRegressor",
        "xgboost.core.Booster",
        "xgboost.sklearn.XGBClassifier",
        "xgboost.sklearn.XGBRegressor",
    }
)


def save_model(model: Any, path: str | os.PathLike) -> dict[str, Any]:
    """Write ``model`` with skops; return ``{"file", "format", "sha256", "trusted_types"}``.

    ``trusted_types`` records, for information, the types the file needs beyond skops'
    defaults; loading checks them against :data:`TRUSTED_TYPES`, not against this record.
    """
    import skops
    import skops.io as sio

    data = sio.dumps(model)
    dest = Path(path)
    with atomic_path(dest) as tmp:
        tmp.write_bytes(data)
    return {
        "file": dest.name,
        "format": "skops",
        "skops_version": skops.__version__,
        "sha256": hashlib.sha256(data).hexdigest(),
        "trusted_types": sorted(sio.get_untrusted_types(data=data)),
    }


def load_model_bytes(
    data: bytes, *, sha256: str, where: str, extra_trusted: Iterable[str] = ()
) -> Any:
    """Load a model from the bytes of a file written by :func:`save_model`.

    Raises :class:`ModelIntegrityError` when the bytes do not have the recorded SHA-256,
    reference a type outside :data:`TRUSTED_TYPES` (and ``extra_trusted``), or are not a
    readable skops file.
    """
    import skops.io as sio

    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise ModelIntegrityError(
            f"The model file {where} was changed after training: its SHA-256 is {actual[:16]}…, "
            f"the run recorded {str(sha256)[:16]}…. Refusing to load it. Retrain, or restore the "
            "original file from a backup."
        )
    try:
        wanted = set(sio.get_untrusted_types(data=data))
    except Exception as exc:  # a corrupt archive: zipfile, json and skops errors
        raise ModelIntegrityError(
            f"The model file {where} is not a readable skops file ({type(exc).__name__}: {exc}). "
            "Refusing to load it; retrain, or restore the original run directory."
        ) from None
    allowed = TRUSTED_TYPES | set(extra_trusted)
    extra = sorted(wanted - allowed)
    if extra:
        raise ModelIntegrityError(
            f"The model file {where} references types groupwise does not trust: "
            f"{', '.join(extra)}. Refusing to load it. A model trained by groupwise only uses "
            "the built-in list (groupwise.runs.TRUSTED_TYPES); if you trained a custom "
            "estimator yourself, pass its types explicitly: load_run(..., extra_trusted=[...])."
        )
    try:
        return sio.loads(data, trusted=sorted(wanted))
    except Exception as exc:
        raise ModelIntegrityError(
            f"The model file {where} could not be loaded ({type(exc).__name__}: {exc}). "
            "Refusing to use it; retrain, or restore the original run directory."
        ) from None


def load_model(path: str | os.PathLike, *, sha256: str, extra_trusted: Iterable[str] = ()) -> Any:
    """Load a model saved by :func:`save_model` (its bytes are read once)."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ModelIntegrityError(
            f"Cannot read the model file {str(p)!r}: {exc.strerror or exc}."
        ) from None
    return load_model_bytes(data, sha256=sha256, where=repr(str(p)), extra_trusted=extra_trusted)
