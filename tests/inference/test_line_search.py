"""The monotone EM step: full Newton steps where they ascend, halved where not."""

import numpy as np

from mixtura.families import PoissonRegression
from mixtura.families.conditional import RowLayout
from mixtura.inference.data import ArrayData, accumulate
from mixtura.inference.line_search import (
    MAX_HALVINGS,
    Evaluated,
    monotone_em_steps,
    monotone_step,
    toward,
)
from mixtura.mixture import Mixture


def _poisson_rows(rng, n=400):
    layout = RowLayout(1, 1)
    x = rng.uniform(0, 3, size=(n, 1))
    counts = rng.poisson(np.exp(np.where(rng.rand(n) < 0.5, 0.5 + x[:, 0], 2.0)))
    return layout, ArrayData(layout.join(x, counts))


def _mixture(layout, coefficients, weights=(0.5, 0.5)):
    family = PoissonRegression(layout, coefficients=np.asarray(coefficients, float))
    return Mixture.from_weights(np.asarray(weights), family)


def test_an_overshooting_newton_step_is_halved():
    rng = np.random.RandomState(0)
    layout, data = _poisson_rows(rng)
    # far from the data: the full Newton step from here overshoots
    start = _mixture(layout, [[6.0, -8.0], [-5.0, 7.0]])
    stats, bound = accumulate(data, start)
    full = start.maximize(stats)
    assert accumulate(data, full)[1] < bound  # the full step lowers L
    state, reported = monotone_step(start, data)
    assert reported == bound
    assert state.bound >= bound
    assert (
        state.mixture.family.coefficients.tolist() != full.family.coefficients.tolist()
    )
    # the accepted step lies on the segment to the full step
    direction = full.family.coefficients - start.family.coefficients
    moved = state.mixture.family.coefficients - start.family.coefficients
    ratio = moved[direction != 0] / direction[direction != 0]
    np.testing.assert_allclose(ratio, ratio[0])
    assert 0 < ratio[0] < 1


def test_an_ascending_step_is_taken_whole_and_its_e_step_kept():
    rng = np.random.RandomState(1)
    layout, data = _poisson_rows(rng)
    start = _mixture(layout, [[1.0, 0.5], [0.0, 2.0]])
    stats, bound = accumulate(data, start)
    full = start.maximize(stats)
    state, _ = monotone_step(Evaluated(start, stats, bound), data)
    np.testing.assert_array_equal(
        state.mixture.family.coefficients, full.family.coefficients
    )
    again_stats, again_bound = accumulate(data, state.mixture)
    assert state.bound == again_bound
    np.testing.assert_array_equal(state.stats.rhs, again_stats.rhs)


def test_a_step_that_cannot_ascend_stays(monkeypatch):
    rng = np.random.RandomState(2)
    layout, data = _poisson_rows(rng)
    start = _mixture(layout, [[1.0, 0.5], [0.0, 2.0]])
    evaluated = Evaluated(start, *accumulate(data, start))
    calls = []

    def every_trial_is_worse(data, mixture):
        calls.append(1)
        stats, _bound = accumulate(data, mixture)
        return stats, evaluated.bound - 1.0

    monkeypatch.setattr(
        "mixtura.inference.line_search.accumulate", every_trial_is_worse
    )
    state, bound = monotone_step(evaluated, data)
    assert state is evaluated and bound == evaluated.bound
    assert len(calls) == MAX_HALVINGS


def test_toward_moves_weights_on_the_simplex():
    layout = RowLayout(1, 1)
    a = _mixture(layout, [[0.0, 0.0], [1.0, 1.0]], (0.2, 0.8))
    b = _mixture(layout, [[2.0, 2.0], [3.0, 1.0]], (0.6, 0.4))
    half = toward(a, b, 0.5)
    np.testing.assert_allclose(half.weights, [0.4, 0.6])
    np.testing.assert_allclose(half.family.coefficients, [[1.0, 1.0], [2.0, 1.0]])


def test_steps_turn_states_back_into_mixtures():
    rng = np.random.RandomState(3)
    layout, data = _poisson_rows(rng)
    start = _mixture(layout, [[1.0, 0.5], [0.0, 2.0]])
    steps = monotone_em_steps()
    state, _ = steps.step(start, data)
    assert isinstance(steps.to_mixture(state), Mixture)
    assert steps.to_mixture(start) is start
