"""The fused Gaussian E+M step equals the composed one (log_prob, posterior, stats)."""

import numpy as np
import pytest

from mixtura.families import Gaussian
from mixtura.families.gaussian_fused import (
    fused_pairs_pay_off,
    pair_products_by_feature,
    quadratic_moments,
)
from mixtura.inference import data as data_module
from mixtura.inference.data import ArrayData, accumulate
from mixtura.mixture import Mixture

RNG = np.random.default_rng(3)


def _family(covariance_type, n_components=6, n_features=4, offset=0.0):
    means = RNG.normal(scale=3.0, size=(n_components, n_features)) + offset
    A = RNG.normal(size=(n_components, n_features, n_features))
    covariances = A @ np.swapaxes(A, 1, 2) / n_features + 0.5 * np.eye(n_features)
    template = Gaussian(covariance_type)
    shape = template.structure.shape(n_components, n_features)
    if len(shape) == 1:
        covariances = covariances.trace(axis1=1, axis2=2) / n_features
    elif len(shape) == 2 and shape[0] == n_components:
        covariances = np.diagonal(covariances, axis1=1, axis2=2).copy()
    elif len(shape) == 2:
        covariances = covariances[0]
    return Gaussian(covariance_type, means=means, covariances=covariances)


def _composed(mixture, X, weights):
    log_resp, log_density = mixture.log_responsibilities(X)
    stats = mixture.statistics(X, np.exp(log_resp), weights)
    if weights is not None:
        log_density = log_density * weights
    return stats, float(np.sum(log_density))


def _assert_matches_the_composed_step(result, mixture, X, weights):
    stats, log_likelihood = result
    expected_stats, expected_ll = _composed(mixture, X, weights)
    # a tied family keeps only the components' summed scatter
    assert stats.pooled == (mixture.family.structure.name == "tied")
    if stats.pooled:
        expected_stats = expected_stats.pooled_form()
    assert log_likelihood == pytest.approx(expected_ll, rel=1e-12)
    np.testing.assert_allclose(stats.resp_sum, expected_stats.resp_sum, rtol=1e-12)
    np.testing.assert_allclose(stats.mean, expected_stats.mean, rtol=1e-10)
    np.testing.assert_allclose(
        stats.scatter, expected_stats.scatter, rtol=1e-9, atol=1e-9
    )


@pytest.mark.parametrize(
    "covariance_type", ["full", "tied", "diag", "spherical", "VEV"]
)
@pytest.mark.parametrize("weighted", [False, True])
def test_fused_step_equals_the_composed_one(covariance_type, weighted):
    family = _family(covariance_type)
    mixture = Mixture(np.log(RNG.dirichlet(np.ones(6))), family)
    X = RNG.normal(scale=3.0, size=(500, 4))
    weights = RNG.uniform(0.1, 2.0, size=500) if weighted else None
    fused = family.fused_statistics(X, mixture.log_weights, weights)
    assert fused is not None
    _assert_matches_the_composed_step(fused, mixture, X, weights)


def test_fused_step_is_not_used_where_it_would_lose_digits():
    # means 1e8 standard deviations from their centre: expanded squares would
    # cancel every digit, so the family keeps its centred forms
    far = Gaussian(
        "full",
        means=np.array([[0.0] * 4, [2e8] * 4]),
        covariances=np.eye(4)[None] * [[[1.0]], [[1.0]]],
    )
    X = RNG.normal(size=(50, 4))
    assert far.fused_statistics(X, np.zeros(2)) is None  # cancellation guard
    assert not fused_pairs_pay_off(2, 64)  # few components, many features


def test_chunks_with_holes_complete_once_and_equal_the_composed_step():
    # rows with NaN go through the missing-data path inside fused_statistics
    # (one completion per chunk); the result is that of log_prob + statistics
    from scipy.special import logsumexp

    family = _family("full")
    holes = RNG.normal(size=(50, 4))
    holes[3, 1] = holes[7, [0, 2]] = np.nan
    log_weights = np.log(np.full(6, 1 / 6))
    stats, log_likelihood = family.fused_statistics(holes, log_weights)
    joint = family.log_prob(holes) + log_weights
    log_density = logsumexp(joint, axis=1)
    expected = family.statistics(holes, np.exp(joint - log_density[:, None]))
    assert log_likelihood == pytest.approx(log_density.sum(), rel=1e-12)
    np.testing.assert_allclose(stats.resp_sum, expected.resp_sum, rtol=1e-12)
    np.testing.assert_allclose(stats.mean, expected.mean, rtol=1e-10)
    np.testing.assert_allclose(stats.scatter, expected.scatter, rtol=1e-9)


def test_float32_fused_step_keeps_positive_variances_and_the_float64_bound():
    family = _family("full")
    mixture = Mixture(np.log(np.full(6, 1 / 6)), family)
    X = RNG.normal(scale=3.0, size=(2000, 4))
    stats64, ll64 = family.fused_statistics(X, mixture.log_weights)
    stats32, ll32 = family.fused_statistics(X.astype(np.float32), mixture.log_weights)
    assert ll32 == pytest.approx(ll64, rel=1e-5)
    assert np.all(np.linalg.eigvalsh(stats32.scatter) > 0)
    np.testing.assert_allclose(stats32.scatter, stats64.scatter, rtol=1e-4)


def test_pair_products_and_second_moments_match_outer_products():
    X = RNG.normal(size=(7, 5))
    out = np.empty((15, 7))
    pairs = pair_products_by_feature(np.ascontiguousarray(X.T), out)
    rows, cols = np.triu_indices(5)
    np.testing.assert_allclose(pairs, (X[:, rows] * X[:, cols]).T)
    resp = RNG.dirichlet(np.ones(3), size=7)
    reference = RNG.normal(size=5)
    centred, resp_sum, second, first = quadratic_moments(
        X + reference, reference, resp, True
    )
    np.testing.assert_allclose(centred, X, atol=1e-12)
    np.testing.assert_allclose(resp_sum, resp.sum(axis=0))
    np.testing.assert_allclose(second, np.einsum("nk,ni,nj->kij", resp, X, X))
    np.testing.assert_allclose(first, resp.T @ X, atol=1e-12)
    _, _, diagonal, _ = quadratic_moments(X + reference, reference, resp, False)
    np.testing.assert_allclose(diagonal, np.einsum("nk,ni->ki", resp, X * X))


def test_threaded_chunks_sum_to_the_sequential_result(monkeypatch):
    family = _family("full")
    mixture = Mixture(np.log(np.full(6, 1 / 6)), family)
    X = RNG.normal(scale=3.0, size=(5000, 4))
    data = ArrayData(X, None, 500)
    monkeypatch.setattr(data_module, "_worker_count", lambda n_chunks: 1)
    sequential = accumulate(data, mixture)
    monkeypatch.setattr(data_module, "_worker_count", lambda n_chunks: 2)
    threaded = accumulate(data, mixture)
    assert threaded[1] == sequential[1]
    np.testing.assert_array_equal(threaded[0].scatter, sequential[0].scatter)


def _chunks(X, weights, size):
    return [
        (
            X[start : start + size],
            None if weights is None else weights[start : start + size],
        )
        for start in range(0, X.shape[0], size)
    ]


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "VEV"])
@pytest.mark.parametrize("weighted", [False, True])
def test_group_of_chunks_equals_the_sum_of_its_chunks(covariance_type, weighted):
    family = _family(covariance_type, offset=50.0)
    mixture = Mixture(np.log(RNG.dirichlet(np.ones(6))), family)
    X = RNG.normal(scale=3.0, size=(1700, 4)) + 50.0
    weights = RNG.uniform(0.1, 2.0, size=1700) if weighted else None
    chunks = _chunks(X, weights, 400)
    grouped = family.fused_group_statistics(chunks, mixture.log_weights)
    assert grouped is not None
    _assert_matches_the_composed_step(grouped, mixture, X, weights)


def test_float32_group_keeps_positive_variances_and_the_float64_result():
    family = _family("full")
    log_weights = np.log(np.full(6, 1 / 6))
    X = RNG.normal(scale=3.0, size=(6000, 4))
    stats64, ll64 = family.fused_group_statistics(_chunks(X, None, 1000), log_weights)
    stats32, ll32 = family.fused_group_statistics(
        _chunks(X.astype(np.float32), None, 1000), log_weights
    )
    assert ll32 == pytest.approx(ll64, rel=1e-5)
    assert np.all(np.linalg.eigvalsh(stats32.scatter) > 0)
    np.testing.assert_allclose(stats32.scatter, stats64.scatter, rtol=1e-4)


def test_group_goes_chunk_by_chunk_for_holes_and_cancelled_digits():
    family = _family("full")
    mixture = Mixture(np.log(np.full(6, 1 / 6)), family)
    holes = RNG.normal(size=(300, 4))
    holes[5, 2] = np.nan
    chunks = _chunks(holes, None, 100)
    assert family.fused_group_statistics(chunks, mixture.log_weights) is None
    stats, _ = mixture.group_statistics(chunks)
    expected = family.fused_statistics(holes, mixture.log_weights)[0]
    np.testing.assert_allclose(stats.scatter, expected.scatter, rtol=1e-9)

    # data 1e4 away from every component with a spread of 1e-6: the group's
    # expanded scatter would cancel every digit (ratio 1e20 * eps), so the group
    # declines and the chunks' explicit deviations give the scatter
    tight = 1e4 + 1e-6 * RNG.normal(size=(300, 4))
    chunks = _chunks(tight, None, 100)
    assert family.fused_group_statistics(chunks, mixture.log_weights) is None
    stats, _ = mixture.group_statistics(chunks)
    resp = np.exp(mixture.log_responsibilities(tight)[0])
    deviations = tight[:, None, :] - stats.mean[None]
    expected = np.einsum("nk,nki,nkj->kij", resp, deviations, deviations)
    used = stats.resp_sum > 1e-3
    scale = np.abs(expected[used]).max()
    np.testing.assert_allclose(
        stats.scatter[used], expected[used], rtol=1e-6, atol=1e-7 * scale
    )
    assert np.all(np.diagonal(stats.scatter[used], axis1=1, axis2=2) > 0)


def test_tied_pooled_statistics_give_the_same_m_step_with_and_without_a_prior():
    from mixtura.families.covariance import get_covariance_structure
    from mixtura.priors.mclust import resolve_prior

    family = _family("tied")
    mixture = Mixture(np.log(np.full(6, 1 / 6)), family)
    X = RNG.normal(scale=3.0, size=(800, 4))
    pooled, _ = family.fused_statistics(X, mixture.log_weights)
    per_component, _ = _composed(mixture, X, None)
    assert pooled.pooled and not per_component.pooled
    tied = get_covariance_structure("tied")
    for prior in (None, resolve_prior("default", X, 6, tied)):
        template = Gaussian("tied", prior=prior)
        expected = template.maximize(per_component)
        ours = template.maximize(pooled)
        np.testing.assert_allclose(ours.means, expected.means, rtol=1e-10)
        np.testing.assert_allclose(ours.covariances, expected.covariances, rtol=1e-10)


def test_tied_group_declines_where_the_pooled_scatter_would_cancel():
    family = _family("tied")
    mixture = Mixture(np.log(np.full(6, 1 / 6)), family)
    tight = 1e4 + 1e-6 * RNG.normal(size=(300, 4))
    chunks = _chunks(tight, None, 100)
    assert family.fused_group_statistics(chunks, mixture.log_weights) is None
    stats, _ = mixture.group_statistics(chunks)  # composed, explicit deviations
    assert np.all(np.linalg.eigvalsh(stats.pooled_form().scatter[0]) > 0)
