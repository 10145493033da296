"""The conjugate-prior interface: one object serves EM, variational Bayes and Gibbs.

A conjugate prior of a family's parameters is one class. Its parameters are
arrays of shape (n_params,) for a prior (a number broadcasts to every feature)
and (n_components, n_params) for a posterior; :meth:`ConjugatePrior.update`
turns the first into the second given the family's responsibility-weighted
statistics. Every inference scheme reads the same object:

=================  ==============================================================
scheme             what it asks of the prior
=================  ==============================================================
EM (MAP)           :meth:`~ConjugatePrior.mode`: the family's parameters at the
                   posterior mode, from the prior and the statistics
variational Bayes  :meth:`~ConjugatePrior.update`, the posterior expectations
                   that make the E-step linear
                   (:meth:`~ConjugatePrior.expected_natural_parameters`,
                   :meth:`~ConjugatePrior.feature_constants`),
                   :meth:`~ConjugatePrior.kl_divergence` and
                   :meth:`~ConjugatePrior.mean_parameters`
collapsed Gibbs    :meth:`~ConjugatePrior.cluster_features`,
                   :meth:`~ConjugatePrior.log_marginal`,
                   :meth:`~ConjugatePrior.log_predictive` (and its one-row form)
=================  ==============================================================

A family names its prior (``Family.conjugate_prior``) and builds the default one
from the data (``Family.default_prior(X)``); the estimators read those two and
switch on no family name. A prior knows nothing of the families: the data-side
parts of an exponential family (its features T(x) and base measure h(x)) belong
to the family, the parameter-side parts (E[eta], E[A(eta)], the KL) to the prior.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np

from mixtura.exceptions import DataValidationError

__all__ = [
    "ConjugatePrior",
    "PerFeaturePrior",
    "check_parameter_names",
    "check_width",
    "observed_mass",
    "per_feature",
    "positive_vector",
    "row_chunks",
]

#: rows of (clusters x rows x features) temporaries are processed in chunks this big
_CHUNK_ELEMENTS = 2**20


def check_parameter_names(prior_name, values, parameter_names, settings=()):
    """Refuse a key of ``values`` that names no parameter (nor setting) of a prior.

    Parameters
    ----------
    prior_name : str
        The prior's class name, for the message.
    values : dict
        Parameters given by the user.
    parameter_names : tuple of str
    settings : iterable of str, default=()
        Other accepted keys (e.g. the categorical's ``n_levels``).
    """
    unknown = sorted(set(values) - set(parameter_names) - set(settings))
    if unknown:
        raise ValueError(
            f"{prior_name} has no parameter {unknown[0]!r}; its parameters are "
            f"{list(parameter_names)}."
        )


def positive_vector(value, n_features, name):
    """``value`` broadcast to a finite positive float64 vector of n_features.

    Parameters
    ----------
    value : float or array-like of shape (n_features,)
        A number applies to every feature.
    n_features : int
        Length of the vector.
    name : str
        What the error messages call the value.

    Returns
    -------
    ndarray of shape (n_features,)
    """
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be positive numbers; got {value!r}.") from exc
    if array.ndim > 1 or (array.ndim == 1 and array.shape[0] != n_features):
        raise ValueError(
            f"{name} must be a number or an array of shape ({n_features},) "
            f"(one per feature); got shape {array.shape}."
        )
    if not (np.isfinite(array).all() and (array > 0).all()):
        raise ValueError(f"{name} must be finite and > 0; got {value!r}.")
    return np.broadcast_to(array, (n_features,)).copy()


def non_negative(array, name):
    """``array`` as float64, refusing NaN, inf and negative values."""
    array = np.asarray(array, dtype=np.float64)
    if not (np.isfinite(array).all() and (array >= 0).all()):
        raise ValueError(f"{name} must be finite and >= 0.")
    return array


def per_feature(counts):
    """Cluster sizes as a column (n_clusters, 1), or per-feature counts as given.

    With complete rows every feature of a cluster has seen its ``n`` points; with
    missing entries feature j has seen only the ``n_j`` points observing it.
    """
    n = np.asarray(counts, dtype=np.float64)
    return n[:, None] if n.ndim == 1 else n


def row_chunks(n_rows, n_clusters, n_features):
    """Slices of rows that keep (clusters x rows x features) temporaries small."""
    step = max(1, _CHUNK_ELEMENTS // max(1, n_clusters * n_features))
    for start in range(0, n_rows, step):
        yield slice(start, min(start + step, n_rows))


def observed_mass(stats):
    """Responsibility mass each feature was observed with, shape (K, d).

    ``stats.observed`` when rows had missing entries, else ``resp_sum``
    repeated for every feature.
    """
    observed = stats.sums.get("observed")
    if observed is None:
        return np.repeat(stats.resp_sum[:, None], stats.sum_x.shape[1], axis=1)
    return observed


def check_width(X, n_features):
    """Refuse data whose number of columns is not the prior's."""
    if X.ndim != 2 or X.shape[1] != n_features:
        raise DataValidationError(
            f"X must have shape (n_samples, {n_features}); got {X.shape}."
        )


class ConjugatePrior(ABC):
    """A conjugate prior (or, with a leading K axis, the posterior) of a family.

    Subclasses are frozen dataclasses whose fields are the parameter arrays
    (``parameter_names``); see the module docstring for the three schemes'
    methods.
    """

    #: the names of the parameter arrays (fields), prior and posterior alike
    parameter_names: ClassVar[tuple]

    #: whether the variational E-step drops missing entries (NaN) of a row
    supports_missing: ClassVar[bool] = True

    @property
    def n_components(self):
        """Number of components (posterior) or 1 (prior)."""
        first = getattr(self, self.parameter_names[0])
        return 1 if first.ndim <= 1 else first.shape[0]

    @property
    def n_features(self):
        """Number of features (data columns)."""
        return getattr(self, self.parameter_names[0]).shape[-1]

    def parameters(self):
        """The parameter arrays by name.

        Returns
        -------
        parameters : dict of str to ndarray
            Shapes (n_params,) for a prior, (n_components, n_params) for a
            posterior.
        """
        return {name: getattr(self, name) for name in self.parameter_names}

    def replaced(self, values):
        """This prior with some parameters replaced, each checked and broadcast.

        Parameters
        ----------
        values : dict of str to float or array-like
            New values of some of ``parameter_names`` (a number broadcasts to
            every feature).

        Returns
        -------
        ConjugatePrior
            Of the same class.
        """
        check_parameter_names(
            type(self).__name__, values, self.parameter_names, self.settings()
        )
        changed = dataclasses.replace(self, **values)
        return changed.checked_against(self)

    def settings(self):
        """Names of fields that are not parameter arrays (e.g. the levels)."""
        return set()

    def checked_against(self, default):
        """This prior with every parameter checked and shaped like ``default``'s.

        Parameters
        ----------
        default : ConjugatePrior
            A prior of the same class whose shapes are right for the data.

        Returns
        -------
        ConjugatePrior
        """
        checked = {
            name: positive_vector(
                getattr(self, name), getattr(default, name).shape[-1], name
            )
            for name in self.parameter_names
        }
        return dataclasses.replace(self, **checked)

    def select(self, components):
        """The posterior of some components only.

        Parameters
        ----------
        components : array-like of int
            Indices of the components to keep.

        Returns
        -------
        posterior : ConjugatePrior
        """
        return dataclasses.replace(
            self,
            **{name: getattr(self, name)[components] for name in self.parameter_names},
        )

    # -- every scheme ---------------------------------------------------------
    @abstractmethod
    def update(self, stats):
        """The posterior of every component: this prior plus the statistics.

        Parameters
        ----------
        stats : LinearStats
            Responsibility-weighted statistics of the family.

        Returns
        -------
        posterior : ConjugatePrior
            Of the same class, parameters of shape (n_components, n_params).
        """

    # -- EM -------------------------------------------------------------------
    @abstractmethod
    def mode(self, stats):
        """The family's parameters at the posterior mode (the MAP M-step).

        Parameters
        ----------
        stats : LinearStats
            Responsibility-weighted statistics of the family.

        Returns
        -------
        parameters : dict of str to ndarray
            Keyword arguments of the family's constructor, shapes
            (n_components, ...); a component with no mass gets a fixed
            fallback where the mode is undefined.
        """

    # -- variational Bayes ----------------------------------------------------
    @abstractmethod
    def expected_natural_parameters(self):
        """The posterior expectations that make the E-step linear.

        Returns
        -------
        coefficients : ndarray of shape (n_features_expanded, n_components)
            ``E[eta_k]``, multiplied by the rows' features.
        constants : ndarray of shape (n_components,)
            The per-component terms, ``-E[A(eta_k)]``.
        """

    def feature_constants(self):
        """Per-feature terms of the constants, (K, n_features), or None.

        The constants of :meth:`expected_natural_parameters` are sums over the
        features (e.g. ``sum_j E[log(1 - theta_kj)]``); a row with a missing
        entry keeps only its observed features' terms. None when the constants
        are zero (the categorical's one-hot features already drop out).
        """
        return None

    def expected_log_likelihood(self, template):
        """The variational E-step's family and per-component constants.

        Parameters
        ----------
        template : Family
            The family the prior is conjugate to, without parameters.

        Returns
        -------
        family : Family
            Its ``log_prob`` gives ``E_q[log p(x_i | theta_k)]`` less the
            constants: here the linear form
            (:class:`~mixtura.priors.expectation.ExpectedLogLikelihood`), whose
            constants are already inside.
        constants : ndarray of shape (n_components,)
            Added to the log weights (zeros here).
        """
        # deferred: the expectation is a family, and families import the priors
        from mixtura.priors.expectation import ExpectedLogLikelihood

        family = ExpectedLogLikelihood(self, template)
        return family, np.zeros(family.n_components)

    @abstractmethod
    def kl_divergence(self, prior):
        """KL(q(theta_k) || p(theta_k)) of every component, in closed form.

        Parameters
        ----------
        prior : ConjugatePrior
            The prior, of the same class.

        Returns
        -------
        kl : ndarray of shape (n_components,)
        """

    @abstractmethod
    def mean_parameters(self):
        """The family's parameters at the posterior means.

        Returns
        -------
        parameters : dict of str to ndarray
            Keyword arguments of the family's constructor.
        """

    # -- collapsed Gibbs ------------------------------------------------------
    def check_data(self, X):
        """Refuse data outside the family's support (NaN passes), or return X."""
        check_width(X, self.n_features)
        return X

    def collapsed_prior(self):
        """The prior the collapsed Gibbs sampler integrates out: this one."""
        return self

    @abstractmethod
    def cluster_features(self, X):
        """Per-point sufficient statistics whose sums summarise a cluster.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            NaN for a missing entry (its features are zero).

        Returns
        -------
        ndarray of shape (n_samples, n_statistics)
        """

    @abstractmethod
    def log_marginal(self, counts, sums):
        """Log marginal likelihood of clusters' data, the parameters integrated out.

        Parameters
        ----------
        counts : ndarray of shape (n_clusters,) or (n_clusters, n_features)
            Points in each cluster, or points observing each feature.
        sums : ndarray of shape (n_clusters, n_statistics)
            Sums of :meth:`cluster_features` over each cluster's points.

        Returns
        -------
        ndarray of shape (n_clusters,)
        """

    @abstractmethod
    def log_predictive(self, X, counts, sums):
        """Log posterior predictive of each row given each cluster's data.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            Rows; a missing entry (NaN) drops out of its row's product.
        counts : ndarray of shape (n_clusters,) or (n_clusters, n_features)
            Points in each cluster (0: the prior predictive), or points
            observing each feature.
        sums : ndarray of shape (n_clusters, n_statistics)
            Sums of :meth:`cluster_features` over each cluster's points.

        Returns
        -------
        ndarray of shape (n_clusters, n_samples)
        """

    def log_predictive_one(self, x, counts, sums, observed=None):
        """Log posterior predictive of one row given each cluster (the hot path).

        The same value as ``log_predictive(x[None], counts, sums)[:, 0]``;
        priors override it with fewer array operations.

        Parameters
        ----------
        x : ndarray of shape (n_features,)
            One row, with no NaN (any value where ``observed`` is False).
        counts : ndarray of shape (n_clusters,) or (n_clusters, n_features)
            Points in each cluster, or points observing each feature.
        sums : ndarray of shape (n_clusters, n_statistics)
            Sums of :meth:`cluster_features` over each cluster's points.
        observed : ndarray of bool of shape (n_features,), default=None
            The row's observed features, the only ones in the product (None:
            all).

        Returns
        -------
        ndarray of shape (n_clusters,)
        """
        row = np.array(x, dtype=np.float64)
        if observed is not None:
            row[~observed] = np.nan
        return self.log_predictive(row[None], counts, sums)[:, 0]


class PerFeaturePrior(ConjugatePrior):
    """A conjugate prior whose parameters are non-negative arrays per feature.

    A dataclass subclass lists its parameters, in constructor order, in
    ``parameter_names``; construction checks each is finite and >= 0, and
    :meth:`checked` builds the prior from user values (numbers or one value per
    feature), each positive.
    """

    def __post_init__(self):
        for name in self.parameter_names:
            object.__setattr__(self, name, non_negative(getattr(self, name), name))

    @classmethod
    def checked(cls, *values_and_width):
        """The prior with every parameter positive and one value per feature.

        Parameters
        ----------
        *values_and_width : float or array-like of shape (n_features,), then int
            The parameters' values in ``parameter_names`` order (> 0; a number
            applies to every feature), then the number of features d.

        Returns
        -------
        PerFeaturePrior
            Parameters of shape (n_features,).
        """
        *values, n_features = values_and_width
        return cls(
            *(
                positive_vector(value, n_features, name)
                for value, name in zip(values, cls.parameter_names, strict=True)
            )
        )
