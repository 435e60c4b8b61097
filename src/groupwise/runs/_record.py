"""What a finished training hands to the run directory, and the one function that writes it."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from typing import Any

import pandas as pd

from groupwise.io import json_bytes, write_bytes, write_json, write_table, write_text
from groupwise.predict._schema import InputSchema
from groupwise.runs._env import environment, pip_freeze
from groupwise.runs._layout import RunLayout
from groupwise.runs._manifest import write_manifest
from groupwise.runs._meta import RunMeta
from groupwise.runs._persist import save_model

__all__ = ["RunRecord", "write_run"]


@dataclasses.dataclass(frozen=True)
class RunRecord:
    """Everything a run directory holds, as data (no training objects).

    Attributes
    ----------
    meta : RunMeta
        ``run_meta.json`` without the ``model`` entry (filled in when the model is saved).
    model
        The fitted final pipeline.
    schema : InputSchema
        What the model expects as input.
    tables : dict of {str: DataFrame}
        Tables by :class:`RunLayout` file name (``"holdout_predictions"``, ...).
    documents : dict of {str: object}
        JSON documents by :class:`RunLayout` file name (``"holdout_metrics"``, ...).
    table_metadata : dict of {str: dict}
        Parquet key-value metadata per table name.
    audit : tuple of (dict, str) or None
        The data audit as JSON and Markdown.
    """

    meta: RunMeta
    model: Any
    schema: InputSchema
    tables: Mapping[str, pd.DataFrame]
    documents: Mapping[str, Any]
    table_metadata: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    audit: tuple[dict, str] | None = None


def write_run(record: RunRecord, layout: RunLayout) -> RunMeta:
    """Write every file of ``record`` into ``layout`` (a temporary run directory).

    The model is saved first (its SHA-256 and trusted types go into ``run_meta.json``),
    ``run_meta.json`` last. Returns the meta as written.
    """
    layout.make_dirs()
    model_info = save_model(record.model, layout.model)
    schema_sha = _write_covered(record.schema.to_dict(), layout.schema)
    write_json(environment(), layout.env_meta)
    write_text(pip_freeze(), layout.pip_freeze)
    for name, frame in record.tables.items():
        write_table(frame, layout.path(name), metadata=record.table_metadata.get(name))
    for name, doc in record.documents.items():
        write_json(doc, layout.path(name))
    if record.audit is not None:
        audit_json, audit_md = record.audit
        write_json(audit_json, layout.audit_json)
        write_text(audit_md, layout.audit_md)
    meta = dataclasses.replace(record.meta, model=model_info)
    meta_sha = _write_covered(meta.to_dict(), layout.meta)
    write_manifest(
        layout.root,
        {
            RunLayout.FILES["meta"]: meta_sha,
            RunLayout.FILES["schema"]: schema_sha,
            RunLayout.FILES["model"]: model_info["sha256"],
        },
    )
    return meta


def _write_covered(doc: Any, path) -> str:
    """Write a JSON document the manifest covers; the SHA-256 of the bytes written."""
    data = json_bytes(doc)
    write_bytes(data, path)
    return hashlib.sha256(data).hexdigest()
