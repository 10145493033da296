"""Covariance structures: registry, factorisations, M-step, validation."""

import numpy as np
import pytest
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

from mixtura.exceptions import SingularCovarianceError
from mixtura.families.covariance import COVARIANCE_STRUCTURES, get_covariance_structure

from .cases import _gaussian_covariances

structures = pytest.mark.parametrize("name", sorted(COVARIANCE_STRUCTURES))
# scikit-learn's four structures (mclust's models are tested in test_mclust.py)
sklearn_structures = pytest.mark.parametrize(
    "name", ["full", "tied", "diag", "spherical"]
)
K, D = 3, 4


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown covariance_type 'VVX'.*'diag'"):
        get_covariance_structure("VVX")


def test_lookup_returns_registered_object_or_passes_one_through():
    full = get_covariance_structure("full")
    assert full.name == "full"
    assert get_covariance_structure(full) is full


def _as_matrices(structure, array):
    """Per-component (K, D, D) matrices of a structure-shaped array."""
    return structure.matrices(array, K, D)


def test_matrices_expand_each_structure():
    diag = get_covariance_structure("diag").matrices(np.array([[1.0, 2.0]]), 1, 2)
    np.testing.assert_array_equal(diag, [[[1.0, 0.0], [0.0, 2.0]]])
    spherical = get_covariance_structure("spherical").matrices(np.array([3.0]), 1, 2)
    np.testing.assert_array_equal(spherical, [[[3.0, 0.0], [0.0, 3.0]]])
    tied = get_covariance_structure("tied").matrices(np.eye(2), 3, 2)
    assert tied.shape == (3, 2, 2)
    full = np.arange(8.0).reshape(2, 2, 2)
    np.testing.assert_array_equal(
        get_covariance_structure("full").matrices(full, 2, 2), full
    )


@structures
def test_precision_cholesky_inverts_covariance(name):
    structure = get_covariance_structure(name)
    cov = _gaussian_covariances(name, np.random.RandomState(1), K, D)
    factor = structure.precision_cholesky(cov)
    precisions = structure.precisions(factor)
    product = _as_matrices(structure, precisions) @ _as_matrices(structure, cov)
    np.testing.assert_allclose(
        product, np.broadcast_to(np.eye(D), (K, D, D)), atol=1e-10
    )
    if factor.ndim >= 2 and structure.full_scatter:  # matrix factors: upper triangular
        np.testing.assert_array_equal(np.tril(factor, -1), 0)
    np.testing.assert_allclose(
        structure.covariances_from_precision_cholesky(factor), cov, rtol=1e-10
    )
    np.testing.assert_allclose(
        structure.precision_cholesky_from_precisions(precisions), factor, rtol=1e-10
    )


@structures
def test_log_det_cholesky_is_half_log_det_precision(name):
    structure = get_covariance_structure(name)
    cov = _gaussian_covariances(name, np.random.RandomState(2), K, D)
    log_det = structure.log_det_cholesky(structure.precision_cholesky(cov), D)
    expected = -0.5 * np.linalg.slogdet(_as_matrices(structure, cov))[1]
    np.testing.assert_allclose(np.broadcast_to(log_det, (K,)), expected, rtol=1e-12)


@structures
def test_sampling_factors_reproduce_covariance(name):
    structure = get_covariance_structure(name)
    cov = _gaussian_covariances(name, np.random.RandomState(3), K, D)
    factors = structure.sampling_factors(cov, K)
    matrices = _as_matrices(structure, cov)
    for k in range(K):
        factor = (
            factors[k]
            if factors[k].ndim == 2
            else np.diag(np.broadcast_to(factors[k], (D,)))
        )
        np.testing.assert_allclose(factor @ factor.T, matrices[k], rtol=1e-12)


@sklearn_structures
def test_parameter_count_matches_scikit_learn(name):
    structure = get_covariance_structure(name)
    reference = SklearnGaussianMixture(K, covariance_type=name)
    reference.means_ = np.zeros((K, D))
    assert structure.n_parameters(K, D) + K * D + K - 1 == reference._n_parameters()


@structures
def test_singular_covariance_names_the_component(name):
    structure = get_covariance_structure(name)
    cov = _gaussian_covariances(name, np.random.RandomState(4), K, D)
    if name == "tied":
        cov = np.zeros((D, D))
        expected = r"\[0\]"
    elif name == "full":
        cov[1] = np.ones((D, D))  # rank one
        expected = r"\[1\]"
    else:
        cov[2] = 0.0
        expected = r"\[2\]"
    with pytest.raises(SingularCovarianceError, match=expected):
        structure.precision_cholesky(cov)


@structures
def test_validate_rejects_wrong_shape_and_non_positive(name):
    structure = get_covariance_structure(name)
    good = _gaussian_covariances(name, np.random.RandomState(5), K, D)
    what = f"{name} precision"
    structure.validate(good, K, D, what, "precisions_init")
    with pytest.raises(ValueError, match=rf"'{what}' should have the shape of.*init"):
        structure.validate(
            good[..., :-1] if good.ndim > 1 else good[:-1],
            K,
            D,
            what,
            "precisions_init",
        )
    with pytest.raises(ValueError, match="positive"):
        structure.validate(-good, K, D, "precisions_init")


@pytest.mark.parametrize("name", ["full", "tied"])
def test_validate_rejects_asymmetric_matrices(name):
    structure = get_covariance_structure(name)
    bad = _gaussian_covariances(name, np.random.RandomState(6), K, D).copy()
    bad[..., 0, 1] += 1.0
    with pytest.raises(ValueError, match="symmetric"):
        structure.validate(bad, K, D, "precisions_init")


@sklearn_structures
def test_m_step_adds_reg_covar_and_matches_weighted_covariance(name):
    rng = np.random.RandomState(7)
    X = rng.normal(size=(500, D)) * [1.0, 2.0, 0.5, 3.0] + 100.0
    resp = rng.dirichlet(np.ones(K), size=500)
    structure = get_covariance_structure(name)
    from mixtura.families import Gaussian

    stats = Gaussian(name).statistics(X, resp)
    nk = resp.sum(axis=0)
    covariances = structure.covariances_from_scatter(stats.scatter, nk, 1e-3)
    weighted = []
    for k in range(K):
        mean = resp[:, k] @ X / nk[k]
        diff = X - mean
        weighted.append((resp[:, k, None] * diff).T @ diff / nk[k])
    weighted = np.array(weighted)
    expected = {
        "full": weighted + 1e-3 * np.eye(D),
        "tied": (weighted * nk[:, None, None]).sum(0) / nk.sum() + 1e-3 * np.eye(D),
        "diag": np.diagonal(weighted, axis1=1, axis2=2) + 1e-3,
        "spherical": np.diagonal(weighted, axis1=1, axis2=2).mean(1) + 1e-3,
    }[name]
    np.testing.assert_allclose(covariances, expected, rtol=1e-10)


@pytest.mark.parametrize(("n_components", "n_features"), [(2, 3), (12, 3), (30, 8)])
def test_both_fast_forms_of_the_full_structure_agree(n_components, n_features):
    from mixtura.families import covariance

    rng = np.random.RandomState(8)
    X = rng.normal(size=(50, n_features))
    means = rng.normal(size=(n_components, n_features))
    cov = _gaussian_covariances("full", rng, n_components, n_features)
    factors = get_covariance_structure("full").precision_cholesky(cov)
    expanded = covariance._expanded_distances(X, means, factors, np)
    whitened = covariance._whitened_distances(X, means, factors, np)
    np.testing.assert_allclose(expanded, whitened, rtol=1e-10, atol=1e-10)
    resp = rng.dirichlet(np.ones(n_components), size=50)
    np.testing.assert_allclose(
        covariance._pairwise_second_moments(X, resp, np),
        covariance._stacked_second_moments(X, resp, np),
        rtol=1e-12,
    )


@pytest.mark.parametrize("name", ["full", "tied"])
@pytest.mark.parametrize("n_features", [2, 16, 17, 30])
def test_batched_factors_match_one_triangular_solve_per_component(name, n_features):
    """Both ways of inverting the Cholesky factors (batched LU up to d=16, one
    triangular solve per component above) give the precision's factor and back."""
    from scipy import linalg

    structure = get_covariance_structure(name)
    rng = np.random.RandomState(n_features)
    n_components = 1 if name == "tied" else 4
    basis = np.linalg.qr(rng.randn(n_components, n_features, n_features))[0]
    spectrum = np.logspace(0, 4, n_features)  # condition number 1e4
    stack = basis @ (spectrum[None, :, None] * np.swapaxes(basis, 1, 2))
    covariances = stack[0] if name == "tied" else stack
    factor = structure.precision_cholesky(covariances)
    factors = factor[None] if name == "tied" else factor
    eye = np.eye(n_features)
    for cov, upper in zip(stack, factors, strict=True):
        lower = linalg.cholesky(cov, lower=True)
        expected = linalg.solve_triangular(lower, eye, lower=True).T
        assert np.array_equal(upper, np.triu(upper))  # exactly upper triangular
        # a backward-stable inverse: error of order cond * eps of the entries
        np.testing.assert_allclose(
            upper, expected, rtol=0, atol=1e4 * 1e3 * np.finfo(float).eps
        )
    back = structure.covariances_from_precision_cholesky(factor)
    scale = np.abs(covariances).max()
    np.testing.assert_allclose(back, covariances, rtol=0, atol=1e-9 * scale)
