import json

import pandas as pd
import pytest

from groupwise.datasets import generate_dataset


@pytest.fixture
def planted(tmp_path):
    X, y, _ = generate_dataset(
        n_samples=400, n_batches=4, confounding=0.9, leak_target_proxy=True, random_state=0
    )
    path = tmp_path / "planted.parquet"
    X.assign(y=y).to_parquet(path)
    return path


@pytest.fixture
def clean(tmp_path):
    X, y, _ = generate_dataset(n_samples=400, n_batches=8, random_state=0)
    path = tmp_path / "clean.csv"
    X.assign(y=y).to_csv(path, index=False)
    return path


def test_audit_writes_json_and_markdown_and_fails_on_errors(cli, planted, tmp_path):
    out = tmp_path / "aud"
    result = cli("audit", planted, "--target", "y", "--group", "batch", "--out", out)
    assert result.exit_code == 1, result.output
    report = json.loads((out / "audit.json").read_text())
    codes = {f["code"] for f in report["findings"] if f["severity"] == "error"}
    assert {"GROUP001", "LEAK001"} <= codes
    assert report["table"]["sha256"] and report["table"]["rows"] == 400
    assert (out / "audit.md").read_text().startswith("# Data audit")
    assert "GROUP001" in result.stdout and "How to fix" in result.stdout


def test_audit_fail_on_never_and_ignore(cli, planted, tmp_path):
    result = cli(
        "audit",
        planted,
        "--target",
        "y",
        "--group",
        "batch",
        "--out",
        tmp_path,
        "--fail-on",
        "never",
    )
    assert result.exit_code == 0
    result = cli(
        "audit",
        planted,
        "-t",
        "y",
        "-g",
        "batch",
        "--out",
        tmp_path,
        "--ignore",
        "GROUP001",
        "--ignore",
        "LEAK001",
        "--ignore",
        "GROUP006",
    )
    assert result.exit_code == 0, result.output


def test_audit_clean_table_exits_0_and_json_flag(cli, clean, tmp_path):
    result = cli(
        "audit",
        clean,
        "--target",
        "y",
        "--group",
        "batch",
        "--out",
        tmp_path,
        "--fail-on",
        "warning",
        "--json",
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["format_version"] == 1


def test_audit_reads_options_from_config_and_flags_win(cli, planted, tmp_path):
    cfg = tmp_path / "gw.toml"
    cfg.write_text(
        'target = "y"\ngroup = "batch"\n[audit]\nfail_on = "never"\nignore = ["GROUP006"]\n'
    )
    result = cli("audit", planted, "--config", cfg, "--out", tmp_path / "a")
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "a" / "audit.json").read_text())
    assert report["spec"]["group_col"] == "batch"
    assert "GROUP006" not in {f["code"] for f in report["findings"]}
    result = cli("audit", planted, "--config", cfg, "--out", tmp_path / "b", "--fail-on", "error")
    assert result.exit_code == 1


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        ("missing", ["--target", "y"], "does not exist"),
        ("empty", ["--target", "y"], "empty"),
        ("garbage", ["--target", "y"], "Cannot read"),
        ("good", ["--target", "Y"], "target 'Y' Did you mean 'y'?"),
        ("good", [], "Missing the target column"),
        ("good", ["--target", "y", "--fail-on", "sometimes"], "--fail-on must be one of"),
        ("good", ["--target", "y", "--ignore", "LEAK01"], "Did you mean 'LEAK001'"),
        ("norows", ["--target", "y"], "no rows"),
    ],
)
def test_audit_bad_input_exits_2_without_traceback(cli, tmp_path, planted, setup, args, message):
    path = {
        "missing": tmp_path / "nope.parquet",
        "empty": tmp_path / "empty.csv",
        "garbage": tmp_path / "garbage.parquet",
        "good": planted,
        "norows": tmp_path / "norows.csv",
    }[setup]
    if setup == "empty":
        path.write_text("")
    elif setup == "garbage":
        path.write_bytes(b"PAR1 not really")
    elif setup == "norows":
        pd.DataFrame({"x": [], "y": []}).to_csv(path, index=False)
    result = cli("audit", path, *args, "--out", tmp_path / "out")
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.stderr.split())
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_audit_accept_from_flags_and_config_with_reasons(cli, planted, tmp_path):
    out = tmp_path / "acc"
    cfg = tmp_path / "gw.toml"
    cfg.write_text(
        'target = "y"\ngroup = "batch"\n[audit]\naccept = {"LEAK001:leak_proxy" = "recorded at intake"}\n'
    )
    result = cli("audit", planted, "--config", cfg, "--accept", "GROUP001:*", "--out", out)
    report = json.loads((out / "audit.json").read_text())
    accepted = {f["code"]: f.get("accepted") for f in report["findings"] if f.get("accepted")}
    assert accepted["LEAK001"] == "recorded at intake"
    assert "command line" in accepted["GROUP001"]
    assert "accepted: recorded at intake" in (out / "audit.md").read_text()
    assert "(accepted)" in result.stdout
    open_errors = [
        f for f in report["findings"] if f["severity"] == "error" and not f.get("accepted")
    ]
    assert result.exit_code == int(bool(open_errors)), result.output


def test_audit_group_kind_unit_and_bad_accept(cli, planted, tmp_path):
    result = cli(
        "audit", planted, "--target", "y", "--group", "batch", "--group-kind", "unit",
        "--out", tmp_path / "u", "--json",
    )  # fmt: skip
    report = json.loads(result.stdout)
    assert report["spec"]["group_kind"] == "unit"
    assert all(f["severity"] == "info" for f in report["findings"] if f["code"] == "GROUP001")
    result = cli(
        "audit", planted, "--target", "y", "--accept", "LEAK001:nope", "--out", tmp_path / "b"
    )
    assert result.exit_code == 2 and "not in the table" in " ".join(result.stderr.split())
    result = cli(
        "audit", planted, "--target", "y", "--group-kind", "subject", "--out", tmp_path / "c"
    )
    assert result.exit_code == 2 and "group_kind" in " ".join(result.stderr.split())
