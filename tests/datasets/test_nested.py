import json

import numpy as np

from groupwise.datasets import make_nested_regression


def test_nested_table_structure_and_truth():
    df, truth = make_nested_regression(n_clusters=4, n_species=40, n_compounds=30, random_state=3)
    assert list(df.columns) == ["compound", "cluster", "species", "x1", "x2", "x3", "x4", "y"]
    assert (df.groupby("species")["cluster"].nunique() == 1).all()
    assert df["cluster"].nunique() == 4
    assert json.loads(json.dumps(truth.to_dict()))["sigma"] == 0.2
    assert truth.rows_per_pair["share_1_2"] > 0.4  # heavy tail: many pairs with one or two rows
    assert len(truth.leaf_coefficients) == truth.rows_per_pair["pairs"]
    df2, _ = make_nested_regression(n_clusters=4, n_species=40, n_compounds=30, random_state=3)
    assert df.equals(df2)


def test_covariates_are_shifted_by_cluster():
    df, _ = make_nested_regression(
        n_clusters=5, n_species=100, n_compounds=20, covariate_shift=(2.0, 0.1), random_state=0
    )
    spread = df.groupby("cluster")["x1"].mean().std()
    assert spread > 1.0
    assert np.isfinite(df["y"]).all()
