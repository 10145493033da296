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


def test_numpy_one_hot_matches_a_level_by_level_comparison():
    rng = np.random.default_rng(5)
    n_levels = np.array([3, 1, 4])
    X = np.column_stack([rng.integers(n, size=50) for n in n_levels]).astype(float)
    X[3, 0] = np.nan  # missing: an all-zero block
    X[4, 2] = 7.0  # out of range: an all-zero block, as no level equals it
    X[5, 1] = 0.5  # not an integer: likewise
    X[6, 0] = -1.0
    expected = np.hstack(
        [
            (X[:, [j]] == np.arange(n)[None, :]).astype(float)
            for j, n in enumerate(n_levels)
        ]
    )
    np.testing.assert_array_equal(one_hot(X, n_levels), expected)
    clean = np.nan_to_num(X[7:], nan=0.0)
    np.testing.assert_array_equal(
        one_hot(clean, n_levels), expected[7:]
    )  # the all-valid path
    assert one_hot(X.astype(np.float32), n_levels).dtype == np.float32


@pytest.mark.parametrize("weighted", [False, True])
def test_fused_step_equals_log_prob_then_statistics(weighted):
    from scipy.special import logsumexp

    rng = np.random.default_rng(6)
    n_levels = np.array([3, 2, 4])
    family = Categorical(
        n_levels,
        probabilities=np.hstack([rng.dirichlet(np.ones(n), size=4) for n in n_levels]),
    )
    X = np.column_stack([rng.integers(n, size=300) for n in n_levels]).astype(float)
    X[10, 1] = np.nan
    weights = rng.uniform(0.5, 2.0, size=300) if weighted else None
    log_weights = np.log(rng.dirichlet(np.ones(4)))
    stats, log_likelihood = family.fused_statistics(X, log_weights, weights)
    joint = family.log_prob(X) + log_weights
    log_density = logsumexp(joint, axis=1)
    expected = family.statistics(X, np.exp(joint - log_density[:, None]), weights)
    w = np.ones(300) if weights is None else weights
    assert log_likelihood == pytest.approx(np.sum(w * log_density), rel=1e-12)
    np.testing.assert_allclose(stats.resp_sum, expected.resp_sum, rtol=1e-12)
    np.testing.assert_allclose(stats.counts, expected.counts, rtol=1e-12, atol=1e-12)
