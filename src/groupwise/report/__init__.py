"""Reports of a run: summarize (run files → dict), render (dict → HTML, Markdown), plots."""

from groupwise.report._cluster import render_cluster_report
from groupwise.report._figures import draw_plots
from groupwise.report._render import render_run
from groupwise.report._summarize import summarize_run

__all__ = ["draw_plots", "render_cluster_report", "render_run", "summarize_run"]
