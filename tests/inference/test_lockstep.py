"""Fits driven side by side (inference/lockstep.py) against fits run alone."""

import warnings

import numpy as np
import pytest

from mixtura import GaussianMixture, PoissonMixture
from mixtura.exceptions import ConvergenceWarning, SingularCovarianceError
from mixtura.inference.lockstep import run_together
from mixtura.inference.loop import StepRequest

# each fit's numbers are its own up to the rounding of the shared, taller
# products (see tests/families/test_gaussian_lean_together.py), amplified a
# little over a few dozen iterations
TOLERANCE = 1e-9
FITTED = ("weights_", "means_", "covariances_", "precisions_cholesky_")


def _rows(seed=0):
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [4.0, 1.0], [1.0, 5.0]])
    labels = rng.integers(3, size=300)
    return centres[labels] + rng.normal(size=(300, 2))


def _together(X, estimators):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return run_together([e._fit_iterations(X, None, False) for e in estimators])


def _alone(X, estimator):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X)


def _assert_same_fit(together, alone):
    """The same fit, up to the order of the components: two restarts that
    reach one optimum with the components permuted tie to the last bit, so
    rounding may keep either."""
    assert together.n_iter_ == alone.n_iter_
    assert together.converged_ == alone.converged_
    np.testing.assert_allclose(
        together.lower_bounds_, alone.lower_bounds_, rtol=TOLERANCE, atol=0
    )
    order_together = np.argsort(together.means_[:, 0])
    order_alone = np.argsort(alone.means_[:, 0])
    for name in FITTED:
        mine, theirs = getattr(together, name), getattr(alone, name)
        if mine.shape[:1] == together.weights_.shape:  # one entry per component
            mine, theirs = mine[order_together], theirs[order_alone]
        np.testing.assert_allclose(mine, theirs, rtol=TOLERANCE, atol=1e-12)


@pytest.mark.parametrize("init_params", ["kmeans", "random"])
def test_fits_side_by_side_are_the_fits_alone(init_params):
    X = _rows()
    settings = [
        (covariance_type, k)
        for covariance_type in ("full", "tied", "diag", "spherical", "VEV", "EVE")
        for k in (2, 3)
    ]

    def make():
        return [
            GaussianMixture(
                k,
                covariance_type=covariance_type,
                init_params=init_params,
                n_init=2,
                random_state=0,
            )
            for covariance_type, k in settings
        ]

    together = make()
    outcomes = _together(X, together)
    assert all(outcome.error is None for outcome in outcomes)
    for fitted, alone in zip(together, make(), strict=True):
        _assert_same_fit(fitted, _alone(X, alone))


def test_a_fit_that_fails_ends_alone_and_the_others_finish():
    X = _rows()
    good = GaussianMixture(2, random_state=0)
    bad = GaussianMixture(400, random_state=0)  # more components than rows
    outcomes = _together(X, [good, bad])
    assert outcomes[0].error is None
    assert isinstance(outcomes[1].error, ValueError)
    assert "n_components = 400" in str(outcomes[1].error)
    _assert_same_fit(good, _alone(X, GaussianMixture(2, random_state=0)))


def test_a_collapsed_fit_ends_as_it_does_alone():
    X = _rows()
    X[:2] = [40.0, 40.0]  # two equal rows far away: a component collapses there
    labels = np.where(np.arange(len(X)) < 2, 0, 1 + (np.arange(len(X)) % 2))
    params = {"init_params": labels, "reg_covar": 0.0, "on_degenerate": "stop"}
    together = [
        GaussianMixture(3, **params),
        GaussianMixture(3, covariance_type="tied", **params),
    ]
    outcomes = _together(X, together)
    # the full model's first M-step collapses (a start that leaves nothing
    # valid raises, alone as side by side); the tied one fits
    with pytest.raises(SingularCovarianceError) as alone:
        _alone(X, GaussianMixture(3, **params))
    assert isinstance(outcomes[0].error, SingularCovarianceError)
    assert str(outcomes[0].error) == str(alone.value)
    assert outcomes[1].error is None
    tied = _alone(X, GaussianMixture(3, covariance_type="tied", **params))
    _assert_same_fit(together[1], tied)


def test_fits_without_a_lean_step_are_stepped_one_by_one():
    rng = np.random.default_rng(0)
    counts = np.vstack([rng.poisson(2.0, (100, 3)), rng.poisson(9.0, (100, 3))])
    together = [PoissonMixture(2, random_state=0), GaussianMixture(2, random_state=0)]
    outcomes = _together(counts.astype(float), together)
    assert all(outcome.error is None for outcome in outcomes)
    alone = _alone(counts.astype(float), PoissonMixture(2, random_state=0))
    np.testing.assert_allclose(together[0].lower_bounds_, alone.lower_bounds_)
    np.testing.assert_allclose(together[0].rates_, alone.rates_)


def test_a_keyboard_interrupt_in_a_step_ends_that_restart_only():
    # the loop keeps the last completed iteration (issue 18); side by side,
    # the interrupt reaches the fit whose step raised it
    X = _rows()
    fits = [GaussianMixture(2, random_state=0), GaussianMixture(3, random_state=0)]
    generators = [f._fit_iterations(X, None, False) for f in fits]
    first = generators[0].send(None)
    assert isinstance(first, StepRequest)
    with pytest.raises(KeyboardInterrupt):
        generators[0].throw(KeyboardInterrupt())
    assert fits[0].fit_events_[-1]["event"] == "interrupted"
