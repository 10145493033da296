"""Independent gamma components: positive, skewed measurements.

Each feature of component k is ``Gamma(shape a_kj, rate b_kj)``, the features
independent given the component:

    log p(x | k) = sum_j [a_kj log b_kj - lgamma(a_kj) + (a_kj - 1) log x_j - b_kj x_j]

``-sum_j log x_j`` is the same for every component (the base measure), so the
E-step for all components is one product of the rows' ``[log x, x]`` with the
coefficients ``[a; -b]``. The sufficient statistics are the responsibility
sums of ``x`` and ``log x``.

The M-step is exact maximum likelihood for each component and feature: with
``m = sum r x / sum r`` and ``l = sum r log x / sum r``, the shape solves
``log a - digamma(a) = log m - l`` (the gap is positive by Jensen's
inequality) and ``b = a / m``. The shape equation is solved by Minka's (2002)
generalised Newton iteration, which converges in a few steps from his
closed-form start.

References
----------
Abramowitz, M. & Stegun, I. A. (1964). Handbook of Mathematical Functions,
formulas 6.3.18 and 6.4.12 (the asymptotic series of digamma and trigamma).
Minka, T. P. (2002). Estimating a Gamma distribution. Microsoft Research
technical note.
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, gammaln, polygamma

from mixtura.backend import get_namespace, to_namespace, widened_for
from mixtura.exceptions import ModelFileError
from mixtura.families.base import (
    Family,
    fill_column_means,
    product_row_values,
    split_missing,
)
from mixtura.families.bernoulli import observed_mass, observed_sums
from mixtura.families.support import check_positive, log_scale_jacobian
from mixtura.stats import EMPTY_COMPONENT_GUARD, LinearStats

__all__ = ["GammaFamily", "gamma_shape", "inverse_digamma"]

#: Smallest gap ``log m - mean log x`` the shape equation is solved for. A
#: component whose values are all equal has a gap of 0 and an infinite shape
#: (a point mass); at this gap the shape is about 5e9, a spike of relative
#: width 1.4e-5 that keeps the densities finite.
MIN_LOG_GAP = 1e-10
#: Newton steps of the shape equation at most; Minka's start is within 1.5% of
#: the root and each step squares the relative error, so 4 or 5 reach rounding.
SHAPE_MAX_ITER = 20
SHAPE_TOL = 1e-13


#: Shapes from which ``log a - digamma(a)`` and ``1/a - trigamma(a)`` come from
#: their asymptotic series: the direct differences cancel, losing about
#: ``eps log(a) * 2a`` of relative accuracy (2e-7 at a = 5e7).
_SERIES_FROM = 100.0


def _log_minus_digamma(shape):
    """``log a - digamma(a)`` without cancellation at large ``a``.

    The series ``1/(2a) + 1/(12a^2) - 1/(120a^4) + 1/(252a^6)`` (Abramowitz &
    Stegun 6.3.18) from :data:`_SERIES_FROM`, whose next term is below 1e-16
    of the sum there.
    """
    large = shape >= _SERIES_FROM
    inverse = 1.0 / np.where(large, shape, _SERIES_FROM)
    square = inverse * inverse
    series = inverse * (0.5 + inverse * (1 / 12 - square * (1 / 120 - square / 252)))
    with np.errstate(invalid="ignore"):
        direct = np.log(shape) - digamma(shape)
    return np.where(large, series, direct)


def _inverse_minus_trigamma(shape):
    """``1/a - trigamma(a)`` (negative) without cancellation at large ``a``.

    The series ``-(1/(2a^2) + 1/(6a^3) - 1/(30a^5) + 1/(42a^7))`` (A&S 6.4.12)
    from :data:`_SERIES_FROM`.
    """
    large = shape >= _SERIES_FROM
    inverse = 1.0 / np.where(large, shape, _SERIES_FROM)
    square = inverse * inverse
    series = -square * (0.5 + inverse * (1 / 6 - square * (1 / 30 - square / 42)))
    return np.where(large, series, 1.0 / shape - polygamma(1, shape))


#: Newton steps of the inverse digamma function (quadratic from Minka's start).
INVERSE_DIGAMMA_ITER = 6


def inverse_digamma(y):
    """The ``x > 0`` with ``digamma(x) = y``, elementwise (Minka 2000, appendix C).

    Newton's method from Minka's start ``exp(y) + 1/2`` (``y >= -2.22``) or
    ``-1 / (y - digamma(1))``; each step is kept positive.

    Parameters
    ----------
    y : array-like
        Any real values.

    Returns
    -------
    x : ndarray
        Of the shape of ``y``, float64.
    """
    y = np.asarray(y, dtype=np.float64)
    large = y >= -2.22
    # each branch evaluated where the other is chosen too: keep both finite
    x = np.where(
        large,
        np.exp(np.minimum(y, 700.0)) + 0.5,
        -1.0 / (np.minimum(y, -2.22) - digamma(1.0)),
    )
    for _ in range(INVERSE_DIGAMMA_ITER):
        updated = x - (digamma(x) - y) / polygamma(1, x)
        x = np.where(updated > 0, updated, 0.5 * x)
    return x


def gamma_shape(log_gap):
    """The gamma shape ``a`` with ``log a - digamma(a) = log_gap``, elementwise.

    Minka's (2002) start ``(3 - s + sqrt((s - 3)^2 + 24 s)) / (12 s)`` and his
    generalised Newton step ``1/a <- 1/a + (log a - digamma(a) - s) /
    (a^2 (1/a - trigamma(a)))``, which fits ``log a - digamma(a)`` by
    ``c + k / a`` at the current point rather than by its tangent.

    Parameters
    ----------
    log_gap : array-like
        ``log(mean x) - mean(log x)`` (weighted), floored at :data:`MIN_LOG_GAP`.

    Returns
    -------
    shape : ndarray
        Of the shape of ``log_gap``.
    """
    gap = np.maximum(np.asarray(log_gap, dtype=np.float64), MIN_LOG_GAP)
    shape = (3.0 - gap + np.sqrt((gap - 3.0) ** 2 + 24.0 * gap)) / (12.0 * gap)
    for _ in range(SHAPE_MAX_ITER):
        residual = _log_minus_digamma(shape) - gap
        slope = shape * shape * _inverse_minus_trigamma(shape)
        updated = 1.0 / (1.0 / shape + residual / slope)
        done = np.all(np.abs(updated - shape) <= SHAPE_TOL * updated)
        shape = updated
        if done:
            break
    return shape


class GammaFamily(Family):
    """Components of independent gamma features, x_j ~ Gamma(a_kj, rate b_kj).

    For positive measurements with a right skew (durations, incomes, sizes,
    concentrations). ``MixtureModel(family='gamma')`` fits a mixture of them.

    Parameters
    ----------
    shapes : array-like of shape (n_components, n_features), optional
        Shape parameters ``a_kj > 0``; omitted (with ``rates``) for a template.
    rates : array-like of shape (n_components, n_features), optional
        Rate parameters ``b_kj > 0`` (``scipy.stats.gamma``'s ``scale`` is
        ``1 / b``); the mean is ``a / b`` and the variance ``a / b^2``.
    """

    name = "gamma"
    #: features are independent: a missing entry drops out of its row
    supports_missing = True

    def __init__(self, *, shapes=None, rates=None):
        self.shapes = self.rates = None
        if shapes is None and rates is None:
            return
        self.shapes, self.rates = _check_parameters(shapes, rates)
        # the log density's constant per component and feature, a log b -
        # lgamma(a), and its sum over the features (rows with nothing missing)
        self._feature_constant = self.shapes * np.log(self.rates) - gammaln(self.shapes)
        self._constant = self._feature_constant.sum(axis=1)

    @property
    def n_components(self):
        return self.shapes.shape[0]

    @property
    def n_features(self):
        return self.shapes.shape[1]

    def _require_parameters(self):
        if self.shapes is None:
            raise ValueError(
                "this gamma family is a template without parameters; "
                "estimate it with maximize(statistics) first"
            )

    def check_data(self, X):
        """Refuse values that are not positive (see :meth:`Family.check_data`)."""
        return check_positive(X, "gamma")

    def init_features(self, X):
        """``log x``: k-means on the log scale, where skewed values spread evenly."""
        return fill_column_means(np.log(np.asarray(X, dtype=np.float64)))

    def chunk_row_values(self, n_features, n_components):
        """Per-row temporaries: ``[log x, x]`` and one product's (n, K) values."""
        return product_row_values(2 * n_features, n_components)

    def log_prob(self, X):
        """Log density of every row under every component, shape (n, K).

        A missing entry (NaN) drops out: the row's density is that of its
        observed features (the exact marginal, since features are independent).
        """
        return self.log_kernel(X) + self.log_base_measure(X)[:, None]

    def log_base_measure(self, X):
        """``-sum_j log x_j`` of each row (observed entries), shape (n,)."""
        log_x, observed = split_missing(get_namespace(X).log(X))
        if observed is None:
            return log_scale_jacobian(X)
        return -get_namespace(X).sum(log_x, axis=1)

    def log_kernel(self, X):
        """``sum_j a_kj log x_j - b_kj x_j`` plus the constants, over observed x."""
        self._require_parameters()
        # float32 data near 1e-38 have rates beyond float32's range
        X = widened_for(X, self.shapes, self.rates, self._constant)
        xp = get_namespace(X)
        shapes = xp.permute_dims(to_namespace(self.shapes, X), (1, 0))
        rates = xp.permute_dims(to_namespace(self.rates, X), (1, 0))
        filled, observed = split_missing(X)
        log_x, _ = split_missing(xp.log(X))
        kernel = xp.matmul(log_x, shapes) - xp.matmul(filled, rates)
        if observed is None:
            return kernel + to_namespace(self._constant, X)[None, :]
        constants = xp.permute_dims(to_namespace(self._feature_constant, X), (1, 0))
        return kernel + xp.matmul(observed, constants)

    def statistics(self, X, resp, sample_weight=None):
        """``resp_sum`` (K,), ``sum_x``, ``sum_log_x`` and ``observed`` (K, d).

        Over the observed entries, float64 (see :func:`observed_sums`).
        """
        xp = get_namespace(X)
        features = xp.concat([X, xp.log(X)], axis=1)
        stats = observed_sums(features, resp, sample_weight)
        n_features = X.shape[1]
        return LinearStats(
            stats.resp_sum,
            sum_x=stats.sum_x[:, :n_features],
            sum_log_x=stats.sum_x[:, n_features:],
            observed=stats.observed[:, :n_features],
        )

    def maximize(self, stats):
        """Maximum likelihood shapes and rates of each component and feature.

        A component without weight (``resp_sum`` 0) gets shape 1 and rate 1:
        it explains nothing, and a later E-step gives it no weight either.
        """
        # the responsibility mass that observed each feature (resp_sum when
        # nothing is missing)
        weight = observed_mass(stats)
        empty = weight <= 0
        safe = weight + EMPTY_COMPONENT_GUARD
        mean = np.where(empty, 1.0, stats.sum_x / safe)
        mean_log = np.where(empty, 0.0, stats.sum_log_x / safe)
        with np.errstate(divide="ignore", invalid="ignore"):
            gap = np.log(mean) - mean_log
        shapes = np.where(empty, 1.0, gamma_shape(np.nan_to_num(gap, nan=0.0)))
        return GammaFamily(shapes=shapes, rates=shapes / mean)

    def maximize_given(self, stats, fixed):
        """Rates given frozen shapes (``b = a / m``), shapes given frozen rates.

        With the rate fixed the shape solves ``digamma(a) = log b + mean log x``
        (the inverse digamma of Minka 2000, appendix C); see
        :meth:`Family.maximize_given`.
        """
        fitted = self.maximize(stats)
        shapes, rates = fitted.shapes.copy(), fitted.rates.copy()
        mean = fitted.shapes / fitted.rates
        if "shapes" in fixed:
            rows, value = fixed["shapes"]
            rows = slice(None) if rows is None else rows
            shapes[rows] = value[rows]
            rates[rows] = value[rows] / mean[rows]
        elif "rates" in fixed:
            rows, value = fixed["rates"]
            rows = slice(None) if rows is None else rows
            weight = observed_mass(stats) + EMPTY_COMPONENT_GUARD
            mean_log = stats.sum_log_x / weight
            rates[rows] = value[rows]
            shapes[rows] = inverse_digamma(np.log(value[rows]) + mean_log[rows])
        return GammaFamily(shapes=shapes, rates=rates)

    def sample(self, labels, random_state):
        self._require_parameters()
        labels = np.asarray(labels)
        return random_state.gamma(self.shapes[labels], 1.0 / self.rates[labels])

    def n_parameters(self):
        self._require_parameters()
        return 2 * self.n_components * self.n_features

    def config(self):
        return {}

    def arrays(self):
        self._require_parameters()
        return {"shapes": self.shapes, "rates": self.rates}

    @classmethod
    def from_arrays(cls, config, arrays):
        try:
            return cls(shapes=arrays["shapes"], rates=arrays["rates"])
        except (KeyError, ValueError) as exc:
            raise ModelFileError(f"gamma family parameters: {exc}") from exc

    def __repr__(self):
        if self.shapes is None:
            return "GammaFamily(template)"
        return (
            f"GammaFamily(n_components={self.n_components}, "
            f"n_features={self.n_features})"
        )


def _check_parameters(shapes, rates):
    """Shapes and rates as float64 (K, d) arrays of positive finite values."""
    if shapes is None or rates is None:
        raise ValueError("give both shapes and rates, or neither (a template)")
    shapes = np.asarray(shapes, dtype=np.float64)
    rates = np.asarray(rates, dtype=np.float64)
    if shapes.ndim != 2 or shapes.shape != rates.shape:
        raise ValueError(
            "shapes and rates must be 2-D arrays (n_components, n_features) of "
            f"one shape; got {shapes.shape} and {rates.shape}"
        )
    for name, values in (("shapes", shapes), ("rates", rates)):
        if not np.all(np.isfinite(values) & (values > 0)):
            raise ValueError(f"{name} must be positive and finite")
    return shapes, rates
