"""Independent fits spread over the workers: each model back in its job's place."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

from groupwise._parallel import LocalExecutor, available_cores
from groupwise.training._cv import fit_many


@pytest.mark.parametrize("n_jobs", [1, None])
def test_fitted_models_come_back_in_job_order_whatever_order_the_costs_run_them_in(n_jobs):
    if n_jobs is None and available_cores() < 2:
        pytest.skip("needs two cores for worker processes")
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x": rng.normal(size=200)})
    slopes = [1.0, -2.0, 3.5, 0.25]
    jobs = [("estimator", LinearRegression(), X, s * X["x"].to_numpy()) for s in slopes]
    ex = LocalExecutor(n_jobs)
    try:
        fitted = fit_many(jobs, ex, costs=[0.1, 5.0, 1.0, 9.0])  # run as 4, 2, 3, 1
    finally:
        ex.close()
    assert [round(float(m.coef_[0]), 6) for m in fitted] == slopes
    assert all(m is not job[1] for m, job in zip(fitted, jobs, strict=True))  # fitted copies
