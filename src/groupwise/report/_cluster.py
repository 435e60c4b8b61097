"""The report and model card of a clustering run, and its plots."""

from __future__ import annotations

import base64
import logging
from pathlib import Path
from typing import Any

import numpy as np

from groupwise.evaluation._plots import _figure
from groupwise.io import read_json, write_text

__all__ = ["draw_cluster_plots", "render_cluster_report"]

logger = logging.getLogger(__name__)

TITLES = {
    "silhouette": "Silhouette per k",
    "cluster_map": "Clusters on the first two principal components (sample)",
    "cluster_sizes": "Cluster sizes",
}


def draw_cluster_plots(run) -> list[str]:
    """Silhouette per k, the 2-D projection coloured by cluster, and the sizes (best effort)."""
    import matplotlib
    import pandas as pd

    layout = run.layout
    doc = read_json(layout.clustering)
    made = []

    def silhouette(path):
        scores = pd.DataFrame(doc["scores"])
        fig, ax = _figure(5.5, 4.0)
        ax.plot(scores["k"], scores["silhouette"], marker="o", color="#1f77b4")
        ax.axvline(doc["k"], color="#7f7f7f", ls="--", lw=1)
        ax.set_xlabel("k (clusters)")
        ax.set_ylabel(f"silhouette ({doc['sample_rows']}-row sample)")
        ax.set_title(f"Silhouette per k; k = {doc['k']} chosen")
        fig.savefig(path, format="png")

    def cluster_map(path):
        proj = pd.read_parquet(layout.cluster_projection)
        fig, ax = _figure(6, 5)
        cmap = matplotlib.colormaps["tab10" if doc["k"] <= 10 else "tab20"]
        for c in sorted(proj["cluster"].unique()):
            part = proj[proj["cluster"] == c]
            ax.scatter(
                part["pc1"], part["pc2"], s=6, alpha=0.6, color=cmap(int(c) % cmap.N), label=f"{c}"
            )
        var = doc.get("projection_variance") or [np.nan, np.nan]
        ax.set_xlabel(f"PC1 ({var[0]:.0%} of the variance)")
        ax.set_ylabel(f"PC2 ({var[1]:.0%})" if len(var) > 1 else "PC2")
        ax.legend(title="cluster", markerscale=3, fontsize=8, loc="best")
        ax.set_title(TITLES["cluster_map"])
        fig.savefig(path, format="png")

    def sizes(path):
        t = pd.read_csv(layout.cluster_sizes)
        fig, ax = _figure(5.5, 4.0)
        colours = ["#d62728" if tiny else "#1f77b4" for tiny in t["tiny"]]
        ax.bar(t["cluster"].astype(str), t["rows"], color=colours)
        ax.axhline(
            doc["tiny_rows"],
            color="#7f7f7f",
            ls="--",
            lw=1,
            label=f"tiny (< {doc['tiny_rows']} rows)",
        )
        ax.set_xlabel("cluster")
        ax.set_ylabel("rows")
        ax.legend(fontsize=8)
        ax.set_title(TITLES["cluster_sizes"])
        fig.savefig(path, format="png")

    for name, fn in (
        ("silhouette", silhouette),
        ("cluster_map", cluster_map),
        ("cluster_sizes", sizes),
    ):
        try:
            fn(layout.plot(name))
            made.append(name)
        except Exception:  # a plot must never fail a run
            logger.warning("plot %s failed", name, exc_info=True)
    return made


def _summary(run) -> dict[str, Any]:
    import pandas as pd

    layout = run.layout
    doc = read_json(layout.clustering)
    profiles = pd.read_csv(layout.cluster_profiles)
    numeric = profiles[profiles["kind"] == "numeric"].copy()
    numeric["value"] = numeric["value"].astype(float)  # the column also holds category levels
    # per cluster: the features that set it apart most (largest |difference in SDs|)
    distinct = {}
    for c, part in numeric.groupby("cluster"):
        top = part.reindex(part["difference_sd"].abs().sort_values(ascending=False).index).head(5)
        distinct[int(c)] = top.to_dict(orient="records")
    cats = profiles[profiles["kind"] == "categorical"].to_dict(orient="records")
    images = []
    for name in run.plots:
        p = layout.plot(name)
        images.append({
            "name": name, "title": TITLES.get(name, name), "file": str(p.relative_to(layout.root)),
            "src": "data:image/png;base64," + base64.b64encode(p.read_bytes()).decode(),
        })  # fmt: skip
    return {
        "meta": run.meta, "run_id": run.run_id, "doc": doc,
        "sizes": pd.read_csv(layout.cluster_sizes).to_dict(orient="records"),
        "distinct": distinct, "categorical": cats, "images": images,
        "models_dir": str(run.meta["config"].get("models_dir", "models")),
    }  # fmt: skip


def render_cluster_report(root: str | Path) -> dict[str, Path]:
    """Draw the plots and write ``report.html`` and ``model_card.md`` of a clustering run."""
    from groupwise.report._render import _env
    from groupwise.runs import Run

    run = Run(root)
    draw_cluster_plots(run)
    ctx = _summary(run)
    html = _env(True).get_template("cluster.html.j2").render(**ctx)
    images = [{**im, "src": im["file"]} for im in ctx["images"]]
    card = _env(False).get_template("cluster_card.md.j2").render(**{**ctx, "images": images})
    write_text(html, run.layout.report)
    write_text(card, run.layout.model_card)
    return {"report": run.layout.report, "model_card": run.layout.model_card}
