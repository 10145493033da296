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
        ({"covariance_prior": np.eye(3)}, "shape"),
        ({"covariance_prior": [[1.0, 2.0], [2.0, 1.0]]}, "positive definite"),
        ({"mean_prior": [0.0, 0.0, 0.0]}, "mean_prior"),
        ({"degrees_of_freedom_prior": 0.5}, "greater than 1"),
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
