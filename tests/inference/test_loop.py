"""The shared fit loop: restarts, convergence, warm start, callbacks, monotone EM."""

import warnings

import numpy as np
import pytest

from mixtura.exceptions import ConvergenceWarning
from mixtura.families import COVARIANCE_STRUCTURES, Gaussian
from mixtura.inference import ArrayData, em_step, fit_loop, initial_responsibilities
from mixtura.inference.data import accumulate, chunked_statistics
from mixtura.mixture import Mixture


def _blobs(n=600, seed=0):
    rng = np.random.RandomState(seed)
    centres = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]])
    labels = rng.randint(3, size=n)
    return centres[labels] + rng.normal(scale=[0.6, 1.0], size=(n, 2))


def _initializer(X, name, method="random"):
    def initialize(rng):
        resp = initial_responsibilities(X, 3, method, rng)
        return Mixture.from_statistics(
            Gaussian(name), Gaussian(name).statistics(X, resp)
        )

    return initialize


@pytest.mark.parametrize("name", sorted(COVARIANCE_STRUCTURES))
def test_em_never_decreases_the_log_likelihood(name):
    X = _blobs()
    result = fit_loop(
        ArrayData(X),
        _initializer(X, name),
        em_step,
        max_iter=200,
        tol=1e-10,
        random_state=np.random.RandomState(0),
    )
    bounds = np.array(result.lower_bounds)
    assert len(bounds) > 5
    assert np.all(np.diff(bounds) >= -1e-12 * np.abs(bounds[1:]))


def test_best_restart_is_kept():
    X = _blobs()
    seen = []
    result = fit_loop(
        ArrayData(X),
        _initializer(X, "full", "random_from_data"),
        em_step,
        n_init=4,
        max_iter=100,
        random_state=np.random.RandomState(3),
        callback=lambda info: seen.append(info),
    )
    finals = {}
    for info in seen:
        finals[info.init] = info.lower_bound
    assert sorted(finals) == [0, 1, 2, 3]
    assert result.lower_bound == max(finals.values())


def test_callback_sees_each_iteration_and_change():
    X = _blobs()
    seen = []
    result = fit_loop(
        ArrayData(X),
        _initializer(X, "diag"),
        em_step,
        random_state=np.random.RandomState(0),
        callback=seen.append,
    )
    assert [info.n_iter for info in seen] == list(range(1, result.n_iter + 1))
    assert [info.lower_bound for info in seen] == result.lower_bounds
    np.testing.assert_allclose(
        [info.change for info in seen[1:]], np.diff(result.lower_bounds)
    )
    assert result.converged and abs(seen[-1].change) < 1e-3


def test_not_converging_warns_and_max_iter_zero_returns_the_start():
    X = _blobs()
    args = (ArrayData(X), _initializer(X, "full"), em_step)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        result = fit_loop(
            *args, max_iter=2, tol=0.0, random_state=np.random.RandomState(0)
        )
    assert result.n_iter == 2 and not result.converged
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        start = fit_loop(*args, max_iter=0, random_state=np.random.RandomState(0))
    assert start.n_iter == 0 and start.lower_bounds == []


def test_warm_start_continues_from_the_given_mixture():
    X = _blobs()
    data = ArrayData(X)
    with pytest.warns(ConvergenceWarning):
        first = fit_loop(
            data,
            _initializer(X, "tied"),
            em_step,
            max_iter=3,
            tol=0.0,
            random_state=np.random.RandomState(0),
        )
    with pytest.warns(ConvergenceWarning):
        second = fit_loop(
            data,
            lambda rng: pytest.fail("warm start must not initialise"),
            em_step,
            max_iter=1,
            tol=0.0,
            random_state=np.random.RandomState(0),
            warm_start=(first.mixture, first.lower_bound),
        )
    # the continued step's bound is the bound of the warm mixture itself
    _, expected = accumulate(data, first.mixture)
    assert second.lower_bounds == [pytest.approx(expected, rel=1e-14)]
    assert second.lower_bound >= first.lower_bound


@pytest.mark.parametrize("chunk_size", [1, 7, 256])
def test_accumulate_is_independent_of_chunking(chunk_size):
    X = _blobs(n=300)
    w = np.random.RandomState(0).uniform(0.5, 2.0, size=300)
    mixture = _initializer(X, "full")(np.random.RandomState(1))
    whole_stats, whole_ll = accumulate(ArrayData(X, w, chunk_size=10_000), mixture)
    stats, ll = accumulate(ArrayData(X, w, chunk_size=chunk_size), mixture)
    assert ll == pytest.approx(whole_ll, rel=1e-13)
    np.testing.assert_allclose(stats.scatter, whole_stats.scatter, rtol=1e-11)
    resp = np.exp(mixture.log_responsibilities(X)[0])
    chunked = chunked_statistics(
        ArrayData(X, w, chunk_size=chunk_size), Gaussian("full"), resp
    )
    np.testing.assert_allclose(chunked.mean, whole_stats.mean, rtol=1e-12)


def test_weighted_mean_log_likelihood():
    X = _blobs(n=100)
    mixture = _initializer(X, "spherical")(np.random.RandomState(1))
    w = np.arange(100, dtype=float)
    _, ll = accumulate(ArrayData(X, w), mixture)
    expected = np.average(mixture.score_samples(X), weights=w)
    assert ll == pytest.approx(expected, rel=1e-13)
