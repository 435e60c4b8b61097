import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from groupwise.estimators import ToCategorical
from groupwise.exceptions import ModelIntegrityError
from groupwise.runs import load_model, save_model


def test_save_records_types_and_load_verifies_them(tmp_path):
    import numpy as np
    import pandas as pd

    X = pd.DataFrame({"c": list("abab") * 5, "x": np.arange(20.0)})
    y = np.arange(20) % 2
    from sklearn.compose import make_column_transformer
    from sklearn.preprocessing import OneHotEncoder

    model = make_pipeline(
        ToCategorical(["c"]),
        make_column_transformer((OneHotEncoder(), ["c"]), remainder="passthrough"),
        LogisticRegression(),
    )
    model.fit(X, y)
    info = save_model(model, tmp_path / "m.skops")
    assert "groupwise.estimators._preprocess.ToCategorical" in info["trusted_types"]
    loaded = load_model(tmp_path / "m.skops", sha256=info["sha256"])
    assert (loaded.predict(X) == model.predict(X)).all()
    with pytest.raises(ModelIntegrityError, match="changed after training"):
        load_model(tmp_path / "m.skops", sha256="0" * 64)


def test_types_outside_the_fixed_list_need_the_caller_to_name_them(tmp_path):
    import numpy as np
    from sklearn.preprocessing import FunctionTransformer

    model = make_pipeline(FunctionTransformer(np.nan_to_num), LogisticRegression())
    model.fit(np.arange(20.0).reshape(-1, 1), np.arange(20) % 2)
    info = save_model(model, tmp_path / "m.skops")
    assert "numpy.nan_to_num" in info["trusted_types"]
    with pytest.raises(ModelIntegrityError, match="does not trust: numpy.nan_to_num"):
        load_model(tmp_path / "m.skops", sha256=info["sha256"])
    loaded = load_model(
        tmp_path / "m.skops", sha256=info["sha256"], extra_trusted=["numpy.nan_to_num"]
    )
    assert loaded.predict([[3.0]]) == model.predict([[3.0]])


def test_a_corrupt_archive_with_a_matching_checksum_is_a_clean_refusal(tmp_path):
    import hashlib

    from groupwise.runs import load_model_bytes

    data = b"PK\x03\x04 not really a zip"
    with pytest.raises(ModelIntegrityError, match="not a readable skops file"):
        load_model_bytes(data, sha256=hashlib.sha256(data).hexdigest(), where="'m.skops'")
