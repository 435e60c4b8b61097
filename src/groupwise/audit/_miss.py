"""MISS checks: missingness that carries information."""

from __future__ import annotations

import numpy as np

from groupwise._stats import holm
from groupwise.audit._base import Check, NotApplicable

__all__ = ["MissingnessAsSignal"]


class MissingnessAsSignal(Check):
    code = "MISS001"
    title = "Missingness as signal"
    family = "MISS"

    min_effect = 0.05
    alpha = 0.01

    def run(self, ctx):
        from scipy import stats

        frame = ctx.frame
        cols = [c for c in ctx.features if frame[c].isna().any() and frame[c].notna().any()]
        if not cols:
            raise NotApplicable("no feature has missing values")
        rows = []
        for c in cols:
            m = frame[c].isna().to_numpy()
            if ctx.task == "classification":
                k = len(ctx.classes)
                table = np.bincount(m.astype(np.int64) * k + ctx.y_codes, minlength=2 * k).reshape(
                    2, k
                )
                chi2, p, _, _ = stats.chi2_contingency(table, correction=False)
                r = float(
                    np.sqrt(chi2 / table.sum())
                )  # phi (binary) / Cramér's V with a 2-level factor
                with np.errstate(invalid="ignore", divide="ignore"):
                    shares = table[1] / table.sum(axis=0)  # missing share within each class
                by_class = {str(ctx.classes[j]): float(shares[j]) for j in range(k)}
                rows.append((c, r, float(p), {"missing_share_by_class": by_class}))
            else:
                y = ctx.y_float
                r, p = stats.pointbiserialr(m, y)
                rows.append(
                    (
                        c,
                        float(r),
                        float(p),
                        {
                            "target_mean_missing": float(y[m].mean()),
                            "target_mean_present": float(y[~m].mean()),
                        },
                    )
                )
        adjusted = holm([p for _, _, p, _ in rows])
        out = []
        for (c, r, p, extra), p_adj in zip(rows, adjusted, strict=True):
            if abs(r) >= self.min_effect and p_adj < self.alpha:
                out.append(
                    self.finding(
                        "warning",
                        f"Whether {c!r} is missing predicts the target (r = {r:.2f}, Holm-adjusted p = {p_adj:.2g}).",
                        columns=[c],
                        evidence={
                            "r": r,
                            "p_value": p,
                            "p_value_holm": float(p_adj),
                            "columns_tested": len(cols),
                            **extra,
                        },
                        fix="Find out why values go missing: if missingness comes from the outcome process "
                        "(tests ordered only for sick patients) it will not hold in deployment; the pipeline's "
                        "missing indicators will otherwise use it.",
                    )
                )
        return out
