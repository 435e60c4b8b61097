"""Reports of a run: summarize (run files → dict), render (dict → HTML, Markdown), plots."""

from groupwise.report._figures import draw_plots
from groupwise.report._render import render_run
from groupwise.report._summarize import summarize_run

__all__ = ["draw_plots", "render_run", "summarize_run"]
