"""DirichletProcessMixture: the collapsed Gibbs sampler behind scikit-learn's API."""

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import adjusted_rand_score

from mixtura import DirichletProcessMixture


def _three_blobs(n_per=100, seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1, 2], n_per)
    centers = np.array([[0.0, 0.0], [9.0, 0.0], [0.0, 9.0]])
    return centers[y] + rng.normal(size=(len(y), 2)), y


@pytest.fixture(scope="module")
def fitted():
    X, y = _three_blobs()
    model = DirichletProcessMixture(n_iter=50, burn_in=15, random_state=0).fit(X)
    return model, X, y


def test_posterior_over_k_concentrates_on_the_truth(fitted):
    model, _, y = fitted
    print("P(K) =", np.round(model.n_clusters_posterior_, 3))
    print(
        f"acceptance: split {model.split_acceptance_rate_:.3f}, "
        f"merge {model.merge_acceptance_rate_:.3f}, {model.split_merge_counts_}"
    )
    assert model.n_clusters_posterior_[3] > 0.9
    assert model.n_clusters_posterior_.sum() == pytest.approx(1.0)
    assert model.n_clusters_ == 3
    assert adjusted_rand_score(y, model.labels_) > 0.99


def test_fitted_attributes_have_documented_shapes(fitted):
    model, X, _ = fitted
    assert model.partitions_.shape == (35, len(X))
    assert model.log_joint_trace_.shape == (50,)
    assert model.n_clusters_trace_.shape == (50,)
    assert np.isfinite(model.log_joint_trace_).all()
    # the chain climbs from its one-cluster start
    assert model.log_joint_trace_[-1] > model.log_joint_trace_[0]
    assert 0 <= model.split_acceptance_rate_ <= 1
    assert model.covariance_prior_.shape == (2, 2)
    np.testing.assert_allclose(model.mean_prior_, X.mean(axis=0))


def test_posterior_similarity_is_a_co_clustering_matrix(fitted):
    model, _, y = fitted
    psm = model.posterior_similarity()
    assert psm.shape == (len(y), len(y))
    np.testing.assert_allclose(np.diag(psm), 1.0)
    np.testing.assert_allclose(psm, psm.T)
    assert psm[y[:, None] == y[None, :]].min() > 0.9
    assert psm[y[:, None] != y[None, :]].max() < 0.1
    with pytest.raises(ValueError, match="max_samples"):
        model.posterior_similarity(max_samples=100)


def test_score_samples_in_one_cluster_is_the_closed_form_student_t():
    X = np.random.default_rng(1).normal(size=(50, 2)) @ [[2.0, 0.5], [0.0, 1.0]]
    model = DirichletProcessMixture(
        n_iter=4, burn_in=1, alpha=1e-12, split_merge=0, random_state=0
    ).fit(X)
    assert (model.n_clusters_trace_ == 1).all()
    # Normal-inverse-Wishart posterior from all the data (Murphy 2007, eq. 232)
    k0, m0 = model.mean_precision_prior_, model.mean_prior_
    nu0, psi0, n = model.degrees_of_freedom_prior_, model.covariance_prior_, len(X)
    xbar = X.mean(axis=0)
    kn, nun = k0 + n, nu0 + n
    psi = (
        psi0 + (X - xbar).T @ (X - xbar) + k0 * n / kn * np.outer(xbar - m0, xbar - m0)
    )
    df = nun - 1
    expected = stats.multivariate_t(
        (k0 * m0 + n * xbar) / kn, psi * (kn + 1) / (kn * df), df=df
    )
    prior_predictive = stats.multivariate_t(
        m0, psi0 * (k0 + 1) / (k0 * (nu0 - 1)), df=nu0 - 1
    )
    Y = np.array([[0.0, 0.0], [3.0, -2.0], [10.0, 10.0]])
    # the new-cluster term alpha / (n + alpha) t(y | prior) stays in the mixture
    closed_form = np.logaddexp(
        np.log(n / (n + 1e-12)) + expected.logpdf(Y),
        np.log(1e-12 / (n + 1e-12)) + prior_predictive.logpdf(Y),
    )
    np.testing.assert_allclose(model.score_samples(Y), closed_form, rtol=1e-9)
    assert model.score(Y) == pytest.approx(closed_form.mean())


def test_same_seed_same_result_and_fit_predict_is_labels():
    X, _ = _three_blobs(n_per=20, seed=2)
    kwargs = {"n_iter": 10, "alpha_prior": (1.0, 1.0), "random_state": 5}
    first = DirichletProcessMixture(**kwargs).fit(X)
    labels = DirichletProcessMixture(**kwargs).fit_predict(X)
    np.testing.assert_array_equal(first.labels_, labels)
    again = DirichletProcessMixture(**kwargs).fit(X)
    np.testing.assert_array_equal(first.partitions_, again.partitions_)
    np.testing.assert_array_equal(first.alpha_trace_, again.alpha_trace_)
    assert len(np.unique(first.alpha_trace_)) > 1  # alpha is resampled


def test_progress_bar_goes_to_stderr(capsys):
    X, _ = _three_blobs(n_per=5)
    DirichletProcessMixture(n_iter=3, progress=True, random_state=0).fit(X)
    captured = capsys.readouterr()
    assert "3/3 sweeps" in captured.err
    assert captured.out == ""


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"alpha": 0.0}, "alpha"),
        ({"alpha": -1.0}, "alpha"),
        ({"alpha_prior": (1.0, 0.0)}, "alpha_prior"),
        ({"alpha_prior": (1.0,)}, "alpha_prior"),
        ({"prior": {"covariance": np.eye(3)}}, "shape"),
        ({"prior": {"covariance": [[1.0, 2.0], [2.0, 1.0]]}}, "positive definite"),
        ({"prior": {"mean": [0.0, 0.0, 0.0]}}, "mean must have shape"),
        ({"prior": {"degrees_of_freedom": 0.5}}, "exceed n_features - 1 = 1"),
        ({"burn_in": 5, "n_iter": 5}, "burn_in"),
    ],
)
def test_bad_parameters_raise_clear_value_errors(params, message):
    X, _ = _three_blobs(n_per=5)
    with pytest.raises(ValueError, match=message):
        DirichletProcessMixture(**params).fit(X)


def test_nan_in_X_is_refused():
    X, _ = _three_blobs(n_per=5)
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN in column 1"):
        DirichletProcessMixture(n_iter=2).fit(X)


# -- discrete families -----------------------------------------------------------------
def _binary_clusters(n_per=100, n_features=20, seed=0):
    rng = np.random.default_rng(seed)
    probabilities = rng.choice([0.1, 0.9], size=(3, n_features))
    y = np.repeat([0, 1, 2], n_per)
    return (rng.random((len(y), n_features)) < probabilities[y]).astype(float), y


def _count_clusters(n_per=60, seed=0):
    rng = np.random.default_rng(seed)
    rates = np.array([[5, 5, 5, 5, 5], [25, 25, 5, 5, 25], [60, 5, 60, 25, 5]])
    y = np.repeat([0, 1, 2], n_per)
    return rng.poisson(rates[y]).astype(float), y


def _categorical_clusters(n_per=60, seed=0):
    rng = np.random.default_rng(seed)
    modes = rng.integers(0, 4, size=(3, 8))
    y = np.repeat([0, 1, 2], n_per)
    noise = rng.integers(0, 4, size=(len(y), 8))
    return np.where(rng.random(noise.shape) < 0.9, modes[y], noise).astype(float), y


@pytest.mark.parametrize(
    ("family", "make"),
    [
        ("bernoulli", _binary_clusters),
        ("poisson", _count_clusters),
        ("categorical", _categorical_clusters),
    ],
)
def test_discrete_families_recover_well_separated_clusters(family, make):
    """P(K=3) with seed 0: 0.87 (Bernoulli), 1.0 (Poisson), 1.0 (categorical)."""
    X, y = make()
    model = DirichletProcessMixture(
        family=family, n_iter=25, burn_in=10, n_launch_scans=2, random_state=0
    ).fit(X)
    p3 = model.n_clusters_posterior_[3]
    print(f"{family}: P(K) = {np.round(model.n_clusters_posterior_, 3)}")
    # any remaining mass sits on an outlying point as a singleton cluster
    assert p3 > 0.85
    assert np.argmax(model.n_clusters_posterior_) == 3
    assert model.n_clusters_ == 3
    assert adjusted_rand_score(y, model.labels_) > 0.95


def test_bernoulli_score_samples_in_one_cluster_is_the_beta_binomial():
    X, _ = _binary_clusters(n_per=10, n_features=4, seed=1)
    a, b = np.array([0.5, 1.0, 2.0, 3.0]), 1.5
    model = DirichletProcessMixture(
        family="bernoulli",
        prior={"alpha": a, "beta": b},
        n_iter=3,
        burn_in=1,
        alpha=1e-12,
    ).fit(X)
    assert (model.n_clusters_trace_ == 1).all()
    np.testing.assert_array_equal(model.alpha_prior_, a)
    np.testing.assert_array_equal(model.beta_prior_, np.full(4, b))
    Y = np.array([[0, 0, 0, 0], [1, 0, 1, 1], [1, 1, 1, 1]], dtype=float)
    n, s = len(X), X.sum(axis=0)
    expected = stats.betabinom(1, a + s, b + n - s).logpmf(Y).sum(axis=1)
    np.testing.assert_allclose(model.score_samples(Y), expected, rtol=1e-9)
    # a probability mass: it sums to one over the 16 binary rows
    grid = np.array(np.meshgrid(*[[0.0, 1.0]] * 4)).reshape(4, -1).T
    assert np.exp(model.score_samples(grid)).sum() == pytest.approx(1.0)


def test_poisson_default_prior_mean_is_the_data_mean_and_predictive_is_nbinom():
    X, _ = _count_clusters(n_per=10, seed=2)
    X = X[:10]  # one true cluster
    model = DirichletProcessMixture(
        family="poisson", n_iter=3, burn_in=1, alpha=1e-12, random_state=0
    ).fit(X)
    shape, rate = model.shape_prior_, model.rate_prior_
    np.testing.assert_allclose(shape / rate, X.mean(axis=0))
    n, s = len(X), X.sum(axis=0)
    Y = np.array([[5, 4, 6, 5, 5], [0, 9, 2, 7, 3]], dtype=float)
    expected = stats.nbinom(shape + s, (rate + n) / (rate + n + 1)).logpmf(Y).sum(1)
    np.testing.assert_allclose(model.score_samples(Y), expected, rtol=1e-9)


def test_categorical_n_levels_and_dirichlet_prior_per_column():
    X = np.array([[0, 1], [1, 2], [0, 0], [1, 1]], dtype=float)
    model = DirichletProcessMixture(
        family="categorical",
        prior={
            "n_levels": [2, 4],
            "concentration": [[1.0, 2.0], [0.5, 0.5, 0.5, 0.5]],
        },
        n_iter=3,
        random_state=0,
    ).fit(X)
    np.testing.assert_array_equal(model.n_levels_, [2, 4])
    np.testing.assert_array_equal(
        model.concentration_prior_, [1.0, 2.0, 0.5, 0.5, 0.5, 0.5]
    )
    # level 3 of column 1 is never seen in training but is a valid code
    assert np.isfinite(model.score_samples([[1, 3]])).all()
    with pytest.raises(ValueError, match=r"0 \.\. 3 \(n_levels = 4\)"):
        model.score_samples([[1, 4]])
    default = DirichletProcessMixture(family="categorical", n_iter=2).fit(X)
    np.testing.assert_array_equal(default.n_levels_, [2, 3])


def test_discrete_family_same_seed_same_chain():
    X, _ = _categorical_clusters(n_per=10, seed=3)
    kwargs = {"family": "categorical", "n_iter": 6, "alpha_prior": (1.0, 1.0)}
    first = DirichletProcessMixture(random_state=4, **kwargs).fit(X)
    again = DirichletProcessMixture(random_state=4, **kwargs).fit(X)
    np.testing.assert_array_equal(first.partitions_, again.partitions_)
    np.testing.assert_array_equal(first.alpha_trace_, again.alpha_trace_)
    np.testing.assert_array_equal(first.score_samples(X), again.score_samples(X))


@pytest.mark.parametrize(
    ("params", "X", "message"),
    [
        ({"family": "bernoulli"}, [[0, 1], [2, 0]], "binary data"),
        ({"family": "bernoulli"}, [[0, 1], [0.5, 0]], "binary data"),
        ({"family": "poisson"}, [[0, 1], [-1, 0]], "Negative values"),
        ({"family": "poisson"}, [[0, 1], [1.5, 0]], "non-integer"),
        ({"family": "categorical"}, [[0, 1], [-1, 0]], "integer codes"),
        ({"family": "categorical"}, [[0, 1], [0.5, 0]], "integer codes"),
        (
            {"family": "categorical", "prior": {"n_levels": 2}},
            [[0, 1], [2, 0]],
            "n_levels = 2",
        ),
        ({"family": "bernoulli", "prior": {"alpha": 0.0}}, [[0], [1]], "> 0"),
        ({"family": "bernoulli", "prior": {"a": 1.0}}, [[0], [1]], "no parameter 'a'"),
        (
            {"family": "bernoulli", "prior": {"alpha": [1, 1]}},
            [[0], [1]],
            "shape",
        ),
        ({"family": "poisson", "prior": {"rate": -2.0}}, [[0], [1]], "rate"),
        ({"family": "poisson", "prior": {"shape": 0.0}}, [[0], [1]], "shape"),
        (
            {"family": "categorical", "prior": {"concentration": -1.0}},
            [[0], [1]],
            "> 0",
        ),
        (
            {"family": "categorical", "prior": {"n_levels": [2, 2]}},
            [[0], [1]],
            "n_levels",
        ),
        ({"family": "bernoulli", "prior": {"mean": [0.0]}}, [[0], [1]], "no parameter"),
        ({"prior": {"shape": 1.0}}, [[0.0], [1.0]], "no parameter 'shape'"),
    ],
)
def test_discrete_families_refuse_bad_data_and_hyperparameters(params, X, message):
    with pytest.raises(ValueError, match=message):
        DirichletProcessMixture(n_iter=2, **params).fit(np.array(X, dtype=float))


def test_unknown_family_lists_the_valid_ones():
    with pytest.raises(ValueError, match="family") as info:
        DirichletProcessMixture(family="binomial").fit([[0.0], [1.0]])
    for name in ("gaussian", "bernoulli", "poisson", "categorical"):
        assert f"'{name}'" in str(info.value)


# -- missing values --------------------------------------------------------------------
def _drop_entries(X, fraction, seed):
    """X with a random fraction of entries set to NaN, every row keeping one."""
    rng = np.random.default_rng(seed)
    mask = rng.random(X.shape) < fraction
    mask[mask.all(axis=1), 0] = False
    return np.where(mask, np.nan, X)


def _three_blobs_3d(n_per=100, seed=0):
    """Three blobs apart in every coordinate, so any observed subset separates."""
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1, 2], n_per)
    centers = np.array([[0.0, 0.0, 0.0], [9.0, -9.0, 4.5], [-9.0, 4.5, 9.0]])
    return centers[y] + rng.normal(size=(len(y), 3)), y


@pytest.mark.parametrize(
    ("family", "make"),
    [
        ("gaussian", _three_blobs),
        ("bernoulli", _binary_clusters),
        ("poisson", _count_clusters),
        ("categorical", _categorical_clusters),
    ],
)
def test_missing_em_without_nan_is_the_same_chain(family, make):
    X, _ = make(n_per=10)
    kwargs = {"family": family, "n_iter": 6, "alpha_prior": (1.0, 1.0)}
    plain = DirichletProcessMixture(random_state=2, **kwargs).fit(X)
    em = DirichletProcessMixture(missing="em", random_state=2, **kwargs).fit(X)
    np.testing.assert_array_equal(plain.partitions_, em.partitions_)
    np.testing.assert_array_equal(plain.log_joint_trace_, em.log_joint_trace_)
    np.testing.assert_array_equal(plain.alpha_trace_, em.alpha_trace_)
    np.testing.assert_array_equal(plain.score_samples(X), em.score_samples(X))


def test_nan_needs_missing_em_and_an_observed_column():
    X, _ = _three_blobs(n_per=5)
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"NaN in column 1.*missing='em'"):
        DirichletProcessMixture(n_iter=2).fit(X)
    with pytest.raises(ValueError, match="missing"):
        DirichletProcessMixture(n_iter=2, missing="drop").fit(X)
    X[:, 0] = np.nan
    with pytest.raises(ValueError, match="column 0 is entirely missing"):
        DirichletProcessMixture(n_iter=2, missing="em").fit(X)
    X[:, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        DirichletProcessMixture(n_iter=2, missing="em").fit(X)
    fitted = DirichletProcessMixture(n_iter=2).fit(_three_blobs(n_per=5)[0])
    with pytest.raises(ValueError, match="NaN"):
        fitted.score_samples([[0.0, np.nan]])


def test_missing_em_recovers_gaussian_clusters_with_a_quarter_missing():
    """25% of entries missing completely at random (58% of rows incomplete).

    Seeds 0-7: K = 3 reached by sweep 1-5, P(K=3) 0.8-1.0, ARI 1.0. Three
    split-merge proposals per sweep: with one, even the complete data sit at
    K = 2 for up to 11 sweeps (seed 0), and seed 4 still does after 20.
    """
    X, y = _three_blobs_3d()
    X = _drop_entries(X, 0.25, seed=1)
    model = DirichletProcessMixture(
        n_iter=20, burn_in=10, split_merge=3, missing="em", random_state=0
    ).fit(X)
    ari = adjusted_rand_score(y, model.labels_)
    print(f"P(K) = {np.round(model.n_clusters_posterior_, 3)}, ARI {ari:.3f}")
    assert np.argmax(model.n_clusters_posterior_) == 3
    assert ari > 0.9
    # the default prior reads the observed entries only
    np.testing.assert_allclose(model.mean_prior_, np.nanmean(X, axis=0))
    assert np.isfinite(model.score_samples(X)).all()


@pytest.mark.parametrize(
    ("family", "make"),
    [
        ("bernoulli", _binary_clusters),
        ("poisson", _count_clusters),
        ("categorical", _categorical_clusters),
    ],
)
def test_missing_em_recovers_discrete_clusters_with_a_quarter_missing(family, make):
    """Seed 0: P(K=3) 0.47, 0.87, 1.0 and ARI 0.94, 0.98, 1.0 (Bernoulli,
    Poisson, categorical). The Bernoulli posterior keeps 0.4-0.6 on K = 4
    (seeds 0-5): an outlying row, fewer of whose features are observed, as a
    singleton (0.13 with the complete data)."""
    X, y = make()
    X = _drop_entries(X, 0.25, seed=1)
    model = DirichletProcessMixture(
        family=family,
        n_iter=25,
        burn_in=10,
        n_launch_scans=2,
        missing="em",
        random_state=0,
    ).fit(X)
    ari = adjusted_rand_score(y, model.labels_)
    print(f"{family}: P(K) = {np.round(model.n_clusters_posterior_, 3)}, ARI {ari:.3f}")
    assert np.argmax(model.n_clusters_posterior_) == 3
    assert ari > 0.9


def test_score_samples_of_rows_with_missing_coordinates_is_the_t_marginal():
    X = np.random.default_rng(1).normal(size=(50, 2)) @ [[2.0, 0.5], [0.0, 1.0]]
    alpha = 1e-12
    model = DirichletProcessMixture(
        n_iter=4, burn_in=1, alpha=alpha, split_merge=0, missing="em", random_state=0
    ).fit(X)
    assert (model.n_clusters_trace_ == 1).all()
    k0, m0 = model.mean_precision_prior_, model.mean_prior_
    nu0, psi0, n = model.degrees_of_freedom_prior_, model.covariance_prior_, len(X)
    xbar = X.mean(axis=0)
    kn, nun = k0 + n, nu0 + n
    psi = (
        psi0 + (X - xbar).T @ (X - xbar) + k0 * n / kn * np.outer(xbar - m0, xbar - m0)
    )
    mean, df = (k0 * m0 + n * xbar) / kn, nun - 1
    shape = psi * (kn + 1) / (kn * df)
    prior_shape = psi0 * (k0 + 1) / (k0 * (nu0 - 1))
    Y = np.array([[1.5, np.nan], [np.nan, -2.0], [np.nan, np.nan]])
    expected = []
    for y in Y[:2]:
        j = int(np.flatnonzero(~np.isnan(y))[0])
        # a one-dimensional marginal of a bivariate t: a t with the same df
        expected.append(
            np.logaddexp(
                np.log(n / (n + alpha))
                + stats.t(df, mean[j], np.sqrt(shape[j, j])).logpdf(y[j]),
                np.log(alpha / (n + alpha))
                + stats.t(nu0 - 1, m0[j], np.sqrt(prior_shape[j, j])).logpdf(y[j]),
            )
        )
    with pytest.warns(UserWarning, match="1 row.*nothing observed"):
        scores = model.score_samples(Y)
    np.testing.assert_allclose(scores[:2], expected, rtol=1e-9)
    assert scores[2] == 0.0


def test_bernoulli_fit_with_missing_entries_counts_observed_entries_per_feature():
    X, _ = _binary_clusters(n_per=10, n_features=4, seed=1)
    X = _drop_entries(X[:10], 0.3, seed=2)  # one true cluster
    a, b = np.array([0.5, 1.0, 2.0, 3.0]), 1.5
    model = DirichletProcessMixture(
        family="bernoulli",
        prior={"alpha": a, "beta": b},
        n_iter=3,
        burn_in=1,
        alpha=1e-12,
        missing="em",
    ).fit(X)
    assert (model.n_clusters_trace_ == 1).all()
    n, s = (~np.isnan(X)).sum(axis=0), np.nansum(X, axis=0)
    Y = np.array([[0, np.nan, 0, 1], [1, 1, np.nan, np.nan]])
    per_feature = stats.betabinom(1, a + s, b + n - s).logpmf(Y)
    np.testing.assert_allclose(
        model.score_samples(Y), np.nansum(per_feature, axis=1), rtol=1e-9
    )
