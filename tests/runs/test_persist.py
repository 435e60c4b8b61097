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
    loaded = load_model(
        tmp_path / "m.skops", sha256=info["sha256"], trusted_types=info["trusted_types"]
    )
    assert (loaded.predict(X) == model.predict(X)).all()
    with pytest.raises(ModelIntegrityError, match="not recorded at training"):
        load_model(tmp_path / "m.skops", sha256=info["sha256"], trusted_types=[])
    with pytest.raises(ModelIntegrityError, match="changed after training"):
        load_model(tmp_path / "m.skops", sha256="0" * 64, trusted_types=info["trusted_types"])
