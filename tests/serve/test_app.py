"""The HTTP API against the batch CLI: same predictions, same violations, 4xx for bad bodies."""

import io
import json

import numpy as np
import pandas as pd
import pytest

from groupwise.exceptions import MissingDependencyError


def _cli_predict(cli, run, src, out):
    result = cli("predict", src, "--out", out, "--models-dir", run.models_dir, "--run", run.run_id)
    assert result.exit_code == 0, result.output
    return pd.read_parquet(out) if out.suffix == ".parquet" else out.read_text()


def _records(df):
    """JSON records with every float exact (``DataFrame.to_json`` rounds to 10 digits)."""
    from groupwise.io import to_jsonable

    return to_jsonable(df.astype(object).to_dict("records"))


def _frame(doc):
    return pd.DataFrame(doc["predictions"], columns=doc["columns"])


@pytest.mark.parametrize("how", ["json_records", "json_split", "csv_body", "parquet_body", "multipart_csv", "multipart_parquet"])  # fmt: skip
def test_predictions_equal_the_cli_on_the_holdout_input(
    cli, small_run, client, holdout_input, tmp_path, how
):
    run, _ = small_run
    src = tmp_path / "holdout.parquet"
    holdout_input.to_parquet(src)
    expected = _cli_predict(cli, run, src, tmp_path / "cli.parquet")
    if how == "json_records":
        r = client.post("/predict", json=_records(holdout_input))
    elif how == "json_split":
        rows = _records(holdout_input)
        data = [list(row.values()) for row in rows]
        r = client.post("/predict", json={"columns": list(holdout_input.columns), "data": data})
    elif how == "csv_body":
        r = client.post("/predict", content=holdout_input.to_csv(index=False).encode(), headers={"content-type": "text/csv"})  # fmt: skip
    elif how == "parquet_body":
        r = client.post("/predict", content=src.read_bytes(), headers={"content-type": "application/vnd.apache.parquet"})  # fmt: skip
    elif how == "multipart_csv":
        r = client.post("/predict", files={"file": ("rows.csv", holdout_input.to_csv(index=False), "text/csv")})  # fmt: skip
    else:
        r = client.post("/predict", files={"file": ("rows.parquet", src.read_bytes(), "application/octet-stream")})  # fmt: skip
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["run_id"] == run.run_id and doc["rows"] == len(holdout_input)
    got = _frame(doc)
    assert list(got.columns) == list(expected.columns)
    assert got["sample_id"].tolist() == expected["sample_id"].tolist()
    assert got["prediction"].tolist() == expected["prediction"].tolist()
    for c in ("proba_0", "proba_1", "score"):  # JSON floats round-trip exactly
        np.testing.assert_array_equal(got[c].to_numpy(float), expected[c].to_numpy(float))


def test_csv_format_is_byte_for_byte_the_cli_csv(cli, small_run, client, holdout_input, tmp_path):
    run, _ = small_run
    src = tmp_path / "holdout.csv"
    holdout_input.to_csv(src, index=False)
    expected = _cli_predict(cli, run, src, tmp_path / "cli.csv")
    r = client.post("/predict?format=csv", content=src.read_bytes(), headers={"content-type": "text/csv"})  # fmt: skip
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert r.text == expected


def _broken(kind, base):
    df = base.copy()
    if kind == "MISSING_COLUMN":
        return df.drop(columns=["i2"]), "i2"
    if kind == "FORBIDDEN_COLUMN":
        return df.assign(y=0), "y"
    if kind == "UNCOERCIBLE_VALUE":
        df["i1"] = df["i1"].astype(object)
        df.loc[df.index[2], "i1"] = "12,5"
        return df, "i1"
    return df.iloc[:0], None  # EMPTY_INPUT


@pytest.mark.parametrize("kind", ["MISSING_COLUMN", "FORBIDDEN_COLUMN", "UNCOERCIBLE_VALUE", "EMPTY_INPUT"])  # fmt: skip
def test_each_violation_kind_is_a_422_with_the_cli_reason_code_and_message(
    cli, small_run, client, holdout_input, tmp_path, kind
):
    run, _ = small_run
    bad, column = _broken(kind, holdout_input)
    src = tmp_path / "bad.csv"
    bad.to_csv(src, index=False)
    r = client.post("/predict", content=src.read_bytes(), headers={"content-type": "text/csv"})
    assert r.status_code == 422, r.text
    doc = r.json()
    assert doc["error"] == "SCHEMA_VIOLATION"
    errors = [v for v in doc["violations"] if v["level"] == "error"]
    assert [(v["code"], v["column"]) for v in errors] == [(kind, column)]
    # the CLI refuses the same file with the same reason line
    result = cli("predict", src, "--out", tmp_path / "out.csv", "--models-dir", run.models_dir)
    assert result.exit_code == 2
    line = next(ln for ln in doc["message"].splitlines() if ln.strip().startswith(kind))
    assert " ".join(line.split()) in " ".join(result.output.split())
    assert not (tmp_path / "out.csv").exists()


def test_on_bad_values_null_predicts_and_reports_the_values_as_warnings(client, holdout_input):
    bad, _ = _broken("UNCOERCIBLE_VALUE", holdout_input)
    r = client.post("/predict?on_bad_values=null", content=bad.to_csv(index=False).encode(), headers={"content-type": "text/csv"})  # fmt: skip
    assert r.status_code == 200
    v = {x["code"]: x for x in r.json()["violations"]}["UNCOERCIBLE_VALUE"]
    assert v["level"] == "warning" and v["column"] == "i1" and v["examples"][0]["value"] == "12,5"


def test_warnings_and_notices_come_back_with_the_predictions(client, holdout_input):
    df = holdout_input.head(5).copy()
    df["cat1"] = df["cat1"].astype(object)
    df.loc[df.index[0], "cat1"] = "never-seen"
    df.loc[df.index[1], "i1"] = 1e6
    df["unused"] = 1
    r = client.post("/predict", json=_records(df))
    assert r.status_code == 200
    found = {(v["code"], v["column"], v["level"]) for v in r.json()["violations"]}
    assert found == {("UNSEEN_CATEGORY", "cat1", "warning"), ("OUT_OF_RANGE", "i1", "warning"), ("EXTRA_COLUMN", "unused", "notice")}  # fmt: skip


@pytest.mark.parametrize(
    ("body", "ctype", "status", "code"),
    [
        (b"{not json", "application/json", 400, "MALFORMED_JSON"),
        (b"\xff\xfe", "application/json", 400, "MALFORMED_JSON"),
        (b'{"x": 1}', "application/json", 422, "BAD_REQUEST_SHAPE"),
        (b"42", "application/json", 422, "BAD_REQUEST_SHAPE"),
        (b"[1, 2]", "application/json", 422, "BAD_REQUEST_SHAPE"),
        (b'[{"i1": {"nested": 1}}]', "application/json", 422, "BAD_REQUEST_SHAPE"),
        (b'{"columns": ["i1", "i1"], "data": [[1, 2]]}', "application/json", 422, "BAD_REQUEST_SHAPE"),
        (b'{"columns": ["i1"], "data": [[1, 2]]}', "application/json", 422, "BAD_REQUEST_SHAPE"),
        (b'{"columns": "i1", "data": []}', "application/json", 422, "BAD_REQUEST_SHAPE"),
        (b"i1,i1\n1,2\n", "text/csv", 422, "BAD_TABLE"),
        (b"", "text/csv", 422, "BAD_TABLE"),
        (b"PAR1 this is not parquet", "application/vnd.apache.parquet", 400, "BAD_TABLE"),
        (b"hello", "text/plain", 415, "UNSUPPORTED_MEDIA_TYPE"),
        (b"--x\r\n\r\n--x--", "multipart/form-data", 400, "MALFORMED_MULTIPART"),
        (b'--x\r\nContent-Disposition: form-data; name="other"\r\n\r\nv\r\n--x--\r\n', "multipart/form-data; boundary=x", 422, "MISSING_FILE"),
        (b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.xlsx"\r\n\r\nv\r\n--x--\r\n', "multipart/form-data; boundary=x", 415, "UNSUPPORTED_MEDIA_TYPE"),
    ],
)  # fmt: skip
def test_malformed_bodies_get_a_4xx_with_a_reason(client, body, ctype, status, code):
    r = client.post("/predict", content=body, headers={"content-type": ctype})
    assert r.status_code == status, r.text
    doc = r.json()
    assert doc["error"] == code
    assert any(
        w in doc["message"].lower() for w in ("expected", "must", "send")
    )  # says what to send


def test_random_bodies_never_get_a_500(client):
    rng = np.random.default_rng(0)
    ctypes = ["application/json", "text/csv", "application/vnd.apache.parquet", "multipart/form-data; boundary=b", "", "text/tab-separated-values"]  # fmt: skip
    seeds = [b"[{", b'{"columns":', b"i1,i2\n", b"PAR1", b"--b\r\n", b'[{"i1": "x"}]']
    for k in range(120):
        body = seeds[k % len(seeds)] + rng.bytes(int(rng.integers(0, 200)))
        r = client.post("/predict", content=body, headers={"content-type": ctypes[k % len(ctypes)]})
        assert 200 <= r.status_code < 500, (body, r.status_code, r.text)


def test_query_parameters_are_checked(client, holdout_input):
    body = holdout_input.head(2).to_csv(index=False).encode()
    for q in ("format=xml", "on_bad_values=skip"):
        r = client.post(f"/predict?{q}", content=body, headers={"content-type": "text/csv"})
        assert r.status_code == 422 and r.json()["error"] == "BAD_PARAMETER"


def test_request_size_limit_is_a_413(small_run, holdout_input):
    from fastapi.testclient import TestClient

    from groupwise.serve import create_app

    run, _ = small_run
    with TestClient(create_app(run, max_request_bytes=2_000)) as c:
        small = holdout_input.head(3).to_csv(index=False).encode()
        big = holdout_input.to_csv(index=False).encode()
        assert len(small) < 2_000 < len(big)
        assert c.post("/predict", content=small, headers={"content-type": "text/csv"}).status_code == 200  # fmt: skip
        r = c.post("/predict", content=big, headers={"content-type": "text/csv"})
        assert r.status_code == 413 and r.json()["error"] == "REQUEST_TOO_LARGE"


def test_health_schema_report_and_metrics(small_run, holdout_input):
    from fastapi.testclient import TestClient

    from groupwise.serve import create_app

    run, _ = small_run
    with TestClient(create_app(run)) as c:
        h = c.get("/health").json()
        assert h["run_id"] == run.run_id and h["model_sha256"] == run.run_meta.model["sha256"]
        assert h["status"] == "ok" and h["uptime_s"] >= 0
        s = c.get("/schema").json()
        assert s["input"] == json.loads(json.dumps(run.schema.to_dict()))
        assert s["threshold"] == run.threshold and s["classes"] == run.classes
        rep = c.get("/report")
        assert rep.status_code == 200 and rep.text == run.layout.report.read_text()
        body = holdout_input.head(4).to_csv(index=False).encode()
        for _ in range(3):
            c.post("/predict", content=body, headers={"content-type": "text/csv"})
        c.post("/predict", content=b"{", headers={"content-type": "application/json"})
        c.get("/nowhere")
        m = c.get("/metrics").json()
        p = m["routes"]["/predict"]
        assert p["requests"] == 4 and p["by_status"] == {"200": 3, "400": 1}
        assert 0 < p["latency_ms"]["p50"] <= p["latency_ms"]["p99"]
        assert m["rows_predicted"] == 12
        assert m["routes"]["other"]["by_status"] == {"404": 1}


def test_the_page_needs_nothing_from_the_internet(client):
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert 'id="predictions"' in html and 'type="file"' in html
    for needle in ("http://", "https://", "//cdn", "<link "):
        assert needle not in html
    assert ".innerHTML" not in html  # server values are shown as text only


def test_a_run_whose_model_fails_verification_does_not_start(small_run, tampered_copy):
    from groupwise.exceptions import ModelIntegrityError
    from groupwise.serve import create_app

    with pytest.raises(ModelIntegrityError, match="changed after training"):
        create_app(tampered_copy(small_run[0]))


def test_a_missing_extra_names_it(monkeypatch, small_run):
    import builtins

    from groupwise.serve import create_app

    real = builtins.__import__

    def no_fastapi(name, *args, **kwargs):
        if name.split(".")[0] == "fastapi":
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_fastapi)
    monkeypatch.setattr("importlib.import_module", lambda n: no_fastapi(n))
    with pytest.raises(MissingDependencyError, match=r"groupwise\[serve\]"):
        create_app(small_run[0])


def test_records_with_missing_keys_are_missing_values(client, holdout_input):
    rows = _records(holdout_input.head(3))
    del rows[1]["i1"]
    r = client.post("/predict", json=rows)
    assert r.status_code == 200 and r.json()["rows"] == 3
    df = pd.read_csv(io.StringIO(holdout_input.head(3).to_csv(index=False)))
    assert r.json()["predictions"][0]["sample_id"] == df["sample_id"][0]
