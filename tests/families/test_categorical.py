"""The categorical family beyond the registry's generic tests."""

import numpy as np
import pytest

from mixtura.exceptions import DataValidationError
from mixtura.families import Categorical
from mixtura.families.categorical import one_hot

X = np.array([[0, 2], [0, 1], [1, 0], [1, 0]], dtype=float)
LABELS = np.array([0, 0, 1, 1])


def _stats(family):
    return family.statistics(X, np.eye(2)[LABELS])


def test_one_hot_concatenates_the_columns_blocks():
    np.testing.assert_array_equal(
        one_hot(X[:2], [2, 3]), [[1, 0, 0, 0, 1], [1, 0, 0, 1, 0]]
    )


def test_maximum_likelihood_is_the_level_frequency():
    fitted = Categorical([2, 3]).maximize(_stats(Categorical([2, 3])))
    first, second = fitted.item_probabilities()
    np.testing.assert_allclose(first, [[1, 0], [0, 1]])
    np.testing.assert_allclose(second, [[0, 0.5, 0.5], [1, 0, 0]])


def test_map_is_the_dirichlet_posterior_mode():
    family = Categorical([2, 3], alpha=2.0)
    _, second = family.maximize(_stats(family)).item_probabilities()
    # (s_l + alpha - 1) / (n + L (alpha - 1)) with n = 2 per class, L = 3
    # counts [[0, 1, 1], [2, 0, 0]] plus alpha - 1 = 1, over 2 + 3 * 1
    np.testing.assert_allclose(second, np.array([[1, 2, 2], [3, 1, 1]]) / 5)


def test_template_without_levels_takes_them_from_the_data():
    template = Categorical()
    np.testing.assert_array_equal(template.init_features(X).shape, (4, 5))


@pytest.mark.parametrize("value", [-1.0, 0.5, 3.0])
def test_check_data_refuses_codes_out_of_range(value):
    bad = X.copy()
    bad[0, 1] = value
    with pytest.raises(DataValidationError, match="column 1"):
        Categorical([2, 3]).check_data(bad)


def test_parameters_must_sum_to_one_per_column():
    with pytest.raises(ValueError, match="sum to one"):
        Categorical([2], probabilities=[[0.5, 0.6]])
