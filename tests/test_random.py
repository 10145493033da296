"""The one reading of ``random_state`` (``mixtura._random``)."""

import numpy as np
import pytest

from mixtura._random import check_random_state, seeded_random_state


@pytest.mark.parametrize("seed", [0, 1, 42, 12345, 2**31, 2**32 - 1])
def test_seeded_random_state_is_numpys_random_state(seed):
    ours, numpys = seeded_random_state(seed), np.random.RandomState(seed)
    ours_state, numpys_state = ours.get_state(), numpys.get_state()
    np.testing.assert_array_equal(ours_state[1], numpys_state[1])
    assert ours_state[0] == numpys_state[0]
    assert ours_state[2:] == numpys_state[2:]
    # every kind of draw the estimators make, and the cached Gaussian
    np.testing.assert_array_equal(ours.normal(size=7), numpys.normal(size=7))
    np.testing.assert_array_equal(ours.uniform(size=5), numpys.uniform(size=5))
    assert ours.choice(1000) == numpys.choice(1000)
    assert ours.randint(2**31) == numpys.randint(2**31)
    assert ours.standard_normal() == numpys.standard_normal()


@pytest.mark.parametrize("seed", [0, np.int64(7), np.uint32(9)])
def test_integer_seeds_give_the_same_stream_as_scikit_learn(seed):
    from sklearn.utils import check_random_state as sklearn_check

    np.testing.assert_array_equal(
        check_random_state(seed).uniform(size=10), sklearn_check(seed).uniform(size=10)
    )


def test_random_state_objects_pass_through_and_generators_are_consumed():
    state = np.random.RandomState(3)
    assert check_random_state(state) is state
    generator = np.random.default_rng(0)
    first = check_random_state(generator).uniform()
    second = check_random_state(generator).uniform()
    assert first != second
    assert check_random_state(np.random.default_rng(0)).uniform() == first


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5, "0"])
def test_bad_seeds_are_refused_with_the_accepted_types(seed):
    with pytest.raises(ValueError, match="random_state must be None, an int"):
        check_random_state(seed)
