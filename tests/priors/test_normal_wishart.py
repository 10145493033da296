"""The Normal-Wishart prior: exact variational Bayes for Gaussian mixtures.

Checked against closed forms that the code under test does not use: the log
marginal likelihood of one Normal-Wishart (mixtura's Normal-inverse-Wishart of
the Gibbs sampler, written independently) and of independent Normal-Gamma
models (written out here), and the Wishart KL divergence against a Monte Carlo
estimate from ``scipy.stats.wishart``.
"""

import math
import warnings

import numpy as np
import pytest
from scipy import stats
from scipy.special import gammaln
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score

from mixtura import BayesianGaussianMixture, BayesianMixture
from mixtura.priors.normal_inverse_wishart import (
    NormalInverseWishart,
    log_marginal_likelihood,
)
from mixtura.priors.normal_wishart import (
    COVARIANCE_TYPES,
    NormalWishart,
    kl_wishart,
    scale_rule,
)


def _blobs(n_per=60, seed=0, scales=(1.0, 0.6, 1.4)):
    rng = np.random.RandomState(seed)
    centres = np.array([[0.0, 0.0, 0.0], [6.0, 0.0, 2.0], [0.0, 6.0, -2.0]])
    return np.concatenate(
        [
            c + s * rng.standard_normal((n_per, 3))
            for c, s in zip(centres, scales, strict=True)
        ]
    )


def _normal_gamma_log_marginal(x, mean0, beta0, shape0, rate0):
    """log p(x) of x_i ~ N(mu, 1/lambda), mu ~ N(m0, 1/(beta0 lambda)), Gamma.

    ``x`` holds the n observations of one precision (the rows of one feature,
    or, for a precision shared by d features, the n d values with one mean per
    feature: pass a 2-D array).
    """
    x = np.atleast_2d(np.asarray(x, dtype=np.float64).T).T  # (n, m) features
    n, m = x.shape
    xbar = x.mean(axis=0)
    scatter = ((x - xbar) ** 2).sum()
    beta_n = beta0 + n
    shape_n = shape0 + 0.5 * n * m
    rate_n = (
        rate0
        + 0.5 * scatter
        + 0.5 * float(np.sum(beta0 * n * (xbar - mean0) ** 2 / beta_n))
    )
    return (
        -0.5 * n * m * math.log(2 * math.pi)
        + 0.5 * m * math.log(beta0 / beta_n)
        + gammaln(shape_n)
        - gammaln(shape0)
        + shape0 * math.log(rate0)
        - shape_n * math.log(rate_n)
    )


def _exact_log_marginal(X, covariance_type, prior):
    """The log marginal likelihood of one component under ``prior``."""
    n_features = X.shape[1]
    mean0, beta0 = prior.mean, prior.mean_precision
    dof0, covariance0 = prior.degrees_of_freedom, prior.covariance
    if covariance_type in ("full", "tied"):
        prior = NormalInverseWishart.checked(mean0, beta0, dof0, covariance0)
        return log_marginal_likelihood(prior, X.shape[0], X.sum(axis=0), X.T @ X)
    if covariance_type == "diag":
        return sum(
            _normal_gamma_log_marginal(
                X[:, j], mean0[j], beta0, 0.5 * dof0, 0.5 * covariance0[j]
            )
            for j in range(n_features)
        )
    # spherical: one precision for all features, Gamma(nu0 d / 2, d C0 / 2)
    return _normal_gamma_log_marginal(
        X, mean0, beta0, 0.5 * dof0 * n_features, 0.5 * n_features * covariance0
    )


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_one_component_bound_is_the_exact_log_marginal_likelihood(covariance_type):
    X = _blobs(n_per=30, seed=1)
    model = BayesianMixture(
        1,
        family="gaussian",
        family_params={"covariance_type": covariance_type, "reg_covar": 0.0},
        weight_concentration_prior_type="dirichlet_distribution",
        tol=1e-12,
    ).fit(X)
    expected = _exact_log_marginal(X, covariance_type, model.prior_)
    assert model.converged_
    # the posterior is exact after one M-step; the bound is then log p(X)
    assert model.lower_bound_ * X.shape[0] == pytest.approx(expected, abs=1e-8)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_exact_bound_never_decreases_and_finds_the_clusters(covariance_type):
    X = _blobs(scales=(1.0, 1.0, 1.0))  # every structure holds the truth
    truth = np.repeat(np.arange(3), 60)
    model = BayesianMixture(
        6,
        family="gaussian",
        family_params={"covariance_type": covariance_type},
        random_state=0,
        max_iter=500,
        n_init=3,
    ).fit(X)
    bounds = np.asarray(model.lower_bounds_)
    # each step maximises the bound over one factor: no decrease beyond rounding
    assert np.all(np.diff(bounds) > -1e-9 * np.abs(bounds[1:]))
    assert np.sort(model.weights_)[::-1][:3].sum() > 0.95
    assert adjusted_rand_score(truth, model.predict(X)) > 0.95


def test_full_covariances_match_scikit_learn_conventions_step_for_step():
    """For full covariances the exact and scikit-learn's updates coincide.

    Only the bound's constants and its timing differ, so from the same start
    and the same number of iterations the posteriors are the same.
    """
    X = _blobs()
    # scikit-learn's default prior, given to the exact estimator
    sklearn_prior = {
        "mean_precision": 1.0,
        "degrees_of_freedom": 3.0,
        "covariance": np.cov(X.T),
    }
    settings = {
        "weight_concentration_prior_type": "dirichlet_distribution",
        "max_iter": 15,
        "tol": 0.0,
        "random_state": 0,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        exact = BayesianMixture(
            3, family="gaussian", prior=sklearn_prior, **settings
        ).fit(X)
        theirs = BayesianGaussianMixture(n_components=3, **settings).fit(X)
    np.testing.assert_allclose(exact.means_, theirs.means_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(
        exact.covariances_, theirs.covariances_, rtol=1e-10, atol=1e-12
    )
    np.testing.assert_allclose(
        exact.degrees_of_freedom_, theirs.degrees_of_freedom_, rtol=1e-12
    )
    np.testing.assert_allclose(exact.weights_, theirs.weights_, rtol=1e-10)


def test_wishart_divergence_matches_a_monte_carlo_estimate():
    rng = np.random.RandomState(3)
    n_features = 3
    a = rng.standard_normal((n_features, n_features))
    b = rng.standard_normal((n_features, n_features))
    precision = a @ a.T + n_features * np.eye(n_features)  # P = nu W
    covariance0 = b @ b.T + np.eye(n_features)  # C0 = W0^-1
    dof, dof0 = 9.0, 5.0
    q = stats.wishart(df=dof, scale=precision / dof)
    p = stats.wishart(df=dof0, scale=np.linalg.inv(covariance0))
    samples = q.rvs(size=40_000, random_state=rng)
    ratios = q.logpdf(samples.T) - p.logpdf(samples.T)
    expected = ratios.mean()
    error = ratios.std() / math.sqrt(ratios.size)
    value = kl_wishart(
        dof,
        np.linalg.slogdet(precision)[1],
        np.trace(covariance0 @ precision),
        dof0,
        np.linalg.slogdet(covariance0)[1],
        n_features,
    )
    assert abs(value - expected) < 5 * error


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_divergence_of_the_prior_from_itself_is_zero(covariance_type):
    """A posterior equal to the prior: nu = nu_0 and E[Lambda]^-1 = C_0 / nu_0.

    (For every structure, by the table of the module docstring; for tied the
    stored nu is the Wishart's over K, so it too is nu_0.)
    """
    X = _blobs(n_per=20)
    prior = NormalWishart.default(covariance_type, X)
    structure = prior.structure
    n_components = 2
    dof = prior.degrees_of_freedom
    covariance = np.asarray(prior.covariance) / dof
    if not scale_rule(structure).shared:
        covariance = np.stack([covariance] * n_components)
        dof = np.full(n_components, dof)
    posterior = NormalWishart(
        structure=structure,
        mean_precision=np.full(n_components, prior.mean_precision),
        mean=np.stack([prior.mean] * n_components),
        degrees_of_freedom=dof,
        covariance=covariance,
        precisions_cholesky=structure.precision_cholesky(covariance),
    )
    assert posterior.kl_divergence(prior) == pytest.approx(0.0, abs=1e-9)
    # and moving the means away costs beta_0 / 2 times their Mahalanobis distance
    moved = NormalWishart(
        **{**posterior.__dict__, "mean": posterior.mean + 1.0},
    )
    assert moved.kl_divergence(prior) > 0.0


def test_prior_parameters_are_checked_with_their_names():
    X = _blobs(n_per=20)
    with pytest.raises(ValueError, match="degrees_of_freedom must exceed"):
        BayesianMixture(2, family="gaussian", prior={"degrees_of_freedom": 1.0}).fit(X)
    with pytest.raises(ValueError, match=r"mean must have shape \(3,\)"):
        BayesianMixture(2, family="gaussian", prior={"mean": [0.0, 1.0]}).fit(X)
    with pytest.raises(ValueError, match="positive definite"):
        BayesianMixture(2, family="gaussian", prior={"covariance": -np.eye(3)}).fit(X)
    with pytest.raises(ValueError, match="has no parameter 'scale'"):
        BayesianMixture(2, family="gaussian", prior={"scale": 1.0}).fit(X)


def test_mclust_models_and_missing_values_are_refused_clearly():
    X = _blobs(n_per=20)
    with pytest.raises(ValueError, match="no conjugate prior for covariance_type"):
        BayesianMixture(
            2, family="gaussian", family_params={"covariance_type": "VEV"}
        ).fit(X)
    X_missing = X.copy()
    X_missing[0, 0] = np.nan
    with pytest.raises(ValueError, match="needs complete rows"):
        BayesianMixture(2, family="gaussian", missing="em").fit(X_missing)


def test_a_given_prior_object_is_used_and_pruning_gives_gaussian_mixture():
    X = _blobs()
    prior = NormalWishart.default("diag", X).replaced({"mean_precision": 0.1})
    model = BayesianMixture(
        5,
        family="gaussian",
        family_params={"covariance_type": "diag"},
        prior=prior,
        random_state=0,
        max_iter=300,
    ).fit(X)
    assert model.prior_.mean_precision == 0.1
    pruned = model.prune()
    assert type(pruned).__name__ == "GaussianMixture"
    assert pruned.covariance_type == "diag"
    assert pruned.means_.shape == (3, 3)
