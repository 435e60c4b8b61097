import pandas as pd


def test_data008_dates_as_text(make, check):
    df = make(n_samples=200)
    df["visit"] = pd.date_range("2024-01-01", periods=200, freq="D").strftime("%Y-%m-%d")
    df["code"] = [f"A{i:03d}" for i in range(200)]
    found, _ = check(df, "DATA008")
    assert found[0].severity == "warning" and found[0].columns == ("visit",)


def test_data008_not_applicable_without_text(make, check):
    _, report = check(make(), "DATA008")
    assert report.not_applicable[0]["code"] == "DATA008"


def test_data008_csv_date_declared_as_time_is_read_as_dates(make, check, tmp_path):
    from groupwise.io import read_table

    df = make(n_samples=200)
    df["visit"] = pd.date_range("2024-01-01", periods=200, freq="D").strftime("%Y-%m-%d")
    df.to_csv(tmp_path / "t.csv", index=False)
    found, report = check(read_table(tmp_path / "t.csv"), "DATA008", time_col="visit")
    assert found == []


def test_text_dates_are_one_kind_in_csv_and_parquet(make, tmp_path):
    from groupwise.audit import audit
    from groupwise.io import read_table
    from groupwise.spec import TableSpec

    df = make(n_samples=300)
    df["visit"] = pd.date_range("2023-01-01", periods=300, freq="D")
    df.to_parquet(tmp_path / "t.parquet")
    df.to_csv(tmp_path / "t.csv", index=False)
    kinds = {}
    for fmt in ("parquet", "csv"):
        table = TableSpec(target="y").resolve(read_table(tmp_path / f"t.{fmt}"))
        kinds[fmt] = table.kinds.kind("visit")
        report = audit(table.source, table, checks=["LEAK002", "DATA009"])
        assert not any("visit" in f.columns for f in report.findings), fmt
    assert kinds == {"parquet": "datetime", "csv": "datetime"}


def test_garbage_is_not_read_as_dates():
    from groupwise._dates import looks_like_dates, parse_dates

    assert not looks_like_dates(pd.Series(["May", "-0", "1,5", "７", "12"] * 10))
    values, bad, fmt = parse_dates(pd.Series(["2024-01-05", "May", None, "2024-02-30"]))
    assert fmt == "ISO8601" and bad.tolist() == [False, True, False, True]
    assert values.iloc[0] == pd.Timestamp("2024-01-05")
    with_offsets = parse_dates(pd.Series(["2024-01-05T10:00:00+02:00", "2024-01-05T09:00:00Z"]))[0]
    assert with_offsets.tolist() == [
        pd.Timestamp("2024-01-05 08:00"),
        pd.Timestamp("2024-01-05 09:00"),
    ]
