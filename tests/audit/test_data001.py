def test_data001_errors_on_tiny_tables_and_rare_classes(make, check):
    found, _ = check(make(n_samples=20), "DATA001")
    assert [f.severity for f in found][0] == "error"
    found, _ = check(make(n_samples=400, weights=(0.99,)), "DATA001")
    assert any(f.severity == "error" and "smallest class" in f.message for f in found)


def test_data001_warns_on_small_tables_and_passes_large(make, check):
    found, _ = check(make(n_samples=80), "DATA001")
    assert [f.severity for f in found] == ["warning"]
    found, report = check(make(n_samples=500), "DATA001")
    assert found == [] and "DATA001" in report.passed
