"""The plots of a run drawn on two local workers: the same files as drawn here, and a
plot that fails on a worker is reported by the calling process."""

import logging
import shutil

import pandas as pd

from groupwise._parallel import LocalExecutor
from groupwise.report import draw_plots
from groupwise.runs import Run


def _copy(run, tmp_path, name):
    root = tmp_path / name / run.path.name
    shutil.copytree(run.path, root)
    for png in (root / "plots").glob("*.png"):
        png.unlink()
    return Run(root)


class Counting(LocalExecutor):
    """Records the number of tasks of every map."""

    calls: list

    def map(self, fn, tasks, **k):
        self.calls.append(len(tasks))
        return super().map(fn, tasks, **k)


def test_workers_draw_the_same_plots_as_this_process(small_run, tmp_path, monkeypatch):
    run, _ = small_run
    here, there = _copy(run, tmp_path, "here"), _copy(run, tmp_path, "there")
    made_here = draw_plots(here)
    calls = []
    monkeypatch.setattr(Counting, "calls", calls, raising=False)
    executor = Counting(2)
    try:
        made_there = draw_plots(there, executor=executor)
    finally:
        executor.close()
    assert calls == [2]  # two halves, on the workers
    assert len(made_here) >= 5
    assert sorted(made_there) == sorted(made_here)
    files = lambda r: sorted(p.name for p in (r.path / "plots").glob("*.png"))  # noqa: E731
    assert files(there) == files(here) == sorted(f"{n}.png" for n in made_here)


def test_a_plot_failing_on_a_worker_is_logged_here(small_run, tmp_path, caplog):
    run = _copy(small_run[0], tmp_path, "broken")
    path, bad = run.layout.feature_importance, pd.DataFrame({"unexpected": [1.0, 2.0]})
    bad.to_csv(path, index=False) if path.suffix == ".csv" else bad.to_parquet(path)
    executor = LocalExecutor(2)
    try:
        with caplog.at_level(logging.WARNING, logger="groupwise.report._figures"):
            made = draw_plots(run, executor=executor)
    finally:
        executor.close()
    assert "importance" not in made and "cv_scores" in made
    failed = [r for r in caplog.records if "plot importance failed" in r.getMessage()]
    assert failed and "Traceback" in failed[0].getMessage()
