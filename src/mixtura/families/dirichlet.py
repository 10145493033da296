"""Dirichlet components: compositional rows, positive parts that sum to one.

Each row ``x`` (proportions, ``x_j > 0`` and ``sum_j x_j = 1``) of component k
is ``Dirichlet(a_k)``:

    log p(x | k) = lgamma(A_k) - sum_j lgamma(a_kj) + sum_j (a_kj - 1) log x_j

with ``A_k = sum_j a_kj``. ``-sum_j log x_j`` is the same for every component
(the base measure, as for the gamma family), so the E-step for all components
is one product of the rows' ``log x`` with the (K, d) concentrations plus a
constant per component. The sufficient statistics are the responsibility sums
and the responsibility-weighted sums of ``log x``.

The M-step is maximum likelihood for each component: with the weighted mean
``l_j`` of ``log x_j``, the concentrations solve ``psi(a_j) - psi(A) = l_j``
for every j. :func:`dirichlet_concentrations` solves these by Newton's method
(Minka 2000, section 1): the Hessian of the log-likelihood is
``trigamma(A) 11^T - diag(trigamma(a))``, a diagonal plus a rank-one matrix,
so a step costs O(d). A step that would leave the positive orthant or lower
the likelihood is replaced by Minka's fixed-point step
``a_j <- psi^-1(psi(A) + l_j)``, which never lowers it; the iteration starts
from Minka's estimate of the precision from the geometric means.

The mean log values ``l`` lie in ``{l : sum_j exp(l_j) < 1}`` (Jensen's
inequality: the geometric means sum to less than the arithmetic ones, which
sum to 1); as ``sum_j exp(l_j)`` approaches 1 the maximum-likelihood precision
``A`` grows without bound (a component on a single row, or on equal rows).
The gap ``-log sum_j exp(l_j)`` is floored at :data:`MIN_LOG_GAP`, which caps
``A`` near ``(d - 1) / (2 MIN_LOG_GAP)``.

References
----------
Minka, T. P. (2000). Estimating a Dirichlet distribution. Microsoft Research
technical note (revised 2012), sections 1 and 2 and appendix C (the inverse
digamma function).
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, gammaln, logsumexp, polygamma

from mixtura._validation import column_label
from mixtura.backend import get_namespace, to_namespace, to_numpy
from mixtura.exceptions import DataValidationError, ModelFileError
from mixtura.families.base import Family, product_row_values
from mixtura.families.bernoulli import weighted_sums
from mixtura.families.gamma import (
    _inverse_minus_trigamma,
    _log_minus_digamma,
    inverse_digamma,
)
from mixtura.families.support import log_scale_jacobian
from mixtura.stats import LinearStats

__all__ = ["Dirichlet", "dirichlet_concentrations", "inverse_digamma"]

#: Smallest gap ``-log sum_j exp(l_j)`` the M-step is solved for: the
#: precision of a component on equal rows would be infinite; at this gap it
#: is about ``5e9 (d - 1)``, a spike that keeps the densities finite.
MIN_LOG_GAP = 1e-10
#: Newton steps at most; from Minka's start they reach rounding in 2 to 7
#: (concentrations from 0.01 to 1e7; 3 in a typical EM M-step).
NEWTON_MAX_ITER = 100
#: Relative change of every concentration at which the iteration stops.
NEWTON_TOL = 1e-12
#: Multiple of eps in the rounding bounds of the likelihood and the gradient.
ROUNDING_FACTOR = 16.0
#: The gradient's rounding, in eps times ``1 + |l_j|`` (from ``log(a_j / A)``).
GRADIENT_EPS = 1.0
#: Halvings of a Newton step before the fixed-point step is taken instead.
MAX_HALVINGS = 40
#: Rows may miss a sum of one by this many machine epsilons (of their dtype)
#: per feature: the rounding of normalising them, with room to spare.
ROW_SUM_EPS = 256


def _reciprocal_trigamma_excess(a):
    """``1 / trigamma(a) - a`` (about -1/2) without cancellation at large ``a``."""
    return a * _inverse_minus_trigamma(a) / polygamma(1, a)


def _log_likelihood(concentrations, mean_log):
    """Mean log-likelihood of each component and a bound on its rounding, (K,) each."""
    terms = (
        gammaln(concentrations.sum(axis=1)),
        -gammaln(concentrations).sum(axis=1),
        ((concentrations - 1.0) * mean_log).sum(axis=1),
    )
    magnitude = sum(np.abs(term) for term in terms) + 1.0
    return sum(terms), ROUNDING_FACTOR * np.finfo(np.float64).eps * magnitude


def _start(mean_log):
    """Minka's start: the precision from the geometric means' gap, then a fixed point.

    With ``psi(a) ~ log(a) - 1/(2a)``, ``sum_j exp(l_j) ~ 1 - (d - 1) / (2A)``
    gives the precision ``A``; the fixed-point step for that precision,
    ``a_j = psi^-1(psi(A) + l_j)``, is then right for small ``a_j`` too
    (where ``exp(l_j)`` underflows).
    """
    gap = -logsumexp(mean_log, axis=1, keepdims=True)
    precision = max(mean_log.shape[1] - 1, 1) / (2.0 * gap)
    return inverse_digamma(digamma(precision) + mean_log)


class _Hessian:
    """Minus the Hessian of the mean log-likelihood, ``diag(q) - z 11^T``, at ``a``.

    ``q_j = trigamma(a_j)`` and ``z = trigamma(A)``: a diagonal plus a rank-one
    matrix, solved in O(d) by the Sherman-Morrison formula. Its denominator
    ``sum_j 1/q_j - 1/z`` (about ``-(d - 1) / 2``) comes from the excesses of
    ``1/trigamma`` over ``a``, so it does not cancel at large concentrations.
    """

    def __init__(self, concentrations):
        precision = concentrations.sum(axis=1, keepdims=True)
        self.diagonal = polygamma(1, concentrations)
        self.denominator = _reciprocal_trigamma_excess(concentrations).sum(
            axis=1, keepdims=True
        ) - _reciprocal_trigamma_excess(precision)

    def solve(self, vector):
        """``(diag(q) - z 11^T)^-1 vector`` for each component, shape (K, d)."""
        shift = (vector / self.diagonal).sum(axis=1, keepdims=True) / self.denominator
        return (vector - shift) / self.diagonal


def _gradient(concentrations, mean_log):
    """``psi(A) - psi(a_j) + l_j``, formed without cancellation at large ``a``.

    As ``(l_j - log(a_j / A)) + D(a_j) - D(A)`` with ``D = log - digamma``
    from its series (:func:`mixtura.families.gamma._log_minus_digamma`).
    """
    precision = concentrations.sum(axis=1, keepdims=True)
    return (
        mean_log
        - np.log(concentrations / precision)
        + _log_minus_digamma(concentrations)
        - _log_minus_digamma(precision)
    )


def _fixed_point_step(concentrations, mean_log):
    """Minka's fixed point ``a_j <- psi^-1(psi(A) + l_j)``, which never descends."""
    precision = concentrations.sum(axis=1, keepdims=True)
    return inverse_digamma(digamma(precision) + mean_log)


def _feasible(mean_log):
    """Mean log values moved, where needed, to a gap of at least MIN_LOG_GAP."""
    gap = -logsumexp(mean_log, axis=1, keepdims=True)
    return mean_log - np.maximum(MIN_LOG_GAP - gap, 0.0)


def _line_search(concentrations, step, mean_log, likelihood, rounding):
    """Halve each component's Newton step until it stays positive and ascends.

    A component that finds no such step in :data:`MAX_HALVINGS` halvings takes
    Minka's fixed-point step instead. Returns the new concentrations and
    their log-likelihood.
    """
    accepted = np.zeros(concentrations.shape[0], dtype=bool)
    updated = concentrations.copy()
    value = likelihood.copy()
    fraction = 1.0
    for _ in range(MAX_HALVINGS):
        proposal = concentrations + fraction * step
        positive = np.all(proposal > 0, axis=1) & ~accepted
        safe = np.where(positive[:, None], proposal, concentrations)
        proposed, _ = _log_likelihood(safe, mean_log)
        ascends = positive & (proposed >= likelihood - rounding)
        updated[ascends], value[ascends] = safe[ascends], proposed[ascends]
        accepted |= ascends
        if accepted.all():
            return updated, value
        fraction *= 0.5
    rest = ~accepted
    updated[rest] = _fixed_point_step(concentrations[rest], mean_log[rest])
    value[rest], _ = _log_likelihood(updated[rest], mean_log[rest])
    return updated, value


def dirichlet_concentrations(mean_log, return_n_iter=False):
    """Maximum-likelihood Dirichlet concentrations from mean log values.

    Solves ``psi(a_kj) - psi(sum_j a_kj) = l_kj`` for each row k by Newton's
    method with Minka's (2000) diagonal-plus-rank-one Hessian, each step
    halved where it would leave ``a > 0`` or lower the likelihood (which is
    concave in ``a``). It stops when every Newton step is within rounding:
    a relative :data:`NEWTON_TOL`, or what a gradient error of a few ``eps``
    moves the solution (along the precision, a relative ``eps A / (d - 1)``).

    Parameters
    ----------
    mean_log : array-like of shape (n_components, n_features)
        Weighted means of ``log x_j`` of each component's rows. Where the
        gap ``-log sum_j exp(l_kj)`` is below :data:`MIN_LOG_GAP` (equal rows,
        rounding), ``l_k`` is first lowered by a constant to that gap.
    return_n_iter : bool, default=False
        Whether to return the number of Newton steps as well.

    Returns
    -------
    concentrations : ndarray of shape (n_components, n_features)
        Positive and finite.
    n_iter : int
        Newton steps taken (the slowest component's); only with
        ``return_n_iter``.
    """
    mean_log = _feasible(np.asarray(mean_log, dtype=np.float64))
    concentrations = _start(mean_log)
    likelihood, rounding = _log_likelihood(concentrations, mean_log)
    # the gradient's own rounding, as a vector along which the solution moves most
    noise = GRADIENT_EPS * np.finfo(np.float64).eps * (1.0 + np.abs(mean_log))
    n_iter = 0
    while n_iter < NEWTON_MAX_ITER:
        hessian = _Hessian(concentrations)
        step = hessian.solve(_gradient(concentrations, mean_log))
        limit = NEWTON_TOL + np.abs(hessian.solve(noise)) / concentrations
        if np.all(np.abs(step) / concentrations <= limit):
            break
        concentrations, likelihood = _line_search(
            concentrations, step, mean_log, likelihood, rounding
        )
        _, rounding = _log_likelihood(concentrations, mean_log)
        n_iter += 1
    if return_n_iter:
        return concentrations, n_iter
    return concentrations


class Dirichlet(Family):
    """Dirichlet components over compositions, x ~ Dirichlet(a_k).

    For rows of positive proportions that sum to one (compositions: shares of
    a budget, mineral or microbial fractions, topic proportions).
    ``MixtureModel(family='dirichlet')`` fits a mixture of them; the M-step is
    Minka's (2000) Newton iteration (see :func:`dirichlet_concentrations`).

    Parameters
    ----------
    concentrations : array-like of shape (n_components, n_features), optional
        Concentrations ``a_kj > 0``; the mean of component k is ``a_k / A_k``
        and ``A_k = sum_j a_kj`` its precision. Omitted for a template.

    Notes
    -----
    Zeros lie outside the support (``log x`` is infinite): data with zero
    parts needs a pseudo-count before fitting.

    References
    ----------
    Minka, T. P. (2000). Estimating a Dirichlet distribution. Microsoft
    Research technical note.
    """

    name = "dirichlet"
    missing_unsupported_reason = (
        "a row is one composition whose parts sum to one, so a missing part "
        "changes what the others mean; impute the missing parts (and renormalise) "
        "or drop their rows"
    )

    def __init__(self, *, concentrations=None):
        self.concentrations = None
        if concentrations is None:
            return
        self.concentrations = _check_concentrations(concentrations)
        precisions = self.concentrations.sum(axis=1)
        # the per-component constant, lgamma(A) - sum_j lgamma(a_j)
        self._constant = gammaln(precisions) - gammaln(self.concentrations).sum(axis=1)

    @property
    def n_components(self):
        return self.concentrations.shape[0]

    @property
    def n_features(self):
        return self.concentrations.shape[1]

    @property
    def means(self):
        """Expected proportions ``a_kj / A_k``, shape (n_components, n_features)."""
        self._require_parameters()
        return self.concentrations / self.concentrations.sum(axis=1, keepdims=True)

    def _require_parameters(self):
        if self.concentrations is None:
            raise ValueError(
                "this Dirichlet family is a template without parameters; "
                "estimate it with maximize(statistics) first"
            )

    def check_data(self, X):
        """Refuse rows that are not compositions (see :meth:`Family.check_data`).

        Every entry must be positive and every row must sum to one within
        :data:`ROW_SUM_EPS` machine epsilons of X's dtype per feature. Rows
        with NaN (missing entries) skip the sum check; estimators refuse them.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            Data.

        Returns
        -------
        X : array of shape (n_samples, n_features)
            Unchanged.

        Raises
        ------
        DataValidationError
            Naming the first offending row and what to do.
        """
        X_array = to_numpy(X)
        if X_array.ndim == 2 and X_array.shape[1] < 2:
            raise DataValidationError(
                "family='dirichlet' models compositions of at least 2 parts, but "
                f"the data has {X_array.shape[1]} column(s). Pass one column per part."
            )
        _check_parts_positive(X_array)
        _check_rows_sum_to_one(X_array)
        return X

    def init_features(self, X):
        """The centred log-ratio ``log x - mean_j log x_j`` of each row.

        Euclidean distances between these are Aitchison's distances between
        compositions, the natural scale for k-means on them.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            Compositions.

        Returns
        -------
        features : ndarray of shape (n_samples, n_features)
            A new float64 array.
        """
        log_x = np.log(to_numpy(X).astype(np.float64))
        return log_x - log_x.mean(axis=1, keepdims=True)

    def chunk_row_values(self, n_features, n_components):
        """Per-row temporaries: ``log x`` and one product's (n, K) values."""
        return product_row_values(n_features, n_components)

    def log_prob(self, X):
        """Log density of every row under every component, shape (n, K)."""
        return self.log_kernel(X) + self.log_base_measure(X)[:, None]

    def log_base_measure(self, X):
        """``-sum_j log x_j`` of each row, shape (n,)."""
        return log_scale_jacobian(X)

    def log_kernel(self, X):
        """``sum_j a_kj log x_j`` plus each component's constant, shape (n, K)."""
        self._require_parameters()
        xp = get_namespace(X)
        coefficients = xp.permute_dims(to_namespace(self.concentrations, X), (1, 0))
        kernel = xp.matmul(xp.log(X), coefficients)
        return kernel + to_namespace(self._constant, X)[None, :]

    def statistics(self, X, resp, sample_weight=None):
        """``resp_sum`` (K,) and ``sum_log_x`` (K, d), float64."""
        xp = get_namespace(X)
        resp_sum, sum_log_x = weighted_sums(xp.log(X), resp, sample_weight)
        return LinearStats(resp_sum, sum_log_x=sum_log_x)

    def maximize(self, stats):
        """Maximum-likelihood concentrations of each component.

        A component without weight (``resp_sum`` 0) gets concentrations 1 (the
        uniform distribution on the simplex): it explains nothing in
        particular, and a later E-step gives it no weight either.

        Parameters
        ----------
        stats : LinearStats
            From :meth:`statistics`.

        Returns
        -------
        Dirichlet
        """
        weight = stats.resp_sum[:, None]
        empty = weight[:, 0] <= 0
        # no guard added to the weight: it would pull a light component's mean
        # log towards 0, past the boundary, and make it a spike at the centre
        mean_log = stats.sum_log_x / np.where(empty[:, None], 1.0, weight)
        # an empty component solves for the uniform distribution's mean log
        uniform = digamma(1.0) - digamma(float(mean_log.shape[1]))
        mean_log = np.where(empty[:, None], uniform, mean_log)
        concentrations = dirichlet_concentrations(mean_log)
        concentrations[empty] = 1.0
        return Dirichlet(concentrations=concentrations)

    def sample(self, labels, random_state):
        """Draw one composition from component ``labels[i]`` for each i.

        Parameters
        ----------
        labels : ndarray of shape (n_samples,)
        random_state : RandomState

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        """
        self._require_parameters()
        labels = np.asarray(labels)
        X = np.empty((labels.shape[0], self.n_features))
        for k in np.unique(labels):  # a loop over the components drawn
            rows = labels == k
            concentrations = self.concentrations[k]
            size = int(rows.sum())
            if concentrations.min() >= 1.0:
                X[rows] = random_state.dirichlet(concentrations, size=size)
            else:
                X[rows] = _dirichlet_log_scale(concentrations, size, random_state)
        return X

    def n_parameters(self):
        self._require_parameters()
        return self.n_components * self.n_features

    def config(self):
        return {}

    def arrays(self):
        self._require_parameters()
        return {"concentrations": self.concentrations}

    @classmethod
    def from_arrays(cls, config, arrays):
        try:
            return cls(concentrations=arrays["concentrations"])
        except (KeyError, ValueError) as exc:
            raise ModelFileError(f"Dirichlet family parameters: {exc}") from exc

    def __repr__(self):
        if self.concentrations is None:
            return "Dirichlet(template)"
        return (
            f"Dirichlet(n_components={self.n_components}, n_features={self.n_features})"
        )


def _dirichlet_log_scale(concentrations, size, random_state):
    """Dirichlet draws through gamma draws on the log scale, for small concentrations.

    NumPy's sampler normalises gamma draws, which for concentrations below 1
    underflow to 0 (``G = Y U^(1/a)``): at ``a = 1e-3`` a tenth of its rows are
    NaN (0 / 0), at 1e-300 all (issue 19: concentrations from a model file).
    Here ``log G = log Y + log(U) / a`` with ``Y ~ Gamma(1 + a)`` and
    ``U ~ Uniform(0, 1)`` (the same gamma variable), and the row is normalised
    after subtracting its largest log draw. A part below the smallest normal
    float (a gamma draw falls below it with probability about ``exp(-708 a)``,
    half the time at ``a = 1e-3``) is given that value, so every sample lies in
    the open simplex.

    Parameters
    ----------
    concentrations : ndarray of shape (n_features,)
    size : int
    random_state : RandomState

    Returns
    -------
    X : ndarray of shape (size, n_features)
    """
    shape = (size, concentrations.shape[0])
    log_y = np.log(random_state.standard_gamma(1.0 + concentrations, size=shape))
    with np.errstate(divide="ignore"):  # a uniform draw of 0: a part of 0
        log_g = log_y + np.log(random_state.random_sample(shape)) / concentrations
    X = np.exp(log_g - np.max(log_g, axis=1, keepdims=True))
    X /= X.sum(axis=1, keepdims=True)
    return np.maximum(X, np.finfo(np.float64).tiny)


def _check_concentrations(concentrations):
    """Concentrations as a float64 (K, d) array of positive finite values, d >= 2."""
    concentrations = np.asarray(concentrations, dtype=np.float64)
    if concentrations.ndim != 2 or concentrations.shape[1] < 2:
        raise ValueError(
            "concentrations must be 2-D (n_components, n_features) with at least "
            f"2 features; got shape {concentrations.shape}"
        )
    if not np.all(np.isfinite(concentrations) & (concentrations > 0)):
        raise ValueError("concentrations must be positive and finite")
    return concentrations


def _check_parts_positive(X):
    """Refuse zero and negative parts, naming the first row that has one."""
    with np.errstate(invalid="ignore"):
        bad = X <= 0
    if not bad.any():
        return
    rows, columns = np.nonzero(bad)
    row, column = int(rows[0]), int(columns[0])
    value = float(X[row, column])
    if value == 0:
        advice = (
            "Zeros lie outside the Dirichlet's support (log 0 is infinite): add "
            "a small pseudo-count to every part and renormalise the rows."
        )
    else:
        advice = "Proportions cannot be negative: check how the rows were made."
    raise DataValidationError(
        f"family='dirichlet' models compositions of positive parts, but row {row}, "
        f"{column_label(column)} holds {value:g} ({int(bad.any(axis=1).sum())} such "
        f"row(s) in all). {advice}"
    )


def _check_rows_sum_to_one(X):
    """Refuse rows whose sum misses one by more than the dtype's rounding."""
    dtype = X.dtype if X.dtype.kind == "f" else np.dtype(np.float64)
    tolerance = ROW_SUM_EPS * np.finfo(dtype).eps * X.shape[1]
    sums = X.sum(axis=1, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        bad = np.abs(sums - 1.0) > tolerance  # NaN rows compare False
    if not bad.any():
        return
    row = int(np.flatnonzero(bad)[0])
    raise DataValidationError(
        f"family='dirichlet' models compositions, rows that sum to one, but row "
        f"{row} sums to {sums[row]:.17g} ({int(bad.sum())} row(s) off by more than "
        f"{tolerance:.3g} in all). Normalise the rows, X / X.sum(axis=1, "
        "keepdims=True)."
    )
