"""Missing-data Student-t math: marginal t densities and conditional ECM statistics.

The batched computation (:mod:`mixtura.families.student_missing`) against the
complete-data path where nothing is missing, against ``scipy.stats.multivariate_t``
of each row's observed sub-vector, against a plain per-row implementation of the
expected statistics (Liu & Rubin 1995), and a one-component fit against a direct
maximisation of the observed-data likelihood.
"""

import numpy as np
import pytest
from scipy import optimize, special, stats

from mixtura import StudentMixture
from mixtura.families import StudentT
from mixtura.families.student_missing import IncompleteStudentRows

from .cases import _gaussian_covariances

STRUCTURES = ["full", "diag", "tied", "spherical", "VVE"]


def _family(covariance_type, seed, n_components=3, n_features=4):
    rng = np.random.default_rng(seed)
    family = StudentT(
        covariance_type,
        means=rng.normal(scale=2.0, size=(n_components, n_features)),
        scales=_gaussian_covariances(covariance_type, rng, n_components, n_features),
        degrees_of_freedom=rng.uniform(1.5, 20.0, size=n_components),
    )
    return family, rng


def _with_holes(rng, X, fraction):
    X = X.copy()
    X[rng.uniform(size=X.shape) < fraction] = np.nan
    return X


def _structure_data(covariance_type, seed, n_samples=250):
    """A family, and t rows with many missingness patterns and 3 empty rows."""
    family, rng = _family(covariance_type, seed)
    X = _with_holes(rng, 2.0 * rng.standard_t(4.0, size=(n_samples, 4)), 0.35)
    X[:3] = np.nan
    return family, X, rng


def _scale_matrices(family):
    return family.structure.matrices(
        family.scales, family.n_components, family.n_features
    )


def _reference_log_prob(family, X):
    """Per row and component: scipy's t density of the observed sub-vector."""
    scales = _scale_matrices(family)
    log_prob = np.zeros((X.shape[0], family.n_components))
    for i, row in enumerate(X):
        o = ~np.isnan(row)
        if o.any():
            for k, (mean, scale, nu) in enumerate(
                zip(family.means, scales, family.degrees_of_freedom, strict=True)
            ):
                log_prob[i, k] = stats.multivariate_t(
                    mean[o], scale[np.ix_(o, o)], df=nu
                ).logpdf(row[o])
    return log_prob


def _reference_statistics(family, X, weights):
    """The expected complete-data statistics, row by row (regression form).

    For row i and component k with observed part o (p_o coordinates):
    u = (nu + p_o) / (nu + delta_o), x_hat the row completed by the conditional
    mean, C the conditional covariance of the missing part; the moments weigh
    x_hat by w tau u and add w tau C (not weighted by u) to the missing block;
    the gap adds w tau (log u + psi(h) - log h - u), h = (nu + p_o) / 2.
    """
    scales = _scale_matrices(family)
    n_components, n_features = family.means.shape
    u_sum = np.zeros(n_components)
    first = np.zeros((n_components, n_features))
    second = np.zeros((n_components, n_features, n_features))
    gap = np.zeros(n_components)
    for i, row in enumerate(X):
        o, m = ~np.isnan(row), np.isnan(row)
        p_o = int(o.sum())
        for k in range(n_components):
            S, mu, nu = scales[k], family.means[k], family.degrees_of_freedom[k]
            completed, conditional = row.copy(), S[np.ix_(m, m)].copy()
            delta = 0.0
            if o.any():
                residual = row[o] - mu[o]
                delta = residual @ np.linalg.solve(S[np.ix_(o, o)], residual)
                if m.any():
                    gain = np.linalg.solve(S[np.ix_(o, o)], S[np.ix_(o, m)]).T
                    completed[m] = mu[m] + gain @ residual
                    conditional -= gain @ S[np.ix_(o, m)]
            else:
                completed[m] = mu[m]
            u = (nu + p_o) / (nu + delta)
            h = 0.5 * (nu + p_o)
            outer = u * np.outer(completed, completed)
            outer[np.ix_(m, m)] += conditional
            w = weights[i, k]
            u_sum[k] += w * u
            first[k] += w * u * completed
            second[k] += w * outer
            gap[k] += w * (np.log(u) + special.digamma(h) - np.log(h) - u)
    mean = first / u_sum[:, None]
    scatter = second - u_sum[:, None, None] * mean[:, :, None] * mean[:, None, :]
    if not family.structure.full_scatter:
        scatter = np.diagonal(scatter, axis1=1, axis2=2)
    return weights.sum(axis=0), u_sum, mean, scatter, gap


def _assert_student_stats_close(ours, resp_sum, u_sum, mean, scatter, gap):
    np.testing.assert_allclose(ours.resp_sum, resp_sum, rtol=1e-10)
    np.testing.assert_allclose(ours.moments.resp_sum, u_sum, rtol=1e-10)
    np.testing.assert_allclose(ours.moments.mean, mean, rtol=1e-9, atol=1e-10)
    if ours.moments.pooled:  # tied scales keep the components' summed scatter
        scatter = scatter.sum(axis=0, keepdims=True)
    scale = np.abs(scatter).max()
    np.testing.assert_allclose(
        ours.moments.scatter, scatter, rtol=1e-9, atol=1e-10 * scale
    )
    np.testing.assert_allclose(ours.log_weight_gap, gap, rtol=1e-10)


# -- (1) nothing missing: the missing-data path is the complete-data path --------
@pytest.mark.parametrize("covariance_type", STRUCTURES)
def test_without_holes_the_missing_path_equals_the_complete_path(covariance_type):
    family, rng = _family(covariance_type, seed=0)
    X = 2.0 * rng.standard_t(4.0, size=(300, 4))
    resp = rng.dirichlet(np.ones(3), size=300)
    rows = IncompleteStudentRows(
        X, family.gaussian.kernels.missing_precisions(), family.degrees_of_freedom
    )
    np.testing.assert_allclose(rows.log_prob(), family.log_prob(X), rtol=1e-11)
    np.testing.assert_allclose(
        rows.outlier_weights(), family.outlier_weights(X), rtol=1e-11
    )
    np.testing.assert_allclose(
        rows.squared_mahalanobis(),
        family.squared_mahalanobis(X),
        rtol=1e-9,
        atol=1e-12,
    )
    resp_sum, moments, gap = rows.statistics(resp, family.structure.full_scatter)
    reference = family.statistics(X, resp)
    np.testing.assert_allclose(resp_sum, reference.resp_sum, rtol=1e-12)
    np.testing.assert_allclose(moments.resp_sum, reference.moments.resp_sum, rtol=1e-11)
    np.testing.assert_allclose(moments.mean, reference.moments.mean, atol=1e-10)
    expected_scatter = reference.moments.scatter
    ours_scatter = moments.scatter
    if reference.moments.pooled:
        ours_scatter = ours_scatter.sum(axis=0, keepdims=True)
    np.testing.assert_allclose(ours_scatter, expected_scatter, rtol=1e-9)
    np.testing.assert_allclose(gap, reference.log_weight_gap, rtol=1e-11)


# -- (2) rows with holes: the t marginal of the observed coordinates --------------
@pytest.mark.parametrize("covariance_type", STRUCTURES)
def test_log_prob_with_holes_is_scipys_t_of_the_observed_coordinates(covariance_type):
    family, X, _ = _structure_data(covariance_type, seed=1)
    expected = _reference_log_prob(family, X)
    log_prob = family.log_prob(X)
    np.testing.assert_allclose(log_prob, expected, rtol=1e-10, atol=1e-10)
    np.testing.assert_array_equal(log_prob[:3], 0.0)  # nothing observed
    # float32 data: computed in float64, returned in float32
    as_float32 = family.log_prob(X.astype(np.float32))
    assert as_float32.dtype == np.float32
    expected32 = _reference_log_prob(family, X.astype(np.float32).astype(np.float64))
    np.testing.assert_allclose(as_float32, expected32, rtol=1e-5, atol=1e-4)


def test_outlier_weights_and_distances_use_the_observed_coordinates():
    family, X, _ = _structure_data("full", seed=2)
    scales = _scale_matrices(family)
    nu = family.degrees_of_freedom
    weights, distances = family.outlier_weights(X), family.squared_mahalanobis(X)
    for i in (3, 10, 57):
        o = ~np.isnan(X[i])
        for k in range(3):
            residual = X[i, o] - family.means[k, o]
            delta = residual @ np.linalg.solve(scales[k][np.ix_(o, o)], residual)
            assert distances[i, k] == pytest.approx(delta, rel=1e-10)
            expected = (nu[k] + o.sum()) / (nu[k] + delta)
            assert weights[i, k] == pytest.approx(expected, rel=1e-10)
    np.testing.assert_array_equal(weights[:3], 1.0)  # the prior mean of u


@pytest.mark.parametrize("covariance_type", STRUCTURES)
def test_statistics_with_holes_equal_a_per_row_reference(covariance_type):
    family, X, rng = _structure_data(covariance_type, seed=3)
    resp = rng.dirichlet(np.ones(3), size=X.shape[0])
    sample_weight = rng.uniform(0.5, 2.0, size=X.shape[0])
    expected = _reference_statistics(family, X, resp * sample_weight[:, None])
    _assert_student_stats_close(family.statistics(X, resp, sample_weight), *expected)


@pytest.mark.parametrize("covariance_type", STRUCTURES)
def test_fused_step_with_holes_equals_a_per_row_reference(covariance_type):
    family, X, rng = _structure_data(covariance_type, seed=4)
    log_weights = np.log(rng.dirichlet(np.ones(3)))
    sample_weight = rng.uniform(0.5, 2.0, size=X.shape[0])
    joint = _reference_log_prob(family, X) + log_weights
    log_density = special.logsumexp(joint, axis=1)
    resp = np.exp(joint - log_density[:, None])
    ours, log_likelihood = family.fused_statistics(X, log_weights, sample_weight)
    assert log_likelihood == pytest.approx(log_density @ sample_weight, rel=1e-10)
    expected = _reference_statistics(family, X, resp * sample_weight[:, None])
    _assert_student_stats_close(ours, *expected)


def test_statistics_with_holes_add_up_over_chunks():
    family, X, rng = _structure_data("full", seed=5)
    resp = rng.dirichlet(np.ones(3), size=X.shape[0])
    whole = family.statistics(X, resp)
    parts = family.statistics(X[:100], resp[:100]) + family.statistics(
        X[100:], resp[100:]
    )
    np.testing.assert_allclose(parts.resp_sum, whole.resp_sum, rtol=1e-12)
    np.testing.assert_allclose(parts.moments.mean, whole.moments.mean, atol=1e-12)
    np.testing.assert_allclose(parts.moments.scatter, whole.moments.scatter, rtol=1e-10)
    np.testing.assert_allclose(parts.log_weight_gap, whole.log_weight_gap, rtol=1e-12)


def test_a_template_fills_holes_with_column_means_for_the_first_m_step():
    _, X, rng = _structure_data("full", seed=6)
    resp = rng.dirichlet(np.ones(3), size=X.shape[0])
    filled = np.where(np.isnan(X), np.nanmean(X, axis=0), X)
    template = StudentT("full")
    ours, expected = template.statistics(X, resp), template.statistics(filled, resp)
    np.testing.assert_allclose(ours.moments.scatter, expected.moments.scatter)
    assert np.isfinite(template.maximize(ours).scales).all()


# -- an independent check: one component against the direct maximum --------------
def _observed_t_log_likelihood(X, mean, scale, nu):
    total = 0.0
    for row in X:
        o = ~np.isnan(row)
        total += stats.multivariate_t(mean[o], scale[np.ix_(o, o)], df=nu).logpdf(
            row[o]
        )
    return total


def test_one_component_ecm_reaches_the_direct_maximum_of_the_observed_likelihood():
    # Maximise the observed-data likelihood of one t (location, Cholesky factor
    # of the scale, log degrees of freedom) with scipy.optimize and compare
    # with the ECM fit through the holes.
    rng = np.random.default_rng(7)
    scale_true = np.array([[2.0, 0.8, 0.3], [0.8, 1.0, -0.2], [0.3, -0.2, 0.5]])
    z = rng.multivariate_normal(np.zeros(3), scale_true, size=300)
    X = np.array([1.0, -2.0, 0.5]) + z / np.sqrt(rng.chisquare(4.0, 300) / 4.0)[:, None]
    X = _with_holes(rng, X, 0.2)
    X = X[~np.isnan(X).all(axis=1)]
    model = StudentMixture(
        1, missing="em", reg_covar=0.0, tol=1e-11, max_iter=3000, random_state=0
    ).fit(X)
    assert np.all(np.diff(model.lower_bounds_) >= -1e-12)
    fitted = _observed_t_log_likelihood(
        X, model.means_[0], model.scales_[0], model.degrees_of_freedom_[0]
    )
    assert fitted / len(X) == pytest.approx(model.lower_bound_, abs=1e-8)

    lower = np.tril_indices(3)

    def negative_log_likelihood(theta):
        factor = np.zeros((3, 3))
        factor[lower] = theta[3:9]
        return -_observed_t_log_likelihood(
            X, theta[:3], factor @ factor.T + 1e-12 * np.eye(3), np.exp(theta[9])
        )

    start = np.concatenate(
        [
            model.means_[0] + 0.1,
            np.linalg.cholesky(1.2 * model.scales_[0])[lower],
            [np.log(model.degrees_of_freedom_[0]) + 0.3],
        ]
    )
    direct = optimize.minimize(
        negative_log_likelihood, start, method="BFGS", options={"gtol": 1e-6}
    )
    print(
        f"\nECM {fitted:.8f}, direct {-direct.fun:.8f}, nu ECM "
        f"{model.degrees_of_freedom_[0]:.4f} direct {np.exp(direct.x[9]):.4f}"
    )
    assert -direct.fun == pytest.approx(fitted, abs=1e-5)
    np.testing.assert_allclose(model.means_[0], direct.x[:3], atol=1e-3)
    assert model.degrees_of_freedom_[0] == pytest.approx(np.exp(direct.x[9]), rel=1e-2)
