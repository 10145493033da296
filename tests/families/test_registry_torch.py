"""Every family's O(n) work on PyTorch tensors (CPU), against NumPy (issue 20).

The families' log_prob and statistics are written against the array API
(``mixtura.backend``); array_api_strict runs them in ``test_registry.py``. Here
the same work runs on torch tensors, the namespace the GPU backend uses: the
log densities must come back as tensors of the input's dtype and device, equal
to NumPy's to 1e-10 in float64 and 1e-4 in float32, and the statistics (NumPy
arrays: they are the M-step's few numbers) equal to NumPy's.
"""

import warnings

import numpy as np
import pytest

from .cases import FAMILY_CASES
from .test_registry import _assert_stats_equal, _setup

torch = pytest.importorskip("torch")

cases = pytest.mark.parametrize("case", FAMILY_CASES, ids=lambda c: c.id)

# float32 rows: the densities are computed in float32 (the data's dtype) from
# float64 parameters; their rounding, relative to float32's epsilon (1.2e-7)
# times the size of the terms, stays far below 1e-4
FLOAT32_RTOL = 1e-4


def _tensor(array, dtype=None):
    with warnings.catch_warnings():  # read-only NumPy views: torch warns, copies
        warnings.simplefilter("ignore", UserWarning)
        return torch.asarray(np.array(array), dtype=dtype)


@cases
def test_log_prob_on_torch_tensors_equals_numpys(case):
    _, family, X, _ = _setup(case)
    X_torch = _tensor(X)
    log_prob = family.log_prob(X_torch)
    assert isinstance(log_prob, torch.Tensor)
    assert log_prob.dtype == X_torch.dtype and log_prob.device == X_torch.device
    np.testing.assert_allclose(
        log_prob.numpy(), family.log_prob(X), rtol=1e-10, atol=1e-10
    )


@cases
def test_statistics_of_torch_tensors_equal_numpys(case):
    _, family, X, resp = _setup(case)
    stats = family.statistics(_tensor(X), _tensor(resp))
    _assert_stats_equal(stats, family.statistics(X, resp), rtol=1e-10)


@cases
def test_float32_tensors_give_float32_densities_close_to_float64(case):
    _, family, X, _ = _setup(case)
    X32 = _tensor(X, dtype=torch.float32)
    log_prob = family.log_prob(X32)
    assert isinstance(log_prob, torch.Tensor)
    assert log_prob.dtype == torch.float32 and log_prob.device == X32.device
    # against float64 densities of the same (float32-rounded) rows
    expected = family.log_prob(X32.numpy().astype(np.float64))
    scale = np.maximum(np.abs(expected), 1.0)
    np.testing.assert_array_less(
        np.abs(log_prob.double().numpy() - expected) / scale, FLOAT32_RTOL
    )
