"""Dirichlet-multinomial (Polya) components: overdispersed counts, bursty text.

Each document first draws its own term distribution p ~ Dirichlet(alpha_k), then
its words from Multinomial(n, p); integrating p out,

    log p(x | k) = log(n! / prod_v x_v!) + log Gamma(A_k) - log Gamma(n + A_k)
                   + sum_v [log Gamma(x_v + alpha_kv) - log Gamma(alpha_kv)],

with A_k = sum_v alpha_kv. A word that occurs once in a document is then likely to
occur again ("burstiness"), which the multinomial cannot express: the "Dirichlet
compound multinomial" mixture for text of Madsen, Kauchak & Elkan (2005, "Modeling
word burstiness using the Dirichlet distribution", ICML). Only stored entries
(x_v > 0) contribute to the last sum, so sparse input costs O(nnz * K).

The M-step (Minka 2000, "Estimating a Dirichlet distribution", fixed-point
iteration for the Polya distribution) is

    alpha_kv <- alpha_kv * sum_i r_ik [psi(x_iv + alpha_kv) - psi(alpha_kv)]
                         / sum_i r_ik [psi(n_i + A_k) - psi(A_k)].

Its sums depend on the current alpha, so they are additive over rows only for
fixed parameters: :meth:`DirichletMultinomial.statistics` computes them at the
family's own alpha, and :meth:`DirichletMultinomial.maximize` takes *one*
fixed-point step from that same alpha. Each EM iteration is therefore a
generalised EM step (the fixed point is a minorise-maximise update, so the
log-likelihood never decreases), chunked and summed like every other family's.
A template (no parameters) starts from a moment estimate instead: the
responsibility-weighted term frequencies for the mean, and the precision A_k
matched to the second factorial moments, both from linear sums of the data.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse
from scipy.special import digamma, gammaln

from mixtura.backend import to_namespace, to_numpy
from mixtura.exceptions import ModelFileError
from mixtura.families.base import Family
from mixtura.families.multinomial import (
    _map_stored,
    check_count_matrix,
    check_lengths,
    document_features,
    log_multinomial_coefficient,
    poisson_rates,
    row_sums,
    weighted_term_sums,
)
from mixtura.priors.dirichlet import mean_lengths
from mixtura.stats import LinearStats

__all__ = ["DirichletMultinomial"]

#: Precision A_k used when the data say nothing about it (no document of two or
#: more words), and the bounds of the moment estimate, relative to n_features.
_MAX_PRECISION_PER_FEATURE = 1e4


def _as_csr(X):
    """A float64 NumPy CSR matrix of the data (dense input is sparsified)."""
    if scipy.sparse.issparse(X):
        return scipy.sparse.csr_matrix(X, dtype=np.float64)
    return scipy.sparse.csr_matrix(to_numpy(X).astype(np.float64))


def _entries(X):
    """Row index, column index and value of every stored entry of a CSR matrix."""
    rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
    return rows, X.indices, X.data


def _split_ones(X):
    """Split a CSR matrix into its entries equal to 1 and the others (two CSRs)."""
    ones = X.copy()
    ones.data = (X.data == 1).astype(np.float64)
    ones.eliminate_zeros()
    many = X.copy()
    many.data[X.data == 1] = 0
    many.eliminate_zeros()
    return ones, many


def _sum_by_row(X, values):
    """Sum (m, K) per-entry values over each row's entries: (n_samples, K)."""
    m = values.shape[0]
    owner = scipy.sparse.csr_matrix(
        (np.ones(m), np.arange(m), X.indptr), shape=(X.shape[0], m)
    )
    return np.asarray(owner @ values)


def _sum_by_column(X, values):
    """Sum (m, K) per-entry values over each column's entries: (n_features, K)."""
    m = values.shape[0]
    member = scipy.sparse.csr_matrix(
        (np.ones(m), X.indices, np.arange(m + 1)), shape=(m, X.shape[1])
    )
    return np.asarray(member.T @ values)


def _like(values, X):
    """float64 NumPy ``values`` in X's namespace and floating dtype."""
    if scipy.sparse.issparse(X) or isinstance(X, np.ndarray):
        return values.astype(X.dtype, copy=False)
    return to_namespace(values, X)


def _check_concentrations(concentrations):
    concentrations = np.asarray(concentrations, dtype=np.float64)
    if concentrations.ndim != 2:
        raise ValueError(
            "concentrations must be 2-D (n_components, n_features); got shape "
            f"{concentrations.shape}"
        )
    if not np.all(np.isfinite(concentrations)) or np.any(concentrations <= 0):
        raise ValueError("concentrations must be finite and positive")
    return concentrations


class DirichletMultinomial(Family):
    """Dirichlet-multinomial components over term counts (Madsen et al. 2005).

    Accepts scipy.sparse CSR/CSC input and keeps it sparse.

    Parameters
    ----------
    min_concentration : float, default=1e-6
        Floor of every alpha_kv in the M-step. A term that a component never
        saw has maximum-likelihood concentration 0, which would rule the
        component out for every document that holds the term; the floor keeps
        such a document's log-density finite (about ``log(min_concentration)``
        per such term).
    concentrations : array-like of shape (n_components, n_features), optional
        alpha_kv > 0; omitted for a template.
    lengths : array-like of shape (n_components,), optional
        Mean document length of each component, used only by :meth:`sample`
        (lengths ~ Poisson); the M-step estimates them.

    Notes
    -----
    :meth:`statistics` must be computed by the family whose :meth:`maximize`
    consumes them (the fit loop always does so): the M-step is one Minka
    fixed-point step from the parameters the statistics were computed under.
    Dense and array-API input is processed on the host (the log-gamma and
    digamma functions are not in the array API standard); results come back in
    the input's namespace. All-zero rows have log-density 0 under every component.
    """

    name = "dirichlet_multinomial"
    missing_unsupported_reason = (
        "a row is one document's counts, so a missing count leaves its length "
        "unknown and cannot simply drop out"
    )
    accepts_sparse = True
    statistics_depend_on_parameters = True

    def __init__(self, min_concentration=1e-6, *, concentrations=None, lengths=None):
        self.min_concentration = float(min_concentration)
        if not (np.isfinite(self.min_concentration) and self.min_concentration > 0):
            raise ValueError(
                f"min_concentration must be a finite value > 0; got {min_concentration}"
            )
        self.concentrations = None
        self.lengths = None
        if concentrations is None:
            return
        self.concentrations = _check_concentrations(concentrations)
        self.lengths = check_lengths(lengths, self.concentrations.shape[0])
        self._precisions = self.concentrations.sum(axis=1)
        # (V, K) layouts, contiguous: rows are gathered by term in the E-step
        by_term = np.ascontiguousarray(self.concentrations.T)
        self._by_term = by_term
        self._log_gamma = gammaln(by_term)
        self._log_concentrations = np.log(by_term)
        self._digamma = digamma(by_term)

    @property
    def n_components(self):
        return self.concentrations.shape[0]

    @property
    def n_features(self):
        return self.concentrations.shape[1]

    @property
    def means(self):
        """Expected term probabilities alpha_kv / A_k, shape (K, V)."""
        self._require_parameters()
        return self.concentrations / self._precisions[:, None]

    def _require_parameters(self):
        if self.concentrations is None:
            raise ValueError(
                "this DirichletMultinomial family is a template without parameters; "
                "estimate it with maximize(statistics) first"
            )

    def check_data(self, X):
        """Refuse negative and non-integer counts; sparse input becomes CSR.

        Parameters
        ----------
        X : ndarray or scipy.sparse matrix of shape (n_samples, n_features)
            Data.

        Returns
        -------
        X : ndarray or scipy.sparse.csr_matrix of shape (n_samples, n_features)
            The data.
        """
        return check_count_matrix(X, "Dirichlet-multinomial")

    def init_features(self, X):
        """L2-normalised tf-idf rows (see :func:`.multinomial.document_features`).

        Parameters
        ----------
        X : ndarray or scipy.sparse matrix of shape (n_samples, n_features)
            Counts.

        Returns
        -------
        features : ndarray or scipy.sparse.csr_matrix of shape \
                (n_samples, n_features)
            A new array; sparse stays sparse.
        """
        return document_features(X)

    # -- E-step -----------------------------------------------------------------
    def log_prob(self, X):
        kernel = self.log_kernel(X)
        return kernel + _like(self.log_base_measure(X)[:, None], X)

    def log_base_measure(self, X):
        """The multinomial coefficient ``log(n! / prod_v x_v!)`` of each row."""
        return log_multinomial_coefficient(_as_csr(X))

    def log_kernel(self, X):
        """The Dirichlet-multinomial's density less the multinomial coefficient."""
        self._require_parameters()
        counts = _as_csr(X)
        ones, many = _split_ones(counts)
        # log Gamma(1 + a) - log Gamma(a) = log a: single occurrences (most of
        # a text corpus) are one sparse product, the rest per stored entry
        _, columns, values = _entries(many)
        per_entry = gammaln(values[:, None] + self._by_term[columns])
        per_entry -= self._log_gamma[columns]
        lengths = row_sums(counts)[:, None]
        log_prob = (
            np.asarray(ones @ self._log_concentrations)
            + _sum_by_row(many, per_entry)
            + gammaln(self._precisions)[None, :]
            - gammaln(lengths + self._precisions[None, :])
        )
        return _like(log_prob, X)

    def statistics(self, X, resp, sample_weight=None):
        resp_sum, term_sums = weighted_term_sums(X, resp, sample_weight)
        counts = _as_csr(X)
        weighted = to_numpy(resp).astype(np.float64)
        if sample_weight is not None:
            weighted = weighted * to_numpy(sample_weight).astype(np.float64)[:, None]
        lengths = row_sums(counts)
        count_pairs = row_sums(_map_stored(counts, lambda x: x * (x - 1)))
        sums = {
            "term_sums": term_sums,
            "length_pairs": weighted.T @ (lengths * (lengths - 1)),
            "count_pairs": weighted.T @ count_pairs,
        }
        if self.concentrations is not None:
            sums.update(self._fixed_point_sums(counts, weighted, lengths))
        return LinearStats(resp_sum, **sums)

    def _fixed_point_sums(self, counts, weighted, lengths):
        """The two sums of Minka's fixed point, at this family's concentrations."""
        ones, many = _split_ones(counts)
        # psi(1 + a) - psi(a) = 1 / a for single occurrences: one sparse product
        single = np.asarray(ones.T @ weighted).T / self.concentrations
        rows, columns, values = _entries(many)
        per_entry = digamma(values[:, None] + self._by_term[columns])
        per_entry -= self._digamma[columns]
        per_entry *= weighted[rows]
        per_document = digamma(lengths[:, None] + self._precisions[None, :])
        per_document -= digamma(self._precisions)[None, :]
        return {
            "digamma_terms": single + _sum_by_column(many, per_entry).T,
            "digamma_lengths": (weighted * per_document).sum(axis=0),
        }

    # -- M-step -----------------------------------------------------------------
    def maximize(self, stats):
        if self.concentrations is None or "digamma_terms" not in stats.sums:
            concentrations = self._moment_estimate(stats)
        else:
            concentrations = self._fixed_point_step(stats)
        return DirichletMultinomial(
            self.min_concentration,
            concentrations=np.maximum(concentrations, self.min_concentration),
            lengths=mean_lengths(stats.term_sums, stats.resp_sum),
        )

    def _fixed_point_step(self, stats):
        """One step of Minka's (2000) fixed point from this family's alpha."""
        numerator = stats.digamma_terms
        denominator = stats.digamma_lengths[:, None]
        # a component with no words keeps its concentrations
        safe = np.where(denominator > 0, denominator, 1.0)
        return np.where(
            denominator > 0,
            self.concentrations * numerator / safe,
            self.concentrations,
        )

    def _moment_estimate(self, stats):
        """alpha = A p: term frequencies p, precision A from factorial moments.

        For a Dirichlet-multinomial, E[sum_v x_v (x_v - 1)] = n (n - 1)
        (A sum_v p_v^2 + 1) / (A + 1); matching the weighted sums of both sides
        gives A = (1 - R) / (R - sum_v p_v^2) with R their ratio.
        """
        n_features = stats.term_sums.shape[1]
        smoothed = stats.term_sums + 1e-3  # every term possible in every topic
        means = smoothed / smoothed.sum(axis=1, keepdims=True)
        squared = (means**2).sum(axis=1)
        ratio = stats.count_pairs / np.where(
            stats.length_pairs > 0, stats.length_pairs, 1.0
        )
        largest = _MAX_PRECISION_PER_FEATURE * n_features
        with np.errstate(divide="ignore", invalid="ignore"):
            precision = (1 - ratio) / (ratio - squared)
        usable = (stats.length_pairs > 0) & (ratio > squared) & (ratio < 1)
        precision = np.where(usable, np.clip(precision, 1e-2, largest), largest)
        return precision[:, None] * means

    # -- the rest ---------------------------------------------------------------
    def sample(self, labels, random_state):
        self._require_parameters()
        labels = np.asarray(labels)
        rates = poisson_rates(self.lengths, labels)
        proportions = np.empty((labels.shape[0], self.n_features))
        for k in np.unique(labels):  # a loop over the components drawn
            rows = labels == k
            proportions[rows] = random_state.dirichlet(
                self.concentrations[k], size=int(rows.sum())
            )
        # x | p ~ Multinomial(n, p) with n ~ Poisson: x_v ~ Poisson(lambda p_v)
        return random_state.poisson(rates * proportions).astype(np.float64)

    def n_parameters(self):
        self._require_parameters()
        return self.n_components * self.n_features

    def config(self):
        return {"min_concentration": self.min_concentration}

    def arrays(self):
        self._require_parameters()
        arrays = {"concentrations": self.concentrations}
        if self.lengths is not None:
            arrays["lengths"] = self.lengths
        return arrays

    @classmethod
    def from_arrays(cls, config, arrays):
        try:
            # issue 19: the M-step floors the concentrations at
            # min_concentration; an edited file's 1e-300 made sample() fail
            if np.any(
                np.asarray(arrays["concentrations"]) < config["min_concentration"]
            ):
                raise ValueError(
                    "concentrations must be at least min_concentration "
                    f"({config['min_concentration']})"
                )
            return cls(
                config["min_concentration"],
                concentrations=arrays["concentrations"],
                lengths=arrays.get("lengths"),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise ModelFileError(
                f"invalid Dirichlet-multinomial parameters: {exc}"
            ) from exc

    def __repr__(self):
        if self.concentrations is None:
            return "DirichletMultinomial(template)"
        return (
            f"DirichletMultinomial(n_components={self.n_components}, "
            f"n_features={self.n_features})"
        )
