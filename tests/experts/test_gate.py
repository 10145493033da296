"""The softmax gate and the gated mixture against independent computations."""

import numpy as np
import pytest
import scipy.special
from sklearn.linear_model import LogisticRegression as SkLogistic

from mixtura.experts import GatedMixture, GatedStats, SoftmaxGate
from mixtura.families import GaussianRegression
from mixtura.families.conditional import RowLayout


def test_log_weights_are_a_softmax_with_the_first_component_as_reference():
    rng = np.random.RandomState(0)
    rows = rng.normal(size=(50, 3))
    gate = SoftmaxGate([0, 2], 3, coefficients=rng.normal(size=(3, 2)))
    design = np.column_stack([rows[:, [0, 2]], np.ones(50)])
    logits = np.column_stack([np.zeros(50), design @ gate.coefficients])
    np.testing.assert_allclose(
        gate.log_weights(rows), scipy.special.log_softmax(logits, axis=1), rtol=1e-12
    )


def test_newton_steps_reach_the_soft_target_maximum():
    # maximising sum_ik r_ik log w_k(x_i) is a multinomial logit fitted to
    # each row once per class, weighted by r_ik (scikit-learn, unpenalised)
    rng = np.random.RandomState(1)
    n, k = 400, 3
    rows = rng.normal(size=(n, 2))
    truth = np.column_stack(
        [np.zeros(n), rows @ [[1.0, -2.0], [0.5, 1.0]] + [0.3, -0.2]]
    )
    resp = scipy.special.softmax(truth + rng.normal(scale=0.5, size=(n, k)), axis=1)
    gate = SoftmaxGate([0, 1], k)
    for _ in range(30):
        gate = gate.maximize(gate.statistics(rows, resp))
    stacked = np.repeat(rows, k, axis=0)
    classes = np.tile(np.arange(k), n)
    sk = SkLogistic(C=np.inf, tol=1e-12, max_iter=10_000).fit(
        stacked, classes, sample_weight=resp.ravel()
    )
    np.testing.assert_allclose(
        np.exp(gate.log_weights(rows)), sk.predict_proba(rows), atol=1e-6
    )


def test_gated_statistics_add_over_chunks():
    rng = np.random.RandomState(2)
    layout = RowLayout(1, 1)
    experts = GaussianRegression(
        layout,
        coefficients=[[[1.0]], [[-1.0]]],
        intercepts=[[0.0], [1.0]],
        noise_covariances=[[[1.0]], [[0.5]]],
    )
    gated = GatedMixture(SoftmaxGate([0], 2, coefficients=[[1.5], [0.2]]), experts)
    x = rng.normal(size=(300, 1))
    rows = layout.join(x, x[:, 0] + rng.normal(size=300))
    whole, total = gated.chunk_statistics(rows)
    first, a = gated.chunk_statistics(rows[:120])
    second, b = gated.chunk_statistics(rows[120:])
    parts = first + second
    assert isinstance(parts, GatedStats)
    assert total == pytest.approx(a + b)
    np.testing.assert_allclose(parts.gate.rhs, whole.gate.rhs, rtol=1e-12)
    np.testing.assert_allclose(parts.experts.scatter, whole.experts.scatter, rtol=1e-9)
    np.testing.assert_allclose(total, gated.score_samples(rows).sum())


def test_gated_mixture_refuses_mismatched_components():
    layout = RowLayout(1, 1)
    experts = GaussianRegression(
        layout, coefficients=np.zeros((2, 1, 1)), noise_covariances=np.ones((2, 1, 1))
    )
    with pytest.raises(ValueError, match="components"):
        GatedMixture(SoftmaxGate([0], 3, coefficients=np.zeros((2, 2))), experts)
