"""NaN in compositional data: the Dirichlet family refuses missing values clearly.

A missing part of a composition changes what the observed parts mean (they no
longer sum to one), so there is no missing-value EM; every entry point must say
so and what to do, and a failed call must leave a fitted model as it was.
"""

import numpy as np
import pytest

from mixtura import DataValidationError, MixtureModel


@pytest.fixture
def compositions():
    return np.random.RandomState(0).dirichlet([2.0, 3.0, 4.0], 200)


def test_fit_with_nan_names_the_column_and_says_what_to_do(compositions):
    X = compositions.copy()
    X[5, 1] = np.nan
    with pytest.raises(DataValidationError, match=r"NaN in column 1.*drop or impute"):
        MixtureModel(2, family="dirichlet").fit(X)


def test_missing_em_is_refused_with_the_reason(compositions):
    X = compositions.copy()
    X[5, 1] = np.nan
    with pytest.raises(
        ValueError, match=r"'dirichlet' family.*sum to one.*renormalise"
    ):
        MixtureModel(2, family="dirichlet", missing="em").fit(X)


def test_predicting_rows_with_nan_is_refused_and_the_model_unchanged(compositions):
    model = MixtureModel(2, family="dirichlet", random_state=0).fit(compositions)
    before = model.predict_proba(compositions)
    rows = compositions[:3].copy()
    rows[0, 2] = np.nan
    for method in (model.predict, model.predict_proba, model.score_samples):
        with pytest.raises(DataValidationError, match=r"NaN in column 2"):
            method(rows)
    np.testing.assert_array_equal(model.predict_proba(compositions), before)
