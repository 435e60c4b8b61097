import json
import shutil

import pandas as pd
import pytest

from groupwise.exceptions import FileFormatError, GroupwiseWarning
from groupwise.runs import Run, RunLayout


def _as_format_1(run_dir):
    """Rewrite a run directory the way format 1 stored it (threshold in three places)."""
    layout = RunLayout(run_dir)
    meta = json.loads(layout.meta.read_text())
    choice = meta["threshold"]
    meta["format_version"] = 1
    meta["threshold"] = {k: choice[k] for k in ("strategy", "threshold", "rationale")}
    meta["plots"] = {p.stem: f"plots/{p.name}" for p in (run_dir / "plots").glob("*.png")}
    layout.meta.write_text(json.dumps(meta))
    analysis = json.loads(layout.threshold.read_text())
    layout.threshold.write_text(json.dumps({**analysis, **choice}))
    (run_dir / "manifest.json").unlink()  # format 1 had none


def test_run_accessors_read_the_run_files(small_run):
    run, _ = small_run
    assert run.threshold == run.threshold_choice.threshold
    assert set(run.metrics.holdout()) >= {"roc_auc", "pr_auc"}
    assert run.metrics.cv()[run.metric] == pytest.approx(
        next(r for r in run.metrics.leaderboard()["rows"] if r["candidate"] == run.selected_model)[
            run.metric
        ]
    )
    assert run.exit_code("never") == 0
    serious = any(f["severity"] in ("error", "warning") for f in run.model_checks)
    assert run.exit_code("warning") == int(serious)
    assert "roc" in run.plots and run.layout.plot("roc").exists()
    assert isinstance(run.table("holdout_predictions"), pd.DataFrame)


def test_format_1_run_directories_still_load_and_predict(small_run, tmp_path):
    run, df = small_run
    old = tmp_path / run.path.name
    shutil.copytree(run.path, old)
    _as_format_1(old)
    with pytest.warns(GroupwiseWarning, match="no manifest.json"):
        again = Run(old)
    assert again.run_meta.format_version == 1
    assert again.threshold == pytest.approx(run.threshold)
    hi = again.table("holdout_input")
    pd.testing.assert_frame_equal(again.predict(hi), run.predict(hi))


def _write_meta(run_dir, meta):
    """Replace run_meta.json and recompute the manifest's checksums."""
    import hashlib

    (run_dir / "run_meta.json").write_text(json.dumps(meta))
    manifest = json.loads((run_dir / "manifest.json").read_text())
    for rel in manifest["files"]:
        manifest["files"][rel] = hashlib.sha256((run_dir / rel).read_bytes()).hexdigest()
    (run_dir / "manifest.json").write_text(json.dumps(manifest))


def test_newer_or_broken_run_meta_is_refused_with_a_clear_error(small_run, tmp_path):
    run, _ = small_run
    copy = tmp_path / run.path.name
    shutil.copytree(run.path, copy)
    meta = json.loads((copy / "run_meta.json").read_text())
    _write_meta(copy, {**meta, "format_version": 99})
    with pytest.raises(FileFormatError, match="Upgrade groupwise"):
        Run(copy)
    del meta["spec"]
    _write_meta(copy, meta)
    with pytest.raises(FileFormatError, match=f"Run '{copy.name}'.*lacks the key"):
        Run(copy)
