"""The Student-t family beyond the registry's generic tests.

The fused E-step against the composed one; one ECM iteration against an
independent implementation from ``scipy.stats.multivariate_t`` and a root
finder; single-component fits against R's MASS (``cov.trob``, ``fitdistr``);
parameter recovery, robustness to gross outliers against the Gaussian mixture,
outlier weights, refusal of bad values, and model files.
"""

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import optimize, special, stats
from sklearn.utils._param_validation import InvalidParameterError

from mixtura import GaussianMixture, StudentMixture, load, save
from mixtura.exceptions import ModelFileError
from mixtura.families import StudentT
from mixtura.families.student import MAX_DF, MIN_DF

from .cases import _gaussian_covariances

REFERENCE = Path(__file__).parents[1] / "reference" / "student_t_mass.json"


def _family(rng, covariance_type, n_components=3, n_features=4, df_update="component"):
    return StudentT(
        covariance_type,
        df_update=df_update,
        means=rng.normal(scale=2.0, size=(n_components, n_features)),
        scales=_gaussian_covariances(covariance_type, rng, n_components, n_features),
        degrees_of_freedom=rng.uniform(1.5, 20.0, size=n_components),
    )


def _t_rows(rng, means, factors, nu, sizes):
    """Rows of a t mixture: Gaussian draws over sqrt(chi2(nu) / nu)."""
    parts = []
    for mean, factor, df, size in zip(means, factors, nu, sizes, strict=True):
        z = rng.standard_normal((size, len(mean))) @ factor.T
        parts.append(mean + z / np.sqrt(rng.chisquare(df, size) / df)[:, None])
    return np.vstack(parts)


# -- the E-step ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "covariance_type", ["full", "diag", "tied", "spherical", "VVE"]
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True])
def test_the_fused_step_equals_log_prob_then_statistics(
    covariance_type, dtype, weighted
):
    # full with K=3, d=4 takes the Gaussian's quadratic-feature kernel ('pairs'),
    # tied its whitening kernel, so both branches of the fused step are compared
    rng = np.random.default_rng(0)
    family = _family(rng, covariance_type)
    X = rng.standard_t(4.0, size=(500, 4)).astype(dtype)
    log_weights = np.log([0.5, 0.3, 0.2])
    sample_weight = rng.uniform(0.5, 2.0, 500).astype(dtype) if weighted else None
    stats_fused, log_likelihood = family.fused_statistics(X, log_weights, sample_weight)

    joint = family.log_prob(X).astype(np.float64) + log_weights
    log_density = special.logsumexp(joint, axis=1)
    resp = np.exp(joint - log_density[:, None]).astype(dtype)
    composed = family.statistics(X, resp, sample_weight)
    w = np.ones(500) if sample_weight is None else sample_weight.astype(np.float64)
    # float32: distances rounded at about 1e-6 relative, so are the sums
    rtol = 1e-10 if dtype == np.float64 else 2e-4
    np.testing.assert_allclose(log_likelihood, (w * log_density).sum(), rtol=rtol)
    np.testing.assert_allclose(stats_fused.resp_sum, composed.resp_sum, rtol=rtol)
    np.testing.assert_allclose(
        stats_fused.log_weight_gap, composed.log_weight_gap, rtol=rtol
    )
    for name in ("resp_sum", "mean", "scatter"):
        np.testing.assert_allclose(
            getattr(stats_fused.moments, name),
            getattr(composed.moments, name),
            rtol=rtol,
            atol=rtol * 10,
        )


def test_outlier_weights_follow_the_closed_form():
    rng = np.random.default_rng(1)
    family = _family(rng, "full")
    X = rng.normal(scale=3.0, size=(50, 4))
    structure = family.structure
    matrices = structure.matrices(family.scales, 3, 4)
    for k in range(3):
        deviations = X - family.means[k]
        delta = np.einsum(
            "ij,jk,ik->i", deviations, np.linalg.inv(matrices[k]), deviations
        )
        nu = family.degrees_of_freedom[k]
        np.testing.assert_allclose(
            family.outlier_weights(X)[:, k], (nu + 4) / (nu + delta), rtol=1e-10
        )


# -- the M-step against an independent ECM iteration ----------------------------------
def _reference_ecm_step(X, weights, means, covariances, nu):
    """One ECM iteration of a full-scale t mixture, written from Peel & McLachlan.

    E-step from scipy's multivariate_t, the degrees-of-freedom equation (their
    eq. 30) solved by brentq; nothing of mixtura's.
    """
    d = X.shape[1]
    log_joint = np.column_stack(
        [
            np.log(w) + stats.multivariate_t(m, c, df=v).logpdf(X)
            for w, m, c, v in zip(weights, means, covariances, nu, strict=True)
        ]
    )
    tau = np.exp(log_joint - special.logsumexp(log_joint, axis=1)[:, None])
    new_means, new_covariances, new_nu = [], [], []
    for k in range(len(weights)):
        deviations = X - means[k]
        delta = np.einsum(
            "ij,jk,ik->i", deviations, np.linalg.inv(covariances[k]), deviations
        )
        u = (nu[k] + d) / (nu[k] + delta)
        mean = (tau[:, k] * u) @ X / (tau[:, k] * u).sum()
        centred = X - mean
        covariance = (tau[:, k] * u * centred.T) @ centred / tau[:, k].sum()
        constant = (
            1.0
            + (tau[:, k] * (np.log(u) - u)).sum() / tau[:, k].sum()
            + special.digamma((nu[k] + d) / 2)
            - np.log((nu[k] + d) / 2)
        )
        root = optimize.brentq(
            lambda v, c=constant: -special.digamma(v / 2) + np.log(v / 2) + c,
            1e-3,
            1e6,
            xtol=1e-14,
        )
        new_means.append(mean)
        new_covariances.append(covariance)
        new_nu.append(root)
    return (
        tau.mean(axis=0),
        np.array(new_means),
        np.array(new_covariances),
        np.array(new_nu),
    )


def test_one_iteration_equals_an_independent_ecm_step():
    rng = np.random.default_rng(2)
    factors = [np.array([[1.0, 0.0], [0.6, 0.8]]), np.diag([0.5, 1.5])]
    X = _t_rows(rng, [[0.0, 0.0], [4.0, 1.0]], factors, [3.0, 7.0], [150, 250])
    weights = np.array([0.45, 0.55])
    means = np.array([[0.3, -0.2], [3.5, 1.2]])
    covariances = np.array([[[1.2, 0.3], [0.3, 0.9]], [[0.4, 0.0], [0.0, 2.0]]])
    nu = np.array([5.0, 12.0])
    expected = _reference_ecm_step(X, weights, means, covariances, nu)

    family = StudentT(
        "full", reg_covar=0.0, means=means, scales=covariances, degrees_of_freedom=nu
    )
    stats_, _ = family.fused_statistics(X, np.log(weights))
    fitted = family.maximize(stats_)
    np.testing.assert_allclose(stats_.resp_sum / len(X), expected[0], rtol=1e-12)
    np.testing.assert_allclose(fitted.means, expected[1], rtol=1e-11)
    np.testing.assert_allclose(fitted.scales, expected[2], rtol=1e-11)
    # brentq to 1e-14 against Minka's Newton step to 1e-13 relative
    np.testing.assert_allclose(fitted.degrees_of_freedom, expected[3], rtol=1e-10)


def test_a_shared_degree_of_freedom_solves_the_pooled_equation():
    rng = np.random.default_rng(3)
    family = _family(rng, "diag", df_update="shared")
    X = rng.standard_t(3.0, size=(400, 4))
    stats_, _ = family.fused_statistics(X, np.log(np.full(3, 1 / 3)))
    fitted = family.maximize(stats_)
    nu = fitted.degrees_of_freedom
    assert np.ptp(nu) == 0
    # the pooled equation: sum_k n_k (log(v/2) - psi(v/2) - gap_k) = 0
    # with the expected log weights, E[log u] = log u + psi(h) - log h
    gap = -1.0 - stats_.log_weight_gap / stats_.resp_sum
    residual = np.log(nu[0] / 2) - special.digamma(nu[0] / 2)
    np.testing.assert_allclose(
        np.sum(stats_.resp_sum * (residual - gap)), 0.0, atol=1e-9 * len(X)
    )


def test_fixed_degrees_of_freedom_stay_and_estimates_keep_their_bounds():
    rng = np.random.default_rng(4)
    fixed = _family(rng, "full", df_update="fixed")
    X = rng.normal(size=(300, 4))
    stats_, _ = fixed.fused_statistics(X, np.log(np.full(3, 1 / 3)))
    np.testing.assert_array_equal(
        fixed.maximize(stats_).degrees_of_freedom, fixed.degrees_of_freedom
    )
    # Gaussian rows push nu up, a point mass with rows far out pushes it down:
    # the estimates stay in [MIN_DF, MAX_DF]
    model = StudentMixture(1, df_init=1e3, max_iter=300, random_state=0)
    nu = model.fit(rng.normal(size=(20000, 1))).degrees_of_freedom_
    assert nu[0] > 50 and nu[0] <= MAX_DF
    spiky = np.r_[np.zeros(200), rng.standard_cauchy(50) * 1e6][:, None]
    nu = StudentMixture(1, df_init=1.0, random_state=0).fit(spiky)
    assert MIN_DF <= nu.degrees_of_freedom_[0] < 1.0


# -- whole fits -----------------------------------------------------------------------
def test_one_component_with_fixed_df_equals_mass_cov_trob():
    reference = json.loads(REFERENCE.read_text())
    X = np.asarray(reference["stackloss_data"], dtype=np.float64)
    model = StudentMixture(
        1,
        df_update="fixed",
        df_init=reference["stackloss_nu"][0],
        reg_covar=0.0,
        tol=1e-14,
        max_iter=5000,
    ).fit(X)
    # both EMs iterate the same fixed point, to 1e-12 (R) and 1e-14 (here)
    np.testing.assert_allclose(
        model.means_[0], reference["stackloss_center"], rtol=1e-6
    )
    np.testing.assert_allclose(
        model.scales_[0], reference["stackloss_scale"], rtol=1e-5
    )


def test_one_component_with_estimated_df_equals_mass_fitdistr():
    reference = json.loads(REFERENCE.read_text())
    x = np.asarray(reference["rivers_data"], dtype=np.float64)[:, None]
    model = StudentMixture(1, reg_covar=0.0, tol=1e-14, max_iter=20000).fit(x)
    # fitdistr's Nelder-Mead stops within about 1e-5 of the maximum in (m, s, df)
    np.testing.assert_allclose(model.means_[0, 0], reference["rivers_m"][0], rtol=1e-5)
    np.testing.assert_allclose(
        np.sqrt(model.scales_[0, 0, 0]), reference["rivers_s"][0], rtol=1e-5
    )
    np.testing.assert_allclose(
        model.degrees_of_freedom_[0], reference["rivers_df"][0], rtol=1e-4
    )
    np.testing.assert_allclose(
        model.score(x) * len(x), reference["rivers_loglik"][0], rtol=1e-10
    )


def test_a_mixture_recovers_means_scales_weights_and_degrees_of_freedom():
    rng = np.random.default_rng(5)
    means = np.array([[0.0, 0.0, 0.0], [5.0, 5.0, 0.0]])
    factors = [
        np.array([[1.0, 0.0, 0.0], [0.5, 1.0, 0.0], [0.0, 0.3, 0.7]]),
        np.diag([0.5, 1.5, 1.0]),
    ]
    nu, sizes = np.array([3.0, 8.0]), (8000, 12000)
    X = _t_rows(rng, means, factors, nu, sizes)
    model = StudentMixture(2, tol=1e-6, max_iter=500, random_state=0).fit(X)
    order = np.argsort(model.means_[:, 0])
    # standard errors at these sizes: means ~0.01-0.02, scale entries ~0.02,
    # nu ~0.1 at nu=3 and ~0.6 at nu=8 (seeds 0-3 gave 2.9-3.1 and 7.5-8.9)
    np.testing.assert_allclose(model.means_[order], means, atol=0.08)
    for k in range(2):
        np.testing.assert_allclose(
            model.scales_[order][k], factors[k] @ factors[k].T, atol=0.12
        )
    np.testing.assert_allclose(model.weights_[order], [0.4, 0.6], atol=0.01)
    relative_error = np.abs(model.degrees_of_freedom_[order] / nu - 1)
    assert np.all(relative_error < [0.12, 0.3])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gross_outliers_move_the_gaussian_means_but_not_the_t_means(seed):
    # two unit clusters 6 apart, 5% of rows uniform over an 80 x 80 square
    rng = np.random.default_rng(seed)
    clean = np.vstack(
        [rng.normal(c, 1.0, size=(300, 2)) for c in ([0.0, 0.0], [6.0, 0.0])]
    )
    dirty = np.vstack([clean, rng.uniform(-40, 40, size=(30, 2))])

    def sorted_means(model, X):
        means = model.fit(X).means_
        return means[np.argsort(means[:, 0])]

    clean_means = sorted_means(GaussianMixture(2, random_state=0), clean)
    gaussian = sorted_means(GaussianMixture(2, n_init=5, random_state=0), dirty)
    student = sorted_means(StudentMixture(2, n_init=5, random_state=0), dirty)
    # the t means move by at most about one standard error (1 / sqrt(300))
    assert np.abs(student - clean_means).max() < 0.15
    # the Gaussian gives a component to the outliers and merges the clusters
    assert np.abs(gaussian - clean_means).max() > 1.0


def test_outliers_get_small_weights():
    rng = np.random.default_rng(6)
    X = np.vstack([rng.normal(size=(500, 2)), [[30.0, 30.0], [-25.0, 40.0]]])
    model = StudentMixture(1, random_state=0).fit(X)
    weights = (model.predict_proba(X) * model.outlier_weights(X)).sum(axis=1)
    assert weights[-2:].max() < 0.05
    assert np.median(weights[:-2]) > 0.8


def test_float32_fits_stay_float32_and_agree_with_float64():
    rng = np.random.default_rng(7)
    X = _t_rows(
        rng, [[0.0, 0.0], [6.0, 0.0]], [np.eye(2), np.eye(2)], [4.0, 4.0], [400, 400]
    )
    wide = StudentMixture(2, random_state=0, tol=1e-8, max_iter=300).fit(X)
    narrow = StudentMixture(2, random_state=0, tol=1e-8, max_iter=300).fit(
        X.astype(np.float32)
    )
    assert narrow.means_.dtype == np.float32
    assert narrow.degrees_of_freedom_.dtype == np.float32
    np.testing.assert_allclose(narrow.means_, wide.means_, atol=1e-3)
    np.testing.assert_allclose(
        narrow.degrees_of_freedom_, wide.degrees_of_freedom_, rtol=1e-2
    )


# -- bad values and model files -------------------------------------------------------
@pytest.mark.parametrize("bad", [0.0, -1.0, np.nan, np.inf])
def test_non_positive_degrees_of_freedom_are_refused(bad):
    rng = np.random.default_rng(8)
    family = _family(rng, "full")
    with pytest.raises(ValueError, match="component 1"):
        StudentT(
            "full",
            means=family.means,
            scales=family.scales,
            degrees_of_freedom=[3.0, bad, 4.0],
        )


@pytest.mark.parametrize("df_init", [0.0, -2.0])
def test_a_non_positive_df_init_is_refused_and_a_fitted_model_kept(df_init):
    rng = np.random.default_rng(9)
    X = rng.standard_t(3.0, size=(200, 2))
    model = StudentMixture(2, random_state=0).fit(X)
    before = model.score_samples(X), model.degrees_of_freedom_.copy()
    model.set_params(df_init=df_init)
    with pytest.raises(InvalidParameterError, match="df_init"):
        model.fit(X)
    np.testing.assert_array_equal(model.degrees_of_freedom_, before[1])
    model.set_params(df_init=10.0)  # predictions read the hyperparameters too
    np.testing.assert_array_equal(model.score_samples(X), before[0])


def test_model_files_round_trip_and_refuse_edited_degrees_of_freedom(tmp_path):
    rng = np.random.default_rng(10)
    X = rng.standard_t(3.0, size=(300, 3))
    model = StudentMixture(2, covariance_type="VVE", random_state=0).fit(X)
    save(model, tmp_path / "model")
    loaded = load(tmp_path / "model")
    np.testing.assert_array_equal(loaded.score_samples(X), model.score_samples(X))
    np.testing.assert_array_equal(loaded.outlier_weights(X), model.outlier_weights(X))

    family = loaded._fitted_mixture().family
    arrays = dict(family.arrays())
    arrays["degrees_of_freedom"] = -arrays["degrees_of_freedom"]
    with pytest.raises(ModelFileError, match="degrees_of_freedom must be positive"):
        StudentT.from_arrays(family.config(), arrays)
    arrays = dict(family.arrays())
    arrays["scales"] = 2.0 * arrays["scales"]
    with pytest.raises(ModelFileError, match="disagree"):
        StudentT.from_arrays(family.config(), arrays)
