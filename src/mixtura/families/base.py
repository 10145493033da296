"""The family interface: one distribution, K components batched on the leading axis."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np

from mixtura.backend import get_namespace, to_namespace
from mixtura.stats import Stats

__all__ = ["Family", "fill_column_means", "product_row_values", "split_missing"]


def split_missing(X):
    """Separate the missing entries (NaN) of ``X`` from the observed ones.

    Families that model features independently handle a missing entry by
    dropping it from the row's likelihood and statistics: they compute with the
    NaN replaced by 0 and multiply the terms that do not involve ``x`` by the
    observed-entry mask.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        Data (any array-API namespace), NaN for missing entries.

    Returns
    -------
    filled : array of shape (n_samples, n_features)
        ``X`` with NaN replaced by 0 (``X`` itself when nothing is missing).
    observed : array of shape (n_samples, n_features) or None
        1.0 where an entry is observed, 0.0 where it is missing, in X's dtype;
        None when nothing is missing (the caller's fast path).
    """
    xp = get_namespace(X)
    if not xp.isdtype(X.dtype, "real floating"):
        return X, None
    # a sum is NaN when an entry is (one pass, no (n, d) mask); a NaN sum
    # without NaN entries (inf - inf) only costs the exact test below
    if not bool(xp.isnan(xp.sum(X))):
        return X, None
    missing = xp.isnan(X)
    if not bool(xp.any(missing)):
        return X, None
    filled = xp.where(missing, xp.zeros_like(X), X)
    return filled, xp.astype(~missing, X.dtype)


def product_row_values(n_values, n_components):
    """Per-row temporaries of a family whose E-step is one matrix product.

    The row's ``n_values`` features as the product takes them (NaN filled, or
    one-hot indicators), and four K-vectors: the log densities, their
    component-major copy for the posterior, the responsibilities and their
    weighted copy. No (K, d) values, so chunks can be many times longer than a
    Gaussian's (see :meth:`Family.chunk_row_values`).

    Parameters
    ----------
    n_values : int
    n_components : int

    Returns
    -------
    n_values : int
    """
    return n_values + 4 * n_components


def fill_column_means(features):
    """Replace NaN by the mean of the column's observed entries (for k-means).

    Parameters
    ----------
    features : ndarray of shape (n_samples, n_features)
        Features, possibly with NaN.

    Returns
    -------
    features : ndarray of shape (n_samples, n_features)
        The same array when nothing is missing, else a filled copy; a column
        with nothing observed is filled with 0.
    """
    if not isinstance(features, np.ndarray) or features.dtype.kind != "f":
        return features
    # a NaN makes the total NaN: no (n, d) mask unless something is missing
    if not np.isnan(features.sum(dtype=np.float64)):
        return features
    missing = np.isnan(features)
    if not missing.any():
        return features
    observed = (~missing).sum(axis=0)
    totals = np.where(missing, 0.0, features).sum(axis=0)
    means = np.divide(totals, observed, out=np.zeros_like(totals), where=observed > 0)
    return np.where(missing, means, features)


class Family(ABC):
    """A batch of K component distributions of one kind.

    A family is a value: its configuration (e.g. the covariance structure) and, once
    estimated, its parameters, every one with ``n_components`` on the leading axis.
    It holds no fitting state and knows nothing of estimators or inference: the
    E-step calls :meth:`log_prob` and :meth:`statistics`, the M-step
    :meth:`maximize`.

    A family without parameters (a *template*) can compute statistics and maximize
    them, which is how initial parameters are made from initial responsibilities.
    """

    #: registry name, as used by ``MixtureModel(family=...)``, the CLI and model files
    name: ClassVar[str]

    #: whether the family models a response given inputs (an expert of a
    #: mixture of regressions, :mod:`mixtura.families.conditional`): its rows
    #: are (x, y) pairs, so only the regression estimators fit it
    conditional: ClassVar[bool] = False

    #: whether statistics are valid only for the parameters they were computed
    #: at (a generalised EM step, e.g. the Dirichlet-multinomial's fixed point):
    #: chunks of one iteration still add up, but online EM cannot blend them
    statistics_depend_on_parameters: ClassVar[bool] = False

    #: whether log_prob and statistics handle NaN entries as missing values
    #: (``missing='em'`` in the estimators)
    supports_missing: ClassVar[bool] = False

    #: why ``missing='em'`` is refused, for families that do not support it
    missing_unsupported_reason: ClassVar[str] = ""

    #: whether the family takes scipy.sparse input (CSR/CSC) as it is; estimators
    #: then let sparse data through validation instead of refusing it
    accepts_sparse: ClassVar[bool] = False

    #: the conjugate prior class of the parameters (:mod:`mixtura.priors`), or
    #: None; it gives the family EM with MAP, variational Bayes
    #: (``BayesianMixture``) and collapsed Gibbs (``DirichletProcessMixture``)
    conjugate_prior: ClassVar[type | None] = None

    def default_prior(self, X):
        """The conjugate prior that the Bayesian estimators use by default.

        Data-dependent where a flat prior would be improper or badly scaled
        (e.g. a Gamma prior whose mean is each feature's mean count).

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            The validated training data (NaN where missing).

        Returns
        -------
        prior : ConjugatePrior
            An instance of :attr:`conjugate_prior`, parameters of shape
            (n_params,).
        """
        raise NotImplementedError(
            f"the {self.name!r} family has no conjugate prior here"
        )

    def with_parameters(self, **parameters):
        """This family's settings with the given parameter arrays.

        Builds a family from what a conjugate prior's ``mode`` or
        ``mean_parameters`` returns.

        Parameters
        ----------
        **parameters : ndarray
            Keyword arguments of the family's constructor (e.g.
            ``probabilities``), n_components on the leading axis.

        Returns
        -------
        Family
        """
        return type(self)(**self.config(), **parameters)

    def expected_linear_term(self, X, coefficients):
        """``T(X) @ coefficients`` for the variational E-step, shape (n, K).

        The family's sufficient statistics T(x) of each row (the data itself
        by default) times the posterior's expected natural parameters.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            Data, missing entries (NaN) already filled with 0.
        coefficients : ndarray of shape (n_statistics, n_components)

        Returns
        -------
        array of shape (n_samples, n_components)
        """
        xp = get_namespace(X)
        return xp.matmul(X, to_namespace(coefficients, X))

    def parameter_groups(self):
        """Parameter names, each with the arrays that are frozen with it.

        What ``frozen=`` may name (:mod:`mixtura.inference.frozen`): by
        default every array of :meth:`arrays` alone; families whose arrays
        describe one parameter twice (a covariance and its precision factor)
        group them, so that frozen ones stay consistent.

        Returns
        -------
        groups : dict of str to tuple of str
        """
        return {name: (name,) for name in self.arrays()}

    def component_parameters(self):
        """The names of :meth:`parameter_groups` that may be frozen per component.

        All of them by default; a parameter shared by the components, or
        constrained across them (a tied covariance, most of mclust's
        models), is frozen whole only.

        Returns
        -------
        names : set of str
        """
        return set(self.parameter_groups())

    def maximize_given(self, stats, fixed):
        """The M-step of the free parameters given frozen ones.

        The conditional maximisation (an ECM step, Meng & Rubin 1993) where a
        free parameter's M-step depends on a frozen one (a Gaussian's scatter
        about frozen means, a gamma's rate given a frozen shape); the frozen
        values themselves are put back by the caller
        (:mod:`mixtura.inference.frozen`). The default is :meth:`maximize`:
        the free parameters' M-step does not depend on the frozen ones.

        Parameters
        ----------
        stats : Stats
        fixed : dict of str to (ndarray or None, ndarray)
            Frozen array name -> (frozen components or None for all, value).

        Returns
        -------
        family : Family
        """
        return self.maximize(stats)

    def regularized(self, X):
        """A template like this one with a ten times stronger regularisation.

        The fit loop's recovery from a collapsed component
        (``on_degenerate='regularize'``, :mod:`mixtura.inference.degenerate`)
        redoes the M-step with it. None (the default) where the family has no
        regularisation to strengthen; the recovery then removes the component.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            The fit's in-memory rows, for a regularisation on their scale.

        Returns
        -------
        template : Family or None
        """
        return None

    def check_data(self, X):
        """Check that ``X`` lies in the family's support; return it (converted).

        Called by the estimators on validated numeric 2-D data. The default
        accepts any finite real values; count and binary families refuse what
        they cannot model, with a :class:`~mixtura.DataValidationError` that
        says what was wrong.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            Data.

        Returns
        -------
        X : array of shape (n_samples, n_features)
            The data, possibly converted (e.g. to a sparse format).
        """
        return X

    def chunk_row_values(self, n_features, n_components):
        """Temporary values per row that one chunk's E-step and statistics hold.

        Sizes the chunks (:func:`mixtura.inference.data.default_chunk_size`):
        by default a row's K log densities and responsibilities and its (K, d)
        whitened coordinates, where a family forms them.

        Parameters
        ----------
        n_features : int
            Values per row of the data (stored entries, for sparse rows).
        n_components : int

        Returns
        -------
        n_values : int
        """
        return n_components * (n_features + 2)

    def init_features(self, X):
        """Features on which k-means-style initialisation clusters the rows.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            Data.

        Returns
        -------
        features : ndarray of shape (n_samples, n_features_transformed)
            The data itself by default; count families return a transform
            (e.g. normalised or log counts) on which Euclidean k-means is sensible.
            Missing entries (NaN) are filled with their column's mean.
        """
        return fill_column_means(X)

    @property
    @abstractmethod
    def n_components(self) -> int:
        """Number of components K."""

    @property
    @abstractmethod
    def n_features(self) -> int:
        """Number of features d of one sample."""

    @abstractmethod
    def log_prob(self, X):
        """Log density of every sample under every component.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)

        Returns
        -------
        log_prob : array of shape (n_samples, n_components)
        """

    def log_base_measure(self, X):
        """The data-only part of the log density, the same for every component.

        Where ``log p(x | k) = log h(x) + log kernel(x, k)`` (``log x!`` of a
        Poisson, the multinomial coefficient of counts), responsibilities do
        not depend on ``h``, and its weighted sum over a data set is the same
        in every EM iteration: the data seam computes it once per fit and the
        E-step uses :meth:`log_kernel`.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)

        Returns
        -------
        log_h : ndarray of shape (n_samples,) or None
            None (the default) when the family has no such term to set apart.
        """
        return None

    def log_kernel(self, X):
        """:meth:`log_prob` less :meth:`log_base_measure`, shape (n_samples, K).

        The default (no base measure) is :meth:`log_prob` itself.
        """
        return self.log_prob(X)

    def base_measure_key(self):
        """What the base measure depends on besides the data (a hashable value).

        Data sets cache their summed base measure under it. The default, the
        family's class, suits families whose ``h`` has no settings; a product
        of families adds its layout.
        """
        return type(self)

    @abstractmethod
    def statistics(self, X, resp, sample_weight=None) -> Stats:
        """Responsibility-weighted sufficient statistics.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        resp : array of shape (n_samples, n_components)
            Responsibilities (rows sum to one) or any non-negative weights.
        sample_weight : array of shape (n_samples,) or None

        Returns
        -------
        stats : Stats
        """

    def fused_statistics(self, X, log_weights, sample_weight=None):
        """E-step and statistics of one chunk in a single pass, where it pays.

        Families whose log densities and statistics share work (e.g. the
        Gaussian's pairwise feature products) override this; the default
        returns None and the mixture composes :meth:`log_prob`, the posterior
        and :meth:`statistics`.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        log_weights : ndarray of shape (n_components,)
            Log mixing weights (possibly unnormalised).
        sample_weight : array of shape (n_samples,) or None

        Returns
        -------
        result : tuple (Stats, float) or None
            The statistics and ``sum_i w_i log p(x_i)``, or None.
        """
        return None

    def lean_em(self, X, n_components, sample_weight=None):
        """An EM stepper for in-memory rows that skips per-iteration objects.

        Families with one (the Gaussian, :mod:`mixtura.families.gaussian_lean`)
        return an object with ``step(state, data) -> (state, bound)``, the fit
        loop's step signature (the first state is a
        :class:`~mixtura.mixture.Mixture`), and ``finish(state) ->
        (log_weights, family)`` for the last state; the fit then works on
        plain parameter arrays and builds the family once, at the end. It
        also gives ``statistics(resp)`` (the initialisation's) and
        ``log_posterior(state) -> (log_resp, log_density)`` of its rows (a
        fitted mixture's, for criteria such as ICL). The default, None, keeps
        the chunked path (the reference).

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            All the rows of the fit, validated.
        n_components : int
        sample_weight : ndarray of shape (n_samples,) or None

        Returns
        -------
        stepper : object or None
            None also where this data (dtype, size, holes) is not served.
        """
        return None

    def fused_group_statistics(self, chunks, log_weights):
        """E-step and statistics of consecutive chunks, summed, where it pays.

        Families that can add up a cheaper form of their statistics over
        several chunks before assembling them (e.g. the Gaussian's raw
        moments) override this; the default returns None and the mixture goes
        chunk by chunk (:meth:`fused_statistics`).

        Parameters
        ----------
        chunks : sequence of (array of shape (rows, n_features), weights or None)
            Consecutive chunks of rows with their sample weights.
        log_weights : ndarray of shape (n_components,)
            Log mixing weights (possibly unnormalised).

        Returns
        -------
        result : tuple (Stats, float) or None
            The chunks' statistics and ``sum_i w_i log p(x_i)``, or None.
        """
        return None

    @abstractmethod
    def maximize(self, stats: Stats) -> Family:
        """M-step: a family of the same configuration fitted to ``stats``."""

    @abstractmethod
    def sample(self, labels, random_state: np.random.RandomState):
        """Draw one sample from component ``labels[i]`` for each i.

        Parameters
        ----------
        labels : ndarray of shape (n_samples,)
        random_state : RandomState

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        """

    @abstractmethod
    def n_parameters(self) -> int:
        """Number of free parameters of the components (weights excluded)."""

    @abstractmethod
    def config(self) -> dict:
        """JSON-serialisable configuration, for model files."""

    @abstractmethod
    def arrays(self) -> dict[str, np.ndarray]:
        """Parameter arrays by name, for model files."""

    @classmethod
    @abstractmethod
    def from_arrays(cls, config: dict, arrays: dict[str, np.ndarray]) -> Family:
        """Rebuild a family from :meth:`config` and :meth:`arrays` (validated)."""
