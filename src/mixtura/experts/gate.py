"""The softmax gate: ``w_k(x)`` a multinomial logit of the gate's inputs."""

from __future__ import annotations

import numpy as np

from mixtura.exceptions import DataValidationError
from mixtura.families._glm import multinomial_newton_statistics, newton_solve
from mixtura.families.logistic_regression import log_softmax_free

__all__ = ["SoftmaxGate"]


class SoftmaxGate:
    """Gating probabilities ``w_k(x) = softmax_k(v_k^T [x_g, 1])``.

    The first component is the reference (``v_0 = 0``), as in flexmix's
    concomitant model ``FLXPmultinom``. The gate's M-step maximises
    ``sum_i s_i sum_k r_ik log w_k(x_i)`` (responsibilities ``r`` as soft
    targets, sample weights ``s``) less ``alpha / 2`` times the squared slopes:
    one Newton step of a weighted multinomial logistic regression per EM
    iteration (:mod:`mixtura.families._glm`).

    A value, like a family: ``coefficients`` None makes a template, whose
    statistics are taken at coefficients 0 (equal weights).

    Parameters
    ----------
    columns : sequence of int
        The columns of a row (:class:`~mixtura.families.conditional.RowLayout`)
        that the gate reads.
    n_components : int
    alpha : float, default=0.0
        L2 penalty on the slopes (the intercepts are free).
    coefficients : array-like of shape (len(columns) + 1, n_components - 1)
        Slopes then the intercept of each component after the first.
    """

    def __init__(self, columns, n_components, alpha=0.0, *, coefficients=None):
        self.columns = tuple(int(c) for c in columns)
        self.n_components = int(n_components)
        self.alpha = float(alpha)
        if self.n_components < 1:
            raise ValueError(f"n_components must be >= 1; got {n_components}")
        self.coefficients = None
        shape = (len(self.columns) + 1, self.n_components - 1)
        if coefficients is not None:
            self.coefficients = np.asarray(coefficients, dtype=np.float64)
            if self.coefficients.shape != shape:
                raise ValueError(
                    f"gate coefficients must have shape {shape}; got "
                    f"{self.coefficients.shape}"
                )
            if not np.isfinite(self.coefficients).all():
                raise ValueError("gate coefficients must be finite")

    def design(self, rows):
        """The gate's inputs with a trailing column of ones, (n, len(columns) + 1)."""
        inputs = rows[:, list(self.columns)]
        return np.hstack([inputs, np.ones((len(rows), 1))])

    def _logits(self, rows):
        design = self.design(rows)
        if self.coefficients is None:
            return design, np.zeros((len(rows), self.n_components - 1))
        return design, design @ self.coefficients

    def log_weights(self, rows):
        """Log gating probabilities of every row, shape (n_samples, n_components)."""
        return log_softmax_free(self._logits(rows)[1])

    def statistics(self, rows, resp, sample_weight=None):
        """The Newton system of the gate's M-step (additive over rows).

        Parameters
        ----------
        rows : ndarray of shape (n_samples, width)
        resp : ndarray of shape (n_samples, n_components)
            Responsibilities: the gate's soft targets.
        sample_weight : ndarray of shape (n_samples,) or None

        Returns
        -------
        stats : LinearStats
            ``hessian`` (1, m, m), ``rhs`` (1, m), m = (n_components - 1) *
            (len(columns) + 1).
        """
        design, eta = self._logits(rows)
        weights = (
            np.ones((len(rows), 1))
            if sample_weight is None
            else np.asarray(sample_weight, dtype=np.float64)[:, None]
        )
        return multinomial_newton_statistics(
            design,
            np.asarray(resp, dtype=np.float64),
            log_softmax_free(eta)[:, None, :],
            eta[:, None, :],
            weights,
        )

    def penalty(self):
        """The L2 penalty per coefficient, class-major (slopes alpha, intercept 0)."""
        per_component = np.full(len(self.columns) + 1, self.alpha)
        per_component[-1] = 0.0
        return np.tile(per_component, self.n_components - 1)

    def maximize(self, stats):
        """One Newton step from the statistics: the next gate."""
        if self.n_components == 1:
            return self._with(np.zeros((len(self.columns) + 1, 0)))
        beta = newton_solve(stats.hessian, stats.rhs, self.penalty(), "gate")[0]
        width = len(self.columns) + 1
        return self._with(beta.reshape(self.n_components - 1, width).T)

    def _with(self, coefficients):
        return SoftmaxGate(
            self.columns, self.n_components, self.alpha, coefficients=coefficients
        )

    def interpolated(self, other, step):
        """The gate ``step`` of the way from this one to ``other``."""
        return self._with(
            self.coefficients + step * (other.coefficients - self.coefficients)
        )

    def n_parameters(self):
        """Free parameters: (len(columns) + 1) (n_components - 1)."""
        return (len(self.columns) + 1) * (self.n_components - 1)

    def config(self):
        """JSON-serialisable settings, for model files."""
        return {
            "columns": list(self.columns),
            "n_components": self.n_components,
            "alpha": self.alpha,
        }

    def arrays(self):
        """The coefficients, for model files."""
        return {"gate_coefficients": self.coefficients}

    @classmethod
    def from_arrays(cls, config, arrays):
        """Rebuild a gate from :meth:`config` and :meth:`arrays` (checked)."""
        try:
            return cls(
                config["columns"],
                config["n_components"],
                config["alpha"],
                coefficients=arrays["gate_coefficients"],
            )
        except (KeyError, ValueError, TypeError) as error:
            raise DataValidationError(
                f"invalid gate parameters in the model file: {error}"
            ) from None

    def __repr__(self):
        state = "template" if self.coefficients is None else "fitted"
        return f"SoftmaxGate({state}, columns={list(self.columns)})"
