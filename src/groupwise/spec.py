"""The column roles every stage shares (the README's "Command line" roles)."""

from __future__ import annotations

import dataclasses
import logging
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from groupwise._dates import looks_like_dates
from groupwise._validation import check_choice, check_known_keys
from groupwise.exceptions import (
    ColumnNotFoundError,
    DataError,
    GroupwiseWarning,
    SpecError,
    did_you_mean,
)

__all__ = [
    "MISSING_GROUP",
    "ColumnKinds",
    "ResolvedTable",
    "TableSpec",
    "OUTPUT_COLUMNS",
    "column_kind",
    "infer_task",
    "unsupported_values",
]

logger = logging.getLogger(__name__)

TASKS = ("auto", "classification", "regression")
#: What a group column stands for: technical batches (plates, runs, site visits) whose
#: offsets are nuisance, or units (subjects, persons, firms, schools) whose effect is real.
GROUP_KINDS = ("batch", "unit")
#: An integer (or integral float) target with at most this many distinct values
#: is treated as a class label when ``task="auto"``.
MAX_CLASSES_AUTO = 10
#: The one label of rows without a group value: together they form one group.
MISSING_GROUP = "(missing)"
#: Columns of a prediction output; an id column may not take one of these names (nor proba_*).
OUTPUT_COLUMNS = ("prediction", "score")
#: The kinds a feature column can have, in the one vocabulary every stage uses.
KINDS = ("numeric", "bool", "categorical", "datetime")


def _as_tuple(value, name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Iterable):
        out = tuple(value)
        for v in out:
            if not isinstance(v, str):
                raise SpecError(
                    f"The {name!r} parameter of TableSpec must be a list of column names. "
                    f"Got {v!r} of type {type(v).__name__} in it."
                )
        return out
    raise SpecError(
        f"The {name!r} parameter of TableSpec must be a column name or a list of them. "
        f"Got {value!r} instead."
    )


@dataclasses.dataclass(frozen=True)
class TableSpec:
    """Which column plays which role.

    Parameters
    ----------
    target : str
        The column to predict.
    task : {"auto", "classification", "regression"}, default="auto"
        ``"auto"`` picks classification for bool, text and categorical targets and
        for integer targets with at most 10 distinct values; regression otherwise.
    pos_label : scalar, default=None
        The positive class of a binary target. ``None``: the larger label for
        numbers and booleans (1, True); for text, the class whose name says
        positive (``1``, ``true``, ``yes``, ``positive``, ``case``, ``event``, ...) or
        whose partner says negative (``0``, ``no``, ``control``, ``normal``, a
        ``non-``/``not `` prefix, ...); otherwise the less frequent class.
    id_cols : tuple of str, default=()
        Identifiers, carried into predictions, never used as features.
    group_col : str, default=None
        Batch / plate / site / subject. Used to split and to diagnose, never as a feature.
    group_kind : {"batch", "unit"}, default="batch"
        ``"batch"``: a technical grouping (plate, run, site visit) whose offsets are
        nuisance, so a group tied to the target is a defect. ``"unit"``: subjects,
        patients, persons, firms, schools, whose effect on the target is real; what
        matters is that no unit crosses a split. The audit's checks and advice follow it.
    time_col : str, default=None
        Time stamp; the split respects time order. Never a feature.
    drop_cols : tuple of str, default=()
        Columns to ignore entirely.

    Notes
    -----
    Features are all columns minus the target, id, group, time and dropped columns.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "batch": list("aabb"), "y": [0, 1, 0, 1]})
    >>> table = TableSpec(target="y", group_col="batch").resolve(df)
    >>> table.task, table.features, table.classes, table.groups.tolist()
    ('classification', ('x',), (0, 1), [0, 0, 1, 1])
    """

    target: str
    task: str = "auto"
    pos_label: Any = None
    id_cols: tuple[str, ...] = ()
    group_col: str | None = None
    time_col: str | None = None
    drop_cols: tuple[str, ...] = ()
    group_kind: str = "batch"

    def __post_init__(self):
        if not isinstance(self.target, str) or not self.target:
            raise SpecError(
                f"The 'target' parameter of TableSpec must be a column name. Got {self.target!r} instead."
            )
        check_choice(self.task, "task", "TableSpec", TASKS)
        check_choice(self.group_kind, "group_kind", "TableSpec", GROUP_KINDS)
        object.__setattr__(self, "id_cols", _as_tuple(self.id_cols, "id_cols"))
        object.__setattr__(self, "drop_cols", _as_tuple(self.drop_cols, "drop_cols"))
        for name in ("group_col", "time_col"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise SpecError(
                    f"The {name!r} parameter of TableSpec must be a column name or None. "
                    f"Got {value!r} instead."
                )
        reserved = [c for c in self.id_cols if c in OUTPUT_COLUMNS or c.startswith("proba_")]
        if reserved:
            raise SpecError(
                f"Id column {reserved[0]!r} has the name of a prediction output column "
                f"({', '.join(OUTPUT_COLUMNS)}, proba_<class>); predictions could not hold both. "
                "Rename the column before training."
            )
        roles = self.roles()
        seen: dict[str, str] = {}
        for role, cols in roles.items():
            for c in cols:
                if c in seen:
                    raise SpecError(
                        f"Column {c!r} is given two roles: {seen[c]} and {role}. "
                        "Each column can have only one role; remove it from one of them."
                    )
                seen[c] = role

    # ------------------------------------------------------------------ roles
    def roles(self) -> dict[str, tuple[str, ...]]:
        """Columns per role (only roles that are set)."""
        out = {"target": (self.target,)}
        if self.id_cols:
            out["id_cols"] = self.id_cols
        if self.group_col:
            out["group_col"] = (self.group_col,)
        if self.time_col:
            out["time_col"] = (self.time_col,)
        if self.drop_cols:
            out["drop_cols"] = self.drop_cols
        return out

    @property
    def non_feature_columns(self) -> tuple[str, ...]:
        """Target, ids, group, time and dropped columns."""
        return tuple(c for cols in self.roles().values() for c in cols)

    def features(self, df: pd.DataFrame | Iterable[str]) -> list[str]:
        """Feature columns of ``df`` (or of a list of column names), in table order."""
        columns = df.columns if isinstance(df, pd.DataFrame) else list(df)
        excluded = set(self.non_feature_columns)
        return [str(c) for c in columns if c not in excluded]

    # ------------------------------------------------------------- validation
    def check_columns(self, columns: Iterable[str]) -> None:
        """Raise :class:`ColumnNotFoundError` for every named column not in ``columns``."""
        available = [str(c) for c in columns]
        present = set(available)
        missing = [
            (role, c) for role, cols in self.roles().items() for c in cols if c not in present
        ]
        if not missing:
            return
        parts = [f"{role} {c!r}{did_you_mean(c, available)}" for role, c in missing]
        shown = ", ".join(repr(c) for c in available[:30])
        more = f" ... and {len(available) - 30} more" if len(available) > 30 else ""
        raise ColumnNotFoundError(
            f"Column(s) not found in the table: {'; '.join(parts)} "
            f"Available columns: {shown}{more}."
        )

    def resolve(self, df: pd.DataFrame) -> ResolvedTable:
        """Validate against ``df`` and encode it once for every stage.

        Returns a :class:`ResolvedTable`: the spec with ``task`` and ``pos_label``
        decided, the rows with a target, the class codes, the group codes and the kind of
        every feature. Raises :class:`ColumnNotFoundError` for unknown columns and
        :class:`DataError` for an empty table, a target without values or without
        features. A target with missing values gives one :class:`GroupwiseWarning` with
        the number of rows that training will drop.
        """
        if not isinstance(df, pd.DataFrame):
            raise DataError(f"Expected a pandas DataFrame. Got {type(df).__name__} instead.")
        duplicated = sorted({str(c) for c in df.columns[df.columns.duplicated()]})
        if duplicated:
            raise DataError(
                f"Column name(s) {', '.join(map(repr, duplicated))} appear more than once in the "
                "table; a column must be named once. Rename or drop the duplicates."
            )
        self.check_columns(df.columns)
        if len(df) == 0:
            raise DataError("The table has no rows; expected at least one row of data.")
        features = self.features(df)
        if not features:
            raise DataError(
                "The table has no feature columns left after removing "
                f"{', '.join(repr(c) for c in self.non_feature_columns)}. "
                "Check the roles you gave (--id, --group, --time, --drop)."
            )
        for c in (*features, *self.id_cols, self.group_col, self.time_col):
            if c is not None and (what := unsupported_values(df[c])):
                raise DataError(
                    f"Column {c!r} holds {what}, which groupwise cannot use as a table value. "
                    "Expected numbers, booleans, text or dates in every column: decode bytes to "
                    "text, flatten lists and structs into columns of their own, or drop the "
                    "column (--drop)."
                )
        y = df[self.target]
        if what := unsupported_values(y):
            raise DataError(
                f"The target column {self.target!r} holds {what}; expected numbers, booleans or text."
            )
        n_missing = int(y.isna().sum())
        if n_missing == len(y):
            raise DataError(
                f"The target column {self.target!r} has no values (all {len(y)} rows are missing)."
            )
        if n_missing:
            message = (
                f"The target column {self.target!r} is missing in {n_missing} of {len(y)} rows; "
                "those rows will be dropped before training."
            )
            warnings.warn(message, GroupwiseWarning, stacklevel=2)
        task, _reason = infer_task(y) if self.task == "auto" else (self.task, "given")
        if task == "regression" and not pd.api.types.is_numeric_dtype(y.dtype):
            raise DataError(
                f"task='regression' needs a numeric target, but {self.target!r} has dtype "
                f"{y.dtype} (for example {y.dropna().iloc[0]!r}). Use task='classification' "
                "or convert the column to numbers."
            )
        pos_label = self.pos_label
        if task == "classification":
            labels = pd.unique(y.dropna())
            if len(labels) < 2:
                raise DataError(
                    f"The target column {self.target!r} has a single class ({labels[0]!r}); "
                    "classification needs at least two."
                )
            if len(labels) == 2:
                pos_label = resolve_pos_label(y, self.pos_label)
            elif self.pos_label is not None:
                raise SpecError(
                    f"pos_label={self.pos_label!r} applies to binary targets, but {self.target!r} "
                    f"has {len(labels)} classes. Remove pos_label."
                )
        elif self.pos_label is not None:
            raise SpecError(
                f"pos_label={self.pos_label!r} applies to classification, but the task is "
                "regression. Remove pos_label or set task='classification'."
            )
        spec = dataclasses.replace(self, task=task, pos_label=_plain(pos_label))
        return ResolvedTable._encode(spec, df, tuple(features), n_missing)

    # ------------------------------------------------------------ persistence
    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (round-trips with :meth:`from_dict`)."""
        return {
            "target": self.target,
            "task": self.task,
            "pos_label": _plain(self.pos_label),
            "id_cols": list(self.id_cols),
            "group_col": self.group_col,
            "time_col": self.time_col,
            "drop_cols": list(self.drop_cols),
            "group_kind": self.group_kind,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TableSpec:
        check_known_keys(data.keys(), [f.name for f in dataclasses.fields(cls)], "TableSpec")
        return cls(**dict(data))


def _plain(value):
    """numpy scalars → Python scalars so the spec stays JSON-safe."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def infer_task(y: pd.Series) -> tuple[str, str]:
    """Return ``(task, reason)`` for a target column."""
    values = y.dropna()
    dtype = y.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "classification", "boolean target"
    if isinstance(dtype, pd.CategoricalDtype):
        return "classification", "categorical target"
    if not pd.api.types.is_numeric_dtype(dtype):
        return "classification", f"non-numeric target (dtype {dtype})"
    n_unique = int(values.nunique())
    integral = pd.api.types.is_integer_dtype(dtype) or bool(
        np.all(np.equal(np.mod(values.to_numpy(dtype=float), 1), 0))
    )
    if integral and n_unique <= MAX_CLASSES_AUTO:
        return "classification", f"integer target with {n_unique} distinct values"
    return "regression", f"numeric target with {n_unique} distinct values"


_POSITIVE_NAMES = frozenset({
    "1", "true", "t", "yes", "y", "positive", "pos", "case", "cases", "event", "events",
    "disease", "diseased", "present", "abnormal", "malignant", "sick", "ill", "fail",
    "failure", "failed", "dead", "died", "death", "churn", "churned", "fraud", "default",
    "defaulted", "responder", "response", "success", "hit", "active", "affected", "tumor",
})  # fmt: skip
_NEGATIVE_NAMES = frozenset({
    "0", "false", "f", "no", "n", "negative", "neg", "control", "controls", "none",
    "absent", "normal", "benign", "healthy", "alive", "survived", "pass", "passed", "ok",
    "non-event", "nonresponder", "non-responder", "inactive", "unaffected", "other", "rest",
})  # fmt: skip


def _says(label) -> str | None:
    """Whether a class name reads as the positive or the negative class of a binary target.

    >>> _says("Yes"), _says("control"), _says("Non-democracy"), _says("Democracy")
    ('positive', 'negative', 'negative', None)
    """
    text = str(label).strip().lower().replace("_", " ")
    if text in _POSITIVE_NAMES:
        return "positive"
    if text in _NEGATIVE_NAMES or text.startswith(("non-", "non ", "not ", "no ", "un-")):
        return "negative"
    return None


def resolve_pos_label(y: pd.Series, pos_label=None):
    """The positive class of a binary target (see :class:`TableSpec`)."""
    labels = list(pd.unique(y.dropna()))
    if pos_label is not None:
        matches = [lab for lab in labels if lab == pos_label or str(lab) == str(pos_label)]
        if not matches:
            raise SpecError(
                f"pos_label={pos_label!r} is not a class of the target; the classes are "
                f"{', '.join(repr(_plain(v)) for v in sorted(labels, key=str))}."
            )
        return matches[0]
    if pd.api.types.is_numeric_dtype(y.dtype) or pd.api.types.is_bool_dtype(y.dtype):
        return max(labels)
    if len(labels) == 2:
        said = [_says(lab) for lab in labels]
        if said.count("positive") == 1 and "positive" in said:
            return labels[said.index("positive")]
        if said.count("negative") == 1:
            return labels[1 - said.index("negative")]
    counts = y.value_counts()
    return (
        counts.index[counts.to_numpy().argmin()]
        if counts.nunique() > 1
        else sorted(labels, key=str)[-1]
    )


def unsupported_values(s: pd.Series) -> str | None:
    """What makes a column unusable as a table value (bytes, lists, structs), or None.

    Examples
    --------
    >>> print(unsupported_values(pd.Series([b"a", b"b"])))
    bytes (e.g. b'a')
    >>> unsupported_values(pd.Series(["a", 1])) is None
    True
    """
    dtype = s.dtype
    if isinstance(dtype, pd.ArrowDtype):
        import pyarrow as pa

        t = dtype.pyarrow_dtype
        if pa.types.is_nested(t) or pa.types.is_binary(t) or pa.types.is_large_binary(t):
            return f"values of Arrow type {t}"
        return None
    if not pd.api.types.is_object_dtype(dtype):
        return None
    inferred = pd.api.types.infer_dtype(s, skipna=True)
    if inferred not in ("bytes", "mixed"):
        return None
    names = {bytes: "bytes", bytearray: "bytes", list: "lists", tuple: "lists", set: "sets",
             dict: "structs (dicts)", np.ndarray: "arrays"}  # fmt: skip
    for v in s.dropna().to_numpy(dtype=object):
        kind = names.get(type(v))
        if kind is not None:
            return f"{kind} (e.g. {_short_repr(v)})"
    return None


def _short_repr(v) -> str:
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


def column_kind(s: pd.Series) -> str:
    """The kind of a feature column: ``numeric``, ``bool``, ``categorical`` or ``datetime``.

    Text that looks like dates is ``datetime`` (read the same way from CSV and Parquet);
    other text and pandas categoricals are ``categorical``. Every stage (audit,
    pipelines, the prediction schema) uses this one vocabulary.
    """
    d = s.dtype
    if pd.api.types.is_bool_dtype(d):
        return "bool"
    if pd.api.types.is_numeric_dtype(d):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(d):
        return "datetime"
    if not isinstance(d, pd.CategoricalDtype) and looks_like_dates(s):
        return "datetime"
    return "categorical"


@dataclasses.dataclass(frozen=True)
class ColumnKinds:
    """Feature columns by kind.

    ``numeric`` holds numbers *and* booleans (the pipelines impute and scale both);
    ``bool`` lists the booleans among them.
    """

    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    datetime: tuple[str, ...]
    bool: tuple[str, ...] = ()

    @classmethod
    def of(cls, df: pd.DataFrame, columns: Iterable[str] | None = None) -> ColumnKinds:
        """Kinds of ``columns`` of ``df`` (every column when None), in table order."""
        cols = list(df.columns if columns is None else columns)
        kind = {c: column_kind(df[c]) for c in cols}
        return cls(
            numeric=tuple(c for c in cols if kind[c] in ("numeric", "bool")),
            categorical=tuple(c for c in cols if kind[c] == "categorical"),
            datetime=tuple(c for c in cols if kind[c] == "datetime"),
            bool=tuple(c for c in cols if kind[c] == "bool"),
        )

    def kind(self, column: str) -> str:
        """The kind of one column (one of ``numeric``, ``bool``, ``categorical``, ``datetime``)."""
        if column in self.bool:
            return "bool"
        if column in self.numeric:
            return "numeric"
        if column in self.categorical:
            return "categorical"
        if column in self.datetime:
            return "datetime"
        raise KeyError(column)

    def to_dict(self) -> dict[str, list[str]]:
        return {k: list(v) for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ColumnKinds:
        return cls(
            **{k: tuple(d.get(k, ())) for k in ("numeric", "categorical", "datetime", "bool")}
        )


def _sorted_codes(values: pd.Series) -> tuple[np.ndarray, list]:
    """Codes of ``values`` in sorted order of the labels (mixed types sort by type, then text)."""
    try:
        codes, uniques = pd.factorize(values, sort=True)
        return codes, list(uniques)
    except TypeError:
        uniques = sorted(pd.unique(values.dropna()), key=lambda v: (type(v).__name__, str(v)))
        lookup = {v: i for i, v in enumerate(uniques)}
        return values.map(lookup).to_numpy(dtype=np.int64), uniques


@dataclasses.dataclass(frozen=True, eq=False)
class ResolvedTable:
    """A table encoded once for every stage (audit, planning, training, evaluation, schema).

    Made by :meth:`TableSpec.resolve`. Rows without a target are left out of ``frame``.

    Attributes
    ----------
    spec : TableSpec
        The roles with ``task`` and ``pos_label`` decided.
    frame : DataFrame
        The rows with a target, positions 0..n-1.
    source : DataFrame
        The table as given (rows without a target included), for checks of the whole table.
    rows_total : int
        Rows of the table before dropping those without a target.
    rows_dropped : int
        Rows without a target.
    features : tuple of str
        Feature columns in table order.
    kinds : ColumnKinds
        The kind of every feature.
    classes : tuple
        Class labels in sorted order (classification), else empty.
    y : ndarray
        Class codes into ``classes`` (int64) or target values (float64).
    pos : int or None
        Code of the positive class of a binary target.
    groups : ndarray or None
        Group code per row (order of first appearance); rows without a group value form
        one group labelled :data:`MISSING_GROUP`.
    group_labels : tuple of str or None
        The label of each group code.
    group_missing : ndarray of bool or None
        Rows whose group value is missing.
    """

    spec: TableSpec
    frame: pd.DataFrame = dataclasses.field(repr=False)
    source: pd.DataFrame = dataclasses.field(repr=False)
    rows_total: int
    rows_dropped: int
    features: tuple[str, ...]
    kinds: ColumnKinds
    classes: tuple
    y: np.ndarray
    pos: int | None
    groups: np.ndarray | None
    group_labels: tuple[str, ...] | None
    group_missing: np.ndarray | None

    @classmethod
    def _encode(
        cls, spec: TableSpec, df: pd.DataFrame, features: tuple[str, ...], n_missing: int
    ) -> ResolvedTable:
        keep = df[spec.target].notna().to_numpy()
        default_index = (
            isinstance(df.index, pd.RangeIndex) and df.index.start == 0 and df.index.step == 1
        )
        frame = df if keep.all() and default_index else df.loc[keep].reset_index(drop=True)
        target = frame[spec.target]
        if spec.task == "classification":
            codes, uniques = _sorted_codes(target)
            classes = tuple(_plain(v) for v in uniques)
            y = np.asarray(codes, dtype=np.int64)
            pos = classes.index(_plain(spec.pos_label)) if len(classes) == 2 else None
        else:
            classes, y, pos = (), target.to_numpy(dtype=np.float64), None
        groups = labels = missing = None
        if spec.group_col:
            g = frame[spec.group_col]
            missing = g.isna().to_numpy()
            codes, uniques = pd.factorize(g.astype(object).where(~missing, MISSING_GROUP))
            groups, labels = codes.astype(np.int64), tuple(str(u) for u in uniques)
        return cls(
            spec=spec, frame=frame, source=df, rows_total=len(df), rows_dropped=n_missing, features=features,
            kinds=ColumnKinds.of(frame, features), classes=classes, y=y, pos=pos, groups=groups,
            group_labels=labels, group_missing=missing,
        )  # fmt: skip

    # ------------------------------------------------------------- the roles
    @property
    def task(self) -> str:
        return self.spec.task

    @property
    def pos_label(self):
        return self.spec.pos_label

    @property
    def target(self) -> str:
        return self.spec.target

    @property
    def group_col(self) -> str | None:
        return self.spec.group_col

    @property
    def time_col(self) -> str | None:
        return self.spec.time_col

    @property
    def id_cols(self) -> tuple[str, ...]:
        return self.spec.id_cols

    @property
    def drop_cols(self) -> tuple[str, ...]:
        return self.spec.drop_cols

    # -------------------------------------------------------- derived values
    @property
    def n(self) -> int:
        """Rows with a target."""
        return len(self.frame)

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def X(self) -> pd.DataFrame:
        """The feature columns of :attr:`frame`."""
        return self.frame[list(self.features)]

    @property
    def n_groups(self) -> int:
        return 0 if self.groups is None else len(self.group_labels)

    def positive_rate(self) -> float | None:
        """Share of positives of a binary target (None otherwise)."""
        return None if self.pos is None else float(np.mean(self.y == self.pos))

    def group_values(self, rows=None) -> np.ndarray | None:
        """The group label of each row (of ``rows`` when given), missing as :data:`MISSING_GROUP`."""
        if self.groups is None:
            return None
        codes = self.groups if rows is None else self.groups[rows]
        return np.asarray(self.group_labels, dtype=object)[codes]

    def label(self, codes) -> list:
        """Class labels of class codes (classification) or the values themselves."""
        if self.task != "classification":
            return list(np.asarray(codes))
        return [self.classes[int(c)] for c in np.asarray(codes)]
