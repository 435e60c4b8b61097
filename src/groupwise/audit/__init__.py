"""Coded checks for the silent failure modes of a feature table (the README's "Checks").

>>> from groupwise.audit import audit
>>> report = audit(df, TableSpec(target="y", group_col="batch"))  # doctest: +SKIP
>>> report.counts(), report.exit_code("error")                    # doctest: +SKIP

Families: DATA (integrity), LEAK (leakage), GROUP (batches and subjects), MISS
(missingness). The MODEL family, which needs a fitted model, runs inside ``train``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd

from groupwise._progress import NullProgress
from groupwise._validation import check_number
from groupwise.audit._base import (
    SEVERITIES,
    Acceptances,
    Check,
    Finding,
    NotApplicable,
    run_checks,
)
from groupwise.audit._context import AuditContext
from groupwise.audit._data import (
    ClassImbalance,
    ConflictingLabels,
    ConstantColumns,
    DatesAsText,
    DuplicateIds,
    DuplicateRows,
    HighCardinality,
    MissingValues,
    MixedTypes,
    TargetMissing,
    TooFewRows,
)
from groupwise.audit._group import (
    BatchEffectStrength,
    GroupConfounding,
    GroupPredictability,
    GroupSizes,
    TooFewGroups,
    UndeclaredGrouping,
)
from groupwise.audit._leak import (
    IdLikeFeature,
    MultiFeatureReconstruction,
    SameEntityInSeveralGroups,
    SingleFeatureProxy,
    TimeLeakage,
)
from groupwise.audit._miss import MissingnessAsSignal
from groupwise.audit._model import MODEL_CHECKS, ModelContext
from groupwise.audit._report import AuditReport
from groupwise.exceptions import ConfigError, did_you_mean
from groupwise.io import table_fingerprint
from groupwise.spec import ResolvedTable, TableSpec

__all__ = [
    "Acceptances",
    "CHECKS",
    "MODEL_CHECKS",
    "AuditContext",
    "AuditReport",
    "Check",
    "Finding",
    "ModelContext",
    "NotApplicable",
    "SEVERITIES",
    "audit",
    "check_acceptances",
    "run_checks",
]

#: Every data check, by code, in the order they run.
CHECKS: dict[str, type[Check]] = {
    cls.code: cls
    for cls in (
        TooFewRows,
        DuplicateRows,
        DuplicateIds,
        ConstantColumns,
        MissingValues,
        TargetMissing,
        MixedTypes,
        DatesAsText,
        HighCardinality,
        ClassImbalance,
        ConflictingLabels,
        SingleFeatureProxy,
        IdLikeFeature,
        TimeLeakage,
        SameEntityInSeveralGroups,
        MultiFeatureReconstruction,
        GroupConfounding,
        BatchEffectStrength,
        TooFewGroups,
        UndeclaredGrouping,
        GroupSizes,
        GroupPredictability,
        MissingnessAsSignal,
    )
}


def _select(checks: Iterable[str | Check] | None, ignore: Iterable[str]) -> list[Check]:
    known = list(CHECKS)
    ignore = [str(c).upper() for c in ignore]
    for code in ignore:
        if code not in CHECKS:
            raise ConfigError(
                f"Unknown check code {code!r} in ignore.{did_you_mean(code, known)} Known codes: {', '.join(known)}."
            )
    selected: list[Check] = []
    for item in CHECKS if checks is None else checks:
        if isinstance(item, Check):
            selected.append(item)
            continue
        code = str(item).upper()
        if code not in CHECKS:
            raise ConfigError(
                f"Unknown check code {item!r}.{did_you_mean(code, known)} Known codes: {', '.join(known)}."
            )
        selected.append(CHECKS[code]())
    return [c for c in selected if c.code not in ignore]


def audit(
    df: pd.DataFrame,
    spec: TableSpec | ResolvedTable,
    *,
    checks: Sequence[str | Check] | None = None,
    ignore: Iterable[str] = (),
    sample_rows: int = 200_000,
    folds: int = 5,
    random_state: int = 0,
    table_sha256: str | None = None,
    accept=None,
    progress=None,
) -> AuditReport:
    """Run the coded data checks on a table.

    Parameters
    ----------
    df : DataFrame
        The table to audit.
    spec : TableSpec or ResolvedTable
        Column roles; validated (and ``task`` resolved) against ``df``. A table already
        resolved (``spec.resolve(df)``) is used as it is.
    checks : list of str or Check, default=None
        Codes (or instances) to run; all data checks when None.
    ignore : iterable of str, default=()
        Codes to skip.
    sample_rows : int, default=200_000
        Row budget of expensive checks; above it they use a random sample drawn with
        ``random_state`` (the evidence says so).
    folds : int, default=5
        The number of CV folds training will use (GROUP003, LEAK001).
    random_state : int, default=0
        Seed of every random choice.
    table_sha256 : str, default=None
        Checksum recorded in the report (the CLI passes the file's); by default a
        SHA-256 of the DataFrame's content.
    accept : dict of {str: str} or list of str, default=None
        Findings the user acknowledges, as ``"CODE:COLUMN"`` (``"CODE:*"`` for any
        column) mapped to a reason: they stay in the report, marked accepted, and no
        longer count for ``exit_code``.
    progress : Progress, default=None
        Receives one ``advance()`` per check.

    Returns
    -------
    AuditReport
    """
    sample_rows = check_number(sample_rows, "sample_rows", "audit", low=100, integer=True)
    folds = check_number(folds, "folds", "audit", low=2, integer=True)
    random_state = check_number(
        random_state, "random_state", "audit", low=0, high=2**32 - 1, integer=True
    )
    table = spec if isinstance(spec, ResolvedTable) else spec.resolve(df)
    selected = _select(checks, ignore)
    acceptances = check_acceptances(accept, table, allowed=CHECKS)
    ctx = AuditContext(table, folds=folds, sample_rows=sample_rows, random_state=random_state)
    progress = progress or NullProgress()
    with progress.stage("Auditing", total=len(selected)) as bar:
        outcome = run_checks(selected, ctx, progress=bar)
    settings = {"folds": folds, "sample_rows": sample_rows, "random_state": random_state}
    if acceptances:
        settings["accept"] = acceptances.to_dict()
    return AuditReport(
        table={
            "rows": int(len(df)),
            "columns": int(df.shape[1]),
            "sha256": table_sha256 or table_fingerprint(df),
        },
        spec=table.spec.to_dict(),
        findings=tuple(acceptances.apply(outcome.findings)),
        passed=outcome.passed,
        not_applicable=outcome.not_applicable,
        timings=outcome.timings,
        settings=settings,
    )


def check_acceptances(accept, table: ResolvedTable, *, allowed) -> Acceptances:
    """Parse ``accept`` and check every code and column it names (did-you-mean hints)."""
    acceptances = accept if isinstance(accept, Acceptances) else Acceptances(accept)
    known = [*allowed, *(c.code for c in MODEL_CHECKS)]
    columns = list(table.source.columns)
    for code, column in acceptances.rules:
        if code not in known:
            raise ConfigError(
                f"Unknown check code {code!r} in an accepted finding.{did_you_mean(code, known)} "
                f"Known codes: {', '.join(known)}.",
                parameter="accept",
                value=f"{code}:{column}",
            )
        if column != "*" and column not in columns:
            raise ConfigError(
                f"The accepted finding {code}:{column} names a column that is not in the table."
                f"{did_you_mean(column, columns)}",
                parameter="accept",
                value=f"{code}:{column}",
            )
    return acceptances
