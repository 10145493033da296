"""The Poisson family beyond the registry's generic tests."""

import numpy as np
import pytest

from mixtura.exceptions import DataValidationError
from mixtura.families import Poisson


def _stats(X, labels, n_components):
    return Poisson().statistics(X, np.eye(n_components)[labels])


def test_maximum_likelihood_is_the_class_mean():
    X = np.array([[0, 2], [2, 4], [5, 0], [7, 0]], dtype=float)
    fitted = Poisson().maximize(_stats(X, [0, 0, 1, 1], 2))
    np.testing.assert_allclose(fitted.rates, [[1.0, 3.0], [6.0, 0.0]])


def test_map_is_the_gamma_posterior_mode():
    X = np.array([[0, 2], [2, 4], [5, 0], [7, 0]], dtype=float)
    fitted = Poisson(3.0, 0.5).maximize(_stats(X, [0, 0, 1, 1], 2))
    # (s + shape - 1) / (n + rate) with n = 2 per class
    expected = (np.array([[2, 6], [12, 0]]) + 2) / (2 + 0.5)
    np.testing.assert_allclose(fitted.rates, expected)


def test_zero_rate_gives_finite_log_densities():
    family = Poisson(rates=[[0.0, 2.0]])
    log_prob = family.log_prob(np.array([[0.0, 1.0], [1.0, 1.0]]))
    assert np.isfinite(log_prob).all()
    assert log_prob[0, 0] == pytest.approx(np.log(2.0) - 2.0)


@pytest.mark.parametrize(("value", "kind"), [(-1.0, "negative"), (1.5, "non-integer")])
def test_check_data_refuses_non_counts(value, kind):
    X = np.ones((3, 2))
    X[2, 1] = value
    with pytest.raises(DataValidationError, match=rf"column 1 holds the {kind}"):
        Poisson().check_data(X)


def test_init_features_are_log_counts():
    X = np.array([[0.0, 9.0]])
    np.testing.assert_allclose(Poisson().init_features(X), np.log1p(X))


def test_prior_out_of_range_is_refused():
    with pytest.raises(ValueError, match="gamma_shape must be >= 1"):
        Poisson(0.5, 0.0)
