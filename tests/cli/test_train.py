import json

import pytest

from groupwise.datasets import generate_dataset


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    d = tmp_path_factory.mktemp("data")
    X, y, _ = generate_dataset(
        n_samples=500, n_batches=8, confounding=0.6, batch_sd=1.5, n_noise=3, random_state=0
    )
    path = d / "train.csv"
    X.assign(y=y).to_csv(path, index=False)
    return path


FAST = [
    "--tune-trials",
    "2",
    "--bootstrap",
    "200",
    "--models",
    "dummy,linear",
    "--no-learning-curve",
]


def test_train_cli_prints_plan_leaderboard_holdout_and_paths(cli, table, tmp_path):
    result = cli(
        "train", table, "--target", "y", "--group", "batch", "--models-dir", tmp_path,
        "--nested-below", "0", *FAST,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    for text in ("Split plan", "Leaderboard", "Holdout", "report:", "StratifiedGroupKFold"):
        assert text in result.stdout
    latest = (tmp_path / "registry" / "latest.txt").read_text().strip()
    meta = json.loads((tmp_path / "runs" / latest / "run_meta.json").read_text())
    assert meta["dataset"]["path"] == str(table) and len(meta["dataset"]["sha256"]) == 64
    assert meta["config"]["tune_trials"] == 2


def test_train_cli_config_file_and_fail_on(cli, table, tmp_path):
    cfg = tmp_path / "gw.toml"
    cfg.write_text(
        'target = "y"\ngroup = "batch"\n[train]\nmodels = ["dummy", "linear"]\ntune_trials = 0\nbootstrap = 200\n'
        'learning_curve = false\nfail_on = "warning"\n'
    )
    result = cli("train", table, "--config", cfg, "--models-dir", tmp_path / "m")
    # the confounded table makes the audit warn (GROUP001/GROUP006) → stop before training, exit 1
    assert result.exit_code == 1, result.output
    assert "training did not start" in " ".join(result.stderr.split())
    assert not (tmp_path / "m" / "runs").exists()
    result = cli(
        "train", table, "--config", cfg, "--models-dir", tmp_path / "m", "--fail-on", "never"
    )
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "label"], "not found"),
        (["--target", "y", "--metric", "mae"], "does not apply to classification"),
        (["--target", "y", "--threshold", "max_f2"], "Invalid --threshold"),
        (["--target", "y", "--models", "linear,forest"], "Unknown model 'forest'"),
        (["--target", "y", "--holdout", "0.9"], "'holdout' parameter of TrainConfig"),
        (["--target", "y", "--group", "y"], "two roles"),
    ],
)
def test_train_cli_bad_input_exits_2_and_writes_no_run(cli, table, tmp_path, args, message):
    result = cli("train", table, *args, "--models-dir", tmp_path, *FAST[:4])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.stderr.split())
    assert "Traceback" not in result.output
    assert not (tmp_path / "runs").exists()


def test_report_rerenders_from_run_files(cli, table, tmp_path):
    assert cli("train", table, "--target", "y", "--models-dir", tmp_path, *FAST).exit_code == 0
    latest = (tmp_path / "registry" / "latest.txt").read_text().strip()
    html = tmp_path / "runs" / latest / "report.html"
    html.unlink()
    result = cli("report", "--models-dir", tmp_path)
    assert result.exit_code == 0, result.output
    text = html.read_text()
    assert "data:image/png;base64," in text and "Split plan" in text and "<script" not in text
    card = (tmp_path / "runs" / latest / "model_card.md").read_text()
    for section in (
        "## Intended use",
        "## Evaluation",
        "## Limitations",
        "## Monitoring sketch",
        "## Reproducibility",
        "## How to run",
    ):
        assert section in card
    result = cli("report", "--models-dir", tmp_path, "--run", "nope")
    assert result.exit_code == 2 and "not found" in result.stderr


def test_report_warns_when_the_holdout_has_few_groups(cli, table, tmp_path):
    # 8 batches and a 20% holdout (forced: --nested-below 0) leave 2 groups in the holdout
    result = cli(
        "train", table, "--target", "y", "--group", "batch", "--models-dir", tmp_path,
        "--nested-below", "0", *FAST,
    )  # fmt: skip
    assert result.exit_code == 0
    assert "rest on few groups" in " ".join(result.stdout.split())
    run_dir = tmp_path / "runs" / (tmp_path / "registry" / "latest.txt").read_text().strip()
    assert "rest on few groups" in (run_dir / "report.html").read_text()
    assert "rest on few groups" in (run_dir / "model_card.md").read_text()


def test_few_groups_train_nested_by_default_and_say_so(cli, table, tmp_path):
    result = cli(
        "train", table, "--target", "y", "--group", "batch", "--models-dir", tmp_path, *FAST
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "nested cross-validation" in text and "Nested CV over all 8 groups" in text
    assert "each group scored once, by a model that never saw it" in text
    assert "selected in the outer folds" in text


def test_train_accept_lets_an_acknowledged_finding_through_and_records_it(cli, table, tmp_path):
    args = ("train", table, "--target", "y", "--group", "batch", *FAST)
    stopped = cli(*args, "--models-dir", tmp_path / "a", "--fail-on", "warning")
    assert stopped.exit_code == 1 and "training did not start" in " ".join(stopped.stderr.split())
    result = cli(
        *args, "--models-dir", tmp_path / "b", "--fail-on", "warning", "--accept", "GROUP001:*",
        "--accept", "GROUP006:*", "--group-kind", "batch",
    )  # fmt: skip
    assert result.exit_code in (0, 1), result.output
    assert "training did not start" not in result.stderr
    latest = (tmp_path / "b" / "registry" / "latest.txt").read_text().strip()
    run = tmp_path / "b" / "runs" / latest
    audit = json.loads((run / "audit" / "audit.json").read_text())
    assert {f["code"] for f in audit["findings"] if f.get("accepted")} >= {"GROUP001"}
    meta = json.loads((run / "run_meta.json").read_text())
    assert meta["spec"]["group_kind"] == "batch"
    assert meta["config"]["accept"]["GROUP001:*"].startswith("accepted on the command line")
    assert "Accepted GROUP001" in (run / "model_card.md").read_text()
