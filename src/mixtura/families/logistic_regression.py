"""Logistic experts: ``P(y = c | x, k)`` a multinomial logit of x, per expert.

A binary response is the case of two classes. Each EM iteration's M-step is one
Newton (IRLS) step of the K weighted multinomial logits, from the batched
system of :mod:`mixtura.families._glm`; the first class is the reference
(coefficients 0), so a binary expert's coefficients model ``P(y = 1 | x)``
as R's ``glm(family = binomial)`` and flexmix's ``FLXMRglm`` do (Grün & Leisch
2008, "FlexMix version 2").
"""

from __future__ import annotations

import numpy as np

from mixtura.exceptions import DataValidationError
from mixtura.families._glm import multinomial_newton_statistics, newton_solve
from mixtura.families.conditional import ConditionalFamily

__all__ = ["LogisticRegression"]


def log_softmax_free(eta):
    """Class log probabilities from the logits of the classes after the first.

    Parameters
    ----------
    eta : ndarray of shape (..., M - 1)

    Returns
    -------
    log_probs : ndarray of shape (..., M)
        The first class's logit is 0.
    """
    logits = np.concatenate([np.zeros((*eta.shape[:-1], 1)), eta], axis=-1)
    top = logits.max(axis=-1, keepdims=True)
    shifted = logits - top
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


class LogisticRegression(ConditionalFamily):
    """K multinomial-logit regressions of a class code, one per component.

    Parameters
    ----------
    layout : RowLayout
        Rows are ``[x (n_inputs), class code]``: one response column holding
        integer codes ``0 .. n_classes - 1``.
    n_classes : int
        Number of classes M (at least 2).
    fit_intercept : bool, default=True
    alpha : float, default=0.0
        L2 penalty on the slopes: the M-step maximises the responsibility-
        weighted log-likelihood less ``alpha / 2`` times the squared slopes.
    coefficients : array-like of shape (n_components, n_coefficients, n_classes - 1)
        Coefficients of the classes after the first (the intercept last when
        ``fit_intercept``); omitted for a template.
    """

    name = "logistic_regression"
    initial_refinements = 5
    #: the statistics are the Newton system at the current coefficients
    statistics_depend_on_parameters = True

    def __init__(
        self, layout, n_classes, fit_intercept=True, alpha=0.0, *, coefficients=None
    ):
        super().__init__(layout, fit_intercept, alpha)
        if layout.n_outputs != 1 or layout.offset:
            raise ValueError("a logistic expert's rows hold one class-code column")
        self.n_classes = int(n_classes)
        if self.n_classes < 2:
            raise ValueError(f"n_classes must be >= 2; got {n_classes}")
        if coefficients is not None:
            self.coefficients = self._checked_coefficients(
                coefficients, (self.n_coefficients, self.n_classes - 1)
            )

    def codes(self, rows):
        """The class codes of the rows, shape (n_samples,), integers."""
        return self.layout.responses(rows)[:, 0].astype(np.intp)

    def check_response(self, responses):
        codes = responses[:, 0]
        if np.any(codes != np.round(codes)) or codes.min() < 0:
            raise DataValidationError(
                "a logistic expert's response must be class codes 0 .. "
                f"{self.n_classes - 1}; got values from {codes.min()} to "
                f"{codes.max()}."
            )
        if codes.max() >= self.n_classes:
            raise DataValidationError(
                f"class code {int(codes.max())} is not one of the "
                f"{self.n_classes} classes seen in fit."
            )

    def _logits(self, rows, n_components):
        design = self.design(rows)
        if self.coefficients is None:  # a template starts from coefficients 0
            return design, np.zeros((len(rows), n_components, self.n_classes - 1))
        p, free = self.coefficients.shape[1:]
        stacked = self.coefficients.transpose(1, 0, 2).reshape(p, -1)
        return design, (design @ stacked).reshape(len(rows), -1, free)

    def class_log_probs(self, rows):
        """Each expert's class log probabilities, shape (n_samples, K, M)."""
        return log_softmax_free(self._logits(rows, self.n_components)[1])

    def mean_response(self, rows):
        return np.exp(self.class_log_probs(rows))

    def log_prob(self, X):
        log_probs = self.class_log_probs(X)
        return np.take_along_axis(log_probs, self.codes(X)[:, None, None], axis=2)[
            :, :, 0
        ]

    def statistics(self, X, resp, sample_weight=None):
        resp = np.asarray(resp, dtype=np.float64)
        weighted = resp if sample_weight is None else resp * sample_weight[:, None]
        design, eta = self._logits(X, resp.shape[1])
        targets = np.zeros((len(X), self.n_classes))
        targets[np.arange(len(X)), self.codes(X)] = 1.0
        return multinomial_newton_statistics(
            design, targets, log_softmax_free(eta), eta, weighted
        )

    def maximize(self, stats):
        free = self.n_classes - 1
        penalty = np.tile(self.penalty(), free)
        beta = newton_solve(stats.hessian, stats.rhs, penalty, "logistic expert")
        coefficients = beta.reshape(-1, free, self.n_coefficients).transpose(0, 2, 1)
        return self._with(coefficients)

    def _with(self, coefficients):
        return LogisticRegression(
            self.layout,
            self.n_classes,
            self.fit_intercept,
            self.alpha,
            coefficients=coefficients,
        )

    def interpolated(self, other, step):
        return self._with(
            self.coefficients + step * (other.coefficients - self.coefficients)
        )

    def sample_responses(self, rows, labels, random_state):
        probs = self.mean_response(rows)[np.arange(len(labels)), labels]
        cumulative = probs.cumsum(axis=1)
        draws = random_state.uniform(size=(len(labels), 1))
        codes = (draws > cumulative[:, :-1]).sum(axis=1)
        return codes[:, None].astype(np.float64)

    def n_parameters(self):
        return self.n_components * self.n_coefficients * (self.n_classes - 1)

    def config(self):
        return {**self.base_config(), "n_classes": self.n_classes}

    def arrays(self):
        if self.coefficients is None:
            raise ValueError("a template has no parameters")
        return {"coefficients": self.coefficients}

    @classmethod
    def from_arrays(cls, config, arrays):
        def build(layout, fit_intercept, alpha):
            return cls(
                layout,
                int(config["n_classes"]),
                fit_intercept,
                alpha,
                coefficients=arrays["coefficients"],
            )

        return cls._from_model_file(config, build)

    def __repr__(self):
        if self.coefficients is None:
            return f"LogisticRegression(template, n_classes={self.n_classes})"
        return (
            f"LogisticRegression(n_components={self.n_components}, "
            f"n_classes={self.n_classes}, n_inputs={self.layout.n_inputs})"
        )
