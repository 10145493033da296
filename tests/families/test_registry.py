"""Generic tests that every family in the test registry (cases.py) must pass."""

import array_api_strict
import numpy as np
import pytest

from mixtura.families import FAMILIES, get_family
from mixtura.stats import Stats

from .cases import FAMILY_CASES

N_COMPONENTS, N_FEATURES = 3, 4
cases = pytest.mark.parametrize("case", FAMILY_CASES, ids=lambda c: c.id)


def _setup(case, n_samples=200, seed=0):
    rng = np.random.RandomState(seed)
    family = case.make(rng, N_COMPONENTS, N_FEATURES)
    X = case.data(rng, n_samples, N_FEATURES)
    resp = rng.dirichlet(np.ones(N_COMPONENTS), size=n_samples)
    return rng, family, X, resp


def _assert_stats_equal(a, b, rtol=1e-12):
    assert type(a) is type(b)
    for name, value in vars(a).items():
        if isinstance(value, dict):  # LinearStats keeps its named sums in a dict
            assert vars(b)[name].keys() == value.keys()
            for key, part in value.items():
                np.testing.assert_allclose(
                    vars(b)[name][key], part, rtol=rtol, atol=1e-10
                )
            continue
        if isinstance(value, Stats):  # e.g. StudentStats' weighted moments
            _assert_stats_equal(value, vars(b)[name], rtol)
            continue
        if isinstance(value, tuple):  # ProductStats keeps its parts' Stats in one
            assert len(vars(b)[name]) == len(value)
            for mine, theirs in zip(value, vars(b)[name], strict=True):
                _assert_stats_equal(mine, theirs, rtol)
            continue
        np.testing.assert_allclose(vars(b)[name], value, rtol=rtol, atol=1e-10)


@cases
def test_log_prob_matches_scipy(case):
    _, family, X, _ = _setup(case)
    log_prob = family.log_prob(X)
    assert log_prob.shape == (X.shape[0], N_COMPONENTS)
    np.testing.assert_allclose(log_prob, case.reference_log_prob(family, X), rtol=1e-10)


@cases
def test_log_prob_float32_stays_float32(case):
    _, family, X, _ = _setup(case)
    log_prob = family.log_prob(X.astype(np.float32))
    assert log_prob.dtype == np.float32
    np.testing.assert_allclose(log_prob, family.log_prob(X), rtol=1e-4, atol=1e-3)


@cases
@pytest.mark.parametrize("split", [1, 57, 199])
def test_statistics_are_additive(case, split):
    _, family, X, resp = _setup(case)
    whole = family.statistics(X, resp)
    assert isinstance(whole, Stats)
    parts = family.statistics(X[:split], resp[:split]) + family.statistics(
        X[split:], resp[split:]
    )
    _assert_stats_equal(whole, parts)


@cases
def test_statistics_sum_and_scale(case):
    _, family, X, resp = _setup(case)
    chunks = [
        family.statistics(X[i : i + 50], resp[i : i + 50]) for i in (0, 50, 100, 150)
    ]
    _assert_stats_equal(family.statistics(X, resp), sum(chunks))
    # doubling every sample weight is scaling the statistics by two
    doubled = family.statistics(X, resp, sample_weight=np.full(X.shape[0], 2.0))
    _assert_stats_equal(doubled, family.statistics(X, resp) * 2)


@cases
def test_statistics_of_a_template_equal_those_of_a_fitted_family(case):
    if case.stats_depend_on_parameters:
        pytest.skip("the statistics are taken at the family's own parameters")
    _, family, X, resp = _setup(case)
    template = get_family(family.name)(**family.config())
    _assert_stats_equal(template.statistics(X, resp), family.statistics(X, resp), 1e-10)


@cases
def test_maximize_increases_expected_log_likelihood(case):
    # The M-step maximises sum_i r_ik log p(x_i | theta_k) for each component, so
    # its parameters beat the arbitrary parameters the statistics were taken under.
    _, family, X, resp = _setup(case)
    fitted = family.maximize(family.statistics(X, resp))
    assert type(fitted) is type(family) and fitted.n_components == N_COMPONENTS
    before = (resp * family.log_prob(X)).sum(axis=0)
    after = (resp * fitted.log_prob(X)).sum(axis=0)
    assert np.all(after > before)


@cases
def test_sample_moments_match_parameters(case):
    rng, family, _, _ = _setup(case)
    n_per_component = 20_000
    labels = np.repeat(np.arange(N_COMPONENTS), n_per_component)
    samples = family.sample(labels, rng)
    assert samples.shape == (labels.size, N_FEATURES)
    means, variances = case.moments(family)
    for k in range(N_COMPONENTS):
        drawn = samples[labels == k]
        standard_error = np.sqrt(variances[k] / n_per_component)
        assert np.all(np.abs(drawn.mean(axis=0) - means[k]) < 5 * standard_error)
        np.testing.assert_allclose(drawn.var(axis=0), variances[k], rtol=0.05)


@cases
def test_round_trip_through_config_and_arrays(case):
    _, family, X, _ = _setup(case)
    assert family.name in FAMILIES
    rebuilt = get_family(family.name).from_arrays(family.config(), family.arrays())
    np.testing.assert_array_equal(rebuilt.log_prob(X), family.log_prob(X))
    assert rebuilt.n_parameters() == family.n_parameters()


@cases
def test_array_api_strict_gives_the_same_results(case):
    # the O(n) work is written against the array API: it must run unchanged on a
    # strict namespace and return arrays of that namespace
    _, family, X, resp = _setup(case)
    X_strict = array_api_strict.asarray(X)
    log_prob = family.log_prob(X_strict)
    assert isinstance(log_prob, type(X_strict))
    np.testing.assert_allclose(np.asarray(log_prob), family.log_prob(X), rtol=1e-12)
    stats = family.statistics(X_strict, array_api_strict.asarray(resp))
    _assert_stats_equal(stats, family.statistics(X, resp))
