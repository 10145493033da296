"""Normal-inverse-Wishart conjugate prior of a full-covariance Gaussian.

The collapsed Gibbs sampler for Dirichlet-process mixtures (Neal 2000, "Markov
chain sampling methods for Dirichlet process mixture models", algorithm 3)
integrates each cluster's mean and covariance out. With the prior

    Sigma ~ IW(scale_0, nu_0),   mu | Sigma ~ N(m_0, Sigma / kappa_0),

a cluster's data have a closed-form marginal likelihood, and a new point's
predictive density given the cluster's data is a multivariate Student t
(Murphy 2007, "Conjugate Bayesian analysis of the Gaussian distribution",
section 9; Gelman et al. 2013, *Bayesian Data Analysis*, section 3.6).

Clusters are summarised by their sufficient statistics: the count ``n``, the sum
``s = sum x`` and the scatter ``S = sum x x^T``. Callers centre the data on the
prior mean first (so ``m_0 = 0`` in these formulas' arguments is not assumed, but
it keeps ``S`` well conditioned).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.linalg import solve_triangular
from scipy.special import gammaln, multigammaln

from mixtura.families.gaussian_missing import missingness_patterns

__all__ = [
    "NormalInverseWishart",
    "StudentT",
    "log_marginal_likelihood",
    "student_t_logpdf",
]

_LOG_PI = math.log(math.pi)


@dataclass(frozen=True)
class NormalInverseWishart:
    """Normal-inverse-Wishart parameters (prior or posterior).

    Attributes
    ----------
    mean : ndarray of shape (n_features,)
        m, the mean's location.
    mean_precision : float
        kappa > 0, the number of pseudo-observations behind ``mean``.
    degrees_of_freedom : float
        nu > n_features - 1.
    scale : ndarray of shape (n_features, n_features)
        The inverse-Wishart scale matrix Psi (symmetric positive definite);
        ``E[Sigma] = Psi / (nu - d - 1)`` when ``nu > d + 1``.
    """

    mean: np.ndarray
    mean_precision: float
    degrees_of_freedom: float
    scale: np.ndarray

    @property
    def n_features(self):
        """Dimension d of the data."""
        return self.mean.shape[0]

    @classmethod
    def checked(cls, mean, mean_precision, degrees_of_freedom, scale):
        """Build a prior, refusing wrong shapes, non-PD scales, bad numbers.

        Parameters
        ----------
        mean : array-like of shape (n_features,)
        mean_precision : float
        degrees_of_freedom : float
        scale : array-like of shape (n_features, n_features)

        Returns
        -------
        NormalInverseWishart
        """
        mean = np.asarray(mean, dtype=np.float64)
        if mean.ndim != 1 or not np.isfinite(mean).all():
            raise ValueError(
                f"mean_prior must be a finite vector of shape (n_features,); "
                f"got shape {mean.shape}."
            )
        d = mean.shape[0]
        scale = np.asarray(scale, dtype=np.float64)
        if scale.shape != (d, d):
            raise ValueError(
                f"covariance_prior must have shape ({d}, {d}); got {scale.shape}."
            )
        if not np.isfinite(scale).all() or not np.allclose(scale, scale.T):
            raise ValueError("covariance_prior must be a finite, symmetric matrix.")
        if np.linalg.eigvalsh(scale)[0] <= 0:
            raise ValueError(
                "covariance_prior must be positive definite (its smallest "
                f"eigenvalue is {np.linalg.eigvalsh(scale)[0]:.3g})."
            )
        if not mean_precision > 0:
            raise ValueError(f"mean_precision_prior must be > 0; got {mean_precision}.")
        if not degrees_of_freedom > d - 1:
            raise ValueError(
                f"degrees_of_freedom_prior must be greater than {d - 1} "
                f"(n_features - 1); got {degrees_of_freedom}."
            )
        return cls(mean, float(mean_precision), float(degrees_of_freedom), scale)

    def posterior(self, count, total, scatter):
        """Posterior given a cluster's sufficient statistics.

        Parameters
        ----------
        count : float
            Number of points n.
        total : ndarray of shape (n_features,)
            ``sum_i x_i``.
        scatter : ndarray of shape (n_features, n_features)
            ``sum_i x_i x_i^T``.

        Returns
        -------
        NormalInverseWishart
        """
        kappa = self.mean_precision + count
        mean = (self.mean_precision * self.mean + total) / kappa
        scale = (
            self.scale
            + scatter
            + self.mean_precision * np.outer(self.mean, self.mean)
            - kappa * np.outer(mean, mean)
        )
        return NormalInverseWishart(
            mean, kappa, self.degrees_of_freedom + count, 0.5 * (scale + scale.T)
        )

    def predictive(self):
        """The posterior predictive distribution of one new point.

        Returns
        -------
        StudentT
            t with ``nu - d + 1`` degrees of freedom, location ``m`` and shape
            ``Psi (kappa + 1) / (kappa (nu - d + 1))``.
        """
        df, shape = self._predictive_shape()
        return StudentT.from_shape(self.mean, shape, df)

    def _predictive_shape(self):
        """Degrees of freedom and shape matrix of :meth:`predictive`."""
        df = self.degrees_of_freedom - self.n_features + 1
        shape = self.scale * ((self.mean_precision + 1) / (self.mean_precision * df))
        return df, shape

    def predictive_logpdf(self, X):
        """Log posterior predictive density of each row's observed coordinates.

        A row with missing coordinates (NaN) gets the density of its observed
        sub-vector: the marginal of a multivariate t on a subset of coordinates
        is the t with the same degrees of freedom and the sub-vector of the
        location and sub-matrix of the shape (Kotz & Nadarajah 2004,
        *Multivariate t distributions and their applications*, section 1.10).
        Rows are grouped by missingness pattern, one factorisation per pattern.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            Rows, NaN for a missing coordinate.

        Returns
        -------
        ndarray of shape (n_samples,)
            0 for a row with nothing observed.
        """
        X = np.asarray(X, dtype=np.float64)
        if not np.isnan(X).any():
            return self.predictive().logpdf(X)
        df, shape = self._predictive_shape()
        out = np.zeros(len(X))
        for rows, observed in missingness_patterns(X):
            if observed.any():
                t = StudentT.from_shape(
                    self.mean[observed], shape[np.ix_(observed, observed)], df
                )
                out[rows] = t.logpdf(X[np.ix_(rows, observed)])
        return out

    def log_normalizer(self):
        """``log Z`` such that ``p(data) = Z_post / Z_prior / pi^(n d / 2)``.

        The powers of 2 of the inverse-Wishart normaliser cancel against the
        Gaussian likelihood's ``(2 pi)^(-n d / 2)`` (Murphy 2007, eq. 266).

        Returns
        -------
        float
            ``log Gamma_d(nu / 2) - (nu / 2) log det Psi - (d / 2) log kappa``.
        """
        d = self.n_features
        nu = self.degrees_of_freedom
        logdet = 2.0 * np.log(np.diag(np.linalg.cholesky(self.scale))).sum()
        return float(
            multigammaln(0.5 * nu, d)
            - 0.5 * nu * logdet
            - 0.5 * d * math.log(self.mean_precision)
        )


def log_marginal_likelihood(prior, count, total, scatter):
    """Log marginal likelihood ``log p(x_1..x_n)`` of one cluster's data.

    Parameters
    ----------
    prior : NormalInverseWishart
    count : int
        Number of points n (0 gives 0).
    total : ndarray of shape (n_features,)
        ``sum_i x_i``.
    scatter : ndarray of shape (n_features, n_features)
        ``sum_i x_i x_i^T``.

    Returns
    -------
    float
        ``log Z(posterior) - log Z(prior) - n d / 2 log pi``.
    """
    if count == 0:
        return 0.0
    post = prior.posterior(count, total, scatter)
    return (
        post.log_normalizer()
        - prior.log_normalizer()
        - 0.5 * count * prior.n_features * _LOG_PI
    )


@dataclass(frozen=True)
class StudentT:
    """A multivariate Student t, cached for repeated evaluation.

    Attributes
    ----------
    loc : ndarray of shape (n_features,)
    inv_chol : ndarray of shape (n_features, n_features)
        Inverse of the shape matrix's lower Cholesky factor (whitens ``x - loc``).
    df : float
        Degrees of freedom.
    log_const : float
        Log normalising constant (everything but the quadratic-form term).
    """

    loc: np.ndarray
    inv_chol: np.ndarray
    df: float
    log_const: float

    @classmethod
    def from_shape(cls, loc, shape, df):
        """Cache a t distribution from its location, shape matrix and dof.

        Parameters
        ----------
        loc : ndarray of shape (n_features,)
        shape : ndarray of shape (n_features, n_features)
        df : float

        Returns
        -------
        StudentT
        """
        chol = np.linalg.cholesky(shape)
        d = loc.shape[0]
        inv_chol = solve_triangular(chol, np.eye(d), lower=True)
        logdet = 2.0 * np.log(np.diag(chol)).sum()
        return cls(loc, inv_chol, float(df), student_t_log_const(df, d, logdet))

    def logpdf(self, X):
        """Log density of each row.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        z = (X - self.loc) @ self.inv_chol.T
        return student_t_logpdf(
            np.einsum("ij,ij->i", z, z), self.df, self.log_const, X.shape[1]
        )


def student_t_log_const(df, n_features, logdet):
    """Log normalising constant of a d-variate t with shape log-determinant.

    Parameters
    ----------
    df : float or ndarray
    n_features : int
    logdet : float or ndarray
        ``log det`` of the shape matrix.

    Returns
    -------
    float or ndarray
    """
    d = n_features
    return (
        gammaln(0.5 * (df + d))
        - gammaln(0.5 * df)
        - 0.5 * d * np.log(df * math.pi)
        - 0.5 * logdet
    )


def student_t_logpdf(maha, df, log_const, n_features):
    """Log t density from squared Mahalanobis distances.

    Parameters
    ----------
    maha : ndarray
        ``(x - loc)^T shape^{-1} (x - loc)``.
    df : float or ndarray
        Degrees of freedom, broadcast against ``maha``.
    log_const : float or ndarray
        From :func:`student_t_log_const`.
    n_features : int

    Returns
    -------
    ndarray
    """
    return log_const - 0.5 * (df + n_features) * np.log1p(maha / df)
