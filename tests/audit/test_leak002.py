import uuid


def test_leak002_planted_id_column(make, check):
    found, _ = check(make(leak_id_column=True), "LEAK002")
    assert found[0].severity == "warning" and found[0].columns == ("record_id",)
    assert "--id record_id" in found[0].fix


def test_leak002_hash_like_strings(make, check):
    df = make(n_samples=100)
    df["token"] = [uuid.UUID(int=i * 7919 + 1).hex for i in range(100)]
    found, _ = check(df, "LEAK002")
    assert found[0].evidence["pattern"] == "hash-like strings"


def test_leak002_declared_ids_and_floats_are_fine(make, check):
    df = make(leak_id_column=True)
    found, report = check(df, "LEAK002", id_cols=["record_id"])
    assert found == [] and "LEAK002" in report.passed
