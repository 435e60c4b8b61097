import pandas as pd

from groupwise.predict import skew_check


def test_skew_check_passes_on_a_fresh_run(cli, small_run):
    run, _ = small_run
    result = cli("skew-check", "--run", run.path)
    assert result.exit_code == 0, result.output
    assert "passed" in result.stdout
    assert skew_check(run)["ok"]


def test_skew_check_fails_when_stored_predictions_are_altered(cli, small_run, tmp_path):
    import shutil

    run, _ = small_run
    copy = tmp_path / "run"
    shutil.copytree(run.path, copy)
    path = copy / "tables" / "holdout_predictions.parquet"
    table = pd.read_parquet(path)
    # the recorded predictions of the shipped model, which serving must reproduce
    table.loc[3, "refit_score"] += 1e-6
    table.loc[3, "refit_proba_1"] += 1e-6
    table.to_parquet(path)
    result = cli("skew-check", "--run", copy)
    assert result.exit_code == 1, result.output
    text = " ".join(result.stderr.split())
    assert "1 of" in text and "rows differ" in text and "score" in text
