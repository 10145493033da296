"""Independent Poisson components: count features (events, visits, reads)."""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln

from mixtura.backend import get_namespace, to_namespace, to_numpy
from mixtura.exceptions import ModelFileError
from mixtura.families.base import (
    Family,
    fill_column_means,
    product_row_values,
    split_missing,
)
from mixtura.families.bernoulli import observed_sums
from mixtura.families.support import MAX_POISSON_RATE, check_counts
from mixtura.priors.gamma import Gamma

__all__ = ["Poisson", "check_counts"]

#: Rates are kept at or above EPSILON in the log-densities, so that a component whose
#: maximum-likelihood rate is 0 (a feature it never counts) keeps a finite log rate;
#: its log-density then changes by at most EPSILON per feature.
EPSILON = 1e-10


# Counts up to this size get log(x!) from a table (a gather instead of lgamma).
_TABLE_LIMIT = 1 << 16


def _log_factorial_sum(X, xp):
    """``sum_j log(x_j!)`` of each row, shape (n_samples,), in X's namespace."""
    if isinstance(X, np.ndarray) and X.size and X.max() < _TABLE_LIMIT:
        table = gammaln(np.arange(int(X.max()) + 1) + 1.0).astype(X.dtype)
        return table[X.astype(np.intp)].sum(axis=1)
    lgamma = getattr(xp, "lgamma", None)
    if lgamma is not None:
        return xp.sum(lgamma(X + 1), axis=1)
    # not in the array API standard: compute on the host, return in X's namespace
    return to_namespace(gammaln(to_numpy(X) + 1).sum(axis=1), X)


class Poisson(Family):
    """Components of independent Poisson features, x_j ~ Poisson(lambda_kj).

    log p(x | k) = sum_j x_j log lambda_kj - sum_j lambda_kj - sum_j log x_j!, so
    the E-step for all components is one matrix product, ``X @ log(lambda).T``.

    Parameters
    ----------
    gamma_shape, gamma_rate : float, default=(1.0, 0.0)
        Gamma(shape, rate) prior on every Poisson rate; the M-step returns its
        posterior mode (MAP), ``(s + gamma_shape - 1) / (n + gamma_rate)``.
        ``gamma_shape = 1, gamma_rate = 0`` (a flat prior) is maximum likelihood.
        ``gamma_shape`` must be at least 1 and ``gamma_rate`` non-negative.
    rates : array-like of shape (n_components, n_features), optional
        lambda_kj; omitted for a template.
    """

    name = "poisson"
    supports_missing = True
    conjugate_prior = Gamma

    def __init__(self, gamma_shape=1.0, gamma_rate=0.0, *, rates=None):
        self.gamma_shape = float(gamma_shape)
        self.gamma_rate = float(gamma_rate)
        if self.gamma_shape < 1 or self.gamma_rate < 0:
            raise ValueError(
                f"gamma_shape must be >= 1 and gamma_rate >= 0 (got {gamma_shape}, "
                f"{gamma_rate}): the Gamma "
                "prior's mode, which the M-step returns, needs them."
            )
        self.rates = None
        if rates is None:
            return
        self.rates = _check_rates(rates)
        self._log_rates = np.log(np.maximum(self.rates, EPSILON))
        self._rate_sum = self.rates.sum(axis=1)

    @property
    def n_components(self):
        return self.rates.shape[0]

    @property
    def n_features(self):
        return self.rates.shape[1]

    def _require_parameters(self):
        if self.rates is None:
            raise ValueError(
                "this Poisson family is a template without parameters; "
                "estimate it with maximize(statistics) first"
            )

    def check_data(self, X):
        """Refuse negative and non-integer counts (see :meth:`Family.check_data`)."""
        return check_counts(X, "Poisson")

    def init_features(self, X):
        """``log(1 + x)``: k-means on raw counts is dominated by the largest ones.

        Missing entries (NaN) are filled with their column's mean.
        """
        return fill_column_means(np.log1p(X))

    def chunk_row_values(self, n_features, n_components):
        """Per-row temporaries: the E-step is one product (no (K, d) values)."""
        return product_row_values(n_features, n_components)

    def log_prob(self, X):
        """Log density of every row under every component, shape (n, K).

        A missing entry (NaN) drops out: the row's density is that of its
        observed features (the marginal, since features are independent).
        """
        return self.log_kernel(X) + self.log_base_measure(X)[:, None]

    def log_base_measure(self, X):
        """``-sum_j log(x_j!)`` of each row (observed entries), shape (n,)."""
        filled, _ = split_missing(X)
        return -_log_factorial_sum(filled, get_namespace(X))

    def log_kernel(self, X):
        """``sum_j x_j log lambda_kj - lambda_kj`` over observed entries, (n, K)."""
        self._require_parameters()
        xp = get_namespace(X)
        log_rates = xp.permute_dims(to_namespace(self._log_rates, X), (1, 0))
        filled, observed = split_missing(X)
        linear = xp.matmul(filled, log_rates)
        if observed is None:
            return linear + to_namespace(-self._rate_sum, X)[None, :]
        rates = xp.permute_dims(to_namespace(self.rates, X), (1, 0))
        return linear - xp.matmul(observed, rates)

    def statistics(self, X, resp, sample_weight=None):
        return observed_sums(X, resp, sample_weight)

    @property
    def prior(self):
        """The Gamma(gamma_shape, gamma_rate) prior whose mode the M-step returns."""
        return Gamma(self.gamma_shape, self.gamma_rate)

    def default_prior(self, X):
        """Gamma(1, 1 / mean_j) on each rate (see :meth:`Gamma.matching_mean`)."""
        return Gamma.matching_mean(X)

    def maximize(self, stats):
        return self.with_parameters(**self.prior.mode(stats))

    def sample(self, labels, random_state):
        self._require_parameters()
        labels = np.asarray(labels)
        return random_state.poisson(self.rates[labels]).astype(np.float64)

    def n_parameters(self):
        self._require_parameters()
        return self.n_components * self.n_features

    def config(self):
        return {"gamma_shape": self.gamma_shape, "gamma_rate": self.gamma_rate}

    def arrays(self):
        self._require_parameters()
        return {"rates": self.rates}

    @classmethod
    def from_arrays(cls, config, arrays):
        try:
            rates = _check_rates(arrays["rates"])
        except ValueError as exc:
            raise ModelFileError(str(exc)) from exc
        return cls(config["gamma_shape"], config["gamma_rate"], rates=rates)

    def __repr__(self):
        if self.rates is None:
            return (
                f"Poisson(gamma_shape={self.gamma_shape}, "
                f"gamma_rate={self.gamma_rate}, template)"
            )
        return (
            f"Poisson(n_components={self.n_components}, n_features={self.n_features})"
        )


def _check_rates(rates):
    rates = np.asarray(rates, dtype=np.float64)
    if rates.ndim != 2:
        raise ValueError(
            f"rates must be 2-D (n_components, n_features); got shape {rates.shape}"
        )
    if not np.all(rates >= 0):
        raise ValueError("rates must be non-negative")
    if np.any(rates > MAX_POISSON_RATE):
        # issue 19: such rates (from a model file) made sample() fail in NumPy
        raise ValueError(f"rates must be at most {MAX_POISSON_RATE:.4g}")
    return rates
