"""Frozen parameters: kept bit for bit, the others fitted given them.

Every family of the test registry with each of its parameters frozen; the
Gaussian's conditional M-step (covariances about frozen means) against a
fixed point written with scipy; frozen weights; online EM; bad names.
"""

import warnings

import numpy as np
import pytest
from scipy import special, stats

from mixtura import ConvergenceWarning, GaussianMixture, MixtureModel

from ..families.cases import FAMILY_CASES

N_COMPONENTS, N_FEATURES = 3, 4


def _model(case, **params):
    family = case.make(np.random.RandomState(0), N_COMPONENTS, N_FEATURES)
    return MixtureModel(
        N_COMPONENTS,
        family=family.name,
        family_params=family.config(),
        random_state=0,
        **params,
    )


def _rises(model):
    bounds = np.asarray(model.lower_bounds_)
    return bool(np.all(np.diff(bounds) > -1e-9 * (1 + np.abs(bounds[1:]))))


@pytest.mark.parametrize("case", FAMILY_CASES, ids=lambda c: c.id)
def test_every_parameter_of_every_family_can_be_frozen_bit_for_bit(case):
    family = case.make(np.random.RandomState(0), N_COMPONENTS, N_FEATURES)
    try:
        family.check_data(np.ones((2, N_FEATURES)))
    except ValueError:
        pytest.skip("a univariate model (mclust's E and V): the others cover it")
    X = case.data(np.random.RandomState(1), 300, N_FEATURES)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = _model(case, max_iter=0).fit(X).family_
        free_model = _model(case, max_iter=20).fit(X)
        free = free_model.family_
        # a maximum-likelihood M-step never lowers the likelihood (a MAP one,
        # under a Beta(2, 2) prior, may): where the free fit's bound rises,
        # so must the frozen fits' (their M-steps are conditional maxima)
        monotone = _rises(free_model)
        for name, members in start.parameter_groups().items():
            model = _model(case, max_iter=20, frozen={name}).fit(X)
            fitted = model.family_.arrays()
            for member in members:
                np.testing.assert_array_equal(
                    fitted[member], start.arrays()[member], err_msg=member
                )
            assert _rises(model) or not monotone, name
    # and unfrozen, the fit moves them
    assert any(
        not np.array_equal(free.arrays()[name], start.arrays()[name])
        for name in start.parameter_groups()
    )


def test_covariances_about_frozen_means_are_the_conditional_m_step():
    rng = np.random.default_rng(2)
    X = np.vstack([rng.normal(size=(150, 2)), rng.normal(size=(150, 2)) + 3.0])
    means = np.array([[0.4, -0.3], [2.5, 3.2]])
    model = GaussianMixture(
        2, means_init=means, frozen={"means"}, tol=1e-12, max_iter=3000
    ).fit(X)
    np.testing.assert_array_equal(model.means_, means)
    log_joint = np.column_stack(
        [
            np.log(w) + stats.multivariate_normal(m, c).logpdf(X)
            for w, m, c in zip(model.weights_, means, model.covariances_, strict=True)
        ]
    )
    resp = np.exp(log_joint - special.logsumexp(log_joint, axis=1)[:, None])
    for k in range(2):
        deviations = X - means[k]
        scatter = (resp[:, k] * deviations.T) @ deviations / resp[:, k].sum()
        # a bound settled to 1e-12: parameters within about 1e-6 of the point
        np.testing.assert_allclose(
            model.covariances_[k], scatter + 1e-6 * np.eye(2), rtol=1e-5, atol=1e-6
        )


def test_some_frozen_weights_stay_and_the_others_share_the_rest():
    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal(size=(100, 2)), rng.normal(size=(300, 2)) + 5.0])
    weights = np.array([0.6, 0.4])
    model = GaussianMixture(
        2,
        weights_init=weights,
        means_init=[[0.0, 0.0], [5.0, 5.0]],
        frozen={"weights": [0]},
        max_iter=50,
    ).fit(X)
    # the other shares the rest, and the stored weights are normalised once
    # more (their sum is added in the BLAS's order, 1 to within an ulp or
    # two): the frozen weight stays to a few ulps, whichever kernel runs
    eps = np.finfo(np.float64).eps
    assert model.weights_[0] == pytest.approx(weights[0], rel=4 * eps, abs=0)
    np.testing.assert_allclose(model.weights_.sum(), 1.0)


def test_partial_fit_keeps_frozen_means_across_batches():
    rng = np.random.default_rng(4)
    X = np.vstack([rng.normal(size=(400, 2)), rng.normal(size=(400, 2)) + 4.0])
    X = X[rng.permutation(800)]
    means = np.array([[0.2, 0.1], [3.8, 4.1]])
    model = GaussianMixture(2, means_init=means, frozen="means", random_state=0)
    for start in range(0, 800, 200):
        model.partial_fit(X[start : start + 200])
    np.testing.assert_array_equal(model.means_, means)
    assert not np.allclose(model.covariances_, np.eye(2)[None])


@pytest.mark.parametrize(
    ("frozen", "message"),
    [
        ({"mean"}, r"not a parameter of this model; the parameters are \["),
        ({"means": [5]}, "components 0 to 1"),
    ],
)
def test_bad_frozen_names_are_refused_and_a_fitted_model_kept(frozen, message):
    X = np.random.default_rng(5).normal(size=(100, 2))
    model = GaussianMixture(2, random_state=0).fit(X)
    means = model.means_.copy()
    model.set_params(frozen=frozen)
    with pytest.raises(ValueError, match=message):
        model.fit(X)
    np.testing.assert_array_equal(model.means_, means)


def test_a_tied_covariance_is_frozen_whole():
    X = np.random.default_rng(6).normal(size=(100, 2))
    with pytest.raises(ValueError, match="shared by every component"):
        GaussianMixture(2, covariance_type="tied", frozen={"covariances": [0]}).fit(X)
    tied = {"covariance_type": "tied", "random_state": 0}
    model = GaussianMixture(2, frozen={"covariances"}, **tied).fit(X)
    start = GaussianMixture(2, max_iter=0, **tied).fit(X)
    np.testing.assert_array_equal(model.covariances_, start.covariances_)
