"""Several lean Gaussian steps computed together against each step alone.

``gaussian_lean.steps_together`` shares the products, the log-sum-exp, the
factorisations and the log weights of several fits on the same rows; each
fit's outcome must be its own ``LeanGaussianEM.step``'s.
"""

import numpy as np
import pytest

from mixtura.exceptions import SingularCovarianceError
from mixtura.families.covariance import get_covariance_structure
from mixtura.families.gaussian import Gaussian
from mixtura.families.gaussian_lean import LeanGaussianEM, steps_together
from mixtura.families.mclust import MULTIVARIATE_MODELS
from mixtura.inference.init import responsibilities_from_labels

# The shared products are taller than each fit's own (more output rows); a
# BLAS may block them otherwise, so each output entry may differ by rounding.
# The entries are sums of a few hundred terms of size ~1e2: a relative 1e-12
# is far beyond that rounding and far below any real difference.
TOLERANCE = 1e-12
STRUCTURES = ("full", "tied", "diag", "spherical", *MULTIVARIATE_MODELS)


def _rows(n_samples=240, seed=0, offset=0.0):
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [5.0, 1.0], [1.0, 6.0]])
    labels = rng.integers(3, size=n_samples)
    return offset + centres[labels] + rng.normal(size=(n_samples, 2)), labels


def _start(X, labels, name, n_components=3, sample_weight=None):
    """A lean step of ``name`` on X and its state after one M-step."""
    family = Gaussian(get_covariance_structure(name), 1e-6)
    lean = LeanGaussianEM(family, X, sample_weight)
    resp = responsibilities_from_labels(labels % n_components, n_components)
    state = lean._maximized(lean.statistics(resp))
    return lean, state


def _assert_same_outcome(together, alone):
    (state, bound), (expected_state, expected_bound) = together, alone
    assert bound == pytest.approx(expected_bound, rel=TOLERANCE, abs=0)
    for name in ("log_weights", "means", "covariances", "precisions_cholesky"):
        np.testing.assert_allclose(
            getattr(state, name),
            getattr(expected_state, name),
            rtol=TOLERANCE,
            atol=TOLERANCE,
        )


@pytest.mark.parametrize("weighted", [False, True])
def test_every_structure_steps_together_as_it_steps_alone(weighted):
    X, labels = _rows()
    weights = np.random.default_rng(1).uniform(0.5, 2.0, len(X)) if weighted else None
    fits = [_start(X, labels, name, sample_weight=weights) for name in STRUCTURES]
    for full_scatter in (True, False):
        group = [
            (lean, state)
            for lean, state in fits
            if lean.structure.full_scatter == full_scatter
        ]
        leans, states = zip(*group, strict=True)
        keys = {lean.batch_key(state) for lean, state in group}
        assert len(keys) == 1  # the same rows, weights, features and K
        for _ in range(3):  # a few iterations, each from the shared states
            together = steps_together(leans, states)
            for lean, state, outcome in zip(leans, states, together, strict=True):
                _assert_same_outcome(outcome, lean.step(state))
            states = [state for state, _ in together]


def test_a_fit_far_from_the_reference_takes_its_own_distances():
    # one fit's means far from the rows' mean: the expanded form would lose
    # digits, so that fit's joint log-probabilities come from its deviations
    X, labels = _rows()
    near = _start(X, labels, "VVV")
    far_lean, far_state = _start(X, labels, "EEE")
    far_state = far_state.__class__(
        far_state.log_weights,
        far_state.means + 1e7,
        far_state.covariances,
        far_state.precisions_cholesky,
    )
    farthest = float(far_lean._pair_form(far_state).offsets.max())
    assert not far_lean._expansion_holds(farthest)
    together = steps_together([near[0], far_lean], [near[1], far_state])
    _assert_same_outcome(together[0], near[0].step(near[1]))
    _assert_same_outcome(together[1], far_lean.step(far_state))


def test_a_collapsed_fit_gets_its_own_error_and_the_others_go_on():
    X, labels = _rows()
    X = X.copy()
    X[:3] = [[50.0, 50.0], [50.0, 50.0], [50.0, 50.0]]  # three equal rows apart
    labels = labels.copy()
    labels[:3], labels[3:] = 0, np.where(labels[3:] == 0, 1, labels[3:])
    fits = [_start(X, labels, name) for name in ("VVV", "EEE", "EEV")]
    leans = [lean for lean, _ in fits]
    states = [state for _, state in fits]
    for lean in leans:
        lean.template = Gaussian(lean.structure, 0.0)  # no ridge: VVV collapses
    together = steps_together(leans, states)
    with pytest.raises(SingularCovarianceError) as alone:
        leans[0].step(states[0])
    assert isinstance(together[0], SingularCovarianceError)
    assert together[0].components == alone.value.components
    assert together[0].lower_bound == pytest.approx(
        alone.value.lower_bound, rel=TOLERANCE
    )
    for c in (1, 2):
        _assert_same_outcome(together[c], leans[c].step(states[c]))


def test_fits_of_other_rows_or_another_k_do_not_share_a_batch():
    X, labels = _rows()
    lean, state = _start(X, labels, "VVV")
    other_rows, other_state = _start(X.copy(), labels, "VVV")
    other_k, k_state = _start(X, labels, "VVV", n_components=2)
    key = lean.batch_key(state)
    assert other_rows.batch_key(other_state) != key
    assert other_k.batch_key(k_state) != key
