"""The examples run (on a reduced grid) and say what they claim."""

import runpy
from pathlib import Path

import pandas as pd
import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.slow
def test_batch_effects_lesson_runs_and_shows_the_gap(tmp_path, monkeypatch):
    monkeypatch.setenv("LESSON_SEEDS", "6")
    monkeypatch.setenv("LESSON_BATCH_SD", "0,1.6")
    monkeypatch.setenv("LESSON_OUT", str(tmp_path))
    runpy.run_path(str(EXAMPLES / "batch_effects_lesson.py"), run_name="__main__")
    assert (tmp_path / "naive_vs_grouped.png").stat().st_size > 0
    assert (tmp_path / "cohens_d.png").stat().st_size > 0
    results = pd.read_csv(tmp_path / "lesson_results.csv")
    gap = results.groupby(["setting", "batch_sd"])["gap_bacc"].mean()
    assert gap[("confounded", 1.6)] > gap[("unconfounded", 1.6)] + 0.03
