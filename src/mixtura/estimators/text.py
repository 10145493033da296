"""Mixtures for bag-of-words counts (text): multinomial and Dirichlet-multinomial.

Both take dense arrays or scipy.sparse CSR/CSC matrices of term counts (rows are
documents) and keep sparse input sparse through fitting and prediction.
"""

from __future__ import annotations

from numbers import Real

from sklearn.utils._param_validation import Interval, StrOptions

from mixtura.estimators._docstrings import fill_shared_parameters
from mixtura.estimators.base import BaseMixture
from mixtura.families.dirichlet_multinomial import DirichletMultinomial
from mixtura.families.multinomial import Multinomial
from mixtura.mixture import Mixture

__all__ = ["DirichletMultinomialMixture", "MultinomialMixture"]

_SHARED_PARAMETERS_DOC = fill_shared_parameters(
    """
    missing : {'error', 'em'}, default='error'
        NaN counts are an error either way: a row is one document's counts, so
        a missing count leaves the document's length unknown, and the
        multinomial likelihood cannot let it drop out as the per-feature
        families do. ``'em'`` is accepted for a uniform API and refused at
        ``fit`` with that reason. Drop or impute rows with missing counts.
    tol : float, default=1e-3
        EM stops when the mean per-document log-likelihood changes by less than
        this.
    {{shared: max_iter n_init}}
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data'} or \
            array-like of shape (n_samples,), default='kmeans'
        How initial responsibilities are made: the k-means methods cluster the
        L2-normalised rows (cosine similarity; sparse stays sparse), or integer
        labels of the training rows.
    {{shared: random_state warm_start}}
    verbose : int, default=0
        Print progress (1: iterations, 2: also the bound and its change).
    {{shared: verbose_interval callback progress}}
    chunk_size : int, default=None
        Rows processed at a time; None sizes chunks by the stored entries per row.
    {{shared: on_degenerate frozen}}
"""
)


class _CountMixture(BaseMixture):
    """What the text mixtures share: sparse input tags and the EM plumbing."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        # non-negative integers: scikit-learn's checks then draw counts
        tags.input_tags.positive_only = True
        tags.input_tags.categorical = True
        return tags


class MultinomialMixture(_CountMixture):
    """Mixture of multinomials over term counts (text clustering), fitted by EM.

    Each document (row of counts) comes from one of K topics; topic k draws its
    words independently with probabilities ``probabilities_[k]`` (Nigam, McCallum,
    Thrun & Mitchell 2000). scipy.sparse input is used sparse end to end: the
    E-step is one sparse product ``X @ log(theta).T`` per chunk of rows, the
    M-step statistics one product ``X.T @ resp``.

    Parameters
    ----------
    n_components : int, default=1
        Number of mixture components (topics).
    alpha : float, default=1.0
        Additive smoothing of the term probabilities, the MAP estimate under a
        symmetric Dirichlet(1 + alpha) prior: ``theta_kv = (s_kv + alpha) /
        (sum_v s_kv + V alpha)`` with ``s_kv`` the expected counts of term v in
        topic k. 1 is Laplace smoothing; 0 is maximum likelihood (a term a topic
        never saw then rules that topic out for every document that holds it).
    {shared}
    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
        Mixing weights.
    probabilities_ : ndarray of shape (n_components, n_features)
        Term probabilities of each component; rows sum to one.
    lengths_ : ndarray of shape (n_components,)
        Mean document length of each component (used by :meth:`sample`, which
        draws lengths from a Poisson distribution with this mean).
    converged_ : bool
        Whether the best initialisation converged.
    n_iter_ : int
        EM iterations of the best initialisation.
    lower_bound_ : float
        Mean per-document log-likelihood at the last E-step.
    lower_bounds_ : list of float
        That bound at every iteration of the best initialisation.
    n_features_in_ : int
        Number of features (terms) seen in ``fit``.

    Notes
    -----
    The log-likelihood includes each document's multinomial coefficient
    ``log(n! / prod_v x_v!)``, so :meth:`score_samples` equals
    ``scipy.stats.multinomial.logpmf`` of the mixture. Counts must be
    non-negative integers (a :class:`~mixtura.DataValidationError` otherwise).
    All-zero rows (empty documents) are allowed: they carry no information, add
    0 to the log-likelihood and get the mixing weights as responsibilities.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.sparse import csr_matrix
    >>> from mixtura import MultinomialMixture
    >>> X = csr_matrix([[5, 1, 0, 0], [4, 2, 0, 0], [0, 0, 3, 4], [0, 1, 4, 4]])
    >>> model = MultinomialMixture(2, random_state=0).fit(X)
    >>> model.predict(X)[0] != model.predict(X)[2]
    np.True_
    """

    _parameter_constraints: dict = {
        **BaseMixture._parameter_constraints,
        "alpha": [Interval(Real, 0.0, None, closed="left")],
        "missing": [StrOptions({"error", "em"})],
    }

    def __init__(
        self,
        n_components=1,
        *,
        alpha=1.0,
        missing="error",
        tol=1e-3,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        callback=None,
        progress=False,
        chunk_size=None,
        on_degenerate="reseed",
        frozen=None,
    ):
        super().__init__(
            n_components,
            tol=tol,
            max_iter=max_iter,
            n_init=n_init,
            init_params=init_params,
            random_state=random_state,
            warm_start=warm_start,
            verbose=verbose,
            verbose_interval=verbose_interval,
            callback=callback,
            progress=progress,
            chunk_size=chunk_size,
            on_degenerate=on_degenerate,
            frozen=frozen,
        )
        self.alpha = alpha
        self.missing = missing

    def _family_template(self):
        return Multinomial(self.alpha)

    def _set_fitted(self, mixture, dtype):
        self.weights_ = mixture.weights.astype(dtype)
        self.probabilities_ = mixture.family.probabilities.astype(dtype)
        self.lengths_ = mixture.family.lengths.astype(dtype)

    def _mixture_from_attributes(self):
        family = Multinomial(
            self.alpha,
            probabilities=_renormalised(self.probabilities_),
            lengths=self.lengths_,
        )
        return Mixture.from_weights(self.weights_, family)


def _renormalised(probabilities):
    """float64 rows summing to one (float32 storage rounds them slightly)."""
    probabilities = probabilities.astype("float64")
    return probabilities / probabilities.sum(axis=1, keepdims=True)


class DirichletMultinomialMixture(_CountMixture):
    """Mixture of Dirichlet-multinomials (overdispersed, bursty counts), by EM.

    Each document of topic k draws its own term distribution from
    Dirichlet(``concentrations_[k]``) and then its words: the "Dirichlet compound
    multinomial" mixture for text of Madsen, Kauchak & Elkan (2005). Repeated
    words in a document (burstiness) cost less than under a multinomial. The
    M-step is one step of Minka's (2000) fixed-point iteration per EM iteration
    (a generalised EM: the log-likelihood never decreases), started from a
    moment estimate; scipy.sparse input stays sparse.

    Parameters
    ----------
    n_components : int, default=1
        Number of mixture components (topics).
    min_concentration : float, default=1e-6
        Floor of every concentration, so that a term a topic never saw does not
        rule the topic out (each such word costs about ``log(min_concentration)``).
    {shared}
    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
        Mixing weights.
    concentrations_ : ndarray of shape (n_components, n_features)
        Dirichlet parameters alpha_kv of each component; ``concentrations_[k] /
        concentrations_[k].sum()`` are its expected term probabilities, and the
        smaller the sum (the precision), the burstier the documents.
    lengths_ : ndarray of shape (n_components,)
        Mean document length of each component (used by :meth:`sample`).
    converged_ : bool
        Whether the best initialisation converged.
    n_iter_ : int
        EM iterations of the best initialisation.
    lower_bound_ : float
        Mean per-document log-likelihood at the last E-step.
    lower_bounds_ : list of float
        That bound at every iteration of the best initialisation.
    n_features_in_ : int
        Number of features (terms) seen in ``fit``.

    Notes
    -----
    :meth:`score_samples` equals ``scipy.stats.dirichlet_multinomial.logpmf`` of
    the mixture. Counts must be non-negative integers. All-zero rows are allowed:
    they add 0 to the log-likelihood and get the mixing weights as
    responsibilities. One fixed-point step per iteration converges slowly where
    the data are barely overdispersed (the maximum-likelihood precision then
    grows without bound); :class:`MultinomialMixture` is the limit of large
    precisions.
    """

    _parameter_constraints: dict = {
        **BaseMixture._parameter_constraints,
        "min_concentration": [Interval(Real, 0.0, None, closed="neither")],
        "missing": [StrOptions({"error", "em"})],
    }

    def __init__(
        self,
        n_components=1,
        *,
        min_concentration=1e-6,
        missing="error",
        tol=1e-3,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        callback=None,
        progress=False,
        chunk_size=None,
        on_degenerate="reseed",
        frozen=None,
    ):
        super().__init__(
            n_components,
            tol=tol,
            max_iter=max_iter,
            n_init=n_init,
            init_params=init_params,
            random_state=random_state,
            warm_start=warm_start,
            verbose=verbose,
            verbose_interval=verbose_interval,
            callback=callback,
            progress=progress,
            chunk_size=chunk_size,
            on_degenerate=on_degenerate,
            frozen=frozen,
        )
        self.min_concentration = min_concentration
        self.missing = missing

    def _family_template(self):
        return DirichletMultinomial(self.min_concentration)

    def _set_fitted(self, mixture, dtype):
        self.weights_ = mixture.weights.astype(dtype)
        self.concentrations_ = mixture.family.concentrations.astype(dtype)
        self.lengths_ = mixture.family.lengths.astype(dtype)

    def _mixture_from_attributes(self):
        family = DirichletMultinomial(
            self.min_concentration,
            concentrations=self.concentrations_,
            lengths=self.lengths_,
        )
        return Mixture.from_weights(self.weights_, family)


for _estimator in (MultinomialMixture, DirichletMultinomialMixture):
    _estimator.__doc__ = _estimator.__doc__.replace(
        "    {shared}\n", _SHARED_PARAMETERS_DOC.lstrip("\n") + "\n"
    )
