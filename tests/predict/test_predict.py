import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from groupwise.io import read_parquet_metadata


def _inputs(run):
    return pd.read_parquet(run.path / "tables" / "holdout_input.parquet")


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_multi_chunk_prediction_keeps_rows_order_and_ids(cli, small_run, tmp_path, fmt):
    run, df = small_run
    new = df.drop(columns="y").sample(frac=1.0, random_state=0).reset_index(drop=True)
    src = tmp_path / f"in.{fmt}"
    new.to_parquet(src) if fmt == "parquet" else new.to_csv(src, index=False)
    out = tmp_path / f"out.{'csv' if fmt == 'parquet' else 'parquet'}"
    result = cli(
        "predict", src, "--out", out, "--models-dir", run.path.parent.parent, "--chunk-rows", 37
    )
    assert result.exit_code == 0, result.output
    pred = pd.read_csv(out) if out.suffix == ".csv" else pd.read_parquet(out)
    assert len(pred) == len(new)
    assert pred["sample_id"].tolist() == new["sample_id"].tolist()
    # the ids, then the run's group column (the input has it), then the predictions
    assert list(pred.columns) == ["sample_id", "batch", "prediction", "proba_0", "proba_1", "score"]
    assert pred["batch"].astype(str).tolist() == new["batch"].astype(str).tolist()
    direct = run.predict(new)
    np.testing.assert_allclose(pred["score"], direct["score"], atol=1e-12)


def test_threshold_is_recorded_in_parquet_metadata(cli, small_run, tmp_path):
    run, _ = small_run
    src = tmp_path / "in.parquet"
    _inputs(run).to_parquet(src)
    out = tmp_path / "p.parquet"
    assert cli("predict", src, "--out", out, "--models-dir", run.path.parent.parent).exit_code == 0
    meta = read_parquet_metadata(out)
    assert meta["threshold"] == pytest.approx(run.threshold)
    assert meta["classes"] == [0, 1]
    assert pq.read_metadata(out).num_rows == len(_inputs(run))


def _broken(kind, base):
    df = base.copy()
    if kind == "missing":
        return df.drop(columns=["i2"]), "i2", "add the missing columns"
    if kind == "forbidden":
        return df.assign(y=0), "y", "drop the target column"
    if kind == "uncoercible":
        df["i1"] = df["i1"].astype(object)
        df.loc[df.index[2], "i1"] = "12,5"
        return df, "i1", "--on-bad-values null"
    if kind == "empty":
        return df.iloc[:0], "no rows", "at least one row"
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["missing", "forbidden", "uncoercible", "empty"])
def test_each_violation_kind_exits_2_names_the_column_and_writes_nothing(
    cli, small_run, tmp_path, kind
):
    run, _ = small_run
    df, column, fix = _broken(kind, _inputs(run))
    src = tmp_path / "in.csv"
    df.to_csv(src, index=False)
    out = tmp_path / "out.parquet"
    result = cli("predict", src, "--out", out, "--models-dir", run.path.parent.parent)
    assert result.exit_code == 2, result.output
    text = " ".join(result.stderr.split())
    assert column in text and fix in text
    assert "Traceback" not in result.output
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out.parquet.violations.csv"]


def test_unseen_categories_and_out_of_range_are_tolerated_with_a_report(cli, small_run, tmp_path):
    run, _ = small_run
    df = _inputs(run)
    df["cat1"] = df["cat1"].astype(object)
    df.loc[df.index[:3], "cat1"] = "brand-new"
    df.loc[df.index[0], "i1"] = 1e6
    df["notes"] = "x"
    src = tmp_path / "in.parquet"
    df.to_parquet(src)
    out = tmp_path / "out.parquet"
    result = cli("predict", src, "--out", out, "--models-dir", run.path.parent.parent)
    assert result.exit_code == 0, result.output
    v = pd.read_csv(tmp_path / "out.parquet.violations.csv")
    assert set(zip(v["code"], v["column"], strict=True)) >= {
        ("UNSEEN_CATEGORY", "cat1"),
        ("OUT_OF_RANGE", "i1"),
        ("EXTRA_COLUMN", "notes"),
    }
    assert len(pd.read_parquet(out)) == len(df)


def test_on_bad_values_null_predicts_bad_cells_as_missing(cli, small_run, tmp_path):
    run, _ = small_run
    df, _, _ = _broken("uncoercible", _inputs(run))
    src = tmp_path / "in.csv"
    df.to_csv(src, index=False)
    out = tmp_path / "out.csv"
    result = cli(
        "predict",
        src,
        "--out",
        out,
        "--models-dir",
        run.path.parent.parent,
        "--on-bad-values",
        "null",
    )
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(out)) == len(df)


def test_tampered_model_is_refused_before_reading_input(cli, small_run, tmp_path):
    import shutil

    run, _ = small_run
    copy = tmp_path / "run"
    shutil.copytree(run.path, copy)
    (copy / "model" / "model.skops").write_bytes(b"PK\x03\x04 replaced")
    result = cli(
        "predict", tmp_path / "does-not-matter.csv", "--out", tmp_path / "o.csv", "--run", copy
    )
    assert result.exit_code == 2 and "changed after training" in " ".join(result.stderr.split())


def test_wrong_extension_and_missing_run(cli, small_run, tmp_path):
    run, _ = small_run
    result = cli(
        "predict",
        tmp_path / "in.xlsx",
        "--out",
        tmp_path / "o.parquet",
        "--models-dir",
        run.path.parent.parent,
    )
    assert result.exit_code == 2 and "extension" in result.stderr
    result = cli(
        "predict",
        tmp_path / "in.csv",
        "--out",
        tmp_path / "o.parquet",
        "--models-dir",
        tmp_path / "none",
    )
    assert result.exit_code == 2 and "No run found" in " ".join(result.stderr.split())


def test_keep_copies_columns_through_and_refuses_unknown_or_colliding_ones(
    cli, small_run, tmp_path
):
    run, df = small_run
    src = tmp_path / "in.parquet"
    df.drop(columns="y").assign(site=[f"x{i % 3}" for i in range(len(df))]).head(50).to_parquet(src)
    out = tmp_path / "p.parquet"
    base = ("predict", src, "--out", out, "--models-dir", run.models_dir)
    res = cli(*base, "--keep", "site", "--keep", "i1")
    assert res.exit_code == 0, res.output
    pred = pd.read_parquet(out)
    assert list(pred.columns)[:4] == ["sample_id", "site", "i1", "batch"]
    assert pred["site"].tolist() == [f"x{i % 3}" for i in range(50)]
    out.unlink()
    res = cli(*base, "--keep", "plate")
    assert res.exit_code == 2 and "--keep 'plate' is not a column of the input" in " ".join(
        res.output.split()
    )
    assert not out.exists()
    collide = tmp_path / "c.parquet"
    df.drop(columns="y").assign(score=1.0).head(5).to_parquet(collide)
    res = cli("predict", collide, "--out", out, "--models-dir", run.models_dir, "--keep", "score")
    assert res.exit_code == 2 and "collide" in res.output
    assert not out.exists()
