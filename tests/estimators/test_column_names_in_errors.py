"""Data errors name a DataFrame's columns by their names (issue 18)."""

import numpy as np
import pandas as pd
import pytest

from mixtura import (
    BernoulliMixture,
    CategoricalMixture,
    DataValidationError,
    GaussianMixture,
    MixtureRegression,
    PoissonMixture,
)
from mixtura._validation import column_label, column_names

FRAME = pd.DataFrame(
    {"height": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "weight": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]}
)


def _with(column, row, value):
    frame = FRAME.copy()
    frame.loc[row, column] = value
    return frame


def test_nan_names_the_column():
    frame = _with("weight", 2, np.nan)
    with pytest.raises(DataValidationError, match=r"NaN in column 'weight' \(1\) "):
        GaussianMixture().fit(frame)
    fitted = GaussianMixture().fit(FRAME)
    with pytest.raises(DataValidationError, match=r"NaN in column 'weight' \(1\) "):
        fitted.predict(frame)


def test_regression_estimators_name_the_column():
    frame = _with("weight", 2, np.nan)
    with pytest.raises(DataValidationError, match=r"NaN in column 'weight' \(1\) "):
        MixtureRegression(2).fit(frame, np.arange(6.0))


def test_infinity_names_the_column():
    with pytest.raises(DataValidationError, match=r"infinity in column 'height' \(0\)"):
        GaussianMixture().fit(_with("height", 0, np.inf))


def test_plain_arrays_keep_the_index():
    X = _with("weight", 2, np.nan).to_numpy()
    with pytest.raises(DataValidationError, match=r"NaN in column 1 \(1 column"):
        GaussianMixture().fit(X)
    counts = np.array([[1, 2], [3, -4], [5, 6]])
    with pytest.raises(DataValidationError, match=r"but column 1 holds the negative"):
        PoissonMixture().fit(counts)


def test_support_violation_names_the_column():
    counts = pd.DataFrame({"a": [1, 2, 3], "visits": [1, -2, 3]})
    with pytest.raises(DataValidationError, match=r"column 'visits' \(1\) holds the"):
        PoissonMixture().fit(counts)
    binary = pd.DataFrame({"x": [1, 0, 1], "y": [0, 2, 1]})
    with pytest.raises(DataValidationError, match=r"but column 'y' \(1\) holds 2"):
        BernoulliMixture().fit(binary)


def test_categorical_encoding_names_the_column():
    table = pd.DataFrame({"colour": ["red", "blue", "red"], "size": ["s", "m", "l"]})
    fitted = CategoricalMixture(random_state=0).fit(table)
    unseen = table.assign(size=["s", "xl", "m"])
    with pytest.raises(
        DataValidationError, match=r"column 'size' \(1\) holds the level"
    ):
        fitted.predict(unseen)


def test_column_label_outside_and_inside_names():
    assert column_label(3) == "column 3"
    with column_names(["a", "b"]):
        assert column_label(1) == "column 'b' (1)"
        # an index beyond the names (another input's) stays bare
        assert column_label(5) == "column 5"
    assert column_label(1) == "column 1"
