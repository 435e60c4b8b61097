"""Prediction over a partitioned Parquet dataset, one output file per input partition.

Two passes through an executor (local workers or a Dask cluster, the same code):

1. **validate** every partition (a task each); the violation report is summed over
   partitions; any error-level violation stops the job before anything is written;
2. **score** every partition with the model shipped to the workers once
   (``executor.share``): each task writes its output atomically (temporary file, then
   rename) next to where the manifest will list it, and returns its row count, SHA-256 and
   ids checksum, which are checked against the first pass.

``_manifest.json`` (partition → output, rows, SHA-256) is written last, atomically; if any
task fails, no manifest is written, the outputs this job wrote are removed (best effort: a
task still running elsewhere may finish later, unlisted), and the error names the
partition that failed. A hive-partitioned tree (``site=A/part-0.parquet``)
gives its keys back as columns, and its layout is kept under the output directory.
"""

from __future__ import annotations

import dataclasses
import glob
import hashlib
import os
from pathlib import Path
from typing import Any

import pandas as pd

from groupwise._parallel import share_fitted
from groupwise.exceptions import ConfigError, GroupwiseError, SchemaViolationError

__all__ = ["MANIFEST", "Partition", "PartitionFailed", "find_partitions", "predict_partitions"]

MANIFEST = "_manifest.json"


@dataclasses.dataclass(frozen=True)
class Partition:
    """One input file: its path, its name relative to the dataset root, hive keys."""

    path: str
    name: str
    keys: tuple[tuple[str, str], ...] = ()

    def read(self) -> pd.DataFrame:
        from groupwise.io import read_table

        df = read_table(self.path)
        for k, v in self.keys:
            if k not in df.columns:
                df[k] = v
        return df


def _hive_keys(rel: Path) -> tuple[tuple[str, str], ...]:
    return tuple(
        tuple(part.split("=", 1))  # type: ignore[misc]
        for part in rel.parts[:-1]
        if "=" in part and not part.startswith("=")
    )


def find_partitions(source: str | os.PathLike) -> list[Partition]:
    """The Parquet files of a directory (recursively; hive ``key=value`` directories
    become columns) or of a glob pattern, in sorted order."""
    text = os.fspath(source)
    if any(ch in text for ch in "*?["):
        root = Path(glob.escape(text).split("*")[0]).parent if "*" in text else Path(text).parent
        paths = sorted(Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file())
        base = Path(os.path.commonpath([str(p.parent) for p in paths])) if paths else root
    else:
        base = Path(text)
        if not base.is_dir():
            raise ConfigError(f"{text!r} is not a directory or a glob of Parquet files.")
        paths = sorted(
            p
            for p in base.rglob("*.parquet")
            if p.is_file() and not any(s.startswith((".", "_")) for s in p.relative_to(base).parts)
        )
    if not paths:
        raise ConfigError(
            f"No Parquet files in {text!r}. Give a directory of .parquet files (hive "
            "'key=value' subdirectories allowed) or a glob such as 'data/*.parquet'."
        )
    out = []
    for p in paths:
        rel = p.relative_to(base)
        out.append(Partition(str(p), rel.as_posix(), _hive_keys(rel)))
    return out


def _ids_digest(frame: pd.DataFrame, ids: list[str]) -> str:
    h = hashlib.sha256()
    for c in ids:
        h.update(pd.util.hash_pandas_object(frame[c].astype(str), index=False).to_numpy().tobytes())
    return h.hexdigest()


def _validate(task, threads):
    predictor, part, on_bad_values = task
    df = part.read()
    X, report = predictor.validate_frame(df, on_bad_values=on_bad_values)
    ids = [c for c in predictor.schema.id_cols if c in df.columns]
    return {"rows": len(df), "report": report, "ids": _ids_digest(df, ids)}


class PartitionFailed(Exception):
    """A partition's task raised; carries the partition's name across processes."""

    def __init__(self, name: str, message: str):
        super().__init__(name, message)
        self.partition, self.message = name, message

    def __str__(self) -> str:
        return f"partition {self.partition}: {self.message}"


def _score(task, threads):
    try:
        return _score_one(task)
    except Exception as exc:
        raise PartitionFailed(task[1].name, f"{type(exc).__name__}: {exc}") from None


def _score_one(task):
    from groupwise.io import atomic_path, sha256_file
    from groupwise.predict._predict import _Writer

    predictor, part, out_path, on_bad_values, keep = task
    df = part.read()
    X, report = predictor.validate_frame(df, on_bad_values=on_bad_values)
    if not report.ok:  # the input changed between the passes
        raise SchemaViolationError(f"partition {part.name} changed after validation", report)
    passed = [c for c in [*predictor.schema.id_cols, *keep] if c in df.columns]
    lead = df[list(dict.fromkeys(passed))].reset_index(drop=True)
    frame = predictor.format(predictor.raw(X), lead if len(lead.columns) else None)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_path) as tmp:
        writer = _Writer(tmp, "parquet", predictor.metadata())
        try:
            writer.write(frame)
        finally:
            writer.close()
    ids = [c for c in predictor.schema.id_cols if c in frame.columns]
    return {"rows": len(frame), "sha256": sha256_file(out_path), "ids": _ids_digest(frame, ids)}


def predict_partitions(
    predictor, source, out_dir, *, executor, on_bad_values: str = "error",
    keep=(), progress=None, run_id: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Validate, then score every partition of ``source`` into ``out_dir`` (see the module
    docstring). Raises :class:`SchemaViolationError` (nothing written) when any partition
    has errors; returns the manifest."""
    from groupwise.io import write_json
    from groupwise.predict._schema import ValidationReport

    parts = find_partitions(source)
    out_dir = Path(out_dir)
    resolved = {Path(p.path).resolve() for p in parts}
    if out_dir.resolve() in {r.parent for r in resolved} or any(
        out_dir.resolve() in r.parents for r in resolved
    ):
        raise ConfigError(
            f"--out {str(out_dir)!r} is inside the input dataset; give a directory outside it "
            "so that no output can replace an input partition."
        )
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"--out {str(out_dir)!r} is a file; give a directory for the outputs.")
    stage = progress.stage if progress else None

    def staged(title, fn, tasks):
        if stage is None:
            return executor.map(fn, tasks)
        with stage(title, total=len(tasks)) as bar:
            return executor.map(fn, tasks, on_done=lambda i, r: bar.advance())

    shared = share_fitted(executor, predictor)  # pickled once, here
    checked = staged("Validating partitions", _validate, [(shared, p, on_bad_values) for p in parts])  # fmt: skip
    total = ValidationReport(on_bad_values)  # summed: a missing column counts per partition
    for part, res in zip(parts, checked, strict=True):
        for v in res["report"].violations:
            total.add(v.code, v.column, v.count,
                      [{**e, "partition": part.name} for e in v.examples], v.message)  # fmt: skip
        total.rows += res["rows"]
    if not total.ok:
        bad = [p.name for p, r in zip(parts, checked, strict=True) if not r["report"].ok]
        from groupwise.predict._predict import violation_message

        raise SchemaViolationError(
            violation_message(total, f"{len(bad)} of {len(parts)} partitions ({', '.join(bad[:5])}{'…' if len(bad) > 5 else ''})"),
            total,
        )  # fmt: skip
    outputs = [out_dir / Path(p.name).with_suffix(".parquet") for p in parts]
    keep = list(keep)
    tasks = [(shared, p, str(o), on_bad_values, keep) for p, o in zip(parts, outputs, strict=True)]
    try:
        scored = staged("Predicting partitions", _score, tasks)
    except BaseException as exc:
        for o in outputs:
            o.unlink(missing_ok=True)
        what = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise GroupwiseError(
            f"Prediction over {len(parts)} partitions failed ({what}); no output is listed "
            "(no manifest was written) and the files this job wrote were removed. Fix the "
            "cause and run it again."
        ) from exc
    entries = []
    for part, out, first, res in zip(parts, outputs, checked, scored, strict=True):
        if res["rows"] != first["rows"] or res["ids"] != first["ids"]:
            for o in outputs:
                o.unlink(missing_ok=True)
            raise GroupwiseError(
                f"Partition {part.name}: {res['rows']} predictions for {first['rows']} input rows "
                "(or their ids differ); nothing is listed. Run it again."
            )
        entries.append({"input": part.name, "output": out.relative_to(out_dir).as_posix(),
                        "rows": res["rows"], "sha256": res["sha256"]})  # fmt: skip
    manifest = {
        "format_version": 1,
        "run_id": run_id,
        "source": os.fspath(source),
        "rows": sum(e["rows"] for e in entries),
        "partitions": entries,
        "warnings": [v.to_row() for v in total.violations],
    }
    write_json(manifest, out_dir / MANIFEST)
    return {"manifest": manifest, "report": total, "path": out_dir / MANIFEST}
