"""MomentStats: merging is exact and stable; scaling and summing behave."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mixtura.stats import MomentStats


def _direct(X, w, full):
    """Count, mean and centred scatter of weighted rows, computed directly."""
    n = w.sum()
    mean = w @ X / n
    diff = X - mean
    scatter = (w[:, None] * diff).T @ diff if full else w @ diff**2
    return MomentStats([n], mean[None], scatter[None])


@pytest.mark.parametrize("full", [True, False])
@settings(max_examples=40, deadline=None)
@given(split=st.integers(1, 29), offset=st.sampled_from([0.0, 1e3, 1e6]))
def test_merge_equals_direct_computation(full, split, offset):
    rng = np.random.RandomState(split)
    X = rng.normal(size=(30, 3)) + offset
    w = rng.uniform(0.1, 2.0, size=30)
    merged = _direct(X[:split], w[:split], full) + _direct(X[split:], w[split:], full)
    whole = _direct(X, w, full)
    np.testing.assert_allclose(merged.resp_sum, whole.resp_sum, rtol=1e-12)
    np.testing.assert_allclose(merged.mean, whole.mean, rtol=1e-12)
    # centred form: relative accuracy of the scatter does not degrade with offset
    np.testing.assert_allclose(merged.scatter, whole.scatter, rtol=1e-8, atol=1e-9)


def test_merging_an_empty_component_changes_nothing():
    a = MomentStats([2.0, 0.0], [[1.0], [0.0]], [[3.0], [0.0]])
    b = MomentStats([0.0, 0.0], [[0.0], [0.0]], [[0.0], [0.0]])
    total = a + b
    np.testing.assert_array_equal(total.resp_sum, a.resp_sum)
    np.testing.assert_array_equal(total.mean, a.mean)
    np.testing.assert_array_equal(total.scatter, a.scatter)
    assert np.isfinite(total.mean).all()


def test_scaling_and_sum_start():
    a = MomentStats([2.0], [[1.0, 2.0]], [[1.0, 4.0]])
    scaled = 0.5 * a
    np.testing.assert_array_equal(scaled.resp_sum, [1.0])
    np.testing.assert_array_equal(scaled.mean, a.mean)
    np.testing.assert_array_equal(scaled.scatter, [[0.5, 2.0]])
    assert sum([a]) is a
    # a + a is the same samples twice: same mean, double count and scatter
    twice = a + a
    np.testing.assert_array_equal(twice.scatter, 2 * a.scatter)


def test_adding_incompatible_shapes_is_an_error():
    a = MomentStats([1.0], [[0.0, 0.0]], [[1.0, 1.0]])
    b = MomentStats([1.0], [[0.0, 0.0]], [[[1.0, 0.0], [0.0, 1.0]]])
    with pytest.raises(ValueError, match="different shapes"):
        a + b


def test_linear_stats_add_and_scale_elementwise():
    from mixtura.stats import LinearStats

    a = LinearStats([1.0, 2.0], sum_x=[[1.0, 2.0], [3.0, 4.0]])
    b = LinearStats([0.5, 0.5], sum_x=[[1.0, 1.0], [1.0, 1.0]])
    total = a + b
    np.testing.assert_array_equal(total.resp_sum, [1.5, 2.5])
    np.testing.assert_array_equal(total.sum_x, [[2.0, 3.0], [4.0, 5.0]])
    np.testing.assert_array_equal((2 * a).sum_x, [[2.0, 4.0], [6.0, 8.0]])
    assert sum([a, b]).resp_sum.tolist() == [1.5, 2.5]
    with pytest.raises(ValueError, match="different sums"):
        a + LinearStats([1.0, 1.0], sum_y=[[0.0], [0.0]])
    with pytest.raises(AttributeError):
        _ = a.sum_y


def _per_component(X, resp, w):
    """Per-component statistics of weighted rows under responsibilities."""
    weighted = resp * w[:, None]
    n = weighted.sum(axis=0)
    mean = weighted.T @ X / n[:, None]
    diff = X[:, None, :] - mean[None]
    scatter = np.einsum("nk,nki,nkj->kij", weighted, diff, diff)
    return MomentStats(n, mean, scatter)


@pytest.mark.parametrize("offset", [0.0, 1e4])
def test_pooled_merges_equal_the_pooled_whole(offset):
    rng = np.random.RandomState(4)
    X = rng.normal(size=(60, 3)) + offset
    resp = rng.dirichlet(np.ones(4), size=60)
    w = rng.uniform(0.5, 2.0, size=60)
    parts = [_per_component(X[a:b], resp[a:b], w[a:b]) for a, b in [(0, 25), (25, 60)]]
    whole = _per_component(X, resp, w).pooled_form()
    assert whole.pooled and whole.scatter.shape == (1, 3, 3)
    for merged in (
        parts[0].pooled_form() + parts[1].pooled_form(),
        parts[0] + parts[1].pooled_form(),  # per-component + pooled: pooled first
        parts[0].pooled_form() + parts[1],
    ):
        assert merged.pooled
        np.testing.assert_allclose(merged.resp_sum, whole.resp_sum, rtol=1e-12)
        np.testing.assert_allclose(merged.mean, whole.mean, rtol=1e-12)
        np.testing.assert_allclose(merged.scatter, whole.scatter, rtol=1e-9)
    scaled = whole.scale(0.5)
    assert scaled.pooled
    np.testing.assert_allclose(scaled.scatter, 0.5 * whole.scatter)
    with pytest.raises(ValueError, match="only full scatter"):
        MomentStats([1.0], [[0.0, 0.0]], [[1.0, 1.0]]).pooled_form()
