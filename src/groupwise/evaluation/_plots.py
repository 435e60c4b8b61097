"""Plots of a run, drawn with matplotlib's object-oriented API (no global backend state).

Each function takes plain arrays or dicts and a destination path, draws one figure
and saves it as PNG. The caller treats plotting as best effort.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "plot_calibration",
    "plot_confusion",
    "plot_cv_scores",
    "plot_importance",
    "plot_learning_curve",
    "plot_naive_vs_grouped",
    "plot_pr",
    "plot_residuals",
    "plot_roc",
    "plot_shap_dependence",
    "plot_shap_summary",
]

_BLUE, _ORANGE, _GREY = "#1f77b4", "#ff7f0e", "#7f7f7f"


def _figure(w=5.0, h=4.0):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w, h), dpi=100, layout="constrained")
    return fig, fig.add_subplot()


def _save(fig, path: Path) -> Path:
    fig.savefig(path, format="png")
    return path


def plot_confusion(matrix: np.ndarray, labels: Sequence[str], path: Path, *, title: str) -> Path:
    fig, ax = _figure(4.5 + 0.3 * len(labels), 4 + 0.3 * len(labels))
    m = np.asarray(matrix)
    im = ax.imshow(m, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels=labels, rotation=45 if len(labels) > 3 else 0)
    ax.set_yticks(range(len(labels)), labels=labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    thresh = m.max() / 2 if m.size else 0
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            ax.text(
                j,
                i,
                f"{m[i, j]:d}",
                ha="center",
                va="center",
                color="white" if m[i, j] > thresh else "black",
            )
    fig.colorbar(im, ax=ax, shrink=0.8)
    return _save(fig, path)


def _roc_points(score, positive):
    order = np.argsort(-score, kind="mergesort")
    p = positive[order].astype(float)
    tps, fps = np.cumsum(p), np.cumsum(1 - p)
    P, N = max(tps[-1], 1), max(fps[-1], 1)
    return (
        np.r_[0, fps / N],
        np.r_[0, tps / P],
        np.r_[1, tps / np.maximum(tps + fps, 1)],
        np.r_[0, tps / P],
    )


def plot_roc(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray]],
    path: Path,
    *,
    title: str,
    aucs: Mapping[str, float],
) -> Path:
    """``curves``: label → (score, positive mask)."""
    fig, ax = _figure()
    for label, (score, positive) in curves.items():
        fpr, tpr, _, _ = _roc_points(np.asarray(score), np.asarray(positive))
        ax.plot(fpr, tpr, label=f"{label} (AUC {aucs.get(label, float('nan')):.3f})")
    ax.plot([0, 1], [0, 1], ls="--", color=_GREY, lw=1)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8)
    return _save(fig, path)


def plot_pr(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray]],
    path: Path,
    *,
    title: str,
    aps: Mapping[str, float],
) -> Path:
    fig, ax = _figure()
    for label, (score, positive) in curves.items():
        _, _, precision, recall = _roc_points(np.asarray(score), np.asarray(positive))
        ax.step(
            recall,
            precision,
            where="post",
            label=f"{label} (AP {aps.get(label, float('nan')):.3f})",
        )
        base = float(np.mean(positive))
        ax.axhline(base, ls="--", color=_GREY, lw=1)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_ylim(0, 1.02)
    ax.set_title(title)
    ax.legend(loc="lower left", fontsize=8)
    return _save(fig, path)


def plot_calibration(table: Mapping[str, Sequence[float]], path: Path, *, title: str) -> Path:
    fig, ax = _figure()
    ax.plot([0, 1], [0, 1], ls="--", color=_GREY, lw=1, label="perfect")
    ax.plot(
        table["mean_predicted"],
        table["observed"],
        marker="o",
        color=_BLUE,
        label="model (out-of-fold)",
    )
    ax.set_xlabel("mean predicted probability")
    ax.set_ylabel("observed frequency")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8)
    return _save(fig, path)


def plot_residuals(y: np.ndarray, pred: np.ndarray, path: Path, *, title: str) -> Path:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 4), dpi=100, layout="constrained")
    a1, a2 = fig.subplots(1, 2)
    resid = np.asarray(y) - np.asarray(pred)
    a1.scatter(pred, resid, s=6, alpha=0.4, color=_BLUE)
    a1.axhline(0, color=_GREY, lw=1)
    a1.set_xlabel("predicted")
    a1.set_ylabel("residual (true − predicted)")
    a2.hist(resid, bins=40, color=_BLUE, alpha=0.8)
    a2.set_xlabel("residual")
    fig.suptitle(title)
    return _save(fig, path)


def plot_importance(table: pd.DataFrame, path: Path, *, title: str, top: int = 20) -> Path:
    t = table.head(top).iloc[::-1]
    fig, ax = _figure(6, 0.3 * len(t) + 1.5)
    ax.barh(
        t["feature"].astype(str),
        t["importance_mean"],
        xerr=t["importance_std"],
        color=_BLUE,
        alpha=0.85,
    )
    ax.axvline(0, color=_GREY, lw=1)
    ax.set_xlabel(f"drop in {t['metric'].iloc[0]} when shuffled")
    ax.set_title(title)
    return _save(fig, path)


def _colour_values(column: pd.Series) -> np.ndarray:
    """A number column's values as ranks in [0, 1]; NaN (drawn grey) for other columns,
    whose levels have no order to colour by."""
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        return pd.to_numeric(column, errors="coerce").rank(pct=True).to_numpy(dtype=float)
    return np.full(len(column), np.nan)


def plot_shap_summary(
    values: pd.DataFrame, sample: pd.DataFrame, path: Path, *, title: str, output: str,
    top: int = 15,
) -> Path:  # fmt: skip
    """Beeswarm: one row per input column (largest mean |SHAP| on top), one dot per row,
    placed by its SHAP value and coloured by the column's value (low blue → high red)."""
    order = values.abs().mean().sort_values(ascending=False).index[:top]
    fig, ax = _figure(7, 0.35 * len(order) + 1.6)
    rng = np.random.default_rng(0)
    points = None
    for k, feature in enumerate(order[::-1]):
        v = values[feature].to_numpy(dtype=float)
        # spread the dots vertically where they are dense (a histogram-based jitter)
        counts, edges = np.histogram(v, bins=40)
        density = counts[np.clip(np.searchsorted(edges, v, side="right") - 1, 0, len(counts) - 1)]
        jitter = (rng.random(len(v)) - 0.5) * 0.8 * density / max(counts.max(), 1)
        colour = _colour_values(sample[feature]) if feature in sample else np.full(len(v), np.nan)
        missing = np.isnan(colour)
        ax.scatter(v[missing], (k + jitter)[missing], s=6, color=_GREY, alpha=0.6, lw=0)
        points = ax.scatter(
            v[~missing], (k + jitter)[~missing], s=6, c=colour[~missing], cmap="coolwarm",
            vmin=0, vmax=1, alpha=0.8, lw=0,
        )  # fmt: skip
    ax.set_yticks(range(len(order)), [str(f) for f in order[::-1]])
    ax.axvline(0, color=_GREY, lw=1)
    ax.set_xlabel(f"SHAP value ({output})")
    ax.set_title(title)
    if points is not None:
        bar = fig.colorbar(points, ax=ax, ticks=[0, 1], aspect=30)
        bar.ax.set_yticklabels(["low", "high"])
        bar.set_label("column value (rank)")
    return _save(fig, path)


def plot_shap_dependence(
    values: pd.DataFrame, sample: pd.DataFrame, path: Path, *, title: str, output: str,
    top: int = 4,
) -> Path:  # fmt: skip
    """SHAP value against the column's own value, for the ``top`` columns by mean |SHAP|."""
    order = [f for f in values.abs().mean().sort_values(ascending=False).index if f in sample]
    order = order[:top]
    from matplotlib.figure import Figure

    cols = min(2, len(order))
    rows = int(np.ceil(len(order) / cols))
    fig = Figure(figsize=(4.2 * cols, 3.2 * rows), dpi=100, layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, feature in zip(axes, order, strict=False):
        x, v = sample[feature], values[feature].to_numpy(dtype=float)
        if pd.api.types.is_numeric_dtype(x) and not pd.api.types.is_bool_dtype(x):
            ax.scatter(pd.to_numeric(x, errors="coerce"), v, s=6, color=_BLUE, alpha=0.5, lw=0)
        else:
            labels = x.astype(str).where(x.notna(), "(missing)")
            levels = labels.value_counts().index[:20]
            keep = labels.isin(levels).to_numpy()
            pos = pd.Categorical(labels[keep], categories=levels).codes
            jitter = (np.random.default_rng(0).random(keep.sum()) - 0.5) * 0.5
            ax.scatter(pos + jitter, v[keep], s=6, color=_BLUE, alpha=0.5, lw=0)
            ax.set_xticks(range(len(levels)), [str(s)[:12] for s in levels], rotation=45)
        ax.axhline(0, color=_GREY, lw=1)
        ax.set_xlabel(str(feature))
        ax.set_ylabel("SHAP value")
    for ax in axes[len(order) :]:
        ax.set_visible(False)
    fig.suptitle(f"{title} — {output}")
    return _save(fig, path)


def plot_naive_vs_grouped(ng: Mapping, metrics: Sequence[str], path: Path, *, title: str) -> Path:
    fig, ax = _figure(1.6 * len(metrics) + 2.5, 4)
    x = np.arange(len(metrics))
    for offset, key, color in ((-0.18, "naive", _ORANGE), (0.18, "grouped", _BLUE)):
        est = np.array([ng[key][m]["estimate"] for m in metrics])
        lo = np.array([ng[key][m]["ci_low"] for m in metrics])
        hi = np.array([ng[key][m]["ci_high"] for m in metrics])
        ax.bar(x + offset, est, width=0.34, color=color, alpha=0.85, label=f"{key} CV")
        ax.errorbar(
            x + offset, est, yerr=[est - lo, hi - est], fmt="none", color="black", capsize=3
        )
    ax.set_xticks(x, labels=metrics)
    ax.set_title(title)
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_learning_curve(table: pd.DataFrame, path: Path, *, metric: str, title: str) -> Path:
    fig, ax = _figure()
    for col, color, label in (
        (f"test_{metric}", _BLUE, "CV (held-out fold)"),
        (f"train_{metric}", _ORANGE, "training rows"),
    ):
        if col not in table:
            continue
        g = table.groupby("train_rows")[col]
        mean, sd = g.mean(), g.std().fillna(0)
        ax.plot(mean.index, mean, marker="o", color=color, label=label)
        ax.fill_between(mean.index, mean - sd, mean + sd, color=color, alpha=0.15)
    ax.set_xlabel("training rows")
    ax.set_ylabel(metric)
    ax.set_title(title)
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_cv_scores(
    folds: pd.DataFrame, metric: str, path: Path, *, title: str, order: Sequence[str]
) -> Path:
    fig, ax = _figure(6, 0.45 * len(order) + 1.5)
    for i, label in enumerate(order[::-1]):
        vals = folds.loc[folds["candidate"] == label, metric].to_numpy(dtype=float)
        ax.scatter(vals, np.full(len(vals), i), color=_BLUE, alpha=0.6, s=18)
        if len(vals):
            ax.plot([np.nanmean(vals)] * 2, [i - 0.3, i + 0.3], color="black", lw=2)
    ax.set_yticks(range(len(order)), labels=list(order)[::-1])
    ax.set_xlabel(f"{metric} per fold (bar = mean)")
    ax.set_title(title)
    return _save(fig, path)
