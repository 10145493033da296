"""Log-normal components: a Gaussian family on the log scale.

A positive vector x is log-normal when ``log x`` is Gaussian; its density on
the original scale carries the Jacobian of the logarithm:

    log p(x | k) = log N(log x | mu_k, Sigma_k) - sum_j log x_j

so a log-normal component is a Gaussian component of ``log x``, with any
covariance structure the Gaussian family has (``'diag'`` for independent
features, ``'full'`` or mclust's models for correlated ones). The statistics,
the M-step and ``reg_covar`` are the Gaussian's on ``log x``;
``-sum_j log x_j`` is the base measure, the same for every component. Means
and covariances are those of ``log x``: the mean of feature j on the original
scale is ``exp(mu_kj + Sigma_kjj / 2)``.
"""

from __future__ import annotations

import math

import numpy as np

from mixtura._validation import magnitude_bound
from mixtura.backend import get_namespace
from mixtura.exceptions import ModelFileError
from mixtura.families.base import Family, fill_column_means, split_missing
from mixtura.families.gaussian import Gaussian
from mixtura.families.support import check_positive, log_scale_jacobian

__all__ = ["LogNormal"]


class LogNormal(Family):
    """Components whose log is Gaussian: ``log x ~ N(mu_k, Sigma_k)``.

    ``MixtureModel(family='lognormal', family_params={'covariance_type':
    'diag'})`` fits a mixture of them.

    Parameters
    ----------
    covariance_type : str, default='diag'
        Any registered covariance structure of the Gaussian family.
    reg_covar : float, default=1e-6
        Added to the variances of ``log x``, as in the Gaussian family.
    means : array-like of shape (n_components, n_features), optional
        Means of ``log x``; omitted (with ``covariances``) for a template.
    covariances : array-like, optional
        Covariances of ``log x``, in the structure's shape.
    precisions_cholesky : array-like, optional
        Alternatively, their precision Cholesky factors.
    """

    name = "lognormal"
    #: log x is Gaussian, whose EM conditions the missing logs on the observed
    #: ones (full covariances included); the Jacobian counts observed entries
    supports_missing = True

    def __init__(
        self,
        covariance_type="diag",
        reg_covar=1e-6,
        *,
        means=None,
        covariances=None,
        precisions_cholesky=None,
    ):
        self.gaussian = Gaussian(
            covariance_type,
            reg_covar,
            means=means,
            covariances=covariances,
            precisions_cholesky=precisions_cholesky,
        )

    @classmethod
    def _of(cls, gaussian):
        family = cls.__new__(cls)
        family.gaussian = gaussian
        return family

    @property
    def covariance_type(self):
        return self.gaussian.covariance_type

    @property
    def reg_covar(self):
        return self.gaussian.reg_covar

    @property
    def means(self):
        """Means of ``log x``, shape (n_components, n_features)."""
        return self.gaussian.means

    @property
    def covariances(self):
        """Covariances of ``log x``, in the structure's shape."""
        return self.gaussian.covariances

    @property
    def n_components(self):
        return self.gaussian.n_components

    @property
    def n_features(self):
        return self.gaussian.n_features

    def check_data(self, X):
        """Refuse values that are not positive, then the Gaussian's checks."""
        return self.gaussian.check_data(check_positive(X, "lognormal"))

    def init_features(self, X):
        """``log x``, where the components are Gaussian (holes: column means)."""
        return fill_column_means(np.log(np.asarray(X, dtype=np.float64)))

    def chunk_row_values(self, n_features, n_components):
        return self.gaussian.chunk_row_values(n_features, n_components) + n_features

    def log_prob(self, X):
        """Log density on the original scale, shape (n, K)."""
        return self.log_kernel(X) + self.log_base_measure(X)[:, None]

    def log_base_measure(self, X):
        """``-sum_j log x_j`` of each row (observed entries), the log's Jacobian."""
        log_x, observed = split_missing(get_namespace(X).log(X))
        if observed is None:
            return log_scale_jacobian(X)
        return -get_namespace(X).sum(log_x, axis=1)

    def log_kernel(self, X):
        """The Gaussian log density of ``log x``, shape (n, K)."""
        return self.gaussian.log_prob(get_namespace(X).log(X))

    def statistics(self, X, resp, sample_weight=None):
        """The Gaussian family's moment statistics of ``log x``."""
        return self.gaussian.statistics(get_namespace(X).log(X), resp, sample_weight)

    def maximize(self, stats):
        return LogNormal._of(self.gaussian.maximize(stats))

    def parameter_groups(self):
        """The log-scale Gaussian's (means; covariances with their factors)."""
        return self.gaussian.parameter_groups()

    def component_parameters(self):
        return self.gaussian.component_parameters()

    def maximize_given(self, stats, fixed):
        """The log-scale Gaussian's: scatter of ``log x`` about frozen means."""
        return LogNormal._of(self.gaussian.maximize_given(stats, fixed))

    def moments(self):
        """Per-feature mean and variance on the original scale, each (K, d).

        ``exp(mu + s / 2)`` and ``(exp(s) - 1) exp(2 mu + s)`` with ``s`` the
        variance of ``log x_j``.
        """
        matrices = self.gaussian.structure.matrices(
            self.covariances, self.n_components, self.n_features
        )
        variances = np.diagonal(matrices, axis1=1, axis2=2)
        mean = np.exp(self.means + variances / 2)
        return mean, np.expm1(variances) * mean**2

    def sample(self, labels, random_state):
        return np.exp(self.gaussian.sample(labels, random_state))

    def n_parameters(self):
        return self.gaussian.n_parameters()

    def config(self):
        return self.gaussian.config()

    def arrays(self):
        return self.gaussian.arrays()

    @classmethod
    def from_arrays(cls, config, arrays):
        try:
            gaussian = Gaussian.from_arrays(config, arrays)
        except (KeyError, ValueError) as exc:
            if isinstance(exc, ModelFileError):
                raise
            raise ModelFileError(f"log-normal family parameters: {exc}") from exc
        # issue 19: an edited file's means of log x of 1e19 made sample()
        # overflow in exp; fitted ones are means of logs of data within the
        # magnitude bound
        limit = math.log(magnitude_bound(np.float64))
        if np.any(gaussian.means > limit):
            raise ModelFileError(
                f"log-normal family parameters: the means of log x must be at "
                f"most {limit:.4g}, the log of the magnitude data may have"
            )
        return cls._of(gaussian)

    def __repr__(self):
        if self.means is None:
            return f"LogNormal(covariance_type={self.covariance_type!r}, template)"
        return (
            f"LogNormal(covariance_type={self.covariance_type!r}, "
            f"n_components={self.n_components}, n_features={self.n_features})"
        )
