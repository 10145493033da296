"""The Bernoulli family beyond the registry's generic tests."""

import numpy as np
import pytest

from mixtura.exceptions import DataValidationError, ModelFileError
from mixtura.families import Bernoulli
from mixtura.families.bernoulli import EPSILON


def _stats(X, labels, n_components):
    resp = np.eye(n_components)[labels]
    return Bernoulli().statistics(X, resp)


def test_maximum_likelihood_is_the_class_frequency():
    X = np.array([[1, 0], [1, 1], [0, 0], [0, 0]], dtype=float)
    fitted = Bernoulli().maximize(_stats(X, [0, 0, 1, 1], 2))
    np.testing.assert_allclose(fitted.probabilities, [[1.0, 0.5], [0.0, 0.0]])


def test_map_is_the_beta_posterior_mode():
    X = np.array([[1, 0], [1, 1], [0, 0], [0, 0]], dtype=float)
    fitted = Bernoulli(2.0, 3.0).maximize(_stats(X, [0, 0, 1, 1], 2))
    # (s + alpha - 1) / (n + alpha + beta - 2) with n = 2 per class
    expected = (np.array([[2, 1], [0, 0]]) + 1) / (2 + 3)
    np.testing.assert_allclose(fitted.probabilities, expected)


def test_boundary_probabilities_give_finite_log_densities():
    family = Bernoulli(probabilities=[[0.0, 1.0]])
    X = np.array([[0, 1], [1, 0]], dtype=float)
    log_prob = family.log_prob(X)
    assert np.isfinite(log_prob).all()
    assert log_prob[0, 0] == pytest.approx(0.0, abs=1e-9)
    assert log_prob[1, 0] == pytest.approx(2 * np.log(EPSILON), rel=1e-6)


def test_empty_component_gets_one_half():
    X = np.array([[1, 0], [1, 1]], dtype=float)
    resp = np.array([[1.0, 0.0], [1.0, 0.0]])
    fitted = Bernoulli().maximize(Bernoulli().statistics(X, resp))
    np.testing.assert_allclose(fitted.probabilities[1], [0.5, 0.5])


@pytest.mark.parametrize("value", [2.0, -1.0, 0.5])
def test_check_data_refuses_non_binary_values(value):
    X = np.zeros((3, 4))
    X[1, 2] = value
    with pytest.raises(DataValidationError, match=r"binary.*column 2"):
        Bernoulli().check_data(X)


def test_prior_below_one_is_refused():
    with pytest.raises(ValueError, match="alpha and beta must be >= 1"):
        Bernoulli(0.5, 1.0)


def test_from_arrays_refuses_probabilities_outside_0_1():
    with pytest.raises(ModelFileError, match=r"\[0, 1\]"):
        Bernoulli.from_arrays(
            {"alpha": 1.0, "beta": 1.0}, {"probabilities": np.array([[1.5]])}
        )
