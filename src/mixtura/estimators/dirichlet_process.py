"""DirichletProcessMixture: a DP mixture sampled by collapsed Gibbs.

Gaussian (Normal-inverse-Wishart), Bernoulli (Beta), Poisson (Gamma) and
categorical (Dirichlet) clusters.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from mixtura._validation import check_data
from mixtura.estimators.bayesian_mixture import conjugate_template, resolve_prior
from mixtura.inference.gibbs import (
    collapsed_gibbs,
    least_squares_clustering,
    log_predictive_density,
    posterior_similarity,
)
from mixtura.priors.base import ConjugatePrior
from mixtura.priors.normal_wishart import NormalWishart

__all__ = ["DirichletProcessMixture"]


class DirichletProcessMixture(DensityMixin, BaseEstimator):
    """Dirichlet-process mixture, sampled by collapsed Gibbs.

    Each cluster's parameters have a conjugate prior and are integrated out:
    for ``family='gaussian'`` a full-covariance Gaussian whose mean and
    covariance have a Normal-inverse-Wishart prior; for ``'bernoulli'``
    independent binary features with Beta priors; for ``'poisson'`` independent
    counts with Gamma priors on the rates; for ``'categorical'`` independent
    integer-coded categorical columns with Dirichlet priors on the level
    probabilities; for ``'multinomial'`` documents of term counts with a
    Dirichlet prior on the term probabilities (any registered family with a
    conjugate prior in :mod:`mixtura.priors` works). The sampler draws
    partitions of the data by Gibbs sweeps (Neal 2000, algorithm 3)
    interleaved with split-merge proposals (Jain & Neal 2004, conjugate
    version), and optionally redraws the
    concentration alpha under a Gamma hyper-prior (Escobar & West 1995). The
    fitted model summarises the sampled partitions: the posterior over the number
    of clusters, the posterior similarity (co-clustering) matrix, a point
    clustering that minimises Binder's loss / the least-squares distance to it
    (Dahl 2006), and the posterior predictive density.

    Parameters
    ----------
    family : str, default='gaussian'
        The clusters' distribution: 'gaussian', or a registered family with a
        conjugate prior ('bernoulli' for 0/1 data, 'poisson' for non-negative
        integer counts, 'categorical' for integer codes ``0 .. L_j - 1`` per
        column, 'multinomial' for documents of term counts).
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
    prior : dict, NormalWishart or ConjugatePrior, default=None
        The clusters' prior, as in :class:`~mixtura.BayesianMixture`: None for
        the family's default (``Family.default_prior(X)``: for 'gaussian' a
        Normal-Wishart with ``mean`` the data's mean, ``mean_precision``
        kappa_0 = 0.01 (a cluster mean is ``N(m_0, Sigma / kappa_0)``, a vague
        prior that lets means lie anywhere within about ten cluster widths of
        m_0), ``degrees_of_freedom`` nu_0 = n_features + 2 (the smallest
        integer with a finite prior mean of Sigma) and ``covariance`` Psi_0
        the data's covariance, so that the prior mean of each cluster's
        covariance, ``Psi_0 / (nu_0 - n_features - 1)``, is the data's;
        uniform Beta and Dirichlet priors; Gamma priors whose mean is each
        feature's mean count), a dict of some of its parameters
        (``{'mean_precision': k, 'degrees_of_freedom': nu, 'covariance':
        Psi, 'mean': m}`` for 'gaussian', ``{'alpha': a, 'beta': b}`` for
        'bernoulli', ``{'shape': s, 'rate': r}`` for 'poisson',
        ``{'concentration': c, 'n_levels': L}`` for 'categorical', where
        ``L`` bounds the codes of new data passed to :meth:`score_samples`), or
        a prior object of :mod:`mixtura.priors`.
    split_merge : int, default=1
        Split-merge proposals after each Gibbs sweep (0: plain Gibbs).
    n_launch_scans : int, default=3
        Intermediate restricted Gibbs scans t that build each split-merge
        proposal's launch state.
    missing : {'error', 'em'}, default='error'
        What NaN entries of ``X`` (shape (n_samples, n_features)) mean: an error
        (saying what to do), or missing values, which need no imputation
        beforehand; infinity is always an error, and so is a column with
        nothing observed. For the discrete families a missing entry drops out
        of its row's likelihood: each cluster's feature j is summarised by the
        points observing it, and the chain targets the exact posterior of the
        partition given the observed entries. For 'gaussian' the chain also
        carries the missing coordinates (data augmentation; Tanner & Wong
        1987), started at their column's observed mean: a point with missing
        coordinates is reassigned by the Student-t predictive of its observed
        ones, then its missing ones are drawn from their conditional t given
        the observed ones under its cluster's posterior predictive (the
        cluster's mean and covariance integrated out), and all are redrawn
        after the split-merge moves; the partitions' marginal is the posterior
        given the observed entries (see
        :class:`~mixtura.inference.gibbs.MissingClusterState`). The default
        priors use the observed entries (column means; for 'gaussian' the
        covariance of the mean-filled data with the observed variances on its
        diagonal). :meth:`score_samples` takes rows with NaN as well: the
        predictive density of each row's observed entries (0 for a row with
        nothing observed, with a warning). 'em' names the option as the EM
        estimators do; here it is sampled, not EM.
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
    prior_ : NormalWishart or ConjugatePrior
        The conjugate prior used (:mod:`mixtura.priors`); for 'gaussian' the
        sampler integrates out the same distribution as a
        Normal-inverse-Wishart (``prior_.collapsed_prior()``).
    <name>_prior_ : ndarray
        Each parameter of the prior by its name (``mean_prior_``,
        ``mean_precision_prior_``, ``degrees_of_freedom_prior_`` and
        ``covariance_prior_`` (Psi_0) for 'gaussian';
        ``alpha_prior_`` and ``beta_prior_`` for 'bernoulli',
        ``shape_prior_`` and ``rate_prior_`` for 'poisson',
        ``concentration_prior_`` for the Dirichlets).
    n_levels_ : ndarray of shape (n_features,)
        Number of levels of each column ('categorical' only).
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
        "family": [str],
        "n_iter": [Interval(Integral, 1, None, closed="left")],
        "burn_in": [Interval(Integral, 0, None, closed="left"), None],
        "thin": [Interval(Integral, 1, None, closed="left")],
        "alpha": [Interval(Real, 0.0, None, closed="neither")],
        "alpha_prior": [tuple, list, None],
        "prior": [None, dict, ConjugatePrior, NormalWishart],
        "split_merge": [Interval(Integral, 0, None, closed="left")],
        "n_launch_scans": [Interval(Integral, 0, None, closed="left")],
        "missing": [StrOptions({"error", "em"})],
        "random_state": ["random_state", np.random.Generator],
        "progress": ["boolean"],
    }

    def __init__(
        self,
        *,
        family="gaussian",
        n_iter=100,
        burn_in=None,
        thin=1,
        alpha=1.0,
        alpha_prior=None,
        prior=None,
        split_merge=1,
        n_launch_scans=3,
        missing="error",
        random_state=None,
        progress=False,
    ):
        self.family = family
        self.n_iter = n_iter
        self.burn_in = burn_in
        self.thin = thin
        self.alpha = alpha
        self.alpha_prior = alpha_prior
        self.prior = prior
        self.split_merge = split_merge
        self.n_launch_scans = n_launch_scans
        self.missing = missing
        self.random_state = random_state
        self.progress = progress

    # -- fitting --------------------------------------------------------------------
    def fit(self, X, y=None):
        """Sample partitions of ``X`` from the posterior and summarise them.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, one row per sample; infinity is refused, as are NaN
            unless ``missing='em'`` and values outside the family's support (0/1
            for 'bernoulli', non-negative integers for 'poisson', integer codes
            for 'categorical').
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._validate_params()
        X = check_data(
            self, X, reset=True, ensure_min_samples=2, allow_nan=self.missing == "em"
        )
        X = np.asarray(X, dtype=np.float64)
        # the sampler checks the data against the family's support
        prior = self._cluster_prior(X)
        burn_in = self._burn_in()
        result = collapsed_gibbs(
            X,
            prior.collapsed_prior(),
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

    def _cluster_prior(self, X):
        """The clusters' conjugate prior, defaults filled in from the data."""
        template = conjugate_template(self.family, type(self).__name__)
        template.check_data(X)  # a default from data outside the support is none
        prior = resolve_prior(self.prior, template, X)
        prior.check_data(X)
        return prior

    def _set_fitted(self, result, prior):
        self._gibbs = result
        self.prior_ = prior
        for name, value in prior.parameters().items():
            setattr(self, f"{name}_prior_", value)
        if hasattr(prior, "n_levels"):
            self.n_levels_ = prior.n_levels
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

        The predictive density given each saved partition (a mixture of the
        clusters' posterior predictives: Student t's for 'gaussian', products of
        Bernoulli, negative-binomial or categorical probabilities for the
        discrete families; plus the prior predictive weighted by alpha),
        averaged over the saved partitions. For the discrete families it is a
        probability mass.

        With ``missing='em'``, rows may hold NaN: the density is then of each
        row's observed entries (for 'gaussian' the t predictives' marginals on
        the observed coordinates, for the discrete families the products over
        the observed features).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data, in the family's support.

        Returns
        -------
        log_density : ndarray of shape (n_samples,)
            ``log p(x_i | training data)``; 0 for a row with nothing observed.
        """
        check_is_fitted(self)
        X = check_data(self, X, reset=False, allow_nan=self.missing == "em")
        empty = np.isnan(X).all(axis=1)
        if empty.any():
            warnings.warn(
                f"{int(empty.sum())} row(s) have nothing observed (all NaN): their "
                "log density is 0.",
                UserWarning,
                stacklevel=2,
            )
        log_density = log_predictive_density(self._gibbs, X)
        log_density[empty] = 0.0  # the empty product, free of round-off
        return log_density

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


def _rate(counters, kind):
    proposed = counters[f"{kind}_proposed"]
    return counters[f"{kind}_accepted"] / proposed if proposed else float("nan")
