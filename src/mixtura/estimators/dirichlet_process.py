"""DirichletProcessMixture: a Gaussian DP mixture sampled by collapsed Gibbs."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from mixtura._validation import check_data
from mixtura.families.conjugate_gaussian_niw import NormalInverseWishart
from mixtura.inference.gibbs import (
    collapsed_gibbs,
    least_squares_clustering,
    log_predictive_density,
    posterior_similarity,
)

__all__ = ["DirichletProcessMixture"]


class DirichletProcessMixture(DensityMixin, BaseEstimator):
    """Dirichlet-process mixture of Gaussians, sampled by collapsed Gibbs.

    Each cluster's mean and full covariance have a conjugate Normal-inverse-Wishart
    prior and are integrated out; the sampler draws partitions of the data by
    Gibbs sweeps (Neal 2000, algorithm 3) interleaved with split-merge proposals
    (Jain & Neal 2004, conjugate version), and optionally redraws the
    concentration alpha under a Gamma hyper-prior (Escobar & West 1995). The
    fitted model summarises the sampled partitions: the posterior over the number
    of clusters, the posterior similarity (co-clustering) matrix, a point
    clustering that minimises Binder's loss / the least-squares distance to it
    (Dahl 2006), and the posterior predictive density.

    Parameters
    ----------
    n_iter : int, default=100
        Number of sweeps (each: one Gibbs sweep, then ``split_merge`` proposals,
        then an alpha update when ``alpha_prior`` is set).
    burn_in : int, default=None
        Sweeps discarded before partitions are saved (None: ``n_iter // 2``).
    thin : int, default=1
        Keep every ``thin``-th sweep after burn-in.
    alpha : float, default=1.0
        Concentration of the Dirichlet process (> 0); the starting value when
        ``alpha_prior`` is given.
    alpha_prior : tuple of (float, float), default=None
        ``(shape, rate)`` of a Gamma hyper-prior on alpha, both > 0; None keeps
        alpha fixed.
    mean_prior : array-like of shape (n_features,), default=None
        m_0, the prior mean of cluster means (None: the data's mean).
    mean_precision_prior : float, default=None
        kappa_0 > 0, the prior's pseudo-count for the means: a cluster mean is
        ``N(m_0, Sigma / kappa_0)`` (None: 0.01, a vague prior that lets means lie
        anywhere within about ten cluster widths of ``m_0``).
    degrees_of_freedom_prior : float, default=None
        nu_0 > n_features - 1 of the inverse-Wishart prior on covariances
        (None: ``n_features + 2``, the smallest integer with a finite prior mean
        of Sigma).
    covariance_prior : array-like of shape (n_features, n_features), default=None
        The inverse-Wishart scale Psi_0, symmetric positive definite; the prior
        mean of a cluster covariance is ``Psi_0 / (nu_0 - n_features - 1)``
        (None: the data's covariance, so that with the default nu_0 the prior
        mean of each cluster's covariance is the data's covariance, as in
        scikit-learn's BayesianGaussianMixture).
    split_merge : int, default=1
        Split-merge proposals after each Gibbs sweep (0: plain Gibbs).
    n_launch_scans : int, default=3
        Intermediate restricted Gibbs scans t that build each split-merge
        proposal's launch state.
    random_state : int, RandomState instance, Generator or None, default=None
        Seed of the chain; the same seed gives the same chain.
    progress : bool, default=False
        Draw a text progress bar on stderr.

    Attributes
    ----------
    partitions_ : ndarray of shape (n_saved, n_samples)
        Sampled partitions after burn-in and thinning, clusters numbered in order
        of first appearance.
    labels_ : ndarray of shape (n_samples,)
        The sampled partition closest in least squares to the posterior
        similarity matrix (Binder's loss with equal costs; Dahl 2006).
    n_clusters_ : int
        Number of clusters of ``labels_``.
    n_clusters_posterior_ : ndarray of shape (max_clusters + 1,)
        ``n_clusters_posterior_[k]`` is the posterior probability of k clusters
        (the fraction of saved partitions with k clusters).
    n_clusters_trace_ : ndarray of shape (n_iter,)
        Number of clusters after each sweep.
    log_joint_trace_ : ndarray of shape (n_iter,)
        ``log p(X, partition | alpha)`` after each sweep.
    alpha_trace_ : ndarray of shape (n_iter,)
        Concentration after each sweep.
    split_acceptance_rate_ : float
        Accepted / proposed splits (NaN when none was proposed).
    merge_acceptance_rate_ : float
        Accepted / proposed merges (NaN when none was proposed).
    split_merge_counts_ : dict
        ``split_proposed``, ``split_accepted``, ``merge_proposed``,
        ``merge_accepted``.
    mean_prior_ : ndarray of shape (n_features,)
        m_0 used.
    mean_precision_prior_ : float
        kappa_0 used.
    degrees_of_freedom_prior_ : float
        nu_0 used.
    covariance_prior_ : ndarray of shape (n_features, n_features)
        Psi_0 used.
    n_features_in_ : int
        Number of features seen in ``fit``.

    References
    ----------
    Neal, R. M. (2000). Markov chain sampling methods for Dirichlet process
    mixture models. J. Comput. Graph. Stat. 9(2), 249-265.
    Jain, S. and Neal, R. M. (2004). A split-merge Markov chain Monte Carlo
    procedure for the Dirichlet process mixture model. J. Comput. Graph. Stat.
    13(1), 158-182.
    Escobar, M. D. and West, M. (1995). Bayesian density estimation and inference
    using mixtures. JASA 90(430), 577-588.
    Dahl, D. B. (2006). Model-based clustering for expression data via a
    Dirichlet process mixture model. In *Bayesian Inference for Gene Expression
    and Proteomics*, Cambridge University Press.
    """

    #: model files hold a mixture of one family; a sampled posterior not yet
    _saves_to_model_files = False

    _parameter_constraints: dict = {
        "n_iter": [Interval(Integral, 1, None, closed="left")],
        "burn_in": [Interval(Integral, 0, None, closed="left"), None],
        "thin": [Interval(Integral, 1, None, closed="left")],
        "alpha": [Interval(Real, 0.0, None, closed="neither")],
        "alpha_prior": [tuple, list, None],
        "mean_prior": ["array-like", None],
        "mean_precision_prior": [Interval(Real, 0.0, None, closed="neither"), None],
        "degrees_of_freedom_prior": [Interval(Real, 0.0, None, closed="neither"), None],
        "covariance_prior": ["array-like", None],
        "split_merge": [Interval(Integral, 0, None, closed="left")],
        "n_launch_scans": [Interval(Integral, 0, None, closed="left")],
        "random_state": ["random_state", np.random.Generator],
        "progress": ["boolean"],
    }

    def __init__(
        self,
        *,
        n_iter=100,
        burn_in=None,
        thin=1,
        alpha=1.0,
        alpha_prior=None,
        mean_prior=None,
        mean_precision_prior=None,
        degrees_of_freedom_prior=None,
        covariance_prior=None,
        split_merge=1,
        n_launch_scans=3,
        random_state=None,
        progress=False,
    ):
        self.n_iter = n_iter
        self.burn_in = burn_in
        self.thin = thin
        self.alpha = alpha
        self.alpha_prior = alpha_prior
        self.mean_prior = mean_prior
        self.mean_precision_prior = mean_precision_prior
        self.degrees_of_freedom_prior = degrees_of_freedom_prior
        self.covariance_prior = covariance_prior
        self.split_merge = split_merge
        self.n_launch_scans = n_launch_scans
        self.random_state = random_state
        self.progress = progress

    # -- fitting --------------------------------------------------------------------
    def fit(self, X, y=None):
        """Sample partitions of ``X`` from the posterior and summarise them.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, one row per sample; NaN and infinity are refused.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._validate_params()
        X = check_data(self, X, reset=True, ensure_min_samples=2)
        prior = self._resolve_prior(X)
        burn_in = self._burn_in()
        result = collapsed_gibbs(
            X,
            prior,
            n_iter=self.n_iter,
            burn_in=burn_in,
            thin=self.thin,
            alpha=float(self.alpha),
            alpha_prior=self._alpha_prior(),
            n_split_merge=self.split_merge,
            n_launch_scans=self.n_launch_scans,
            random_state=self.random_state,
            progress=self.progress,
        )
        self._set_fitted(result, prior)
        return self

    def fit_predict(self, X, y=None):
        """Fit and return the point clustering ``labels_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            The least-squares clustering of the sampled partitions.
        """
        return self.fit(X).labels_

    def _burn_in(self):
        burn_in = self.n_iter // 2 if self.burn_in is None else self.burn_in
        if burn_in >= self.n_iter:
            raise ValueError(
                f"burn_in ({burn_in}) must be smaller than n_iter ({self.n_iter}) so "
                "that some partitions are kept; lower burn_in or raise n_iter."
            )
        return burn_in

    def _alpha_prior(self):
        if self.alpha_prior is None:
            return None
        values = tuple(self.alpha_prior)
        if len(values) != 2 or not all(
            isinstance(v, Real) and np.isfinite(v) and v > 0 for v in values
        ):
            raise ValueError(
                "alpha_prior must be a pair (shape, rate) of positive numbers for a "
                f"Gamma hyper-prior on alpha, or None; got {self.alpha_prior!r}."
            )
        return tuple(float(v) for v in values)

    def _resolve_prior(self, X):
        """The Normal-inverse-Wishart prior, data-driven where not given."""
        X = np.asarray(X, dtype=np.float64)
        n_features = X.shape[1]
        mean = X.mean(axis=0) if self.mean_prior is None else self.mean_prior
        if np.shape(mean) != (n_features,):
            raise ValueError(
                f"mean_prior must have shape ({n_features},); got {np.shape(mean)}."
            )
        scale = self.covariance_prior
        if scale is None:
            scale = _default_scale(X)
        return NormalInverseWishart.checked(
            mean,
            0.01 if self.mean_precision_prior is None else self.mean_precision_prior,
            (
                n_features + 2.0
                if self.degrees_of_freedom_prior is None
                else self.degrees_of_freedom_prior
            ),
            scale,
        )

    def _set_fitted(self, result, prior):
        self._gibbs = result
        self.mean_prior_ = prior.mean
        self.mean_precision_prior_ = prior.mean_precision
        self.degrees_of_freedom_prior_ = prior.degrees_of_freedom
        self.covariance_prior_ = prior.scale
        self.partitions_ = result.partitions
        self.alpha_samples_ = result.alphas
        self.log_joint_trace_ = result.log_joint
        self.n_clusters_trace_ = result.n_clusters
        self.alpha_trace_ = result.alpha_trace
        counts = np.array([p.max() + 1 for p in result.partitions])
        self.n_clusters_posterior_ = np.bincount(counts) / len(counts)
        self.labels_ = least_squares_clustering(result.partitions)
        self.n_clusters_ = int(self.labels_.max()) + 1
        self.split_merge_counts_ = dict(result.counters)
        self.split_acceptance_rate_ = _rate(result.counters, "split")
        self.merge_acceptance_rate_ = _rate(result.counters, "merge")

    # -- using the fitted model -----------------------------------------------------
    def posterior_similarity(self, max_samples=5000):
        """Posterior co-clustering probabilities of the training points.

        Parameters
        ----------
        max_samples : int, default=5000
            Refuse (ValueError) when the training set has more rows, since the
            result is a dense n x n matrix (8 n^2 bytes).

        Returns
        -------
        similarity : ndarray of shape (n_samples, n_samples)
            ``similarity[i, j]`` is the fraction of saved partitions in which
            points i and j share a cluster.
        """
        check_is_fitted(self)
        n_samples = self.partitions_.shape[1]
        if n_samples > max_samples:
            raise ValueError(
                f"the posterior similarity matrix of {n_samples} points would hold "
                f"{n_samples}^2 values ({8 * n_samples**2 / 1e9:.1f} GB); it is "
                f"refused above max_samples={max_samples}. Pass a larger max_samples "
                "if memory allows, or use labels_ and n_clusters_posterior_."
            )
        return posterior_similarity(self.partitions_)

    def score_samples(self, X):
        """Log posterior predictive density of each row.

        The predictive density given each saved partition (a mixture of Student
        t's, plus the prior predictive weighted by alpha), averaged over the
        saved partitions.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.

        Returns
        -------
        log_density : ndarray of shape (n_samples,)
            ``log p(x_i | training data)``.
        """
        check_is_fitted(self)
        X = check_data(self, X, reset=False)
        return log_predictive_density(self._gibbs, X)

    def score(self, X, y=None):
        """Mean log posterior predictive density of the rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        log_likelihood : float
            Average of :meth:`score_samples`.
        """
        return float(np.mean(self.score_samples(X)))


def _default_scale(X):
    """The data's covariance, with a floor so that it is positive definite."""
    n_features = X.shape[1]
    cov = np.atleast_2d(np.cov(X.T)) if len(X) > 1 else np.eye(n_features)
    level = float(np.trace(cov)) / n_features
    floor = 1e-6 * level if level > 0 else 1e-6
    return cov + floor * np.eye(n_features)


def _rate(counters, kind):
    proposed = counters[f"{kind}_proposed"]
    return counters[f"{kind}_accepted"] / proposed if proposed else float("nan")
