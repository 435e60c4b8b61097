"""Reports of a run: summarize (files → dict) and render (dict → HTML, Markdown)."""

from groupwise.report._render import render_run
from groupwise.report._summarize import summarize_run

__all__ = ["render_run", "summarize_run"]
