"""``groupwise monitor``: new data compared with the run's reference, chunk by chunk.

Per chunk (a batch, a time window, or one input file):

- every feature's divergence from the reference with a p-value calibrated at the chunk's
  size on the reference's own variation (between training groups when the run has
  groups), Benjamini–Hochberg across the features;
- the same test for the model's output (prediction drift) and for the PCA
  reconstruction error of the encoded rows (multivariate drift);
- data quality: missing shares, unseen categories, numbers outside the training range;
- performance estimated without labels (and measured, when the chunk has labels).

A chunk's status is ``alert`` when the estimated primary metric is worse than the end of
the run's promised interval by more than two of its standard errors at the chunk's size, or the measured one's interval lies entirely beyond it (as
``evaluate`` says "below"); ``warning`` when any drift test or data-quality check fires;
else ``ok``.
"""

from __future__ import annotations

import dataclasses
import re
from contextlib import nullcontext
from typing import Any

import numpy as np
import pandas as pd

from groupwise._parallel import share_fitted
from groupwise.drift import RECONSTRUCTION, SCORE, Reference, benjamini_hochberg, drift_test
from groupwise.drift._bins import MAX_KNOWN_GROUPS
from groupwise.evaluation._metrics import GREATER_IS_BETTER, MetricSet, metric_names
from groupwise.exceptions import ColumnNotFoundError, ConfigError, DataError, SchemaViolationError

__all__ = [
    "ChunkResult",
    "MIN_CHUNK_ROWS",
    "MonitorResult",
    "QUALITY_SHARE",
    "monitor_frames",
    "reference_from_table",
]

#: Chunks with fewer rows are reported but not tested.
MIN_CHUNK_ROWS = 30
#: A feature with at least this share of unseen categories or out-of-range numbers is a
#: data-quality warning.
QUALITY_SHARE = 0.01
#: Bootstrap draws (and rows at most) of the estimated metric's standard error.
SE_DRAWS = 40
SE_ROWS = 5_000
#: Bootstrap resamples of a chunk's measured interval.
REALISED_RESAMPLES = 300
STATUS_ORDER = {"ok": 0, "warning": 1, "alert": 2, "too few rows": 0}


@dataclasses.dataclass
class ChunkResult:
    """One chunk's tests (``features`` has one row per feature)."""

    chunk: str
    rows: int
    groups_in_chunk: float
    status: str
    reasons: list[str]
    features: pd.DataFrame
    output: dict[str, Any] | None
    multivariate: dict[str, Any] | None
    estimated: dict[str, float]
    realised: dict[str, float]
    known_group_share: float = 0.0

    @property
    def drifted(self) -> list[str]:
        if not len(self.features):
            return []
        return self.features.loc[self.features["drifted"], "feature"].tolist()

    def to_dict(self) -> dict[str, Any]:
        return {
            "chunk": self.chunk, "rows": self.rows, "groups_in_chunk": self.groups_in_chunk,
            "status": self.status, "reasons": self.reasons, "drifted_features": self.drifted,
            "known_group_share": self.known_group_share,
            "output_drift": self.output, "multivariate_drift": self.multivariate,
            "estimated": self.estimated, "realised": self.realised,
            "features": self.features.to_dict("records"),
        }  # fmt: skip


@dataclasses.dataclass
class MonitorResult:
    """What ``groupwise monitor`` found (``to_dict()`` is ``monitor.json``)."""

    run_id: str
    task: str
    metric: str
    chunking: str
    alpha: float
    reference: dict[str, Any]
    promised: dict[str, dict[str, float]]
    chunks: list[ChunkResult]
    assumptions: list[str]
    notes: list[str]

    @property
    def status(self) -> str:
        worst = max((STATUS_ORDER.get(c.status, 0) for c in self.chunks), default=0)
        return {0: "ok", 1: "warning", 2: "alert"}[worst]

    def exit_code(self, fail_on: str) -> int:
        if fail_on == "never":
            return 0
        return int(STATUS_ORDER[self.status] >= STATUS_ORDER[fail_on])

    def to_dict(self) -> dict[str, Any]:
        from groupwise.io import to_jsonable

        return to_jsonable({
            "run_id": self.run_id, "task": self.task, "metric": self.metric,
            "status": self.status, "chunking": self.chunking, "alpha": self.alpha,
            "reference": self.reference, "promised": self.promised,
            "assumptions": self.assumptions, "notes": self.notes,
            "chunks": [c.to_dict() for c in self.chunks],
        })  # fmt: skip


# --------------------------------------------------------------------- chunks
_WINDOW = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|min|h|d|w)\s*$", re.IGNORECASE)
_SECONDS = {"s": 1, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_window(text: str) -> pd.Timedelta:
    """``7d``, ``12h``, ``2w``, ``30min``, ``90s`` → a Timedelta (a ConfigError otherwise)."""
    m = _WINDOW.match(text or "")
    delta = (
        None
        if m is None
        else pd.Timedelta(seconds=float(m.group(1)) * _SECONDS[m.group(2).lower()])
    )
    if delta is None or delta <= pd.Timedelta(0):
        raise ConfigError(
            f"--window must be a positive duration such as 7d, 12h, 2w or 30min. Got {text!r} instead."
        )
    return delta


def _chunk_labels(df: pd.DataFrame, sources: np.ndarray, *, by, window, time_col) -> tuple[np.ndarray, list[str], str]:  # fmt: skip
    """A chunk code per row, the chunk names in order, and how the chunks were made."""
    if by is not None:
        if by not in df.columns:
            from groupwise.exceptions import did_you_mean

            raise ColumnNotFoundError(f"--by {by!r} is not a column of the new data.{did_you_mean(by, df.columns)}")  # fmt: skip
        values = df[by]
        codes, uniques = pd.factorize(values.astype(object).where(values.notna(), "(missing)"), sort=True)  # fmt: skip
        return codes, [str(u) for u in uniques], f"by column {by!r}"
    if window is not None:
        if not time_col or time_col not in df.columns:
            raise ColumnNotFoundError(
                "--window needs the run's time column in the new data "
                f"({'the run has none' if not time_col else f'{time_col!r} is missing'}). "
                "Use --by COLUMN to chunk by another column."
            )
        from groupwise._dates import parse_dates

        t = parse_dates(df[time_col]) if not pd.api.types.is_datetime64_any_dtype(df[time_col]) else df[time_col]  # fmt: skip
        if t.isna().all():
            raise DataError(f"No value of the time column {time_col!r} could be read as a date.")
        start = t.min().floor("D")
        k = ((t - start) // window).astype("Int64")
        codes, uniques = pd.factorize(k, sort=True)
        names = [f"{(start + int(u) * window):%Y-%m-%d %H:%M}" for u in uniques]
        return codes, names, f"windows of {window} on {time_col!r}"
    codes, uniques = pd.factorize(sources, sort=False)
    return codes, [str(u) for u in uniques], "one chunk per input"


# ---------------------------------------------------------------------- tests
def _effect(b, values) -> float | None:
    """Numbers: the mean's shift in training SDs; categories: the largest share change."""
    if b.kind == "numeric":
        x = np.asarray(values, dtype=np.float64)
        x = x[np.isfinite(x)]
        if not len(x) or not b.sd:
            return None
        return float((x.mean() - b.mean) / b.sd)
    return None


def _test_columns(ref: Reference, codes: dict[str, np.ndarray], rows: np.ndarray, values: dict,
                  k_eff: float, shares, alpha: float, rng) -> dict[str, dict[str, Any]]:  # fmt: skip
    out = {}
    for name, b in ref.columns.items():
        if name not in codes:
            continue
        c = np.bincount(codes[name][rows], minlength=b.K)
        t = drift_test(b, c, groups_in_chunk=k_eff, reference_groups=ref.effective_groups,
                       alpha=alpha, rng=rng, group_shares=shares)  # fmt: skip
        share = c / max(c.sum(), 1)
        row = {"statistic": t.statistic, "expected": t.expected, "threshold": t.threshold,
               "p_value": t.p_value, "missing_reference": float(b.p[-1]),
               "missing_current": float(share[-1])}  # fmt: skip
        if b.kind == "numeric":
            row["mean_shift_sd"] = _effect(b, values[name][rows]) if name in values else None
        else:
            moved = np.abs(share[:-1] - b.p[:-1])
            row["largest_share_change"] = float(moved.max()) if len(moved) else 0.0
            row["unseen_share"] = float(share[-2])
        out[name] = row
    return out


def _estimate_se(ref: Reference, output: np.ndarray, metric: str, rng) -> float:
    """Standard error of the estimated ``metric`` at this chunk's size: a row bootstrap of
    the estimate (on at most :data:`SE_ROWS` rows, scaled to the chunk's size)."""
    n = len(output)
    m = min(n, SE_ROWS)
    base = output if m == n else output[rng.choice(n, m, replace=False)]
    draws = [ref.estimate(base[rng.integers(0, m, m)]).get(metric, np.nan) for _ in range(SE_DRAWS)]
    draws = np.asarray(draws, dtype=np.float64)
    draws = draws[np.isfinite(draws)]
    return float(draws.std(ddof=1) * np.sqrt(m / n)) if len(draws) > 2 else 0.0


def _realised(
    run, y, out: np.ndarray, groups, seed: int
) -> tuple[dict[str, float], dict[str, dict]]:
    """Measured metrics of a labelled chunk, and their intervals (as ``evaluate`` makes them:
    a group jackknife with several groups, a row bootstrap without)."""
    from groupwise.evaluation._intervals import metric_intervals

    if run.task == "classification":
        if len(np.unique(y)) < 2 and len(run.classes) == 2:
            return {}, {}
        ms = MetricSet.from_output("classification", y, out, pos=run.positive_code or 1,
                                   threshold=run.threshold if run.threshold is not None else 0.5)  # fmt: skip
    else:
        ms = MetricSet.from_output("regression", y, out)
    names = list(metric_names(run.task))
    point = {n: float(v[0]) for n, v in ms.evaluate(names, np.ones((1, len(y)))).items()}
    use_groups = groups if groups is not None and len(pd.unique(groups)) >= 5 else None
    intervals = metric_intervals(ms, [run.metric], groups=use_groups, n_resamples=REALISED_RESAMPLES, seed=seed)  # fmt: skip
    return point, intervals


def _worse(metric: str, value: float | None, promised: dict | None) -> bool:
    if value is None or not promised or not np.isfinite(value):
        return False
    lo, hi = promised.get("ci_low"), promised.get("ci_high")
    if GREATER_IS_BETTER.get(metric, True):
        return lo is not None and np.isfinite(lo) and value < lo
    return hi is not None and np.isfinite(hi) and value > hi


# ------------------------------------------------------------------ monitor
#: Rows per task when the model's predictions are computed on an executor.
BLOCK_ROWS = 100_000


def _raw_block(task, threads):
    predictor, X = task
    return predictor.raw(X)


def _raw_blocks(executor, predictor, X: pd.DataFrame) -> np.ndarray:
    shared = share_fitted(executor, predictor)  # pickled once, here
    blocks = [(shared, X.iloc[i : i + BLOCK_ROWS]) for i in range(0, max(len(X), 1), BLOCK_ROWS)]
    return np.concatenate(executor.map(_raw_block, blocks))


def monitor_frames(
    run,
    frames: list[tuple[str, pd.DataFrame]],
    *,
    by: str | None = None,
    window: str | None = None,
    reference: Reference | None = None,
    alpha: float = 0.05,
    on_bad_values: str = "error",
    seed: int = 0,
    progress=None,
    executor=None,
) -> MonitorResult:
    """Compare new data (``(name, frame)`` pairs) with ``run``'s monitoring reference.

    ``executor`` (see :func:`groupwise._parallel.make_executor`): where the model's
    predictions of the new rows are computed, in blocks of :data:`BLOCK_ROWS` with the model
    shipped once; default in this process. The tests themselves run here either way.

    Raises
    ------
    SchemaViolationError
        The new rows do not match the input schema (the violations of ``predict``).
    DataError
        The run keeps no reference and none was given.
    """
    if not 0 < alpha < 0.5:
        raise ConfigError(f"--alpha must be between 0 and 0.5. Got {alpha!r} instead.")
    ref = reference if reference is not None else run.monitor_reference
    if ref is None:
        raise DataError(
            f"Run {run.run_id} keeps no monitoring reference (it was trained before "
            "groupwise kept one). Pass --reference TABLE (the training table), or retrain."
        )
    if window is not None and by is not None:
        raise ConfigError("Give --by or --window, not both.")
    if not frames:
        raise DataError("Nothing to monitor: give at least one table of new rows.")
    delta = parse_window(window) if window is not None else None
    target = run.spec.target
    predictor = run.predictor
    sources = np.concatenate([np.full(len(f), name, dtype=object) for name, f in frames]) if frames else np.array([], dtype=object)  # fmt: skip
    df = pd.concat([f for _, f in frames], ignore_index=True) if len(frames) > 1 else frames[0][1].reset_index(drop=True)  # fmt: skip
    has_labels = target in df.columns
    X, report = predictor.validate_frame(df.drop(columns=[target]) if has_labels else df, on_bad_values=on_bad_values)  # fmt: skip
    if not report.ok:
        from groupwise.predict._predict import violation_message

        raise SchemaViolationError(violation_message(report, "the new data"), report)
    chunk_of, names, chunking = _chunk_labels(df, sources, by=by, window=delta, time_col=run.spec.time_col)  # fmt: skip
    # the model predicts on a second thread while the columns are binned and encoded here
    # (both spend their time in numpy and scikit-learn, which release the GIL); native
    # threads are capped at one each so that the two never oversubscribe the cores
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_limits

    with threadpool_limits(1), ThreadPoolExecutor(max_workers=1) as pool:
        if executor is None:
            predicted = pool.submit(predictor.raw, X)
        else:  # scored in blocks on the executor's workers, the model shipped once
            predicted = pool.submit(_raw_blocks, executor, predictor, X)
        codes = {name: b.codes(X[name]) for name, b in ref.features.items() if name in X.columns}
        values = {name: X[name].to_numpy(dtype=np.float64, na_value=np.nan) for name, b in ref.features.items()
                  if b.kind == "numeric" and name in X.columns}  # fmt: skip
        err = None
        if ref.reconstruction is not None and ref.encoder is not None:
            err = ref.encoder.reconstruction_error(X)
        raw = predicted.result()
    output = raw
    if ref.output_kind == "positive score":
        output = raw[:, run.positive_code if run.positive_code is not None else 1]
    elif ref.output_kind == "predicted class":
        output = np.asarray([str(c) for c in run.classes], dtype=object)[raw.argmax(1)]
    if ref.output is not None:
        codes[SCORE] = ref.output.codes(output)
        if ref.output.kind == "numeric":
            values[SCORE] = np.asarray(output, dtype=np.float64)
    if err is not None:
        codes[RECONSTRUCTION] = ref.reconstruction.codes(err)
        values[RECONSTRUCTION] = err
    y = None
    if has_labels:
        labelled = df[target].notna().to_numpy()
        if run.task == "classification":
            from groupwise.monitor._evaluate import _label_codes

            y = np.full(len(df), -1, dtype=np.int64)
            y[labelled] = _label_codes(df[target][labelled].reset_index(drop=True), run.classes)
        else:
            y = pd.to_numeric(df[target], errors="coerce").to_numpy(dtype=np.float64)
            labelled = labelled & np.isfinite(y)
    group_col = ref.group_col if ref.group_col and ref.group_col in df.columns else None
    promised = run.metrics.holdout()
    headline = run.metric
    rng = np.random.default_rng(seed)
    schema = {f.name: f for f in run.schema.features}
    chunks = []
    stage = (
        progress.stage("Testing chunks", total=len(names))
        if progress is not None
        else nullcontext()
    )
    with stage as bar:
        for k, name in enumerate(names):
            rows = np.flatnonzero(chunk_of == k)
            chunks.append(_chunk(run, ref, name, rows, codes, values, output, raw, y, labelled if has_labels else None,
                                 df[group_col].to_numpy()[rows] if group_col else None, schema,
                                 promised, headline, alpha, rng))  # fmt: skip
            if bar is not None:
                bar.advance()
    assumptions = [
        "Drift thresholds: each statistic's distribution when nothing moved, simulated at the "
        "chunk's size from the training data"
        + (f", with new groups as far from the others as training groups of {ref.group_col!r} were "
           "and rows of a training group compared with that group's training rows" if ref.group_col else "")
        + f"; features corrected for multiplicity by Benjamini–Hochberg at {alpha}.",
    ]  # fmt: skip
    if ref.calibration is not None:
        assumptions.append(
            "Estimated performance: each row's label drawn with its calibrated probability "
            "(an isotonic map fit on the run's out-of-fold scores). Valid when only the inputs "
            "moved (no concept shift) and the map is calibrated; a change in how the label "
            "depends on the features is invisible to it — measure it with labels."
        )
    elif ref.error_map is not None:
        assumptions.append(
            "Estimated error: the out-of-fold absolute and squared error given the predicted "
            "value, averaged over the chunk's predictions. An estimate under the same relation "
            "between features and target; not a measurement."
        )
    notes = [f"{c}: {why}" for c, why in ref.skipped.items()]
    if ref.group_col and not group_col:
        notes.append(
            f"the new data has no {ref.group_col!r} column: every chunk is judged as one new group"
        )
    if ref.group_col and ref.groups and not ref.group_names:
        notes.append(f"the run has {ref.groups} training groups (more than the {MAX_KNOWN_GROUPS:,} kept by "
                     "name): rows of training groups are judged as new groups")  # fmt: skip
    if ref.output_kind == "predicted class":
        notes.append("multi-class: performance is not estimated without labels")
    return MonitorResult(
        run_id=run.run_id, task=run.task, metric=headline, chunking=chunking, alpha=alpha,
        reference={"source": ref.source, "rows": ref.rows, "group_col": ref.group_col,
                   "groups": ref.groups, "expected": ref.expected,
                   "between_group_share": {n: b.rho for n, b in ref.features.items()}},
        promised={n: v for n, v in promised.items() if isinstance(v, dict)},
        chunks=chunks, assumptions=assumptions, notes=notes,
    )  # fmt: skip


def _chunk(run, ref, name, rows, codes, values, output, raw, y, labelled, groups, schema,
           promised, headline, alpha, rng) -> ChunkResult:  # fmt: skip
    n = len(rows)
    k_eff, shares = 1.0, None
    if groups is not None and n:
        # rows of training groups are compared with those groups' training rows; the rest
        # are new groups, judged against how far training groups were from each other
        shares, k_eff = ref.group_shares(groups)
    if n < MIN_CHUNK_ROWS:
        return ChunkResult(name, n, k_eff, "too few rows",
                           [f"{n} rows: fewer than {MIN_CHUNK_ROWS}, not tested"], pd.DataFrame(),
                           None, None, {}, {})  # fmt: skip
    tests = _test_columns(ref, codes, rows, values, k_eff, shares, alpha, rng)
    feats = [c for c in ref.features if c in tests]
    table = pd.DataFrame([{"feature": c, **tests[c]} for c in feats])
    reasons = []
    if len(table):
        table["q_value"] = benjamini_hochberg(table["p_value"].to_numpy())
        table["drifted"] = table["q_value"] <= alpha
        table["out_of_range_share"] = [
            float(np.mean((values[c][rows] < schema[c].min) | (values[c][rows] > schema[c].max)))
            if c in values and schema[c].min is not None else 0.0 for c in feats
        ]  # fmt: skip
        table = table.sort_values("p_value", kind="stable").reset_index(drop=True)
        drifted = table.loc[table["drifted"], "feature"].tolist()
        if drifted:
            reasons.append(f"{len(drifted)} feature(s) drifted: {', '.join(drifted[:5])}{' …' if len(drifted) > 5 else ''}")  # fmt: skip
        for col, what in (("unseen_share", "unseen categories"), ("out_of_range_share", "numbers outside the training range")):  # fmt: skip
            if col in table:
                bad = table.loc[table[col].fillna(0) >= QUALITY_SHARE, "feature"].tolist()
                if bad:
                    reasons.append(f"{what} in ≥ {QUALITY_SHARE:.0%} of rows: {', '.join(bad[:5])}")
    out_t = multi = None
    if SCORE in tests:
        out_t = {
            **tests[SCORE],
            "kind": ref.output_kind,
            "drifted": tests[SCORE]["p_value"] <= alpha,
        }
        if ref.output_kind == "positive score" and ref.threshold is not None:
            out_t["predicted_positive_share"] = float(np.mean(output[rows] >= ref.threshold))
            out_t["reference_predicted_positive_share"] = ref.expected.get(
                "predicted_positive_share"
            )
        if out_t["drifted"]:
            reasons.append(f"the model's output drifted ({ref.output_kind})")
    if RECONSTRUCTION in tests:
        multi = {**tests[RECONSTRUCTION], "drifted": tests[RECONSTRUCTION]["p_value"] <= alpha}
        if multi["drifted"]:
            reasons.append("the rows as a whole drifted (PCA reconstruction error)")
    estimated = ref.estimate(output[rows]) if ref.output_kind != "predicted class" else {}
    realised, realised_ci = {}, {}
    if y is not None:
        have = labelled[rows]
        if have.sum() >= MIN_CHUNK_ROWS:
            realised, realised_ci = _realised(run, y[rows[have]], raw[rows[have]],
                                              None if groups is None else groups[have], seed=0)  # fmt: skip
    status = "warning" if reasons else "ok"
    p = promised.get(headline)
    value = estimated.get(headline)
    if value is not None and np.isfinite(value):
        se = _estimate_se(ref, output[rows], headline, rng)
        estimated = {**estimated, f"{headline}_se": se}
        # the estimate's own noise at this chunk's size is allowed for (two standard errors)
        better = GREATER_IS_BETTER.get(headline, True)
        if _worse(headline, value + (2 * se if better else -2 * se), p):
            reasons.insert(0, f"estimated {headline} {value:.3f} (± {se:.3f}) is outside the promised "
                              f"[{p['ci_low']:.3f}, {p['ci_high']:.3f}] on the worse side")  # fmt: skip
            status = "alert"
    ci = realised_ci.get(headline)
    if ci and _worse(
        headline, ci["ci_high"] if GREATER_IS_BETTER.get(headline, True) else ci["ci_low"], p
    ):
        reasons.insert(0, f"measured {headline} {realised[headline]:.3f} [{ci['ci_low']:.3f}, {ci['ci_high']:.3f}] "
                          f"is below the promised [{p['ci_low']:.3f}, {p['ci_high']:.3f}]")  # fmt: skip
        status = "alert"
    if ci:
        realised = {
            **realised,
            f"{headline}_ci_low": ci["ci_low"],
            f"{headline}_ci_high": ci["ci_high"],
        }
    known = 0.0 if shares is None else float(shares.sum())
    return ChunkResult(
        name, n, k_eff, status, reasons, table, out_t, multi, estimated, realised, known
    )


def reference_from_table(run, df: pd.DataFrame, *, on_bad_values: str = "error", seed: int = 0) -> Reference:  # fmt: skip
    """A monitoring reference built from a table (``--reference``), e.g. for a run trained
    before runs kept one. The model's output on these rows is the output reference; when
    the rows were in training, it is in-sample (more confident than on new rows)."""
    from groupwise.drift import build_reference

    target = run.spec.target
    has_labels = target in df.columns
    X, report = run.predictor.validate_frame(df.drop(columns=[target]) if has_labels else df, on_bad_values=on_bad_values)  # fmt: skip
    if not report.ok:
        from groupwise.predict._predict import violation_message

        raise SchemaViolationError(violation_message(report, "the reference table"), report)
    y = None
    if has_labels and run.task == "classification":
        from groupwise.monitor._evaluate import _label_codes

        labels = df[target]
        y = np.full(len(df), -1, dtype=np.int64)
        y[labels.notna().to_numpy()] = _label_codes(labels.dropna().reset_index(drop=True), run.classes)  # fmt: skip
    elif has_labels:
        y = pd.to_numeric(df[target], errors="coerce").to_numpy(dtype=np.float64)
    group_col = run.spec.group_col if run.spec.group_col in df.columns else None
    return build_reference(
        X, {f.name: f.kind for f in run.schema.features}, task=run.task,
        groups=df[group_col].to_numpy() if group_col else None, group_col=group_col,
        output=run.predictor.raw(X), y=y, pos=run.positive_code, classes=run.classes,
        threshold=run.threshold, seed=seed, source="table",
    )  # fmt: skip
