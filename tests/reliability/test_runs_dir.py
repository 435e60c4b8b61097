"""Run directories and the registry under faults (issue 13, items 7, 8, 9)."""

import json
import os

import pytest

from groupwise.runs import RunLayout

from .conftest import FAST, assert_refused, make_table


@pytest.fixture(scope="module")
def table_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("t") / "t.csv"
    make_table(120).to_csv(path, index=False)
    return path


TRAIN = ["--target", "y", "--group", "batch", "--models", "dummy", "--tune-trials", "0",
         "--no-audit", "--bootstrap", "100", "--no-learning-curve", "--no-naive-cv",
         "--permutation-repeats", "0"]  # fmt: skip


@pytest.fixture
def no_training(monkeypatch):
    """Make any training work fail loudly: a refusal must come before it."""
    import groupwise.training._train as t

    def boom(*a, **k):
        raise AssertionError("training started before the models directory was checked")

    monkeypatch.setattr(t, "prepare", boom)


# ------------------------------------------------------ 7. check before the work starts
@pytest.mark.parametrize(
    "layout",
    ["models_is_file", "under_a_file", "runs_is_file", "registry_is_file", "latest_is_dir"],
)
def test_train_refuses_an_unusable_models_dir_before_training(
    cli, table_csv, tmp_path, no_training, layout
):
    models = tmp_path / "models"
    if layout == "models_is_file":
        models.write_text("x")
    elif layout == "under_a_file":
        (tmp_path / "file").write_text("x")
        models = tmp_path / "file" / "models"
    elif layout == "runs_is_file":
        models.mkdir()
        (models / "runs").write_text("x")
    elif layout == "registry_is_file":
        models.mkdir()
        (models / "registry").write_text("x")
    else:
        (models / "registry" / "latest.txt").mkdir(parents=True)
    result = cli("train", table_csv, *TRAIN, "--models-dir", models)
    assert_refused(result, "models directory")


@pytest.mark.parametrize("code", ["EROFS", "ENOSPC", "EACCES"])
def test_train_refuses_a_models_dir_the_disk_will_not_write(
    cli, table_csv, tmp_path, no_training, monkeypatch, code
):
    import errno
    import tempfile

    real = tempfile.mkstemp

    def refuse(*a, **k):
        if str(k.get("dir", "")).startswith(str(tmp_path / "models")):
            raise OSError(getattr(errno, code), os.strerror(getattr(errno, code)))
        return real(*a, **k)

    (tmp_path / "models").mkdir()
    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    result = cli("train", table_csv, *TRAIN, "--models-dir", tmp_path / "models")
    assert_refused(result, "Cannot write to", os.strerror(getattr(errno, code)))


def test_models_dir_of_the_wrong_type_in_a_config_file(cli, table_csv, tmp_path, no_training):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[train]\nmodels_dir = 5\n")
    result = cli("train", table_csv, *TRAIN, "--config", cfg)
    assert_refused(result, "models_dir", "5")


def test_when_only_the_registry_write_fails_the_run_is_complete(tmp_path, monkeypatch):
    import groupwise.runs._layout as layout
    from groupwise.exceptions import RegistryError
    from groupwise.runs import Run
    from groupwise.spec import TableSpec
    from groupwise.training import TrainConfig, train

    def full(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(layout, "set_latest", full)
    with pytest.raises(RegistryError, match="The run is complete") as info:
        train(make_table(100), TableSpec(target="y"), TrainConfig(models_dir=str(tmp_path), **FAST))
    run = Run(tmp_path / "runs" / info.value.run_id)
    assert run.pipeline is not None
    assert not (tmp_path / "registry" / "latest.txt").exists()


@pytest.mark.parametrize("name", ["score", "proba_yes"])
def test_a_reserved_id_name_is_refused_up_front(cli, table_csv, tmp_path, no_training, name):
    import pandas as pd

    df = pd.read_csv(table_csv).rename(columns={"sample_id": name})
    src = tmp_path / "t.csv"
    df.to_csv(src, index=False)
    result = cli("train", src, *TRAIN, "--id", name, "--models-dir", tmp_path / "m")
    assert_refused(result, name, "output column")


# ------------------------------------------------------------- 8. broken runs
def _break(run, how):
    layout = RunLayout(run.path)
    if how == "meta_empty":
        layout.meta.write_text("{}")
    elif how == "meta_not_utf8":
        layout.meta.write_bytes(b"\xff\xfe{}")
    elif how == "meta_missing":
        layout.meta.unlink()
    elif how == "schema_invalid":
        layout.schema.write_text('{"features": 3}')
    elif how == "holdout_metrics_missing":
        layout.holdout_metrics.unlink()
    elif how == "holdout_input_missing":
        layout.holdout_input.unlink()
    elif how == "model_missing":
        layout.model.unlink()


@pytest.mark.parametrize(
    "how",
    ["meta_empty", "meta_not_utf8", "schema_invalid", "holdout_metrics_missing",
     "holdout_input_missing", "model_missing"],
)  # fmt: skip
@pytest.mark.parametrize("command", ["show", "report", "skew-check", "predict"])
def test_a_broken_run_is_a_clean_refusal_naming_it(cli, run_copy, inputs, tmp_path, how, command):
    models, run = run_copy
    _break(run, how)
    src = tmp_path / "in.csv"
    inputs.to_csv(src, index=False)
    args = {
        "show": ["runs", "show", run.run_id],
        "report": ["report", "--run", run.run_id],
        "skew-check": ["skew-check", "--run", run.run_id],
        "predict": ["predict", src, "--out", tmp_path / "o.csv", "--run", run.run_id],
    }[command]
    result = cli(*args, "--models-dir", models)
    if result.exit_code == 0:  # the command does not need the broken file
        assert "Traceback" not in result.output
        return
    assert_refused(result, run.run_id)


@pytest.mark.parametrize("how", ["meta_empty", "meta_not_utf8", "meta_missing"])
def test_runs_list_shows_a_broken_run_and_lists_the_rest(cli, run_copy, tmp_path, how):
    import shutil

    models, run = run_copy
    other = models / "runs" / (run.run_id[:-6] + "abcdef")
    shutil.copytree(run.path, other)
    _break(run, how)
    result = cli("runs", "list", "--models-dir", models, "--json")
    assert result.exit_code == 0, result.output
    rows = {r["run_id"]: r for r in json.loads(result.stdout)}
    assert rows[run.run_id]["broken"] and rows[other.name]["broken"] is None
    result = cli("runs", "list", "--models-dir", models)
    assert result.exit_code == 0 and "broken" in result.stdout, result.output


# ------------------------------------------------------------ 9. the registry pointer
@pytest.mark.parametrize("pointer", ["../../elsewhere/run", "/etc", "", "latest", "x" * 300])
def test_latest_never_leaves_the_models_dir(cli, run_copy, tmp_path, pointer):
    models, run = run_copy
    outside = tmp_path / "elsewhere" / "run"
    outside.parent.mkdir()
    import shutil

    shutil.copytree(run.path, outside)
    (models / "registry" / "latest.txt").write_text(pointer + "\n")
    result = cli("runs", "show", "--models-dir", models)
    if pointer == "":
        assert_refused(result, "No run found")
    else:
        assert_refused(result, "not a run id")


def test_a_binary_latest_is_a_clean_refusal(cli, run_copy):
    models, _ = run_copy
    (models / "registry" / "latest.txt").write_bytes(b"\x00\xff\xfe\x01")
    assert_refused(cli("runs", "show", "--models-dir", models), "latest.txt")


@pytest.mark.parametrize("run", ["", " ", "x" * 5000])
def test_an_empty_or_absurd_run_name_is_refused(cli, run_copy, run):
    models, _ = run_copy
    assert_refused(cli("runs", "show", run, "--models-dir", models))


def test_latest_is_the_newest_run_by_id_whichever_finishes_last(run_copy):
    from groupwise.runs import latest_run_id
    from groupwise.runs._layout import set_latest

    models, run = run_copy
    newer = run.run_id.replace(run.run_id[:4], str(int(run.run_id[:4]) + 1), 1)
    import shutil

    shutil.copytree(run.path, models / "runs" / newer)
    assert set_latest(models, newer)
    assert not set_latest(models, run.run_id)  # an older run finishing later
    assert latest_run_id(models) == newer
