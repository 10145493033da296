"""The variational E-step of a conjugate exponential family: one matrix product.

Under a conjugate prior of an exponential family, ``E_q[log p(x | theta_k)]`` is
linear in the family's features: ``T(x) @ E[eta_k] + c_k + log h(x)`` with, e.g.,
``E[log theta] = psi(a) - psi(a + b)`` under a Beta.
:class:`ExpectedLogLikelihood` exposes it as a family-like object with
``log_prob`` and ``statistics``, so the data seam
(:func:`~mixtura.inference.data.accumulate`) and its chunking, sparse input
included, serve variational inference unchanged.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import issparse

from mixtura.backend import get_namespace, to_namespace
from mixtura.families.base import Family, split_missing

__all__ = ["ExpectedLogLikelihood"]


class ExpectedLogLikelihood(Family):
    """``E_q[log p(x_i | theta_k)]`` of every row under every component.

    A family for the E-step only: ``log_prob`` gives the (n, K) expectations, one
    matrix product of the rows' features with the posterior's expected natural
    parameters; ``statistics`` and the base measure are the family's own, so
    :func:`accumulate` works unchanged (and caches the base measure once per
    fit, as for EM). It has no parameters of its own to maximise, sample or
    save (those methods raise NotImplementedError): the M-step is the prior's
    ``update``.

    Parameters
    ----------
    posterior : ConjugatePrior
        A posterior (parameters with a leading K axis).
    template : Family
        The family the prior is conjugate to, without parameters.
    """

    name = "expected_log_likelihood"

    def __init__(self, posterior, template):
        self.posterior = posterior
        self.template = template
        # cached once per iteration, as the families cache their log-parameters
        self._coefficients, self._constants = posterior.expected_natural_parameters()

    @property
    def n_components(self):
        """Number of components K."""
        return self._constants.shape[0]

    @property
    def n_features(self):
        """Number of columns of the data."""
        return self.posterior.n_features

    def log_kernel(self, X):
        """``T(x) @ E[eta_k] + c_k``: the expectation less ``log h(x)``, (n, K)."""
        per_feature = self.posterior.feature_constants()
        observed = None
        if per_feature is not None and not issparse(X):
            X, observed = split_missing(X)  # NaN -> 0, and the observed mask
        linear = self.template.expected_linear_term(X, self._coefficients)
        if observed is None:
            # complete rows, or features that drop a missing entry themselves
            # (one-hot codes: a NaN code has no level)
            return linear + to_namespace(self._constants, linear)[None, :]
        # a missing entry's constant term drops out with it
        constants = np.ascontiguousarray(per_feature.T)
        return linear + get_namespace(linear).matmul(
            observed, to_namespace(constants, linear)
        )

    def log_base_measure(self, X):
        """The family's ``log h(x)`` (see :meth:`Family.log_base_measure`)."""
        return self.template.log_base_measure(X)

    def base_measure_key(self):
        """The family's key: the data seam's cached base measure is shared."""
        return self.template.base_measure_key()

    def log_prob(self, X):
        """Expected log-likelihood of every row under every component.

        Parameters
        ----------
        X : array or scipy.sparse matrix of shape (n_samples, n_features)
            Data.

        Returns
        -------
        expected : array of shape (n_samples, n_components)
            ``E_q[log p(x_i | theta_k)]``.
        """
        kernel = self.log_kernel(X)
        base = self.log_base_measure(X)
        if base is None:
            return kernel
        return kernel + to_namespace(base, kernel)[:, None]

    def chunk_row_values(self, n_features, n_components):
        """The family's per-row temporaries (see :meth:`Family.chunk_row_values`)."""
        return self.template.chunk_row_values(n_features, n_components)

    def statistics(self, X, resp, sample_weight=None):
        """The family's statistics (see :meth:`Family.statistics`).

        Parameters
        ----------
        X : array or scipy.sparse matrix of shape (n_samples, n_features)
            Data.
        resp : array of shape (n_samples, n_components)
            Responsibilities.
        sample_weight : array of shape (n_samples,) or None
            Weights of the rows.

        Returns
        -------
        stats : Stats
        """
        return self.template.statistics(X, resp, sample_weight)

    def _not_a_model(self, *args, **kwargs):
        raise NotImplementedError(
            "ExpectedLogLikelihood serves the variational E-step only; use the "
            "posterior's update (M-step) or its mean family (sampling, saving)."
        )

    maximize = sample = n_parameters = config = arrays = _not_a_model
    from_arrays = classmethod(_not_a_model)

    def __repr__(self):
        return (
            f"ExpectedLogLikelihood({self.template.name}, "
            f"n_components={self.n_components})"
        )
