"""Sufficient statistics as values.

A family's E-step output is a :class:`Stats` value: responsibility-weighted sums over
samples that support ``+`` and scaling. Chunks of an array, Dask blocks and minibatches
all reduce the same way, and ``stats(X) == stats(X[:a]) + stats(X[a:])`` for every
family. Values are kept in float64 whatever the data's dtype, so summing many chunks
of float32 data loses nothing.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

__all__ = ["LinearStats", "MomentStats", "Stats"]


class Stats(ABC):
    """Additive sufficient statistics of a mixture's components.

    Every family's statistics hold ``resp_sum`` of shape (n_components,): the sum over
    samples of the (sample-weighted) responsibilities, from which the mixture's
    weights are estimated.
    """

    resp_sum: np.ndarray

    @abstractmethod
    def __add__(self, other: Stats) -> Stats:
        """Statistics of the union of the two sets of samples."""

    @abstractmethod
    def scale(self, factor: float) -> Stats:
        """Statistics with every sample's weight multiplied by ``factor``."""

    def __radd__(self, other):
        # lets sum(list_of_stats) start from the integer 0
        if isinstance(other, int) and other == 0:
            return self
        return NotImplemented

    def __mul__(self, factor):
        return self.scale(float(factor))

    __rmul__ = __mul__


def _safe_divide(numerator, denominator):
    """numerator / denominator, with 0 where the denominator is 0."""
    safe = np.where(denominator > 0, denominator, 1.0)
    return np.where(denominator > 0, numerator / safe, 0.0)


class MomentStats(Stats):
    """Weighted count, mean and centred scatter of each component.

    Held in centred form (Chan, Golub & LeVeque 1979, "Updating formulae and a
    pairwise algorithm for computing sample variances"), so merging two sets never
    subtracts two large nearly equal numbers: variances stay non-negative even for
    data far from the origin.

    Parameters
    ----------
    resp_sum : array-like of shape (n_components,)
        Sum of the weighted responsibilities.
    mean : array-like of shape (n_components, n_features)
        Responsibility-weighted mean (0 for a component with no weight).
    scatter : array-like of shape (n_components, n_features, n_features) or \
            (n_components, n_features)
        Sum of weighted outer products of deviations from ``mean``; the diagonal
        only when it has two dimensions.
    """

    def __init__(self, resp_sum, mean, scatter):
        self.resp_sum = np.asarray(resp_sum, dtype=np.float64)
        self.mean = np.asarray(mean, dtype=np.float64)
        self.scatter = np.asarray(scatter, dtype=np.float64)

    @property
    def full(self):
        """Whether ``scatter`` holds full matrices rather than diagonals."""
        return self.scatter.ndim == 3

    def __add__(self, other):
        if not isinstance(other, MomentStats):
            return NotImplemented
        if self.scatter.shape != other.scatter.shape:
            raise ValueError(
                "cannot add statistics of different shapes: "
                f"{self.scatter.shape} and {other.scatter.shape}"
            )
        total = self.resp_sum + other.resp_sum
        share = _safe_divide(other.resp_sum, total)
        delta = other.mean - self.mean
        mean = self.mean + share[:, None] * delta
        cross = _safe_divide(self.resp_sum * other.resp_sum, total)
        if self.full:
            correction = cross[:, None, None] * (delta[:, :, None] * delta[:, None, :])
        else:
            correction = cross[:, None] * delta**2
        return MomentStats(total, mean, self.scatter + other.scatter + correction)

    def scale(self, factor):
        return MomentStats(self.resp_sum * factor, self.mean, self.scatter * factor)

    def __repr__(self):
        return (
            f"MomentStats(n_components={self.resp_sum.shape[0]}, "
            f"n_features={self.mean.shape[1]}, full={self.full})"
        )


class LinearStats(Stats):
    """Statistics that are plain weighted sums: adding is adding, scaling is scaling.

    Enough for every family whose M-step needs only sums of ``r_ik * T(x_i)``
    (Bernoulli, categorical, multinomial, Poisson, ...).

    Parameters
    ----------
    resp_sum : array-like of shape (n_components,)
        Sum of the weighted responsibilities.
    **sums : array-like
        Named sums, each with n_components on the leading axis.
    """

    def __init__(self, resp_sum, **sums):
        self.resp_sum = np.asarray(resp_sum, dtype=np.float64)
        self.sums = {
            name: np.asarray(value, dtype=np.float64) for name, value in sums.items()
        }

    def __getattr__(self, name):
        # sums read as attributes: stats.sum_x
        sums = self.__dict__.get("sums", {})
        if name in sums:
            return sums[name]
        raise AttributeError(name)

    def __add__(self, other):
        if not isinstance(other, LinearStats):
            return NotImplemented
        if self.sums.keys() != other.sums.keys():
            raise ValueError(
                f"cannot add statistics with different sums: {sorted(self.sums)} "
                f"and {sorted(other.sums)}"
            )
        return LinearStats(
            self.resp_sum + other.resp_sum,
            **{name: value + other.sums[name] for name, value in self.sums.items()},
        )

    def scale(self, factor):
        return LinearStats(
            self.resp_sum * factor,
            **{name: value * factor for name, value in self.sums.items()},
        )

    def __repr__(self):
        return (
            f"LinearStats(n_components={self.resp_sum.shape[0]}, "
            f"sums={sorted(self.sums)})"
        )
