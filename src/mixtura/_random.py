"""One reading of ``random_state`` for every estimator (issue 18).

scikit-learn's ``check_random_state`` and its ``"random_state"`` parameter
constraint take ``None``, an int or a :class:`numpy.random.RandomState`; a user
of NumPy's newer API also passes a :class:`numpy.random.Generator`. The
estimators' draws are written against the ``RandomState`` API (they match
scikit-learn's mixtures draw for draw), so a Generator is turned into a fresh
``RandomState`` whose MT19937 is seeded from 128 bits drawn from the Generator.

A Generator is therefore consumed by each call: two fits with the same
Generator object give different results (as with a shared ``RandomState``),
and a fresh ``np.random.default_rng(seed)`` reproduces a fit exactly.
"""

from __future__ import annotations

import numpy as np
from numpy.random.bit_generator import ISeedSequence
from sklearn.utils import check_random_state as _sklearn_check_random_state

#: the parameter constraint for ``random_state`` in ``_parameter_constraints``
RANDOM_STATE_CONSTRAINT = ["random_state", np.random.Generator]


def check_random_state(seed):
    """A :class:`numpy.random.RandomState` from ``random_state``.

    Parameters
    ----------
    seed : None, int, numpy.random.RandomState or numpy.random.Generator
        ``None``, an int or a RandomState are read as by
        :func:`sklearn.utils.check_random_state` (a RandomState is returned
        itself). A Generator gives a new RandomState whose MT19937 is seeded
        from four 32-bit words drawn from the Generator, so the Generator
        advances with every call.

    Returns
    -------
    numpy.random.RandomState

    Raises
    ------
    ValueError
        If ``seed`` is of none of these types (the message names them).

    Examples
    --------
    >>> import numpy as np
    >>> a = check_random_state(np.random.default_rng(0)).uniform()
    >>> b = check_random_state(np.random.default_rng(0)).uniform()
    >>> a == b
    True
    """
    if isinstance(seed, np.random.Generator):
        words = seed.integers(0, 2**32, size=4, dtype=np.uint64)
        return np.random.RandomState(np.random.MT19937(words))
    integer = isinstance(seed, (int, np.integer)) and not isinstance(seed, bool)
    if integer and 0 <= seed < 2**32:
        return seeded_random_state(int(seed))
    try:
        return _sklearn_check_random_state(seed)
    except ValueError:
        raise ValueError(
            "random_state must be None, an int, a numpy.random.RandomState or a "
            f"numpy.random.Generator; got {seed!r} of type {type(seed).__name__}"
        ) from None


class _BlankSeedSequence(ISeedSequence):
    """A seed sequence whose state is zeros: for a bit generator seeded next."""

    def generate_state(self, n_words, dtype=np.uint32):
        return np.zeros(n_words, dtype=dtype)


_BLANK_SEED = _BlankSeedSequence()


def seeded_random_state(seed):
    """``numpy.random.RandomState(seed)``, three times cheaper to make.

    ``RandomState(seed)`` first seeds a new MT19937 from the operating system's
    entropy through a :class:`~numpy.random.SeedSequence` (hashing 624 words,
    some 50 us), then overwrites that whole state with the legacy seeding of
    ``seed``. The first step is wasted work that a small fit pays on every
    call (a tenth of scikit-learn's own time on 300 rows); here the bit
    generator starts blank and receives the same legacy seeding, so the
    generator's state, and every draw, are those of ``RandomState(seed)``
    (``tests/test_random.py`` compares them). If NumPy's private
    ``_legacy_seeding`` ever goes, this falls back to ``RandomState(seed)``.

    Parameters
    ----------
    seed : int
        In ``[0, 2**32)``.

    Returns
    -------
    numpy.random.RandomState
    """
    bit_generator = np.random.MT19937(_BLANK_SEED)
    try:
        bit_generator._legacy_seeding(seed)
    except AttributeError:  # pragma: no cover - a NumPy without it
        return np.random.RandomState(seed)
    return np.random.RandomState(bit_generator)
