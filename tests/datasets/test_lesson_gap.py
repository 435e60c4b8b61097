"""Acceptance: batch confounding inflates naive CV, as in the batch-effects lesson."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import GroupKFold, StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from groupwise.datasets import DatasetConfig, generate_dataset


def _mean_gap(confounding: float, seeds=range(20)) -> float:
    gaps = []
    for seed in seeds:
        cfg = DatasetConfig(
            n_samples=240, n_informative=8, n_noise=6, class_sep=1.2, n_batches=4, batch_sd=1.6,
            batch_effect="scalar", affected="all", confounding=confounding, random_state=seed,
        )  # fmt: skip
        X, y, meta = generate_dataset(cfg)
        model = make_pipeline(StandardScaler(), LogisticRegression())
        features = X[meta.feature_names]
        naive = cross_val_predict(
            model, features, y, cv=StratifiedKFold(5, shuffle=True, random_state=seed)
        )
        grouped = cross_val_predict(model, features, y, cv=GroupKFold(4), groups=X["batch"])
        gaps.append(balanced_accuracy_score(y, naive) - balanced_accuracy_score(y, grouped))
    return float(np.mean(gaps))


@pytest.mark.slow
def test_confounded_batches_inflate_naive_cv():
    assert _mean_gap(0.5) >= 0.04


@pytest.mark.slow
def test_unconfounded_batches_do_not_inflate_naive_cv():
    assert _mean_gap(0.0) <= 0.02
