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

__all__ = ["EMPTY_COMPONENT_GUARD", "LinearStats", "MomentStats", "Stats"]

#: Added to each component's weighted count where the M-step divides by it (as
#: scikit-learn does), so that an empty component keeps a finite mean, the
#: regularised covariance, finite posterior parameters and a positive weight.
EMPTY_COMPONENT_GUARD = 10 * np.finfo(np.float64).eps


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

    def permuted(self, order) -> Stats:
        """The same statistics with the components in ``order`` (relabelled).

        Parameters
        ----------
        order : ndarray of int, shape (n_components,)
            A permutation: component ``j`` of the result is ``order[j]``.
        """
        raise NotImplementedError(
            f"{type(self).__name__} cannot relabel its components"
        )

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
            (n_components, n_features) or (1, n_features, n_features)
        Sum of weighted outer products of deviations from ``mean``; the diagonal
        only when it has two dimensions; the sum over the components when
        ``pooled``.
    pooled : bool, default=False
        Whether ``scatter`` holds only the sum of the components' scatter
        matrices, ``sum_k S_k``, shape (1, d, d): all that a model with one
        shared covariance needs, and far cheaper to accumulate than K matrices.
        Adding per-component statistics to pooled ones pools them first.
    """

    def __init__(self, resp_sum, mean, scatter, pooled=False):
        self.resp_sum = np.asarray(resp_sum, dtype=np.float64)
        self.mean = np.asarray(mean, dtype=np.float64)
        self.scatter = np.asarray(scatter, dtype=np.float64)
        self.pooled = bool(pooled)

    @property
    def full(self):
        """Whether ``scatter`` holds full matrices rather than diagonals."""
        return self.scatter.ndim == 3

    def pooled_form(self):
        """The same statistics with the components' scatter summed, (1, d, d)."""
        if self.pooled:
            return self
        if not self.full:
            raise ValueError("only full scatter matrices can be pooled")
        return MomentStats(
            self.resp_sum, self.mean, self.scatter.sum(axis=0, keepdims=True), True
        )

    def __add__(self, other):
        if not isinstance(other, MomentStats):
            return NotImplemented
        if self.pooled or other.pooled:
            return _add_pooled(self.pooled_form(), other.pooled_form())
        if self.scatter.shape != other.scatter.shape:
            raise ValueError(
                "cannot add statistics of different shapes: "
                f"{self.scatter.shape} and {other.scatter.shape}"
            )
        total, mean, cross, delta = _merged_means(self, other)
        if self.full:
            correction = cross[:, None, None] * (delta[:, :, None] * delta[:, None, :])
        else:
            correction = cross[:, None] * delta**2
        return MomentStats(total, mean, self.scatter + other.scatter + correction)

    def scale(self, factor):
        return MomentStats(
            self.resp_sum * factor, self.mean, self.scatter * factor, self.pooled
        )

    def recentred(self, rows, centres):
        """The same rows' moments about other centres for some components.

        The scatter about ``c`` is the scatter about the mean plus
        ``n (m - c)(m - c)^T``: what an M-step of covariances about fixed
        means needs (:mod:`mixtura.inference.frozen`).

        Parameters
        ----------
        rows : ndarray of int or None
            The components to recentre (None: all).
        centres : ndarray of shape (n_components, n_features)
            Their new centres (rows not in ``rows`` are ignored).

        Returns
        -------
        stats : MomentStats
        """
        rows = np.arange(self.resp_sum.shape[0]) if rows is None else rows
        offsets = self.mean[rows] - centres[rows]
        counts = self.resp_sum[rows]
        if self.full:
            correction = counts[:, None, None] * (
                offsets[:, :, None] * offsets[:, None, :]
            )
        else:
            correction = counts[:, None] * offsets**2
        mean = self.mean.copy()
        mean[rows] = centres[rows]
        scatter = self.scatter.copy()
        if self.pooled:
            scatter[0] += correction.sum(axis=0)
        else:
            scatter[rows] += correction
        return MomentStats(self.resp_sum, mean, scatter, self.pooled)

    def permuted(self, order):
        # pooled scatter is a sum over the components: the order leaves it
        scatter = self.scatter if self.pooled else self.scatter[order]
        return MomentStats(self.resp_sum[order], self.mean[order], scatter, self.pooled)

    def __repr__(self):
        return (
            f"MomentStats(n_components={self.resp_sum.shape[0]}, "
            f"n_features={self.mean.shape[1]}, full={self.full}, "
            f"pooled={self.pooled})"
        )


def _merged_means(a, b):
    """Total counts, merged means, and each component's Chan correction factor."""
    total = a.resp_sum + b.resp_sum
    share = _safe_divide(b.resp_sum, total)
    delta = b.mean - a.mean
    mean = a.mean + share[:, None] * delta
    cross = _safe_divide(a.resp_sum * b.resp_sum, total)
    return total, mean, cross, delta


def _add_pooled(a, b):
    """Chan's merge summed over the components: ``sum_k c_k delta_k delta_k^T``."""
    if a.scatter.shape != b.scatter.shape or a.mean.shape != b.mean.shape:
        raise ValueError(
            "cannot add statistics of different shapes: "
            f"{a.mean.shape} and {b.mean.shape}"
        )
    total, mean, cross, delta = _merged_means(a, b)
    correction = np.einsum("k,ki,kj->ij", cross, delta, delta)[None]
    return MomentStats(total, mean, a.scatter + b.scatter + correction, pooled=True)


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

    def permuted(self, order):
        return LinearStats(
            self.resp_sum[order],
            **{name: value[order] for name, value in self.sums.items()},
        )

    def __repr__(self):
        return (
            f"LinearStats(n_components={self.resp_sum.shape[0]}, "
            f"sums={sorted(self.sums)})"
        )
