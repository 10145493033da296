"""Input checks: the block-by-block finiteness scan sees what a whole-array one does."""

import numpy as np
import pytest

from mixtura import _validation
from mixtura._validation import check_finite
from mixtura.exceptions import DataValidationError


@pytest.fixture(params=[2**20, 6], ids=["one-block", "blocks-of-2-rows"])
def block_values(request, monkeypatch):
    monkeypatch.setattr(_validation, "_SCAN_BLOCK_VALUES", request.param)
    return request.param


def _data():
    return np.arange(21, dtype=float).reshape(7, 3)


def test_finite_data_pass(block_values):
    check_finite(_data())
    check_finite(_data().astype(np.float32), allow_nan=True)


def test_the_message_counts_every_bad_row_and_column(block_values):
    X = _data()
    X[1, 2] = np.nan
    X[6, 0] = np.nan  # in the last (partial) block
    X[5, 2] = np.inf
    with pytest.raises(DataValidationError) as error:
        check_finite(X)
    message = str(error.value)
    assert "column 0" in message and "NaN" in message
    assert "2 column(s) and 3 row(s)" in message


def test_infinity_is_refused_even_where_nan_is_missing(block_values):
    X = _data()
    X[0, 1] = np.nan
    X[6, 1] = -np.inf
    with pytest.raises(DataValidationError, match="infinity in column 1"):
        check_finite(X, allow_nan=True)


def test_a_column_missing_in_every_block_is_refused(block_values):
    X = _data()
    X[:, 1] = np.nan
    X[3, 0] = np.nan
    with pytest.raises(DataValidationError, match="column 1 is entirely missing"):
        check_finite(X, allow_nan=True)
    # observed once, in the last block only: accepted
    X[6, 1] = 1.0
    check_finite(X, allow_nan=True)
    # rows to predict may leave a column empty
    X[:, 1] = np.nan
    check_finite(X, allow_nan=True, require_observed_columns=False)
