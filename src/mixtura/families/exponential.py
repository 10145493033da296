"""Independent exponential components: waiting times, lifetimes, distances.

Each feature of component k is exponential with rate ``lambda_kj``, the
features independent given the component:

    log p(x | k) = sum_j log lambda_kj - lambda_kj x_j,     x_j >= 0

so the E-step for all components is one product ``X @ (-lambda).T`` plus a
constant per component, and the M-step is ``lambda = sum r / sum r x``. It is
the gamma family with every shape fixed at 1
(:class:`~mixtura.families.gamma.GammaFamily`), kept separate because its
support includes 0 and its M-step is closed-form.
"""

from __future__ import annotations

import numpy as np

from mixtura.backend import get_namespace, to_namespace, widened_for
from mixtura.exceptions import ModelFileError
from mixtura.families.base import (
    Family,
    fill_column_means,
    product_row_values,
    split_missing,
)
from mixtura.families.bernoulli import observed_mass, observed_sums
from mixtura.families.support import check_positive

__all__ = ["Exponential"]


class Exponential(Family):
    """Components of independent exponential features, x_j ~ Exp(lambda_kj).

    ``MixtureModel(family='exponential')`` fits a mixture of them.

    Parameters
    ----------
    rates : array-like of shape (n_components, n_features), optional
        Rates ``lambda_kj > 0`` (the mean is ``1 / lambda``; ``scipy.stats.expon``'s
        ``scale``); omitted for a template.
    """

    name = "exponential"
    #: features are independent: a missing entry drops out of its row
    supports_missing = True

    def __init__(self, *, rates=None):
        self.rates = None
        if rates is None:
            return
        self.rates = _check_rates(rates)
        self._log_rate_sum = np.log(self.rates).sum(axis=1)

    @property
    def n_components(self):
        return self.rates.shape[0]

    @property
    def n_features(self):
        return self.rates.shape[1]

    def _require_parameters(self):
        if self.rates is None:
            raise ValueError(
                "this exponential family is a template without parameters; "
                "estimate it with maximize(statistics) first"
            )

    def check_data(self, X):
        """Refuse negative values (0 lies in the support)."""
        return check_positive(X, "exponential", allow_zero=True)

    def init_features(self, X):
        """``log(1 + x)``: k-means on a scale where the long tail is compressed."""
        return fill_column_means(np.log1p(np.asarray(X, dtype=np.float64)))

    def chunk_row_values(self, n_features, n_components):
        """Per-row temporaries: the E-step is one product (no (K, d) values)."""
        return product_row_values(n_features, n_components)

    def log_prob(self, X):
        """Log density of every row under every component, shape (n, K).

        A missing entry (NaN) drops out: the row's density is that of its
        observed features (the exact marginal, since features are independent).
        """
        self._require_parameters()
        # float32 data near 1e-38 have rates beyond float32's range
        X = widened_for(X, self.rates, self._log_rate_sum)
        xp = get_namespace(X)
        rates = xp.permute_dims(to_namespace(self.rates, X), (1, 0))
        filled, observed = split_missing(X)
        if observed is None:
            return to_namespace(self._log_rate_sum, X)[None, :] - xp.matmul(X, rates)
        log_rates = xp.permute_dims(to_namespace(np.log(self.rates), X), (1, 0))
        return xp.matmul(observed, log_rates) - xp.matmul(filled, rates)

    def statistics(self, X, resp, sample_weight=None):
        """``resp_sum`` (K,), ``sum_x`` and ``observed`` (K, d), float64.

        Over the observed entries (see :func:`observed_sums`).
        """
        return observed_sums(X, resp, sample_weight)

    def maximize(self, stats):
        """Maximum likelihood rates ``sum r / sum r x``.

        A component without weight gets rate 1. A feature whose weighted sum
        is 0 (every value of the component 0) would have an infinite rate; its
        mean is floored at ``eps`` times the feature's mean over all components
        (1 for a feature of zeros), and the rate capped at ``1 / tiny``, so that
        the densities of other values stay finite.
        """
        # the responsibility mass that observed each feature (resp_sum when
        # nothing is missing)
        weight = observed_mass(stats)
        eps, tiny = np.finfo(np.float64).eps, np.finfo(np.float64).tiny
        # issue 19: the floor was ``tiny`` alone, so a component of zeros got a
        # rate of 4.5e307, and ``rate * x`` overflowed for any other x >= 4 (in
        # float32 the rate itself did), with RuntimeWarnings and -inf densities
        total_weight = np.maximum(weight.sum(axis=0), tiny)
        feature_mean = stats.sum_x.sum(axis=0) / total_weight
        floor = eps * np.where(feature_mean > 0, feature_mean, 1.0)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            rates = weight / np.maximum(stats.sum_x, floor * weight)
        rates = np.where(weight > 0, rates, 1.0)
        return Exponential(rates=np.minimum(rates, 1.0 / tiny))

    def sample(self, labels, random_state):
        self._require_parameters()
        labels = np.asarray(labels)
        return random_state.exponential(1.0 / self.rates[labels])

    def n_parameters(self):
        self._require_parameters()
        return self.n_components * self.n_features

    def config(self):
        return {}

    def arrays(self):
        self._require_parameters()
        return {"rates": self.rates}

    @classmethod
    def from_arrays(cls, config, arrays):
        try:
            return cls(rates=arrays["rates"])
        except (KeyError, ValueError) as exc:
            raise ModelFileError(f"exponential family parameters: {exc}") from exc

    def __repr__(self):
        if self.rates is None:
            return "Exponential(template)"
        return (
            f"Exponential(n_components={self.n_components}, "
            f"n_features={self.n_features})"
        )


def _check_rates(rates):
    rates = np.asarray(rates, dtype=np.float64)
    if rates.ndim != 2:
        raise ValueError(
            f"rates must be 2-D (n_components, n_features); got shape {rates.shape}"
        )
    if not np.all(np.isfinite(rates) & (rates > 0)):
        raise ValueError("rates must be positive and finite")
    return rates
