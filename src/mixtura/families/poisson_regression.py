"""Poisson experts: ``y | x, k ~ Poisson(exp(x^T beta_k + offset))``.

The log link with an optional offset (the log of each row's exposure), as in
R's ``glm(family = poisson)`` and flexmix's ``FLXMRglm(family = "poisson")``.
Each EM iteration's M-step is one IRLS (Newton) step of the K weighted
regressions (:mod:`mixtura.families._glm`); the first step of a fit starts, as
``glm.fit`` does, from fitted means ``y + 0.1``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln

from mixtura.exceptions import DataValidationError
from mixtura.families._glm import _LOG_MAX, newton_solve, poisson_newton_statistics
from mixtura.families.conditional import ConditionalFamily

__all__ = ["PoissonRegression"]

#: glm.fit's start for a Poisson response: fitted means y + 0.1
_START_SHIFT = 0.1


class PoissonRegression(ConditionalFamily):
    """K log-linear Poisson regressions of a count, one per component.

    Parameters
    ----------
    layout : RowLayout
        Rows are ``[x (n_inputs), count]``, plus an offset column when
        ``layout.offset``.
    fit_intercept : bool, default=True
    alpha : float, default=0.0
        L2 penalty on the slopes (``alpha / 2`` times their squares).
    coefficients : array-like of shape (n_components, n_coefficients), optional
        The intercept last when ``fit_intercept``; omitted for a template.
    """

    name = "poisson_regression"
    initial_refinements = 5
    #: the statistics are the Newton system at the current coefficients
    statistics_depend_on_parameters = True

    def __init__(self, layout, fit_intercept=True, alpha=0.0, *, coefficients=None):
        super().__init__(layout, fit_intercept, alpha)
        if layout.n_outputs != 1:
            raise ValueError("a Poisson expert's rows hold one count column")
        if coefficients is not None:
            self.coefficients = self._checked_coefficients(
                coefficients, (self.n_coefficients,)
            )

    def counts(self, rows):
        """The responses, shape (n_samples,)."""
        return self.layout.responses(rows)[:, 0]

    def check_response(self, responses):
        counts = responses[:, 0]
        if counts.size and (
            counts.min() < 0
            or np.any(counts != np.round(counts))
            or counts.max() > 2**53
        ):
            raise DataValidationError(
                "a Poisson expert's response must be non-negative integer counts "
                f"(below 2**53); got values from {counts.min()} to {counts.max()}."
            )

    def check_rows(self, rows):
        rows = super().check_rows(rows)
        offsets = self.layout.offsets(rows)
        if offsets is not None and not np.isfinite(offsets).all():
            raise DataValidationError(
                "offset contains NaN or infinity; pass the log of a positive "
                "exposure for every row."
            )
        return rows

    def linear_predictor(self, rows):
        """Each expert's ``x^T beta_k`` (without the offset), shape (n, K)."""
        return self.design(rows) @ self.coefficients.T

    def _log_means(self, rows):
        eta = self.linear_predictor(rows)
        offsets = self.layout.offsets(rows)
        return eta if offsets is None else eta + offsets[:, None]

    def mean_response(self, rows):
        return np.exp(np.minimum(self._log_means(rows), _LOG_MAX))[:, :, None]

    def log_base_measure(self, X):
        return -gammaln(self.counts(X) + 1.0)

    def log_kernel(self, X):
        log_means = np.minimum(self._log_means(X), _LOG_MAX)
        return self.counts(X)[:, None] * log_means - np.exp(log_means)

    def log_prob(self, X):
        return self.log_kernel(X) + self.log_base_measure(X)[:, None]

    def statistics(self, X, resp, sample_weight=None):
        resp = np.asarray(resp, dtype=np.float64)
        weighted = resp if sample_weight is None else resp * sample_weight[:, None]
        counts, offsets = self.counts(X), self.layout.offsets(X)
        if self.coefficients is None:  # glm.fit's start: means y + 0.1
            start = np.log(counts + _START_SHIFT)
            if offsets is not None:
                start = start - offsets
            eta = np.repeat(start[:, None], resp.shape[1], axis=1)
        else:
            eta = self.linear_predictor(X)
        return poisson_newton_statistics(self.design(X), counts, eta, offsets, weighted)

    def maximize(self, stats):
        beta = newton_solve(stats.hessian, stats.rhs, self.penalty(), "Poisson expert")
        return self._with(beta)

    def _with(self, coefficients):
        return PoissonRegression(
            self.layout, self.fit_intercept, self.alpha, coefficients=coefficients
        )

    def interpolated(self, other, step):
        return self._with(
            self.coefficients + step * (other.coefficients - self.coefficients)
        )

    def sample_responses(self, rows, labels, random_state):
        means = self.mean_response(rows)[np.arange(len(labels)), labels, 0]
        return random_state.poisson(means)[:, None].astype(np.float64)

    def n_parameters(self):
        return self.n_components * self.n_coefficients

    def config(self):
        return self.base_config()

    def arrays(self):
        if self.coefficients is None:
            raise ValueError("a template has no parameters")
        return {"coefficients": self.coefficients}

    @classmethod
    def from_arrays(cls, config, arrays):
        def build(layout, fit_intercept, alpha):
            return cls(
                layout, fit_intercept, alpha, coefficients=arrays["coefficients"]
            )

        return cls._from_model_file(config, build)

    def __repr__(self):
        if self.coefficients is None:
            return "PoissonRegression(template)"
        return (
            f"PoissonRegression(n_components={self.n_components}, "
            f"n_inputs={self.layout.n_inputs}, offset={self.layout.offset})"
        )
