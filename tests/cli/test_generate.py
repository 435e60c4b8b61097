import json
import subprocess
import sys

import pandas as pd


def test_version(cli):
    from groupwise import __version__

    result = cli("--version")
    assert result.exit_code == 0 and result.stdout.strip() == f"groupwise {__version__}"


def test_python_dash_m_works():
    result = subprocess.run(
        [sys.executable, "-m", "groupwise", "--version"], capture_output=True, text=True
    )
    assert result.returncode == 0 and result.stdout.startswith("groupwise ")


def test_generate_writes_table_and_meta(cli, tmp_path):
    out = tmp_path / "data.parquet"
    result = cli(
        "generate",
        out,
        "--n-samples",
        120,
        "--n-batches",
        3,
        "--confounding",
        0.5,
        "--seed",
        3,
        "--leak-id-column",
    )
    assert result.exit_code == 0, result.output
    df = pd.read_parquet(out)
    meta = json.loads((tmp_path / "data.meta.json").read_text())
    assert len(df) == 120 and {"batch", "y", "record_id"} <= set(df.columns)
    assert meta["config"]["random_state"] == 3 and meta["leaks"]["id_column"] == "record_id"
    assert "Cramér's V" in result.stdout


def test_generate_flags_override_config_file(cli, tmp_path):
    cfg = tmp_path / "cfg.toml"
    cfg.write_text("n_samples = 50\nn_noise = 2\nrandom_state = 1\n")
    result = cli(
        "generate", tmp_path / "t.csv", "--config", cfg, "--n-samples", 70, "--weights", "0.8,0.2"
    )
    assert result.exit_code == 0, result.output
    df = pd.read_csv(tmp_path / "t.csv")
    assert len(df) == 70 and {"n1", "n2"} <= set(df.columns)
    assert df["y"].value_counts().to_dict() == {0: 56, 1: 14}


def test_generate_bad_input_exits_2_with_message_and_writes_nothing(cli, tmp_path):
    for args, match in [
        (["--confounding", "1.5"], "must be a float in the range [0, 1]"),
        (["--missing-mechanism", "mnar"], "Did you mean 'MNAR'?"),
        (["--config", str(tmp_path / "missing.toml")], "does not exist"),
    ]:
        result = cli("generate", tmp_path / "x.parquet", *args)
        assert result.exit_code == 2, result.output
        assert match in " ".join(result.stderr.split())
        assert "Traceback" not in result.output
    result = cli("generate", tmp_path / "x.xlsx")
    assert result.exit_code == 2 and "extension" in result.stderr
    assert list(tmp_path.iterdir()) == []
