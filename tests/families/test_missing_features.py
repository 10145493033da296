"""Missing entries in the per-feature families: they drop out of each row.

Bernoulli, Poisson and categorical components model features independently, so
the density of a row with holes is the product over its observed features (the
exact marginal), and the statistics run over the observed entries only.
"""

import numpy as np
import pytest
from scipy import stats as scipy_stats

from mixtura.families import Bernoulli, Categorical, Gaussian, Poisson, Product
from mixtura.families.base import fill_column_means, split_missing

RNG = np.random.default_rng(7)
N, D, K = 60, 5, 3


def _with_holes(X, fraction=0.3, seed=0):
    X = X.astype(np.float64).copy()
    holes = np.random.default_rng(seed).random(X.shape) < fraction
    X[holes] = np.nan
    return X


def _bernoulli():
    probabilities = RNG.uniform(0.05, 0.95, size=(K, D))
    data = (RNG.random((N, D)) < 0.5).astype(float)
    return Bernoulli(probabilities=probabilities), data


def _poisson():
    rates = RNG.uniform(0.5, 6.0, size=(K, D))
    data = RNG.poisson(3.0, size=(N, D)).astype(float)
    return Poisson(rates=rates), data


def _reference_log_prob(family, X):
    """scipy.stats log pmf summed over each row's observed entries."""
    out = np.zeros((X.shape[0], family.n_components))
    for k in range(family.n_components):
        if isinstance(family, Bernoulli):
            terms = scipy_stats.bernoulli.logpmf(X, family.probabilities[k])
        else:
            terms = scipy_stats.poisson.logpmf(X, family.rates[k])
        out[:, k] = np.where(np.isnan(X), 0.0, terms).sum(axis=1)
    return out


@pytest.mark.parametrize("make", [_bernoulli, _poisson], ids=["bernoulli", "poisson"])
def test_log_prob_is_the_scipy_pmf_of_the_observed_entries(make):
    family, X = make()
    X = _with_holes(X)
    X[0] = np.nan  # a row with nothing observed has density 1
    expected = _reference_log_prob(family, X)
    np.testing.assert_allclose(family.log_prob(X), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(family.log_prob(X)[0], 0.0)


def test_categorical_log_prob_skips_missing_codes():
    probabilities = RNG.dirichlet(np.ones(3), size=(K, 2)).reshape(K, 6)
    family = Categorical([3, 3], probabilities=probabilities)
    X = np.array([[0.0, 2.0], [np.nan, 1.0], [2.0, np.nan], [np.nan, np.nan]])
    log_p = np.log(probabilities)
    expected = np.stack(
        [
            log_p[:, 0] + log_p[:, 5],
            log_p[:, 4],
            log_p[:, 2],
            np.zeros(K),
        ]
    )
    np.testing.assert_allclose(family.log_prob(X), expected, rtol=1e-12)


@pytest.mark.parametrize("make", [_bernoulli, _poisson], ids=["bernoulli", "poisson"])
def test_m_step_is_the_weighted_mean_of_the_observed_entries(make):
    family, X = make()
    X = _with_holes(X, seed=3)
    resp = RNG.dirichlet(np.ones(K), size=N)
    weights = RNG.uniform(0.5, 2.0, size=N)
    template = type(family)()
    fitted = template.maximize(template.statistics(X, resp, weights))
    observed = ~np.isnan(X)
    w = resp * weights[:, None]
    expected = (w.T @ np.where(observed, X, 0.0)) / (w.T @ observed)
    got = fitted.probabilities if isinstance(family, Bernoulli) else fitted.rates
    np.testing.assert_allclose(got, expected, rtol=1e-12)


@pytest.mark.parametrize("make", [_bernoulli, _poisson], ids=["bernoulli", "poisson"])
def test_statistics_of_chunks_with_and_without_holes_add_up(make):
    family, X = make()
    X = X.copy()
    X[: N // 2] = _with_holes(X[: N // 2], seed=5)  # only the first half has holes
    resp = RNG.dirichlet(np.ones(K), size=N)
    whole = family.statistics(X, resp)
    parts = family.statistics(X[: N // 2], resp[: N // 2]) + family.statistics(
        X[N // 2 :], resp[N // 2 :]
    )
    for name in ("sum_x", "observed"):
        np.testing.assert_allclose(whole.sums[name], parts.sums[name], rtol=1e-12)


@pytest.mark.parametrize("make", [_bernoulli, _poisson], ids=["bernoulli", "poisson"])
def test_without_holes_log_prob_and_statistics_are_unchanged(make):
    family, X = make()
    resp = RNG.dirichlet(np.ones(K), size=N)
    stats = family.statistics(X, resp)
    np.testing.assert_allclose(
        stats.observed, np.repeat(stats.resp_sum[:, None], D, axis=1), rtol=1e-14
    )
    np.testing.assert_allclose(
        family.log_prob(X), _reference_log_prob(family, X), rtol=1e-12
    )


def test_a_feature_no_row_of_a_component_observes_falls_back_to_the_prior():
    X = np.array([[1.0, np.nan], [0.0, np.nan], [1.0, 1.0]])
    resp = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    fitted = Bernoulli().maximize(Bernoulli().statistics(X, resp))
    assert fitted.probabilities[0, 1] == 0.5  # maximum likelihood has no data
    smoothed = Bernoulli(2.0, 2.0)
    np.testing.assert_allclose(
        smoothed.maximize(smoothed.statistics(X, resp)).probabilities[0, 1], 0.5
    )
    poisson = Poisson(2.0, 1.0)
    rates = poisson.maximize(poisson.statistics(X, resp)).rates
    assert rates[0, 1] == pytest.approx(1.0)  # the Gamma(2, 1) prior's mode


def test_product_supports_missing_only_when_every_part_does():
    parts = [(Gaussian("diag"), [0]), (Bernoulli(), [1]), (Categorical([2]), [2])]
    assert Product(parts).supports_missing
    from mixtura.families import Multinomial

    assert not Product([(Bernoulli(), [0]), (Multinomial(), [1, 2])]).supports_missing


def test_product_log_prob_sums_the_parts_observed_entries():
    gaussian = Gaussian(
        "diag", means=np.array([[0.0], [3.0]]), covariances=np.array([[1.0], [2.0]])
    )
    bernoulli = Bernoulli(probabilities=np.array([[0.2], [0.9]]))
    family = Product([(gaussian, [0]), (bernoulli, [1])])
    X = np.array([[0.5, np.nan], [np.nan, 1.0], [np.nan, np.nan]])
    expected = np.array(
        [
            scipy_stats.norm.logpdf(0.5, [0.0, 3.0], np.sqrt([1.0, 2.0])),
            np.log([0.2, 0.9]),
            [0.0, 0.0],
        ]
    )
    np.testing.assert_allclose(family.log_prob(X), expected, rtol=1e-10)


def test_init_features_fill_holes_with_column_means():
    X = np.array([[1.0, np.nan], [3.0, 4.0], [np.nan, 2.0]])
    np.testing.assert_allclose(
        fill_column_means(X), [[1.0, 3.0], [3.0, 4.0], [2.0, 2.0]]
    )
    features = Poisson().init_features(X)
    assert np.isfinite(features).all()
    assert fill_column_means(np.full((2, 1), np.nan)).tolist() == [[0.0], [0.0]]


def test_split_missing_has_a_fast_path_for_complete_data():
    X = np.ones((3, 2))
    filled, observed = split_missing(X)
    assert filled is X and observed is None
    X[1, 0] = np.nan
    filled, observed = split_missing(X)
    assert filled[1, 0] == 0.0 and observed[1, 0] == 0.0 and observed.sum() == 5


def _gamma():
    from mixtura.families import GammaFamily

    shapes = RNG.uniform(0.5, 4.0, size=(K, D))
    rates = RNG.uniform(0.5, 3.0, size=(K, D))
    data = RNG.gamma(2.0, 1.0, size=(N, D))
    return GammaFamily(shapes=shapes, rates=rates), data


def _exponential():
    from mixtura.families import Exponential

    rates = RNG.uniform(0.3, 3.0, size=(K, D))
    data = RNG.exponential(1.0, size=(N, D))
    return Exponential(rates=rates), data


def _positive_reference(family, X):
    out = np.zeros((X.shape[0], family.n_components))
    for k in range(family.n_components):
        if hasattr(family, "shapes"):
            terms = scipy_stats.gamma.logpdf(
                X, family.shapes[k], scale=1.0 / family.rates[k]
            )
        else:
            terms = scipy_stats.expon.logpdf(X, scale=1.0 / family.rates[k])
        out[:, k] = np.where(np.isnan(X), 0.0, terms).sum(axis=1)
    return out


@pytest.mark.parametrize("make", [_gamma, _exponential], ids=["gamma", "exponential"])
def test_positive_families_drop_missing_entries(make):
    # issue 17: the gamma and exponential families' missing-value EM
    family, X = make()
    X = _with_holes(X)
    X[0] = np.nan
    assert family.supports_missing
    np.testing.assert_allclose(
        family.log_prob(X), _positive_reference(family, X), rtol=1e-12, atol=1e-12
    )
    np.testing.assert_array_equal(family.log_prob(X)[0], 0.0)
    resp = RNG.dirichlet(np.ones(K), size=N)
    fitted = family.maximize(family.statistics(X, resp))
    # each feature's M-step sees its observed rows only: the same as fitting
    # that feature alone on them
    for j in range(D):
        seen = ~np.isnan(X[:, j])
        alone = family.maximize(family.statistics(X[seen][:, [j]], resp[seen]))
        for name, value in fitted.arrays().items():
            np.testing.assert_allclose(
                value[:, j], alone.arrays()[name][:, 0], rtol=1e-10
            )


@pytest.mark.parametrize("family", ["gamma", "exponential", "lognormal"])
def test_positive_mixtures_fit_through_holes(family):
    from mixtura import MixtureModel

    rng = np.random.default_rng(3)
    X = np.vstack([rng.gamma(2.0, 1.0, (400, 3)), rng.gamma(9.0, 1.0, (400, 3))])
    holes = _with_holes(X, fraction=0.1, seed=4)
    complete = MixtureModel(family=family, n_components=2, random_state=0).fit(X)
    partial = MixtureModel(
        family=family, n_components=2, missing="em", random_state=0
    ).fit(holes)
    np.testing.assert_allclose(
        np.sort(partial.weights_), np.sort(complete.weights_), atol=0.03
    )
    assert np.isfinite(partial.score_samples(holes)).all()


def test_lognormal_missing_entries_are_the_log_gaussians_marginal():
    from mixtura.families import LogNormal

    rng = np.random.default_rng(5)
    means = rng.normal(size=(K, D))
    a = rng.normal(size=(K, D, D))
    covariances = a @ a.transpose(0, 2, 1) + np.eye(D)
    family = LogNormal("full", means=means, covariances=covariances)
    X = _with_holes(np.exp(rng.normal(size=(N, D))))
    for i in (3, 7):
        seen = ~np.isnan(X[i])
        for k in range(K):
            marginal = scipy_stats.multivariate_normal(
                means[k, seen], covariances[k][np.ix_(seen, seen)]
            )
            expected = marginal.logpdf(np.log(X[i, seen])) - np.log(X[i, seen]).sum()
            np.testing.assert_allclose(family.log_prob(X[i : i + 1])[0, k], expected)
