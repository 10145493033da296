"""Linear Gaussian experts: ``y | x, k ~ N(B_k^T x + b_k, Sigma_k)``.

The weighted least-squares M-step of all K experts comes from the weighted
moments of the rows ``(x, y)``, which are the Gaussian family's statistics
(:class:`~mixtura.stats.MomentStats`, centred, so far-from-origin data stay
accurate): with an intercept, expert k's slopes are the regression of y on x
in its centred scatter ``S_k``,

    B_k = (S_xx + alpha I)^{-1} S_xy,    b_k = ybar_k - B_k^T xbar_k,
    Sigma_k = (S_yy - S_yx B_k) / N_k,

the exact maximum-likelihood estimates (DeSarbo & Cron 1988, "A maximum
likelihood methodology for clusterwise linear regression"; flexmix divides the
residual sum of squares by ``N_k - rank`` instead, which is not a maximum). The
penalty ``alpha`` is a ridge on the slopes scaled by the noise (a
``N(0, Sigma_k / alpha)`` prior on each slope column), so the penalised
likelihood still has a closed-form maximum and EM still never decreases it.
"""

from __future__ import annotations

import numpy as np

from mixtura.exceptions import SingularCovarianceError
from mixtura.families.conditional import ConditionalFamily
from mixtura.families.covariance import get_covariance_structure
from mixtura.families.gaussian_kernel import weighted_statistics
from mixtura.stats import EMPTY_COMPONENT_GUARD

__all__ = ["GaussianRegression"]

_NOISE = ("component", "shared")


class GaussianRegression(ConditionalFamily):
    """K linear regressions with Gaussian noise, one per component.

    Parameters
    ----------
    layout : RowLayout
        Rows are ``[x (n_inputs), y (n_outputs)]``; no offset.
    fit_intercept : bool, default=True
    alpha : float, default=0.0
        Ridge penalty on the slopes (see the module docstring).
    noise : {'component', 'shared'}, default='component'
        Each expert's own noise covariance, or one shared by all.
    reg_covar : float, default=1e-6
        Added to the diagonal of every noise covariance.
    coefficients : array-like of shape (n_components, n_inputs, n_outputs), optional
        Slopes; omitted for a template.
    intercepts : array-like of shape (n_components, n_outputs), optional
    noise_covariances : array-like of shape (n_components, n_outputs, n_outputs)
    """

    name = "gaussian_regression"

    def __init__(
        self,
        layout,
        fit_intercept=True,
        alpha=0.0,
        noise="component",
        reg_covar=1e-6,
        *,
        coefficients=None,
        intercepts=None,
        noise_covariances=None,
    ):
        super().__init__(layout, fit_intercept, alpha)
        if layout.offset:
            raise ValueError("Gaussian regression experts take no offset column")
        if noise not in _NOISE:
            raise ValueError(f"noise must be one of {_NOISE}; got {noise!r}")
        self.noise = noise
        self.reg_covar = float(reg_covar)
        self.coefficients = self.intercepts = self.noise_covariances = None
        if coefficients is None:
            return
        self.coefficients = np.asarray(coefficients, dtype=np.float64)
        n_components = self.coefficients.shape[0]
        q = layout.n_outputs
        self.intercepts = (
            np.zeros((n_components, q))
            if intercepts is None
            else np.asarray(intercepts, dtype=np.float64)
        )
        self.noise_covariances = np.asarray(noise_covariances, dtype=np.float64)
        _check_shapes(self, n_components)
        self._noise_factor = _noise_cholesky(self.noise_covariances)
        # the E-step whitens residuals with the factors' inverses, made once
        eye = np.broadcast_to(np.eye(q), self._noise_factor.shape)
        self._whitening = np.linalg.solve(self._noise_factor, eye)
        self._log_det = 2 * np.log(
            np.diagonal(self._noise_factor, axis1=1, axis2=2)
        ).sum(axis=1)

    def _require_parameters(self):
        if self.coefficients is None:
            raise ValueError(
                "this Gaussian regression family is a template without "
                "parameters; fit it first"
            )

    def mean_response(self, rows):
        self._require_parameters()
        inputs = self.layout.inputs(rows)
        n, (k, p, q) = inputs.shape[0], self.coefficients.shape
        slopes = self.coefficients.transpose(1, 0, 2).reshape(p, k * q)
        return (inputs @ slopes).reshape(n, k, q) + self.intercepts[None]

    def log_prob(self, X):
        q = self.layout.n_outputs
        constant = -0.5 * (q * np.log(2 * np.pi) + self._log_det)
        if q == 1:  # one response: (n, K) arrays throughout, no batched whitening
            inputs = self.layout.inputs(X)
            residuals = self.layout.responses(X) - (
                inputs @ self.coefficients[:, :, 0].T + self.intercepts[:, 0]
            )
            residuals *= self._whitening[:, 0, 0]
            residuals *= residuals
            residuals *= -0.5
            residuals += constant
            return residuals
        residuals = self.layout.responses(X)[:, None, :] - self.mean_response(X)
        whitened = np.einsum("nkq,krq->nkr", residuals, self._whitening)
        return constant[None] - 0.5 * (whitened**2).sum(axis=2)

    def statistics(self, X, resp, sample_weight=None):
        columns = np.asarray(X[:, : self.layout.n_inputs + self.layout.n_outputs])
        weighted = resp if sample_weight is None else resp * sample_weight[:, None]
        return weighted_statistics(
            _FULL, columns, np.asarray(weighted), columns.mean(axis=0)
        )

    def maximize(self, stats):
        p = self.layout.n_inputs
        counts = stats.resp_sum + EMPTY_COMPONENT_GUARD
        moments = stats.scatter
        if not self.fit_intercept:  # moments about the origin
            moments = moments + counts[:, None, None] * (
                stats.mean[:, :, None] * stats.mean[:, None, :]
            )
        inputs = moments[:, :p, :p] + np.diag(self.penalty()[:p])[None]
        cross = moments[:, :p, p:]
        slopes = _solve_normal_equations(inputs, cross)
        residual = moments[:, p:, p:] - np.swapaxes(cross, 1, 2) @ slopes
        residual = 0.5 * (residual + np.swapaxes(residual, 1, 2))
        if self.noise == "shared":
            pooled = residual.sum(axis=0) / counts.sum()
            covariances = np.broadcast_to(pooled, residual.shape).copy()
        else:
            covariances = residual / counts[:, None, None]
        covariances += self.reg_covar * np.eye(self.layout.n_outputs)[None]
        intercepts = np.zeros((len(counts), self.layout.n_outputs))
        if self.fit_intercept:
            means = stats.mean
            intercepts = means[:, p:] - np.einsum("kp,kpq->kq", means[:, :p], slopes)
        return self._with(slopes, intercepts, covariances)

    def _with(self, coefficients, intercepts, noise_covariances):
        return GaussianRegression(
            self.layout,
            **self._settings(),
            coefficients=coefficients,
            intercepts=intercepts,
            noise_covariances=noise_covariances,
        )

    def _settings(self):
        return {
            "fit_intercept": self.fit_intercept,
            "alpha": self.alpha,
            "noise": self.noise,
            "reg_covar": self.reg_covar,
        }

    def interpolated(self, other, step):
        def between(a, b):
            return a + step * (b - a)

        return self._with(
            between(self.coefficients, other.coefficients),
            between(self.intercepts, other.intercepts),
            between(self.noise_covariances, other.noise_covariances),
        )

    def sample_responses(self, rows, labels, random_state):
        means = self.mean_response(rows)[np.arange(len(labels)), labels]
        noise = random_state.standard_normal(means.shape)
        return means + np.einsum("nrq,nq->nr", self._noise_factor[labels], noise)

    def n_parameters(self):
        k = self.n_components
        q = self.layout.n_outputs
        n_noise = (k if self.noise == "component" else 1) * q * (q + 1) // 2
        return k * self.n_coefficients * q + n_noise

    def config(self):
        return {**self.base_config(), "noise": self.noise, "reg_covar": self.reg_covar}

    def arrays(self):
        self._require_parameters()
        return {
            "coefficients": self.coefficients,
            "intercepts": self.intercepts,
            "noise_covariances": self.noise_covariances,
        }

    @classmethod
    def from_arrays(cls, config, arrays):
        def build(layout, fit_intercept, alpha):
            return cls(
                layout,
                fit_intercept=fit_intercept,
                alpha=alpha,
                noise=config["noise"],
                reg_covar=float(config["reg_covar"]),
                **{name: arrays[name] for name in _ARRAYS},
            )

        return cls._from_model_file(config, build)

    def __repr__(self):
        if self.coefficients is None:
            return f"GaussianRegression(template, noise={self.noise!r})"
        return (
            f"GaussianRegression(n_components={self.n_components}, "
            f"n_inputs={self.layout.n_inputs}, n_outputs={self.layout.n_outputs})"
        )


_FULL = get_covariance_structure("full")
_ARRAYS = ("coefficients", "intercepts", "noise_covariances")


def _check_shapes(family, n_components):
    p, q = family.layout.n_inputs, family.layout.n_outputs
    expected = {
        "coefficients": (n_components, p, q),
        "intercepts": (n_components, q),
        "noise_covariances": (n_components, q, q),
    }
    for name, shape in expected.items():
        value = getattr(family, name)
        if value.shape != shape:
            raise ValueError(f"{name} must have shape {shape}; got {value.shape}")
        if not np.isfinite(value).all():
            raise ValueError(f"{name} must be finite")


def _noise_cholesky(covariances):
    try:
        return np.linalg.cholesky(covariances)
    except np.linalg.LinAlgError:
        bad = [
            k
            for k, matrix in enumerate(covariances)
            if not np.all(np.linalg.eigvalsh(matrix) > 0)
        ]
        raise SingularCovarianceError(
            f"the noise covariance of expert {bad} is not positive definite "
            "(the expert fits its rows exactly); increase reg_covar or use "
            "fewer components.",
            components=bad,
        ) from None


def _solve_normal_equations(gram, cross):
    """Minimum-norm ``gram^+ cross`` per expert: gram (K, p, p), cross (K, p, q).

    Through the pseudo-inverse (one batched symmetric eigendecomposition), so
    an expert whose inputs are collinear within its rows (fewer effective rows
    than inputs, a constant column) gets the minimum-norm slopes, as
    ``lstsq`` gives them, rather than a solve's rounding noise; for a
    well-conditioned system it is the solve's answer.
    """
    if gram.shape[1] == 0:
        return np.zeros(cross.shape)
    return np.linalg.pinv(gram, hermitian=True) @ cross
