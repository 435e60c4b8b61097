"""Property: whatever the input, predict either writes a complete output or exits 2 and writes nothing."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

MUTATIONS = (
    "drop",
    "extra",
    "rename",
    "text_in_numeric",
    "nan_inf",
    "mixed",
    "target",
    "empty",
    "shuffle_cols",
    "none",
)


@st.composite
def malformed(draw, columns):
    ops = draw(st.lists(st.sampled_from(MUTATIONS), min_size=1, max_size=3))
    return {
        "ops": ops,
        "col": draw(st.sampled_from(columns)),
        "rows": draw(st.integers(min_value=0, max_value=40)),
        "fmt": draw(st.sampled_from(["csv", "parquet", "tsv", "xlsx"])),
        "text": draw(st.sampled_from(["abc", "1,5", "", "NaN", "-", "1e400", "inf", " 7 "])),
        "seed": draw(st.integers(0, 2**16)),
    }


def _apply(base: pd.DataFrame, case) -> pd.DataFrame:
    rng = np.random.default_rng(case["seed"])
    df = base.iloc[: case["rows"]].copy()
    c = case["col"]
    for op in case["ops"]:
        if c not in df.columns:
            continue
        if op == "drop":
            df = df.drop(columns=[c])
        elif op == "extra":
            df["unexpected"] = rng.normal(size=len(df))
        elif op == "rename":
            df = df.rename(columns={c: c.upper() + "_renamed"})
        elif op == "text_in_numeric" and len(df):
            df[c] = df[c].astype(object)
            df.iloc[rng.integers(0, len(df)), df.columns.get_loc(c)] = case["text"]
        elif op == "nan_inf" and len(df) and pd.api.types.is_numeric_dtype(df[c]):
            df.iloc[rng.integers(0, len(df)), df.columns.get_loc(c)] = rng.choice(
                [np.nan, np.inf, -np.inf]
            )
        elif op == "mixed" and len(df):
            df[c] = df[c].astype(object)
            df.iloc[0, df.columns.get_loc(c)] = 3
        elif op == "target":
            df["y"] = 1
        elif op == "empty":
            df = df.iloc[:0]
        elif op == "shuffle_cols":
            df = df[list(rng.permutation(df.columns))]
    return df


def _write(df, path, fmt):
    if fmt == "parquet":
        for c in df.columns:
            if df[c].dtype == object:
                df[c] = df[c].astype(str)
        df.to_parquet(path)
    elif fmt == "tsv":
        df.to_csv(path, sep="\t", index=False)
    else:  # csv, and xlsx written as csv text: a wrong extension
        df.to_csv(path, index=False)


@pytest.mark.slow
def test_predict_never_leaves_partial_output(runner, small_run, tmp_path_factory):
    from groupwise.cli import app

    run, df = small_run
    base = pd.read_parquet(run.path / "tables" / "holdout_input.parquet")
    base = pd.concat([base] * 2, ignore_index=True)
    models_dir = str(run.path.parent.parent)
    outcomes = {"ok": 0, "refused": 0}

    @settings(
        max_examples=200,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(case=malformed(list(base.columns)))
    def check(case):
        d = tmp_path_factory.mktemp("fuzz")
        data = _apply(base, case)
        src = d / f"input.{case['fmt']}"
        _write(data, src, case["fmt"])
        out = d / "out.parquet"
        result = runner.invoke(
            app,
            [
                "predict",
                str(src),
                "--out",
                str(out),
                "--models-dir",
                models_dir,
                "--chunk-rows",
                "16",
            ],
        )
        assert result.exit_code in (0, 2), (case, result.output)
        assert "Traceback" not in result.output, (case, result.output)
        if result.exit_code == 0:
            outcomes["ok"] += 1
            pred = pd.read_parquet(out)
            assert len(pred) == len(data)
            assert pred["prediction"].notna().all()
        else:
            outcomes["refused"] += 1
            assert not out.exists()
            assert not [p for p in d.iterdir() if p.name.startswith(".out.parquet")]

    check()
    print("fuzz outcomes", outcomes)
    assert sum(outcomes.values()) >= 200, outcomes
    assert outcomes["ok"] >= 10 and outcomes["refused"] >= 10, outcomes
