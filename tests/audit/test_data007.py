import pandas as pd


def test_data007_numbers_as_text_and_null_spellings(make, check):
    df = make(n_samples=300)
    values = [f"{v:.3f}" for v in df["i1"]]
    values[:5] = ["?", "missing", "?", "-", "?"]
    df["lab"] = pd.Series(values, dtype=object)
    df.loc[df.index[10:14], "lab"] = None
    found, _ = check(df, "DATA007")
    messages = " ".join(f.message for f in found)
    assert "numbers stored as text" in messages
    assert "spells missing values in 4 ways" in messages
    assert all(f.severity == "warning" for f in found)


def test_data007_mixed_python_types(make, check):
    df = make(n_samples=100)
    df["mixed"] = pd.Series(["a", 1, "b", 2.5] * 25, dtype=object)
    found, _ = check(df, "DATA007")
    assert any("mixes Python types" in f.message for f in found)


def test_data007_plain_categoricals_pass(make, check):
    found, report = check(make(n_categorical=2), "DATA007")
    assert found == [] and "DATA007" in report.passed
