import json


def test_runs_list_and_show(cli, small_run):
    run, _ = small_run
    models = run.path.parent.parent
    result = cli("runs", "list", "--models-dir", models, "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["run_id"] for r in rows if r["latest"]] == [run.run_id]
    assert {"task", "target", "primary_metric", "holdout", "selected_model"} <= set(rows[0])
    result = cli("runs", "list", "--models-dir", models)
    assert result.exit_code == 0 and run.run_id in result.stdout
    result = cli("runs", "show", run.run_id[:12], "--models-dir", models)
    assert result.exit_code == 0, result.output
    assert "report" in result.stdout and "StratifiedGroupKFold" in " ".join(result.stdout.split())


def test_runs_errors(cli, small_run, tmp_path):
    run, _ = small_run
    result = cli("runs", "show", "nonexistent", "--models-dir", run.path.parent.parent)
    assert result.exit_code == 2 and "not found" in result.stderr
    result = cli("runs", "list", "--models-dir", tmp_path)
    assert result.exit_code == 0 and "No runs" in result.stdout
