"""Prediction: the same code path for DataFrames and for files streamed in chunks."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from groupwise._parallel import available_cores
from groupwise.estimators._output import predict_output
from groupwise.exceptions import SchemaViolationError
from groupwise.io import (
    atomic_path,
    check_outputs,
    check_writable,
    count_rows,
    iter_table_chunks,
    table_columns,
    table_format,
    write_table,
)
from groupwise.predict._schema import InputSchema, ValidationReport

__all__ = ["Predictor", "format_predictions"]


def proba_column(label: Any) -> str:
    return f"proba_{label}"


def format_predictions(
    out: np.ndarray,
    *,
    task: str,
    classes: Sequence[Any],
    threshold: float | None,
    pos: int | None,
    ids: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Output columns: ids, ``prediction``, ``proba_<class>`` per class, ``score`` (binary);
    ids and ``cluster`` for a clustering run."""
    cols: dict[str, Any] = {}
    if ids is not None:
        for c in ids.columns:
            cols[c] = ids[c].to_numpy()
    if task == "classification":
        labels = np.asarray(classes, dtype=object)
        if len(classes) == 2:
            score = out[:, pos]
            code = np.where(score >= threshold, pos, 1 - pos)
        else:
            code = np.argmax(out, axis=1)
        pred = labels[code]
        with contextlib.suppress(TypeError, ValueError):
            pred = pred.astype(np.asarray(classes).dtype)
        cols["prediction"] = pred
        for k, label in enumerate(classes):
            cols[proba_column(label)] = out[:, k]
        if len(classes) == 2:
            cols["score"] = out[:, pos]
    elif task == "clustering":
        cols["cluster"] = np.asarray(out, dtype=np.int64)
    else:
        cols["prediction"] = out
    return pd.DataFrame(cols)


class Predictor:
    """A fitted pipeline plus everything needed to use it safely on new rows."""

    def __init__(
        self,
        pipeline,
        schema: InputSchema,
        *,
        task: str,
        classes: Sequence[Any],
        threshold: float | None,
        pos: int | None,
    ):
        self.pipeline = pipeline
        self.schema = schema
        self.task = task
        self.classes = list(classes)
        self.threshold = threshold
        self.pos = pos

    # ----------------------------------------------------------------- core
    def raw(self, X: pd.DataFrame) -> np.ndarray:
        """Model outputs for features already coerced by :meth:`validate_frame`:
        probabilities (classification, one column per class) or predictions."""
        return predict_output(self.pipeline, X, self.task, len(self.classes))

    def format(self, raw: np.ndarray, ids: pd.DataFrame | None = None) -> pd.DataFrame:
        """Output columns for raw model outputs (see :func:`format_predictions`)."""
        return format_predictions(
            raw,
            task=self.task,
            classes=self.classes,
            threshold=self.threshold,
            pos=self.pos,
            ids=ids,
        )

    def predict_features(self, X: pd.DataFrame, ids: pd.DataFrame | None = None) -> pd.DataFrame:
        """Predict from feature columns already in training dtypes (the training path)."""
        return self.format(self.raw(X[self.schema.feature_names]), ids)

    def metadata(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "classes": self.classes,
            "threshold": self.threshold,
            "positive_class": None if self.pos is None else self.classes[self.pos],
        }

    # ----------------------------------------------------------- DataFrames
    def validate_frame(
        self, df: pd.DataFrame, *, on_bad_values: str = "error"
    ) -> tuple[pd.DataFrame, ValidationReport]:
        report = ValidationReport(on_bad_values)
        self.schema.check_columns(df.columns, report)
        report.rows = len(df)
        if len(df) == 0:
            report.add("EMPTY_INPUT", None, 1, message="the input has no rows")
        X = self.schema.coerce(df, report)
        return X, report

    def predict_frame(self, df: pd.DataFrame, *, on_bad_values: str = "error") -> pd.DataFrame:
        """Validate ``df`` against the schema, then predict. Raises
        :class:`SchemaViolationError` listing every violation when the input is not usable."""
        return self.predict_checked(df, on_bad_values=on_bad_values)[0]

    def predict_checked(
        self,
        df: pd.DataFrame,
        *,
        on_bad_values: str = "error",
        what: str = "the input",
        augment: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
    ) -> tuple[pd.DataFrame, ValidationReport]:
        """:meth:`predict_frame` that also returns the validation report (its warnings and
        notices: unseen categories, out-of-range numbers, extra columns). ``augment(X)``
        (X: the coerced features) returns columns appended to the output."""
        X, report = self.validate_frame(df, on_bad_values=on_bad_values)
        if not report.ok:
            raise SchemaViolationError(violation_message(report, what), report)
        ids = df[[c for c in self.schema.id_cols if c in df.columns]].reset_index(drop=True)
        frame = self.format(self.raw(X), ids if len(ids.columns) else None)
        return _augmented(frame, X, augment), report

    # ---------------------------------------------------------------- files
    def validate_file(
        self, path, *, chunk_rows: int, on_bad_values: str, progress=None
    ) -> ValidationReport:
        """One streaming pass over ``path``: every violation, nothing predicted."""
        report = ValidationReport(on_bad_values)
        self.schema.check_columns(table_columns(path), report)
        offset = 0
        with progress.stage("Validating input") if progress else contextlib.nullcontext() as bar:
            for chunk in _chunks(path, chunk_rows):
                self.schema.coerce(chunk, report, row_offset=offset)
                offset += len(chunk)
                if bar is not None:
                    bar.advance(len(chunk))
        report.rows = offset
        if offset == 0:
            report.add("EMPTY_INPUT", None, 1, message="the input has no rows")
        return report

    def passthrough(self, columns: Sequence[str], keep: Sequence[str] = ()) -> list[str]:
        """The input columns copied to the output, in order: the id columns present, then
        ``keep`` (each must be in ``columns``; a ConfigError says which is not)."""
        from groupwise.exceptions import ConfigError, did_you_mean

        present = [str(c) for c in columns]
        out = [c for c in self.schema.id_cols if c in present]
        for c in keep:
            if c not in present:
                raise ConfigError(
                    f"--keep {c!r} is not a column of the input.{did_you_mean(c, present)}"
                )
            if c == "prediction" or c == "score" or c.startswith("proba_"):
                raise ConfigError(
                    f"--keep {c!r} would collide with an output column (prediction, score, "
                    "proba_*). Rename the column in the input."
                )
            if c not in out:
                out.append(c)
        return out

    def predict_file(
        self,
        input_path,
        output_path,
        *,
        chunk_rows: int = 100_000,
        on_bad_values: str = "error",
        keep: Sequence[str] = (),
        progress=None,
        augment: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
    ) -> dict[str, Any]:
        """Validate and predict the input chunk by chunk into ``output_path`` (one pass).

        The output is written to a temporary file in its directory and renamed only when
        the whole input passed; on any failure or violation no output file exists. Violations (if any) are written
        to ``<output>.violations.csv``. Raises :class:`SchemaViolationError` when the
        input has errors. ``keep``: input columns copied to the output after the ids
        (see :meth:`passthrough`). ``augment(X)`` returns columns appended to each
        chunk's output (``predict --explain``).
        """
        from threadpoolctl import threadpool_limits

        input_path, output_path = Path(input_path), Path(output_path)
        out_fmt = table_format(output_path)
        table_format(input_path)
        violations_path = violations_path_for(output_path)
        check_outputs(
            {"to predict": input_path},
            {"the output": output_path, "the violations report": violations_path},
        )
        check_writable(output_path)
        check_writable(violations_path)
        columns = table_columns(input_path)
        ids_present = self.passthrough(columns, keep)  # before the long pass
        # One pass: every chunk is validated, and predicted while no error has been seen;
        # the output goes to a temporary file that is renamed only if the whole input
        # passed (the input is read once, not once to validate and once to predict).
        report = ValidationReport(on_bad_values)
        self.schema.check_columns(columns, report)
        total = count_rows(input_path) if table_format(input_path) == "parquet" else None
        written = offset = 0
        meta = self.metadata()
        try:
            with atomic_path(output_path) as tmp, threadpool_limits(available_cores()):
                writer = _Writer(
                    tmp, out_fmt, meta, id_types=_id_types(input_path, ids_present),
                    gzip=output_path.name.lower().endswith(".gz"),
                )  # fmt: skip
                try:
                    with (
                        progress.stage("Validating and predicting", total=total)
                        if progress
                        else contextlib.nullcontext() as bar
                    ):
                        for chunk in _chunks(input_path, chunk_rows):
                            X = self.schema.coerce(chunk, report, row_offset=offset)
                            offset += len(chunk)
                            if report.ok and len(chunk):  # a header-only CSV yields no rows
                                ids = chunk[ids_present].reset_index(drop=True) if ids_present else None  # fmt: skip
                                frame = _augmented(self.format(self.raw(X), ids), X, augment)
                                writer.write(frame)
                                written += len(frame)
                            if bar is not None:
                                bar.advance(len(chunk))
                finally:
                    writer.close()
                report.rows = offset
                if offset == 0:
                    report.add("EMPTY_INPUT", None, 1, message="the input has no rows")
                if not report.ok:
                    raise _Refused
                if written != offset:  # pragma: no cover - guards the contract
                    raise RuntimeError(f"wrote {written} predictions for {offset} input rows")
        except _Refused:
            pass  # the temporary output is gone; the violations are reported below
        if report.violations:
            write_table(report.frame(), violations_path)
        elif violations_path.exists():
            violations_path.unlink()
        if not report.ok:
            raise SchemaViolationError(
                violation_message(report, str(input_path), violations_path), report
            )
        return {
            "rows": written,
            "output": str(output_path),
            "violations": str(violations_path) if report.violations else None,
            "report": report,
        }


def _augmented(frame: pd.DataFrame, X: pd.DataFrame, augment) -> pd.DataFrame:
    if augment is None:
        return frame
    extra = augment(X.reset_index(drop=True))
    return pd.concat([frame, extra.set_axis(frame.index)], axis=1)


class _Refused(Exception):
    """The input has errors: unwinds the temporary output without writing it."""


def violations_path_for(output_path: Path) -> Path:
    return output_path.with_name(output_path.name + ".violations.csv")


def violation_message(
    report: ValidationReport, what: str, violations_path: Path | None = None
) -> str:
    lines = [f"{what} does not match the model's input schema ({len(report.errors)} problem(s)):"]
    for v in report.errors:
        ex = ""
        if v.examples:
            ex = " e.g. " + ", ".join(f"row {e['row']}: {e['value']!r}" for e in v.examples[:3])
        where = f" [{v.column}]" if v.column else ""
        count = f" ({v.count} value(s))" if v.code == "UNCOERCIBLE_VALUE" else ""
        lines.append(f"  {v.code}{where}: {v.message}{count}{ex}")
    fixes = {
        "MISSING_COLUMN": "add the missing columns (names are case-sensitive)",
        "FORBIDDEN_COLUMN": "drop the target column from the input",
        "UNCOERCIBLE_VALUE": "fix the values, or pass --on-bad-values null to predict them as missing",
        "EMPTY_INPUT": "give a file with at least one row",
    }
    todo = [fixes[c] for c in dict.fromkeys(v.code for v in report.errors) if c in fixes]
    lines.append("Fix: " + "; ".join(todo) + ".")
    if violations_path is not None:
        lines.append(f"Every violation is listed in {str(violations_path)!r}.")
    return "\n".join(lines)


def _chunks(path: Path, chunk_rows: int):
    fmt = table_format(path)
    if fmt == "parquet":
        yield from iter_table_chunks(path, chunk_rows=chunk_rows)
    else:  # read text as text: coercion to the training dtypes is explicit
        yield from iter_table_chunks(path, chunk_rows=chunk_rows, dtype=str)


def _id_types(path: Path, ids: Sequence[str]) -> dict[str, Any]:
    """Arrow types of the id columns in the output: the input's own (Parquet) or text (CSV,
    read as text), fixed before the first chunk so that a chunk of missing ids is no
    different from any other."""
    import pyarrow as pa

    if not ids:
        return {}
    if table_format(path) == "parquet":
        import pyarrow.parquet as pq

        schema = pq.read_schema(path)
        types = {c: schema.field(c).type for c in ids}
        return {c: (pa.string() if pa.types.is_null(t) else t) for c, t in types.items()}
    return dict.fromkeys(ids, pa.string())


class _Writer:
    """Appends prediction chunks to one Parquet or CSV file (gzip-compressed for .gz)."""

    def __init__(
        self,
        path: Path,
        fmt: str,
        meta: dict[str, Any],
        *,
        id_types: dict[str, Any] | None = None,
        gzip: bool = False,
    ):
        self.path, self.fmt, self.meta = path, fmt, meta
        self.id_types = dict(id_types or {})
        self._pq = None
        self._schema = None
        self._first = True
        self._fh = None
        if fmt != "parquet":
            import gzip as _gzip

            self._fh = (
                _gzip.open(path, "wt", encoding="utf-8", newline="")  # noqa: SIM115
                if gzip
                else open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115
            )

    def write(self, frame: pd.DataFrame) -> None:
        if self.fmt == "parquet":
            self._write_parquet(frame)
        else:
            sep = "\t" if self.fmt == "tsv" else ","
            frame.to_csv(self._fh, header=self._first, index=False, sep=sep)
        self._first = False

    def _write_parquet(self, frame: pd.DataFrame) -> None:
        import json

        import pyarrow as pa
        import pyarrow.parquet as pq

        from groupwise.io import to_jsonable

        arrays = [
            pa.array(frame[c], type=self.id_types.get(c), from_pandas=True) for c in frame.columns
        ]
        table = pa.Table.from_arrays(arrays, names=[str(c) for c in frame.columns])
        if self._pq is None:
            extra = {
                f"groupwise.{k}".encode(): json.dumps(to_jsonable(v)).encode()
                for k, v in self.meta.items()
            }
            self._schema = table.schema.with_metadata(extra)
            self._pq = pq.ParquetWriter(self.path, self._schema, write_page_checksum=True)
        self._pq.write_table(table.cast(self._schema))

    def close(self) -> None:
        if self._pq is not None:
            self._pq.close()
        if self._fh is not None:
            self._fh.close()
