"""scikit-learn's estimator checks over every public groupwise estimator.

Every expected failure is listed with its reason, so that a check which starts failing
for another reason fails this suite (and one that starts passing shows as XPASS).
"""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from groupwise.estimators import (
    BatchCorrector,
    DatetimeToNumber,
    GroupedRidge,
    PartialPoolingRegressor,
    ToCategorical,
)
from groupwise.estimators._base import InvalidParameter
from groupwise.exceptions import ConfigError

_ARRAYS = (
    "scikit-learn's generic checks pass numpy arrays; this estimator works on named columns of "
    "a DataFrame (its id, batch or date columns), and the same property is tested with "
    "DataFrames in its own test module"
)
#: Checks that fit on numpy arrays, common to every estimator here (found by running
#: check_estimator once with on_fail=None).
_COMMON = (
    "check_complex_data", "check_dict_unchanged", "check_dont_overwrite_parameters", "check_dtype_object",
    "check_estimator_sparse_array", "check_estimator_sparse_matrix", "check_estimator_sparse_tag",
    "check_estimators_dtypes", "check_estimators_empty_data_messages", "check_estimators_fit_returns_self",
    "check_estimators_overwrite_params", "check_estimators_pickle", "check_f_contiguous_array_estimator",
    "check_fit2d_1feature", "check_fit2d_1sample", "check_fit2d_predict1d", "check_fit_check_is_fitted",
    "check_fit_idempotent", "check_fit_score_takes_y", "check_methods_sample_order_invariance",
    "check_methods_subset_invariance", "check_n_features_in", "check_n_features_in_after_fitting",
    "check_pipeline_consistency", "check_positive_only_tag_during_fit", "check_readonly_memmap_input",
)  # fmt: skip
_REGRESSOR = (
    "check_regressor_data_not_an_array", "check_regressors_int", "check_regressors_no_decision_function",
    "check_regressors_train", "check_requires_y_none", "check_supervised_y_2d",
)  # fmt: skip
_TRANSFORMER = (
    "check_transformer_data_not_an_array",
    "check_transformer_general",
    "check_transformer_preserve_dtypes",
)
_COLUMN_TRANSFORMER = (*_TRANSFORMER, "check_estimators_nan_inf", "check_fit1d")

ESTIMATORS = {
    PartialPoolingRegressor(hierarchy=["g"]): (
        *_COMMON,
        *_REGRESSOR,
        "check_non_transformer_estimators_n_iter",
    ),
    GroupedRidge(groups=["g"]): (*_COMMON, *_REGRESSOR),
    BatchCorrector(): (*_COMMON, *_TRANSFORMER),
    DatetimeToNumber(): (*_COMMON, *_COLUMN_TRANSFORMER),
    ToCategorical(): (*_COMMON, *_COLUMN_TRANSFORMER),
}
_BY_NAME = {type(e).__name__: checks for e, checks in ESTIMATORS.items()}


def _expected(est):
    return dict.fromkeys(_BY_NAME[type(est).__name__], _ARRAYS)


@parametrize_with_checks(list(ESTIMATORS), expected_failed_checks=_expected)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize(
    ("estimator", "message"),
    [
        (PartialPoolingRegressor(hierarchy=["g"], tol=-1), "'tol' parameter of PartialPoolingRegressor must be a float in the range"),
        (GroupedRidge(groups=["g"], alpha=-1), "'alpha' parameter of GroupedRidge must be a float in the range \\[0.0, inf\\). Got -1 instead"),
        (BatchCorrector(method="median"), "'method' parameter of BatchCorrector must be a str among"),
        (ToCategorical(max_levels=0), "'max_levels' parameter of ToCategorical must be an int in the range \\[1, 254\\]"),
        (DatetimeToNumber(columns="when"), "'columns' parameter of DatetimeToNumber must be an instance of"),
    ],
)  # fmt: skip
def test_bad_parameters_raise_one_message_format_as_groupwise_errors(estimator, message):
    import pandas as pd

    X = pd.DataFrame({"g": list("aabb"), "batch": list("aabb"), "x": [1.0, 2.0, 3.0, 4.0]})
    with pytest.raises(InvalidParameter, match=message) as exc:
        estimator.fit(X, [1.0, 2.0, 3.0, 4.0])
    assert isinstance(exc.value, ConfigError) and isinstance(exc.value, ValueError)
