"""von Mises-Fisher components: directions, rows of unit length in ``R^d``.

Component k has a mean direction ``mu_k`` (a unit vector) and a
concentration ``kappa_k >= 0``; its density on the unit sphere ``S^(d-1)`` is

    log p(x | k) = log C_d(kappa_k) + kappa_k mu_k . x
    log C_d(kappa) = (d/2 - 1) log kappa - (d/2) log(2 pi) - log I_(d/2-1)(kappa)

with ``I_nu`` the modified Bessel function of the first kind (Banerjee et al.
2005). The density is taken **with respect to the surface measure of the
sphere** (as ``scipy.stats.vonmises_fisher`` takes it); at ``kappa = 0`` it is
the uniform density ``1 / |S^(d-1)|``, ``|S^(d-1)| = 2 pi^(d/2) / Gamma(d/2)``.
R's movMF gives densities relative to the uniform distribution instead: its log
densities are these plus ``log |S^(d-1)|`` (:func:`log_sphere_area`).

The E-step for all components is one product of the rows with the stacked
``kappa_k mu_k``. The sufficient statistics are the responsibility sums and
the responsibility-weighted sums ``r_k = sum_i r_ik x_i``. The M-step takes
``mu_k = r_k / |r_k|``, the mean resultant length ``R_k = |r_k| / sum_i r_ik``
and the concentration solving ``A_d(kappa) = R_k``, ``A_d = I_(d/2) /
I_(d/2-1)``: Banerjee et al.'s approximation ``R (d - R^2) / (1 - R^2)``, then
Newton's steps on ``A_d`` (Sra 2012), whose derivative is ``1 - A^2 - (d-1)
A / kappa``.

``log I_nu(kappa)`` is computed for ``d`` in the thousands and ``kappa`` from
0 to :data:`MAX_CONCENTRATION` and beyond: by its power series where
``kappa^2`` is small against ``nu + 1``; by ``scipy.special.ive`` (exact there)
for orders below :data:`DEBYE_FROM` and arguments below
:data:`LARGE_ARGUMENT`; by the uniform asymptotic (Debye) expansion elsewhere:
for large orders, where ``ive`` underflows at moderate ``kappa`` (at ``d =
300``, ``ive(149, 3)`` is ``2e-236`` and ``ive(149, 1)`` is 0), and for
large arguments, where scipy's ``ive`` loses digits and then gives NaN. Every
path agrees with mpmath to about 1e-15 relative (tests/families/
test_von_mises_fisher.py).

References
----------
Abramowitz, M. & Stegun, I. A. (1964). Handbook of Mathematical Functions,
formulas 9.3.9-9.3.10 and 9.7.7 (the uniform expansion of ``I_nu(nu z)``);
also NIST DLMF section 10.41.
Banerjee, A., Dhillon, I. S., Ghosh, J. & Sra, S. (2005). Clustering on the
unit hypersphere using von Mises-Fisher distributions. Journal of Machine
Learning Research 6, 1345-1382.
Sra, S. (2012). A short note on parameter approximation for von Mises-Fisher
distributions. Computational Statistics 27, 177-190.
Wood, A. T. A. (1994). Simulation of the von Mises Fisher distribution.
Communications in Statistics - Simulation and Computation 23, 157-164.
Hornik, K. & Grün, B. (2014). movMF: an R package for fitting mixtures of von
Mises-Fisher distributions. Journal of Statistical Software 58(10).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from scipy.special import gammaln, ive

from mixtura.backend import get_namespace, to_namespace
from mixtura.exceptions import DataValidationError, ModelFileError
from mixtura.families.base import Family, product_row_values
from mixtura.families.bernoulli import weighted_sums
from mixtura.stats import LinearStats

__all__ = [
    "VonMisesFisher",
    "check_unit_rows",
    "concentration",
    "log_normalizer",
    "log_sphere_area",
    "mean_resultant_length",
]

_LOG_2PI = float(np.log(2.0 * np.pi))

#: Concentrations are capped here: a component of one row (or of identical
#: rows) has ``R = 1`` and an infinite maximum-likelihood ``kappa``. At the cap
#: the component's angular spread is about ``sqrt(d / kappa)``: 2e-5 radians at
#: d = 3, 2e-4 at d = 300.
MAX_CONCENTRATION = 1e10

#: Orders ``nu = d/2 - 1`` from which ``log I_nu`` comes from the uniform
#: asymptotic expansion: with :data:`DEBYE_TERMS` terms it agrees with mpmath to
#: about 1e-15 there, and ``ive`` below this order does not underflow outside
#: the power series' range.
DEBYE_FROM = 50.0
#: Terms ``u_1 .. u_k`` of the expansion's series.
DEBYE_TERMS = 8
#: Arguments from which every order takes the uniform expansion (there a series
#: in ``1 / kappa``, Hankel's, agreeing with mpmath to about 1e-15): scipy's
#: ``ive`` (AMOS) loses digits from ``kappa`` about 5e7 and gives NaN past 2e9.
LARGE_ARGUMENT = 1e4

#: The power series of ``I_nu`` is used where ``kappa^2 / 4 <= this * (nu + 1)``;
#: each term is then at most this times the one before, and
#: :data:`_SERIES_TERMS` terms reach rounding.
SERIES_RATIO = 1e-3
_SERIES_TERMS = 7

#: Newton's steps on ``A_d(kappa) = R`` stop at this relative change (or after
#: :data:`NEWTON_MAX_ITER` steps); from Banerjee's start, within a few percent,
#: three or four steps reach it.
NEWTON_TOL = 1e-12
NEWTON_MAX_ITER = 20


def _debye_polynomials(n_terms):
    """Coefficients of ``u_k(t) / t^k``, ``k = 1 .. n_terms``, in powers of ``t``.

    From ``u_0 = 1`` and ``u_(k+1)(t) = t^2 (1 - t^2) u_k'(t) / 2 +
    integral_0^t (1 - 5 s^2) u_k(s) ds / 8`` (A&S 9.3.9), in rational
    arithmetic; ``u_1 = (3t - 5t^3) / 24``. ``u_k`` has no power of ``t``
    below ``k``, so ``u_k(t) / nu^k = (u_k(t) / t^k) / s^k`` with ``t = nu /
    s``: the series is one in ``1 / s`` and stays finite at ``nu = 0``.

    Returns
    -------
    polynomials : list of ndarray
        ``polynomials[k - 1][j]`` is the coefficient of ``t^(j + k)`` in ``u_k``.
    """
    current = [Fraction(1)]
    polynomials = []
    for k in range(1, n_terms + 1):
        following = [Fraction(0)] * (len(current) + 3)
        for power, coefficient in enumerate(current):
            if power:  # t^2 (1 - t^2) / 2 times the derivative
                following[power + 1] += coefficient * power / 2
                following[power + 3] -= coefficient * power / 2
            # the integral of (1 - 5 s^2) s^power, over 8
            following[power + 1] += coefficient / (8 * (power + 1))
            following[power + 3] -= 5 * coefficient / (8 * (power + 3))
        current = following
        polynomials.append(np.array([float(c) for c in current[k:]]))
    return polynomials


_DEBYE_POLYNOMIALS = _debye_polynomials(DEBYE_TERMS)


def _debye_parts(nu, kappa):
    """The pieces of the uniform expansion of ``I_nu(kappa)`` (A&S 9.7.7).

    With ``s = sqrt(nu^2 + kappa^2)`` and ``t = nu / s``,

        log I_nu(kappa) = s + nu log(kappa / (nu + s)) - log(2 pi s) / 2
                          + log(1 + sum_k u_k(t) / nu^k)

    which is ``nu``'s expansion at ``z = kappa / nu``, uniform in ``z``; its
    series is one in ``1 / s``, so it also serves any order at large
    ``kappa`` (where it is Hankel's expansion).

    Returns
    -------
    s : ndarray
    correction : ndarray
        ``log(1 + sum_k u_k(t) / nu^k)``.
    """
    s = np.hypot(nu, kappa)
    t = nu / s
    series = np.zeros_like(s)
    for k in range(DEBYE_TERMS, 0, -1):  # Horner's scheme in 1 / s
        polynomial = _DEBYE_POLYNOMIALS[k - 1]
        series = (series + np.polynomial.polynomial.polyval(t, polynomial)) / s
    return s, np.log1p(series)


def _debye_log_ratio(nu, kappa, s):
    """``nu log(kappa / (nu + s))`` (not positive), for small and large kappa."""
    # kappa / (nu + s) = 1 - (nu + nu^2 / (s + kappa)) / (nu + s)
    gap = (nu + nu * nu / (s + kappa)) / (nu + s)
    close = gap < 0.5
    ratio = np.empty_like(kappa)
    ratio[close] = np.log1p(-gap[close])
    ratio[~close] = np.log(kappa[~close]) - np.log(nu + s[~close])
    return nu * ratio


def _series_tail(nu, kappa):
    """``log`` of ``I_nu(kappa) / ((kappa/2)^nu / Gamma(nu + 1))``, small kappa."""
    quarter_square = kappa * kappa / 4.0
    term = np.ones_like(quarter_square)
    tail = np.zeros_like(quarter_square)
    for m in range(1, _SERIES_TERMS):
        term = term * quarter_square / (m * (nu + m))
        tail = tail + term
    return np.log1p(tail)


def _regimes(nu, kappa):
    """Masks of the power series' arguments and of the uniform expansion's."""
    series = kappa * kappa / 4.0 <= SERIES_RATIO * (nu + 1.0)
    debye = ~series & ((nu >= DEBYE_FROM) | (kappa >= LARGE_ARGUMENT))
    return series, debye


def log_bessel_ive(nu, kappa):
    """``log(I_nu(kappa) exp(-kappa))`` for ``kappa > 0``, without underflow.

    Parameters
    ----------
    nu : float
        Order, ``>= 0``.
    kappa : array-like
        Positive arguments.

    Returns
    -------
    log_ive : ndarray
        Of the shape of ``kappa``; ``log I_nu(kappa) = log_ive + kappa``.
    """
    kappa = np.asarray(kappa, dtype=np.float64)
    flat = kappa.reshape(-1)
    series, debye = _regimes(nu, flat)
    direct = ~(series | debye)
    out = np.empty_like(flat)
    small = flat[series]
    out[series] = (
        nu * np.log(small / 2.0) - gammaln(nu + 1.0) - small + _series_tail(nu, small)
    )
    large = flat[debye]
    s, correction = _debye_parts(nu, large)
    far = nu * nu / (s + large) + _debye_log_ratio(nu, large, s)
    out[debye] = far - 0.5 * (_LOG_2PI + np.log(s)) + correction
    out[direct] = np.log(ive(nu, flat[direct]))
    return out.reshape(kappa.shape)


def _log_kappa_power_over_bessel(nu, kappa):
    """``nu log kappa - log I_nu(kappa)``, finite at ``kappa = 0``."""
    flat = kappa.reshape(-1)
    series, debye = _regimes(nu, flat)
    direct = ~(series | debye)
    out = np.empty_like(flat)
    out[series] = nu * np.log(2.0) + gammaln(nu + 1.0) - _series_tail(nu, flat[series])
    s, correction = _debye_parts(nu, flat[debye])
    out[debye] = nu * np.log(nu + s) - s + 0.5 * (_LOG_2PI + np.log(s)) - correction
    moderate = flat[direct]
    out[direct] = nu * np.log(moderate) - np.log(ive(nu, moderate)) - moderate
    return out.reshape(kappa.shape)


def log_normalizer(n_features, kappa):
    """``log C_d(kappa)``, the log normalising constant of the vMF density.

    ``C_d(kappa) = kappa^(d/2-1) / ((2 pi)^(d/2) I_(d/2-1)(kappa))``, with
    respect to the surface measure of the sphere; ``C_d(0) = 1 / |S^(d-1)|``.

    Parameters
    ----------
    n_features : int
        The dimension ``d`` of the ambient space (at least 2).
    kappa : array-like
        Concentrations, ``>= 0``.

    Returns
    -------
    log_c : ndarray
        Of the shape of ``kappa``, float64.
    """
    kappa = np.asarray(kappa, dtype=np.float64)
    nu = n_features / 2.0 - 1.0
    return _log_kappa_power_over_bessel(nu, kappa) - n_features / 2.0 * _LOG_2PI


def log_sphere_area(n_features):
    """``log |S^(d-1)| = log(2 pi^(d/2) / Gamma(d/2))``.

    movMF's log densities (relative to the uniform distribution) are this
    family's plus this value.

    Parameters
    ----------
    n_features : int
        The dimension ``d``.

    Returns
    -------
    log_area : float
    """
    half = n_features / 2.0
    return float(np.log(2.0) + half * np.log(np.pi) - gammaln(half))


def _log_resultant(nu, kappa):
    """``log(I_(nu+1)(kappa) / I_nu(kappa))`` for ``kappa > 0``, elementwise.

    In the uniform expansion's range the difference of the two orders' terms
    is formed piece by piece (each piece is small where ``kappa`` is large), so
    that ``1 - A = -expm1(log A)`` keeps its relative accuracy as ``A -> 1``;
    a difference of the two ``log I`` would lose ``eps log(kappa) / (1 - A)``.
    """
    series, debye = _regimes(nu, kappa)
    direct = ~(series | debye)
    out = np.empty_like(kappa)
    small = kappa[series]
    # the leading terms' ratio is kappa / (2 (nu + 1)), then the series' tails
    out[series] = (
        np.log(small / (2.0 * (nu + 1.0)))
        + _series_tail(nu + 1.0, small)
        - _series_tail(nu, small)
    )
    large = kappa[debye]
    s, correction = _debye_parts(nu, large)
    s_next, correction_next = _debye_parts(nu + 1.0, large)
    nu_next = nu + 1.0
    out[debye] = (
        (nu_next * nu_next / (s_next + large) - nu * nu / (s + large))
        + (_debye_log_ratio(nu_next, large, s_next) - _debye_log_ratio(nu, large, s))
        # s_next^2 - s^2 = 2 nu + 1
        - 0.25 * np.log1p((2.0 * nu + 1.0) / (s * s))
        + (correction_next - correction)
    )
    moderate = kappa[direct]
    out[direct] = np.log(ive(nu + 1.0, moderate) / ive(nu, moderate))
    return out


def _resultant_and_gap(n_features, kappa):
    """``A_d(kappa)`` and ``1 - A_d(kappa)``, each to its own relative accuracy."""
    kappa = np.asarray(kappa, dtype=np.float64)
    flat = kappa.reshape(-1)
    positive = flat > 0
    log_a = np.full_like(flat, -np.inf)
    log_a[positive] = _log_resultant(n_features / 2.0 - 1.0, flat[positive])
    a = np.exp(log_a)
    return a.reshape(kappa.shape), (-np.expm1(log_a)).reshape(kappa.shape)


def mean_resultant_length(n_features, kappa):
    """``A_d(kappa) = I_(d/2)(kappa) / I_(d/2-1)(kappa)``, the mean of ``mu . x``.

    Parameters
    ----------
    n_features : int
        The dimension ``d`` (at least 2).
    kappa : array-like
        Concentrations, ``>= 0``.

    Returns
    -------
    a : ndarray
        Of the shape of ``kappa``, in ``[0, 1)``; 0 at ``kappa = 0``.
    """
    return _resultant_and_gap(n_features, kappa)[0]


def concentration(n_features, resultant):
    """The concentration ``kappa`` with ``A_d(kappa) = R``: the M-step's.

    Banerjee et al.'s (2005) approximation ``R (d - R^2) / (1 - R^2)``, then
    Newton's steps on ``A_d(kappa) - R`` with ``A_d'(kappa) = 1 - A^2 - (d - 1)
    A / kappa`` (Sra 2012). ``R = 0`` gives 0 (the uniform distribution),
    ``R`` at or near 1 :data:`MAX_CONCENTRATION`.

    Near ``R = 1`` the residual is taken as ``(1 - R) - (1 - A)`` and the
    derivative as ``(1 - A)(1 + A) - (d - 1) A / kappa``, from ``1 - A`` to
    full relative accuracy: the derivative, about ``(d - 1) / (2 kappa^2)``,
    is the difference of two terms about ``(d - 1) / kappa``.

    Parameters
    ----------
    n_features : int
        The dimension ``d`` (at least 2).
    resultant : array-like
        Mean resultant lengths ``R`` in ``[0, 1]`` (values past 1 by rounding
        count as 1).

    Returns
    -------
    kappa : ndarray
        Of the shape of ``resultant``, in ``[0, MAX_CONCENTRATION]``.
    """
    d = float(n_features)
    given = np.asarray(resultant, dtype=np.float64)
    r = np.clip(given.reshape(-1), 0.0, 1.0)
    r_gap = 1.0 - r
    kappa = np.full_like(r, MAX_CONCENTRATION)
    finite = r_gap * (1.0 + r) * MAX_CONCENTRATION > r * (d - r * r)
    kappa[finite] = r[finite] * (d - r[finite] ** 2) / (r_gap * (1.0 + r))[finite]
    active = (r > 0) & finite
    for _ in range(NEWTON_MAX_ITER):
        if not active.any():
            break
        current = kappa[active]
        a, a_gap = _resultant_and_gap(n_features, current)
        slope = a_gap * (1.0 + a) - (d - 1.0) * a / current
        step = (r_gap[active] - a_gap) / np.maximum(slope, np.finfo(np.float64).tiny)
        updated = current - step
        # Newton's tangent can cross zero from a start far to the right
        updated = np.minimum(
            np.where(updated > 0, updated, current / 2.0), MAX_CONCENTRATION
        )
        kappa[active] = updated
        still = np.abs(updated - current) > NEWTON_TOL * updated
        active[active] = still & (updated < MAX_CONCENTRATION)
    return kappa.reshape(given.shape)


def unit_norm_tolerance(dtype):
    """How far a row's norm may be from 1: ``sqrt(eps)`` of its floating dtype.

    1.5e-8 for float64, 3.5e-4 for float32: a row divided by its norm in that
    precision is off by about ``sqrt(d) eps``, far less; a row normalised in a
    lower precision than it is stored in is not accepted.

    Parameters
    ----------
    dtype : dtype
        The rows' dtype (not floating: float64's tolerance).

    Returns
    -------
    tolerance : float
    """
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        dtype = np.dtype(np.float64)
    return float(np.sqrt(np.finfo(dtype).eps))


def _row_list(rows, limit=5):
    shown = ", ".join(str(int(i)) for i in rows[:limit])
    return shown + (", ..." if rows.size > limit else "")


def check_unit_rows(X, family_name="von_mises_fisher"):
    """Refuse rows that do not have unit length, naming them.

    Rows of zero norm are refused first (they have no direction); then rows
    whose norm is off 1 by more than :func:`unit_norm_tolerance` of the data's
    dtype.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Data.
    family_name : str, default='von_mises_fisher'
        Named in the message.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        Unchanged.

    Raises
    ------
    DataValidationError
        Naming the offending rows (the first five), how many there are, and
        what to do.
    """
    X_array = np.asarray(X)
    if X_array.ndim == 2 and X_array.shape[1] < 2:
        raise DataValidationError(
            f"family={family_name!r} models directions on the unit sphere, which "
            f"needs at least 2 coordinates; got n_features = {X_array.shape[1]}."
        )
    norms = np.sqrt(np.einsum("ij,ij->i", X_array, X_array))
    zero = np.flatnonzero(norms == 0)
    if zero.size:
        raise DataValidationError(
            f"family={family_name!r} models directions, but row(s) "
            f"{_row_list(zero)} have zero norm ({zero.size} such row(s) in all) "
            "and so no direction. Drop those rows."
        )
    tolerance = unit_norm_tolerance(X_array.dtype)
    off = np.flatnonzero(~(np.abs(norms - 1.0) <= tolerance))
    if off.size:
        shown = ", ".join(f"{norms[i]:.6g}" for i in off[:5])
        raise DataValidationError(
            f"family={family_name!r} models unit vectors, but row(s) "
            f"{_row_list(off)} have norm(s) {shown} ({off.size} such row(s) in "
            f"all; the tolerance for {X_array.dtype} is {tolerance:.1e}). Divide "
            "each row by its norm, or pass normalize=True to "
            "VonMisesFisherMixture."
        )
    return X


class VonMisesFisher(Family):
    """Components of von Mises-Fisher distributions on the unit sphere.

    For directions: unit-normalised text vectors (tf-idf), embeddings, gene
    expression profiles, wind or sight directions. ``MixtureModel(family=
    'von_mises_fisher')`` and :class:`~mixtura.VonMisesFisherMixture` fit
    mixtures of them. Densities are with respect to the surface measure of
    the sphere (see the module's notes; movMF's are relative to the uniform
    distribution).

    Parameters
    ----------
    mean_directions : array-like of shape (n_components, n_features), optional
        Mean directions ``mu_k``, unit vectors (rows within
        :func:`unit_norm_tolerance` of length 1 are rescaled to it); omitted
        (with ``concentrations``) for a template.
    concentrations : array-like of shape (n_components,), optional
        Concentrations ``kappa_k >= 0``; 0 is the uniform distribution.
    """

    name = "von_mises_fisher"
    missing_unsupported_reason = (
        "a row with a missing coordinate has no known direction on the sphere"
    )

    def __init__(self, *, mean_directions=None, concentrations=None):
        self.mean_directions = self.concentrations = None
        if mean_directions is None and concentrations is None:
            return
        self.mean_directions, self.concentrations = _check_parameters(
            mean_directions, concentrations
        )
        self._natural = self.concentrations[:, None] * self.mean_directions
        self._log_normalizer = log_normalizer(self.n_features, self.concentrations)

    @property
    def n_components(self):
        return self.mean_directions.shape[0]

    @property
    def n_features(self):
        return self.mean_directions.shape[1]

    def _require_parameters(self):
        if self.mean_directions is None:
            raise ValueError(
                "this von Mises-Fisher family is a template without parameters; "
                "estimate it with maximize(statistics) first"
            )

    def check_data(self, X):
        """Refuse rows without unit length (see :func:`check_unit_rows`)."""
        return check_unit_rows(X, self.name)

    def chunk_row_values(self, n_features, n_components):
        """Per-row temporaries: the E-step is one product (no (K, d) values)."""
        return product_row_values(n_features, n_components)

    def log_prob(self, X):
        """``log C_d(kappa_k) + kappa_k mu_k . x`` of every row, shape (n, K)."""
        self._require_parameters()
        xp = get_namespace(X)
        natural = xp.permute_dims(to_namespace(self._natural, X), (1, 0))
        return xp.matmul(X, natural) + to_namespace(self._log_normalizer, X)[None, :]

    def statistics(self, X, resp, sample_weight=None):
        """``resp_sum`` (K,) and ``sum_x`` (K, d), the weighted resultants, float64."""
        resp_sum, sum_x = weighted_sums(X, resp, sample_weight)
        return LinearStats(resp_sum, sum_x=sum_x)

    def maximize(self, stats):
        """Maximum likelihood mean directions and concentrations.

        A component without weight, or whose weighted rows cancel (a zero
        resultant), gets concentration 0 (uniform) and the first axis as its
        direction.
        """
        length = np.linalg.norm(stats.sum_x, axis=1)
        has_direction = (length > 0) & (stats.resp_sum > 0)
        safe = np.where(has_direction, length, 1.0)
        directions = np.where(has_direction[:, None], stats.sum_x / safe[:, None], 0.0)
        directions[~has_direction, 0] = 1.0
        resultant = np.where(
            has_direction, length / np.where(has_direction, stats.resp_sum, 1.0), 0.0
        )
        kappa = concentration(stats.sum_x.shape[1], resultant)
        return VonMisesFisher(mean_directions=directions, concentrations=kappa)

    def sample(self, labels, random_state):
        """Draw from component ``labels[i]`` by Wood's (1994) algorithm.

        The cosine ``w = mu . x`` by his rejection sampler from a Beta
        proposal, the rest of ``x`` uniform on the sphere orthogonal to ``mu``.
        """
        self._require_parameters()
        labels = np.asarray(labels)
        directions = self.mean_directions[labels]
        w, sine = _sample_cosines(
            self.concentrations[labels], self.n_features, random_state
        )
        tangent = random_state.standard_normal(directions.shape)
        tangent -= np.sum(tangent * directions, axis=1)[:, None] * directions
        tangent /= np.linalg.norm(tangent, axis=1)[:, None]
        return w[:, None] * directions + sine[:, None] * tangent

    def n_parameters(self):
        """``K (d - 1)`` for the directions and ``K`` for the concentrations."""
        self._require_parameters()
        return self.n_components * self.n_features

    def config(self):
        return {}

    def arrays(self):
        self._require_parameters()
        return {
            "mean_directions": self.mean_directions,
            "concentrations": self.concentrations,
        }

    @classmethod
    def from_arrays(cls, config, arrays):
        try:
            return cls(
                mean_directions=arrays["mean_directions"],
                concentrations=arrays["concentrations"],
            )
        except (KeyError, ValueError) as exc:
            raise ModelFileError(f"von Mises-Fisher family parameters: {exc}") from exc

    def __repr__(self):
        if self.mean_directions is None:
            return "VonMisesFisher(template)"
        return (
            f"VonMisesFisher(n_components={self.n_components}, "
            f"n_features={self.n_features})"
        )


def _sample_cosines(kappa, n_features, random_state):
    """Wood's (1994) rejection sampler of ``w = mu . x``, one per ``kappa``.

    Returns
    -------
    w : ndarray of shape (n,)
        The cosines.
    sine : ndarray of shape (n,)
        ``sqrt(1 - w^2)``, computed from ``1 - w`` without cancellation.
    """
    m = n_features - 1.0
    kappa = np.asarray(kappa, dtype=np.float64)
    # b = (sqrt(4 kappa^2 + m^2) - 2 kappa) / m, in a form without cancellation
    b = m / (2.0 * kappa + np.sqrt(4.0 * kappa * kappa + m * m))
    one_minus_x0 = 2.0 * b / (1.0 + b)
    x0 = 1.0 - one_minus_x0
    log_norm = m * np.log(one_minus_x0 * (1.0 + x0))  # m log(1 - x0^2)
    w = np.empty_like(kappa)
    one_minus_w = np.empty_like(kappa)
    pending = np.arange(kappa.size)
    while pending.size:
        z = random_state.beta(m / 2.0, m / 2.0, size=pending.size)
        u = random_state.uniform(size=pending.size)
        bp = b[pending]
        denominator = 1.0 - (1.0 - bp) * z
        gap = 2.0 * bp * z / denominator  # 1 - w
        # kappa w + m log(1 - x0 w) - c >= log u, with kappa (w - x0) and
        # 1 - x0 w = (1 - x0) + x0 (1 - w) written without cancellation
        exponent = (
            kappa[pending] * (one_minus_x0[pending] - gap)
            + m * np.log(one_minus_x0[pending] + x0[pending] * gap)
            - log_norm[pending]
        )
        with np.errstate(divide="ignore"):
            accepted = exponent >= np.log(u)
        rows = pending[accepted]
        one_minus_w[rows] = gap[accepted]
        w[rows] = 1.0 - gap[accepted]
        pending = pending[~accepted]
    sine = np.sqrt(np.maximum(one_minus_w * (2.0 - one_minus_w), 0.0))
    return w, sine


def _check_parameters(mean_directions, concentrations):
    """Directions (K, d) rescaled to unit rows and concentrations (K,), float64."""
    if mean_directions is None or concentrations is None:
        raise ValueError(
            "give both mean_directions and concentrations, or neither (a template)"
        )
    given = np.asarray(mean_directions)
    directions = given.astype(np.float64)
    kappa = np.asarray(concentrations, dtype=np.float64)
    if directions.ndim != 2 or directions.shape[1] < 2:
        raise ValueError(
            "mean_directions must be 2-D (n_components, n_features) with at least "
            f"2 features; got shape {directions.shape}"
        )
    if kappa.shape != (directions.shape[0],):
        raise ValueError(
            f"concentrations must have shape ({directions.shape[0]},); got "
            f"{kappa.shape}"
        )
    if not np.all(np.isfinite(kappa) & (kappa >= 0)):
        raise ValueError("concentrations must be finite and non-negative")
    norms = np.linalg.norm(directions, axis=1)
    tolerance = unit_norm_tolerance(given.dtype)
    if not np.all(np.abs(norms - 1.0) <= tolerance):
        raise ValueError(
            "mean_directions must be unit vectors; row norms range from "
            f"{norms.min():.6g} to {norms.max():.6g}"
        )
    return directions / norms[:, None], kappa
