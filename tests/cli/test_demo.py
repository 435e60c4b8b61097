import pandas as pd
import pytest


@pytest.mark.slow
def test_demo_runs_the_main_job_end_to_end(cli, tmp_path):
    """What `make demo` runs, on a smaller budget."""
    result = cli("demo", "--dir", tmp_path, "--quick")
    assert result.exit_code == 0, result.output
    out = " ".join(result.stdout.split())
    for step in (
        "1. generate",
        "2. audit",
        "3. train",
        "4. predict",
        "5. skew-check",
        "6. what the estimates promised",
    ):
        assert step in out
    assert "passed" in out and "report.html" in out
    pred = pd.read_parquet(tmp_path / "new_batches_predictions.parquet")
    assert len(pred) == len(pd.read_csv(tmp_path / "new_batches.csv"))
    assert (tmp_path / "models" / "registry" / "latest.txt").exists()
