"""Independent Bernoulli components: binary features, latent class analysis."""

from __future__ import annotations

import numpy as np
import scipy.sparse

from mixtura._validation import column_label
from mixtura.backend import get_namespace, to_namespace, to_numpy
from mixtura.exceptions import DataValidationError, ModelFileError
from mixtura.families.base import Family, product_row_values, split_missing
from mixtura.priors.beta import Beta
from mixtura.stats import LinearStats

__all__ = ["Bernoulli", "observed_mass", "observed_sums", "weighted_sums"]

#: Probabilities are kept in [EPSILON, 1 - EPSILON], so that log p and log(1 - p)
#: stay finite when a component's maximum-likelihood estimate is exactly 0 or 1 (a
#: "boundary solution", common in latent class analysis). The log-likelihood changes
#: by at most about n_samples * EPSILON, far below any fitting tolerance.
EPSILON = 1e-10


def weighted_sums(X, resp, sample_weight=None):
    """Responsibility sums and responsibility-weighted feature sums, in float64.

    The statistics of every family whose M-step needs only ``sum_i r_ik x_i``:
    one matrix product ``resp.T @ X``.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        Data (any array-API namespace).
    resp : array of shape (n_samples, n_components)
        Responsibilities.
    sample_weight : array of shape (n_samples,) or None
        Weights of the samples.

    Returns
    -------
    resp_sum : ndarray of shape (n_components,)
        ``sum_i w_i r_ik``.
    sum_x : ndarray of shape (n_components, n_features)
        ``sum_i w_i r_ik x_i``.
    """
    xp = get_namespace(X, resp)
    weighted = resp if sample_weight is None else resp * sample_weight[:, None]
    resp_sum = xp.sum(weighted, axis=0)
    sum_x = xp.matmul(xp.permute_dims(weighted, (1, 0)), X)
    return (
        to_numpy(resp_sum).astype(np.float64),
        to_numpy(sum_x).astype(np.float64),
    )


def observed_sums(X, resp, sample_weight=None):
    """Weighted sums of the observed entries, for families with missing values.

    A missing entry (NaN) drops out of its row's statistics: the sums run over
    the observed entries only, and ``observed[k, j]`` is the responsibility mass
    that observed feature j (the M-step's denominator instead of ``resp_sum``).

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        Data, NaN for missing entries.
    resp : array of shape (n_samples, n_components)
        Responsibilities.
    sample_weight : array of shape (n_samples,) or None
        Weights of the samples.

    Returns
    -------
    stats : LinearStats
        ``resp_sum`` (K,), ``sum_x`` (K, d) and ``observed`` (K, d), float64.
    """
    filled, observed = split_missing(X)
    resp_sum, sum_x = weighted_sums(filled, resp, sample_weight)
    if observed is None:  # every entry observed: the mass is resp_sum per feature
        mass = np.repeat(resp_sum[:, None], sum_x.shape[1], axis=1)
    else:
        mass = weighted_sums(observed, resp, sample_weight)[1]
    return LinearStats(resp_sum, sum_x=sum_x, observed=mass)


def observed_mass(stats):
    """``stats.observed`` (K, d), or ``resp_sum`` per feature for older statistics."""
    observed = stats.sums.get("observed")
    if observed is None:
        return np.repeat(stats.resp_sum[:, None], stats.sum_x.shape[1], axis=1)
    return observed


def _check_sparse_binary(X):
    """The checks of :meth:`Bernoulli.check_data` on a sparse matrix's stored values."""
    X = scipy.sparse.csr_matrix(X)
    values = X.data
    bad = (values != 0) & (values != 1)
    if np.any(bad):
        first = int(np.flatnonzero(bad)[0])
        column, value = int(X.indices[first]), float(values[first])
        raise DataValidationError(
            f"Bernoulli mixtures need binary data (0 or 1), but {column_label(column)} "
            f"of the sparse matrix stores {value:g} ({int(np.sum(bad))} such stored "
            "value(s) in all). Recode the stored values to 1 (e.g. X.data[:] = 1, "
            "or binarize=threshold), or use another mixture for counts. A sparse "
            "matrix cannot mark missing entries: NaN is refused too."
        )
    return X


def _sparse_sums(X, resp, sample_weight=None):
    """:func:`observed_sums` of a sparse ``X`` (every entry observed).

    Parameters
    ----------
    X : scipy.sparse matrix of shape (n_samples, n_features)
    resp : ndarray of shape (n_samples, n_components)
    sample_weight : ndarray of shape (n_samples,) or None

    Returns
    -------
    stats : LinearStats
        ``resp_sum`` (K,), ``sum_x`` (K, d) from one sparse product ``X.T @
        resp``, and ``observed`` (K, d), ``resp_sum`` per feature.
    """
    weighted = np.asarray(resp, dtype=np.float64)
    if sample_weight is not None:
        weighted = weighted * np.asarray(sample_weight, dtype=np.float64)[:, None]
    resp_sum = weighted.sum(axis=0)
    sum_x = np.ascontiguousarray(np.asarray(X.T @ weighted, dtype=np.float64).T)
    mass = np.repeat(resp_sum[:, None], X.shape[1], axis=1)
    return LinearStats(resp_sum, sum_x=sum_x, observed=mass)


def check_probabilities(probabilities, what="probabilities"):
    """Return ``probabilities`` as a float64 (K, d) array in [0, 1], or raise."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim != 2:
        raise ValueError(
            f"{what} must be 2-D (n_components, n_features); got "
            f"shape {probabilities.shape}"
        )
    if not np.all((probabilities >= 0) & (probabilities <= 1)):
        raise ValueError(f"{what} must lie in [0, 1]")
    return probabilities


class Bernoulli(Family):
    """Components of independent Bernoulli features, x_j ~ Bernoulli(p_kj).

    The latent class model for binary items (Lazarsfeld & Henry 1968; Goodman
    1974). log p(x | k) = sum_j x_j log p_kj + (1 - x_j) log(1 - p_kj), so the
    E-step for all components is one matrix product,
    ``X @ logit(p).T + sum_j log(1 - p_kj)``.

    scipy.sparse input (CSR/CSC, binary stored values) stays sparse: that product
    and the statistics ``resp.T @ X`` are sparse products over the stored
    entries; a sparse matrix has no missing entries.

    Parameters
    ----------
    alpha, beta : float, default=1.0
        Beta(alpha, beta) prior on every probability; the M-step returns its
        posterior mode (MAP), ``(s + alpha - 1) / (n + alpha + beta - 2)``.
        ``alpha = beta = 1`` (a flat prior) is maximum likelihood; both must be
        at least 1, so that the mode exists.
    probabilities : array-like of shape (n_components, n_features), optional
        P(x_j = 1 | component k); omitted for a template. Clipped to
        ``[EPSILON, 1 - EPSILON]`` for the log-densities only.
    """

    name = "bernoulli"
    supports_missing = True
    accepts_sparse = True
    conjugate_prior = Beta

    def __init__(self, alpha=1.0, beta=1.0, *, probabilities=None):
        self.alpha = float(alpha)
        self.beta = float(beta)
        if self.alpha < 1 or self.beta < 1:
            raise ValueError(
                f"alpha and beta must be >= 1 (got {alpha}, {beta}): the Beta "
                "prior's mode, which the M-step returns, needs them."
            )
        self.probabilities = None
        if probabilities is None:
            return
        self.probabilities = check_probabilities(probabilities)
        clipped = np.clip(self.probabilities, EPSILON, 1 - EPSILON)
        # cached for the E-step: log-odds and the sum of log(1 - p) of each component
        self._logit = np.log(clipped) - np.log1p(-clipped)
        # (d, K), contiguous: a sparse product reads one row per stored entry
        self._logit_columns = np.ascontiguousarray(self._logit.T)
        self._log_one_minus_each = np.log1p(-clipped)
        self._log_one_minus = self._log_one_minus_each.sum(axis=1)

    @property
    def n_components(self):
        return self.probabilities.shape[0]

    @property
    def n_features(self):
        return self.probabilities.shape[1]

    def _require_parameters(self):
        if self.probabilities is None:
            raise ValueError(
                "this Bernoulli family is a template without parameters; "
                "estimate it with maximize(statistics) first"
            )

    def check_data(self, X):
        """Refuse values other than 0 and 1 (see :meth:`Family.check_data`).

        NaN (a missing entry) passes in dense data: it reaches the family only
        when the estimator was asked to handle missing values. A sparse matrix
        cannot mark missing entries, so a stored NaN is refused.

        Parameters
        ----------
        X : ndarray or scipy.sparse matrix of shape (n_samples, n_features)
            Data.

        Returns
        -------
        X : ndarray or scipy.sparse.csr_matrix of shape (n_samples, n_features)
            The data; sparse input as CSR (rows are sliced into chunks).

        Raises
        ------
        DataValidationError
            If a value is neither 0 nor 1 (nor NaN, in dense data).
        """
        if scipy.sparse.issparse(X):
            return _check_sparse_binary(X)
        binary = (X == 0) | (X == 1) | np.isnan(X)
        if not np.all(binary):
            column = int(np.flatnonzero(~np.all(binary, axis=0))[0])
            value = X[:, column][~binary[:, column]][0]
            raise DataValidationError(
                "Bernoulli mixtures need binary data (0 or 1), but "
                f"{column_label(column)} "
                f"holds {float(value):g}. Recode the column to 0/1 (e.g. X == level), "
                "or use a categorical mixture for items with more than two levels."
            )
        return X

    def init_features(self, X):
        """The data (sparse stays sparse; dense NaN filled by column means).

        Parameters
        ----------
        X : ndarray or scipy.sparse matrix of shape (n_samples, n_features)
            Data.

        Returns
        -------
        features : ndarray or scipy.sparse matrix of shape (n_samples, n_features)
        """
        if scipy.sparse.issparse(X):
            return X
        return super().init_features(X)

    def chunk_row_values(self, n_features, n_components):
        """Per-row temporaries: the E-step is one product (no (K, d) values)."""
        return product_row_values(n_features, n_components)

    def log_prob(self, X):
        """Log density of every row under every component, shape (n, K).

        A missing entry (NaN) drops out: the row's density is that of its
        observed features (the marginal, since features are independent).
        """
        self._require_parameters()
        if scipy.sparse.issparse(X):
            product = np.asarray(X @ self._logit_columns.astype(X.dtype, copy=False))
            return product + self._log_one_minus.astype(X.dtype)[None, :]
        xp = get_namespace(X)
        logit = xp.permute_dims(to_namespace(self._logit, X), (1, 0))
        filled, observed = split_missing(X)
        if observed is None:
            constant = to_namespace(self._log_one_minus, X)
            return xp.matmul(X, logit) + constant[None, :]
        each = xp.permute_dims(to_namespace(self._log_one_minus_each, X), (1, 0))
        return xp.matmul(filled, logit) + xp.matmul(observed, each)

    def statistics(self, X, resp, sample_weight=None):
        if scipy.sparse.issparse(X):
            return _sparse_sums(X, resp, sample_weight)
        return observed_sums(X, resp, sample_weight)

    @property
    def prior(self):
        """The Beta(alpha, beta) prior whose mode the M-step returns."""
        return Beta(self.alpha, self.beta)

    def default_prior(self, X):
        """A uniform Beta(1, 1) on each feature (see :meth:`Family.default_prior`)."""
        return Beta.checked(1.0, 1.0, X.shape[1])

    def maximize(self, stats):
        return self.with_parameters(**self.prior.mode(stats))

    def sample(self, labels, random_state):
        self._require_parameters()
        labels = np.asarray(labels)
        uniform = random_state.uniform(size=(labels.shape[0], self.n_features))
        return (uniform < self.probabilities[labels]).astype(np.float64)

    def n_parameters(self):
        self._require_parameters()
        return self.n_components * self.n_features

    def config(self):
        return {"alpha": self.alpha, "beta": self.beta}

    def arrays(self):
        self._require_parameters()
        return {"probabilities": self.probabilities}

    @classmethod
    def from_arrays(cls, config, arrays):
        try:
            probabilities = check_probabilities(arrays["probabilities"])
        except ValueError as exc:
            raise ModelFileError(str(exc)) from exc
        return cls(config["alpha"], config["beta"], probabilities=probabilities)

    def __repr__(self):
        if self.probabilities is None:
            return f"Bernoulli(alpha={self.alpha}, beta={self.beta}, template)"
        return (
            f"Bernoulli(n_components={self.n_components}, n_features={self.n_features})"
        )
