"""In-place exponentials and posteriors of mixtura.backend."""

import numpy as np
import pytest

from mixtura.backend import exp_in_place, posterior_in_place

RNG = np.random.default_rng(3)


def test_posterior_in_place_matches_logsumexp_and_handles_minus_infinity():
    from scipy.special import logsumexp

    joint = RNG.normal(scale=20, size=(4, 9))
    joint[:, 2] = -np.inf
    expected = logsumexp(joint, axis=0)
    resp = joint.copy()
    log_density = posterior_in_place(resp)
    np.testing.assert_allclose(log_density[[0, 1, 3]], expected[[0, 1, 3]])
    assert log_density[2] == -np.inf
    np.testing.assert_allclose(resp[:, [0, 1]].sum(axis=0), 1.0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("spread", [1.0, 400.0])
def test_exp_in_place_drops_only_terms_below_half_an_ulp_of_the_sum(dtype, spread):
    from scipy.special import logsumexp

    # spread 400: nearly every entry lies far below its column's peak, so the
    # survivors are gathered; spread 1: every entry survives (plain exp)
    joint = (RNG.normal(scale=spread, size=(16, 500))).astype(dtype)
    joint[:, 7] = -np.inf
    shifted = joint - np.where(np.isfinite(joint.max(0)), joint.max(0), 0)
    values = shifted.copy()
    exp_in_place(values)
    exact = np.exp(shifted.astype(np.float64))
    eps = np.finfo(dtype).eps
    np.testing.assert_allclose(values, exact, rtol=4 * eps, atol=eps / 2 / 16)
    dropped_per_column = np.where(values == 0, exact, 0.0).sum(axis=0)
    assert dropped_per_column.max() < eps / 2
    # the column totals, hence the log densities, keep every digit
    finite = np.isfinite(joint.max(0))
    log_density = posterior_in_place(joint.copy())
    np.testing.assert_allclose(
        log_density[finite],
        logsumexp(joint[:, finite].astype(np.float64), axis=0),
        rtol=4 * eps,
    )
