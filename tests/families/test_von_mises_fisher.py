"""The von Mises-Fisher family beyond the registry's generic tests.

``log I_nu`` against independent high-precision values: the exact closed form
of half-integer orders evaluated in 2000-digit decimal arithmetic (Python's
``decimal``; mpmath is not installed in this environment) and values of
mpmath 1.3.0 at 50 digits for integer orders (computed outside the test
suite and written down here); the uniform expansion against scipy's ``ive``
where that does not underflow; the concentration equation against root
finding; the M-step against ``scipy.stats.vonmises_fisher.fit``; densities
at d = 300 and kappa in the hundreds and thousands; Wood's sampler; and the
refusal of rows that are not unit vectors.
"""

import decimal
from fractions import Fraction
from math import factorial, lgamma

import numpy as np
import pytest
from scipy import integrate, optimize, special, stats

from mixtura.exceptions import DataValidationError, ModelFileError
from mixtura.families import VonMisesFisher
from mixtura.families.von_mises_fisher import (
    DEBYE_FROM,
    LARGE_ARGUMENT,
    MAX_CONCENTRATION,
    _debye_polynomials,
    check_unit_rows,
    concentration,
    log_bessel_ive,
    log_normalizer,
    log_sphere_area,
    mean_resultant_length,
)


def _unit(rng, shape):
    X = rng.normal(size=shape)
    return X / np.linalg.norm(X, axis=-1, keepdims=True)


def _log_bessel(nu, kappa):
    return log_bessel_ive(nu, np.array([float(kappa)]))[0] + float(kappa)


# -- log I_nu --------------------------------------------------------------------------
def test_debye_polynomials_are_those_of_abramowitz_and_stegun():
    # A&S 9.3.9: u_1 .. u_4, divided by t^k (lowest power first)
    published = [
        [3, -5],
        [81, -462, 385],
        [30375, -369603, 765765, -425425],
        [4465125, -94121676, 349922430, -446185740, 185910725],
    ]
    denominators = [24, 1152, 414720, 39813120]
    for mine, numerators, denominator in zip(
        _debye_polynomials(4), published, denominators, strict=True
    ):
        np.testing.assert_allclose(
            mine[::2], np.array(numerators) / denominator, rtol=1e-15
        )
        assert np.all(mine[1::2] == 0)


def _log_bessel_half_integer(n, x):
    """``log I_(n + 1/2)(x)`` for an integer or rational ``x``, to ~1e-30.

    ``I_(n+1/2)(x) = (2 pi x)^(-1/2) [e^x S(-1) - (-1)^n e^(-x) S(1)]`` with
    ``S(s) = sum_k s^k (n + k)! / (k! (n - k)! (2x)^k)`` (the modified
    spherical Bessel functions in closed form, DLMF section 10.49): the sums
    exact in rationals, the exponentials and the log in decimal arithmetic
    with digits enough for the two terms' cancellation at small ``x``.
    """
    x = Fraction(x)
    terms = [
        Fraction(factorial(n + k), factorial(k) * factorial(n - k)) / (2 * x) ** k
        for k in range(n + 1)
    ]
    alternating = sum(term * (-1) ** k for k, term in enumerate(terms))
    plain = sum(terms)
    # the two terms are below plain e^x, the result above the larger of
    # (x/2)^nu / Gamma(nu + 1) and about e^(x - nu^2 / x) / sqrt(2 pi x)
    nu, x_float = n + 0.5, float(x)
    log_plain = np.log(10) * (len(str(plain.numerator)) - len(str(plain.denominator)))
    below = max(
        nu * np.log(x_float / 2) - lgamma(nu + 1),
        x_float - nu * nu / x_float - 0.5 * np.log(2 * np.pi * x_float),
    )
    cancelled = max(log_plain + 1 + x_float - below, 0.0)
    with decimal.localcontext() as context:
        context.prec = 40 + int(cancelled / np.log(10))
        context.Emax, context.Emin = 10**9, -(10**9)

        def exact(fraction):
            return decimal.Decimal(fraction.numerator) / fraction.denominator

        x_decimal = exact(x)
        value = (
            exact(alternating) * x_decimal.exp()
            - (-1) ** n * exact(plain) * (-x_decimal).exp()
        )
        two_pi = 2 * decimal.Decimal(
            "3.14159265358979323846264338327950288419716939937510582097494459"
        )
        return float(value.ln() - (two_pi * x_decimal).ln() / 2)


@pytest.mark.parametrize("n", [0, 1, 7, 49, 50, 149])
@pytest.mark.parametrize("x", ["1/4", 1, 7, 60, 300, 2000, 30000])
def test_log_bessel_of_half_integer_order_is_exact(n, x):
    # orders 0.5 .. 149.5 reach every path: the power series, scipy's ive, the
    # uniform expansion in the order and at large arguments
    reference = _log_bessel_half_integer(n, x)
    mine = _log_bessel(n + 0.5, Fraction(x))
    np.testing.assert_allclose(mine, reference, rtol=2e-15, atol=2e-14)


#: log I_nu(kappa) by mpmath 1.3.0 (``mp.dps = 50``; ``mpmath.log(mpmath.besseli
#: (nu, kappa))``), rounded to 17 digits
MPMATH_LOG_BESSEL = [
    (127, 1.0, -579.58118704419641),
    (127, 100.0, 23.559676930161611),
    (127, 1000.0, 987.56959181512958),
    (149, 0.01, -1389.4587580043182),
    (149, 300.0, 259.88244310011692),
    (149, 5000.0, 4992.6023321650928),
    (0, 1e7, 9999991.0220136538),
    (499, 3000.0, 2953.6658243670794),
]


@pytest.mark.parametrize(("nu", "kappa", "value"), MPMATH_LOG_BESSEL)
def test_log_bessel_matches_mpmath(nu, kappa, value):
    np.testing.assert_allclose(_log_bessel(nu, kappa), value, rtol=1e-14)


@pytest.mark.parametrize("nu", [DEBYE_FROM, 63.0, 127.0, 149.0, 499.0])
def test_uniform_expansion_matches_scipy_where_ive_is_exact(nu):
    kappa = np.array([20.0, 100.0, 400.0, 1500.0, 9000.0])
    ive = special.ive(nu, kappa)
    exact = ive > 1e-300  # ive underflows at nu = 499 and kappa <= 100
    assert exact.sum() >= 3
    np.testing.assert_allclose(
        log_bessel_ive(nu, kappa[exact]), np.log(ive[exact]), rtol=1e-13
    )


def test_log_bessel_stays_finite_where_ive_underflows():
    # d = 300 and 1000 at small kappa: ive is 0 (or subnormal) there
    kappa = np.array([1e-300, 1e-8, 0.5, 1.0, 3.0])
    assert special.ive(499.0, 1.0) == 0.0
    for nu in (149.0, 499.0):
        log_ive = log_bessel_ive(nu, kappa)
        assert np.all(np.isfinite(log_ive))
        # the power series' leading term, to which I_nu tends as kappa -> 0
        leading = nu * np.log(kappa / 2) - special.gammaln(nu + 1) - kappa
        np.testing.assert_allclose(log_ive, leading, rtol=1e-3)


def test_large_arguments_beyond_amos():
    # scipy's ive gives NaN from about 2e9; log I_nu(x) -> x - log(2 pi x) / 2
    kappa = np.array([1e9, 1e10, 1e12])
    for nu in (0.0, 0.5, 149.0):
        expected = -0.5 * np.log(2 * np.pi * kappa) - (4 * nu**2 - 1) / (8 * kappa)
        np.testing.assert_allclose(log_bessel_ive(nu, kappa), expected, rtol=1e-14)


# -- the normalising constant and the density convention ------------------------------
@pytest.mark.parametrize("d", [2, 3, 4, 10, 300, 1000])
def test_kappa_zero_is_the_uniform_density_on_the_sphere(d):
    np.testing.assert_allclose(log_normalizer(d, 0.0), -log_sphere_area(d))
    # and the small-kappa limit is continuous
    np.testing.assert_allclose(log_normalizer(d, 1e-9), -log_sphere_area(d))


def test_sphere_areas():
    assert log_sphere_area(2) == pytest.approx(np.log(2 * np.pi))
    assert log_sphere_area(3) == pytest.approx(np.log(4 * np.pi))
    assert log_sphere_area(4) == pytest.approx(np.log(2 * np.pi**2))


@pytest.mark.parametrize("kappa", [0.1, 3.0, 40.0])
def test_density_integrates_to_one_over_the_surface_measure(kappa):
    # on S^2, x = (w, ...) with w = mu . x: the surface element is 2 pi dw
    log_c = log_normalizer(3, kappa)
    mass, _ = integrate.quad(lambda w: 2 * np.pi * np.exp(log_c + kappa * w), -1, 1)
    assert mass == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize("d", [3, 300])
def test_log_normalizer_matches_scipy(d):
    rng = np.random.RandomState(0)
    mu = _unit(rng, d)
    # (scipy's logpdf is infinite at d = 300 below kappa = 1 or so: its ive
    # underflows there; see test_log_bessel_stays_finite_where_ive_underflows)
    kappas = [50.0, 200.0, 800.0, 3000.0] if d == 300 else [0.01, 1.0, 1e3]
    for kappa in kappas:
        x = _unit(rng, (5, d))
        mine = log_normalizer(d, kappa) + kappa * (x @ mu)
        np.testing.assert_allclose(
            mine, stats.vonmises_fisher(mu, kappa).logpdf(x), rtol=1e-12
        )


# -- A_d and the concentration equation -----------------------------------------------
def test_mean_resultant_length_in_three_dimensions():
    # A_3(kappa) = coth(kappa) - 1/kappa; 1 - A_3 = 1/kappa - 2 / (e^(2 kappa) - 1)
    kappa = np.array([1e-6, 1e-2, 0.3, 2.0, 30.0, 1e3, 1e6, 1e9])
    a = mean_resultant_length(3, kappa)
    series = kappa / 3 - kappa**3 / 45 + 2 * kappa**5 / 945
    closed = np.where(kappa <= 0.01, series, 1 / np.tanh(kappa) - 1 / kappa)
    np.testing.assert_allclose(a, closed, rtol=1e-13)
    gap = 1 / kappa - 2 / np.expm1(np.minimum(2 * kappa, 700))
    large = kappa >= 30
    np.testing.assert_allclose(1 - a[large], gap[large], rtol=1e-6)
    assert mean_resultant_length(3, 0.0) == 0.0


@pytest.mark.parametrize("d", [2, 3, 10, 100, 300])
@pytest.mark.parametrize("r", [1e-4, 0.1, 0.5, 0.9, 0.99, 0.9999])
def test_concentration_solves_the_equation(d, r):
    if d == 300 and r < 0.01:
        pytest.skip("scipy's ive underflows at the root (kappa = 0.03, d = 300)")

    def equation(kappa):  # A_d(kappa) - R from scipy's ive
        return special.ive(d / 2, kappa) / special.ive(d / 2 - 1, kappa) - r

    # A_d is concave with slope 1/d at 0, so the root is at least r d
    lower, upper = r * d, 4 * r * d
    while equation(upper) < 0:
        upper *= 4
    root = optimize.brentq(equation, lower, upper, xtol=1e-300, rtol=1e-14)
    np.testing.assert_allclose(concentration(d, r), root, rtol=1e-10)


def test_concentration_at_the_edges():
    kappa = concentration(3, np.array([0.0, 1.0, 1.0 + 1e-15, 1 - 1e-12]))
    assert kappa[0] == 0.0
    assert np.all(kappa[1:3] == MAX_CONCENTRATION)
    # 1 - A_3(kappa) = 1/kappa beyond a few tens: R = 1 - 1e-12 gives 1e12, capped
    assert kappa[3] == MAX_CONCENTRATION
    np.testing.assert_allclose(concentration(3, 1 - 1e-8), 1e8, rtol=1e-7)
    # d = 1000 near saturation: 1 - A = (d - 1) / (2 kappa) + ..., no overflow
    np.testing.assert_allclose(
        concentration(1000, 1 - 1e-6), 999 / 2e-6 + 997 / 4, rtol=1e-6
    )


# -- the M-step -----------------------------------------------------------------------
def test_m_step_is_scipy_maximum_likelihood():
    rng = np.random.RandomState(1)
    # (scipy's fit gives kappa = 1e-8 from d = 100 on: its ive underflows)
    for d, kappa in ((3, 5.0), (10, 40.0), (50, 100.0)):
        mu = _unit(rng, d)
        X = stats.vonmises_fisher(mu, kappa).rvs(500, random_state=rng)
        family = VonMisesFisher()
        fitted = family.maximize(family.statistics(X, np.ones((500, 1))))
        mu_scipy, kappa_scipy = stats.vonmises_fisher.fit(X)
        np.testing.assert_allclose(fitted.mean_directions[0], mu_scipy, atol=1e-12)
        np.testing.assert_allclose(fitted.concentrations[0], kappa_scipy, rtol=1e-8)


def test_m_step_with_weights_equals_repeated_rows():
    rng = np.random.RandomState(2)
    X = _unit(rng, (30, 4))
    counts = rng.randint(1, 4, size=30)
    family = VonMisesFisher()
    weighted = family.maximize(
        family.statistics(X, np.ones((30, 1)), sample_weight=counts.astype(float))
    )
    repeated = np.repeat(X, counts, axis=0)
    plain = family.maximize(family.statistics(repeated, np.ones((len(repeated), 1))))
    np.testing.assert_allclose(weighted.mean_directions, plain.mean_directions)
    np.testing.assert_allclose(weighted.concentrations, plain.concentrations)


def test_empty_cancelling_and_single_row_components_stay_finite():
    X = np.array([[1.0, 0, 0], [-1.0, 0, 0], [0, 1.0, 0]])
    resp = np.array([[0, 1, 0], [0, 1, 0], [0, 0, 1.0]])  # 0: empty, 1: cancels
    fitted = VonMisesFisher().maximize(VonMisesFisher().statistics(X, resp))
    np.testing.assert_array_equal(fitted.concentrations[:2], 0.0)
    assert fitted.concentrations[2] == MAX_CONCENTRATION
    np.testing.assert_array_equal(fitted.mean_directions[2], [0, 1, 0])
    assert np.all(np.isfinite(fitted.log_prob(X)))


# -- high dimension, large concentrations ---------------------------------------------
def test_d300_with_large_concentrations():
    rng = np.random.RandomState(3)
    d, kappa = 300, np.array([150.0, 400.0, 900.0, 4000.0])
    family = VonMisesFisher(mean_directions=_unit(rng, (4, d)), concentrations=kappa)
    labels = np.repeat(np.arange(4), 2000)
    X = family.sample(labels, rng)
    log_prob = family.log_prob(X)
    assert np.all(np.isfinite(log_prob))
    for k in range(4):
        reference = stats.vonmises_fisher(family.mean_directions[k], kappa[k])
        np.testing.assert_allclose(
            log_prob[:50, k], reference.logpdf(X[:50]), rtol=1e-11
        )
    fitted = family.maximize(family.statistics(X, np.eye(4)[labels]))
    cosines = np.sum(fitted.mean_directions * family.mean_directions, axis=1)
    # the direction's angular error is about sqrt((d - 1) / (n kappa A)):
    # 0.03 rad at kappa = 150 (A = 0.41), so cos > 0.999
    assert np.all(cosines > 0.995)
    # kappa's standard error is a percent or so at n = 2000
    np.testing.assert_allclose(fitted.concentrations, kappa, rtol=0.05)


def test_sampler_moments_in_high_dimension():
    rng = np.random.RandomState(4)
    d, kappa = 300, np.array([0.0, 100.0, 2000.0])
    mu = _unit(rng, (3, d))
    X = VonMisesFisher(mean_directions=mu, concentrations=kappa).sample(
        np.repeat(np.arange(3), 20_000), rng
    )
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-12)
    a = mean_resultant_length(d, kappa)
    # Var(mu . x) = 1 - (d - 1) A / kappa - A^2 (1/d at kappa = 0)
    variance = np.where(
        kappa > 0, 1 - (d - 1) * a / np.maximum(kappa, 1) - a**2, 1.0 / d
    )
    for k in range(3):
        w = X[20_000 * k : 20_000 * (k + 1)] @ mu[k]
        assert abs(w.mean() - a[k]) < 5 * np.sqrt(variance[k] / 20_000)
        np.testing.assert_allclose(w.var(), variance[k], rtol=0.05)


def test_sampler_matches_scipy_in_distribution():
    rng = np.random.RandomState(5)
    mu = _unit(rng, 5)
    mine = VonMisesFisher(mean_directions=mu[None], concentrations=[8.0]).sample(
        np.zeros(4000, dtype=int), rng
    )
    theirs = stats.vonmises_fisher(mu, 8.0).rvs(4000, random_state=rng)
    assert stats.ks_2samp(mine @ mu, theirs @ mu).pvalue > 0.001


# -- data and parameter checks --------------------------------------------------------
def test_rows_of_zero_norm_are_named():
    X = _unit(np.random.RandomState(6), (10, 3))
    X[[2, 7]] = 0.0
    with pytest.raises(DataValidationError, match=r"row\(s\) 2, 7 have zero norm"):
        check_unit_rows(X)


def test_rows_off_the_sphere_are_named_with_their_norms():
    X = _unit(np.random.RandomState(7), (10, 3))
    X[4] *= 2.0
    with pytest.raises(DataValidationError, match=r"row\(s\) 4 have norm\(s\) 2 .*"):
        check_unit_rows(X)
    # float32's tolerance, sqrt(eps) = 3.5e-4, lets float32 rounding through
    X32 = (_unit(np.random.RandomState(7), (10, 3)) * (1 + 1e-5)).astype(np.float32)
    assert check_unit_rows(X32) is X32
    with pytest.raises(DataValidationError, match="norm"):
        check_unit_rows(X32.astype(np.float64))


def test_one_feature_is_refused():
    with pytest.raises(DataValidationError, match="n_features = 1"):
        check_unit_rows(np.ones((4, 1)))


def test_parameters_are_checked():
    with pytest.raises(ValueError, match="unit vectors"):
        VonMisesFisher(mean_directions=[[1.0, 1.0]], concentrations=[1.0])
    with pytest.raises(ValueError, match="non-negative"):
        VonMisesFisher(mean_directions=[[1.0, 0.0]], concentrations=[-1.0])
    with pytest.raises(ValueError, match="shape"):
        VonMisesFisher(mean_directions=[[1.0, 0.0]], concentrations=[1.0, 2.0])
    with pytest.raises(ModelFileError):
        VonMisesFisher.from_arrays({}, {"mean_directions": np.eye(2)})
    # float32-rounded directions are accepted, and rescaled to unit length
    mu = _unit(np.random.RandomState(8), (3, 50)).astype(np.float32)
    family = VonMisesFisher(mean_directions=mu, concentrations=np.ones(3))
    np.testing.assert_allclose(
        np.linalg.norm(family.mean_directions, axis=1), 1.0, rtol=1e-15
    )


def test_a_template_refuses_to_evaluate():
    with pytest.raises(ValueError, match="template"):
        VonMisesFisher().log_prob(np.eye(3))


def test_parameter_count():
    family = VonMisesFisher(mean_directions=np.eye(4)[:3], concentrations=np.ones(3))
    # K (d - 1) for the directions, K for the concentrations
    assert family.n_parameters() == 3 * 3 + 3


@pytest.mark.parametrize("nu", [0.0, 0.5, 49.0, 149.0])
def test_regime_boundaries_are_continuous(nu):
    # either side of the series' edge and of LARGE_ARGUMENT agree to rounding
    edge = np.sqrt(4e-3 * (nu + 1))
    for point in (edge, LARGE_ARGUMENT):
        kappa = point * np.array([1 - 1e-9, 1 + 1e-9])
        values = log_bessel_ive(nu, kappa)
        assert abs(values[1] - values[0]) < 1e-8 * max(1.0, abs(values[0]))
