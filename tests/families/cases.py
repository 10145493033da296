"""The family test registry: one entry per family configuration.

A new family joins every generic test in ``test_registry.py`` by adding a
:class:`FamilyCase` here: how to build it with parameters, how to draw data in its
support, its log density from an independent reference (``scipy.stats``), and the
per-feature mean and variance of each component.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from mixtura.families import (
    COVARIANCE_STRUCTURES,
    Bernoulli,
    Categorical,
    Dirichlet,
    DirichletMultinomial,
    Exponential,
    GammaFamily,
    Gaussian,
    LogNormal,
    Multinomial,
    Poisson,
    Product,
    StudentT,
    VonMisesFisher,
    get_covariance_structure,
)


@dataclass(frozen=True)
class FamilyCase:
    """How the generic tests exercise one family configuration."""

    id: str
    #: rng, n_components, n_features -> family with parameters
    make: Callable
    #: rng, n_samples, n_features -> data in the family's support
    data: Callable
    #: family, X -> (n_samples, n_components) log densities from scipy.stats
    reference_log_prob: Callable
    #: family -> (means (K, d), variances (K, d)) of each component
    moments: Callable
    #: True where the statistics are taken at the family's own parameters (a
    #: generalised-EM M-step, e.g. Minka's fixed point), so a template's differ
    stats_depend_on_parameters: bool = False


def _random_spd(rng, d):
    A = rng.normal(size=(d, d))
    return A @ A.T / d + 0.5 * np.eye(d)


def _constrained_covariances(structure, rng, n_components, n_features):
    """Random covariances that satisfy a structure's constraints (its M-step's)."""
    structure = get_covariance_structure(structure)
    nk = rng.uniform(20.0, 50.0, size=n_components)
    scatter = np.stack([_random_spd(rng, n_features) for _ in range(n_components)])
    if not structure.full_scatter:
        scatter = np.diagonal(scatter, axis1=1, axis2=2)
    return structure.covariances_from_scatter(
        scatter * nk.reshape(-1, *[1] * (scatter.ndim - 1)), nk, 0.0
    )


def _gaussian_covariances(structure, rng, n_components, n_features):
    if structure not in ("full", "tied", "diag", "spherical"):
        return _constrained_covariances(structure, rng, n_components, n_features)
    if structure == "full":
        return np.stack([_random_spd(rng, n_features) for _ in range(n_components)])
    if structure == "tied":
        return _random_spd(rng, n_features)
    if structure == "diag":
        return rng.uniform(0.3, 2.0, size=(n_components, n_features))
    return rng.uniform(0.3, 2.0, size=n_components)


def full_covariances(family):
    """Each component's covariance as a (d, d) matrix, whatever the structure."""
    return family.structure.matrices(
        family.covariances, family.n_components, family.n_features
    )


def _gaussian_case(structure):
    def make(rng, n_components, n_features):
        means = rng.normal(scale=3.0, size=(n_components, n_features))
        covariances = _gaussian_covariances(structure, rng, n_components, n_features)
        return Gaussian(structure, means=means, covariances=covariances)

    def reference(family, X):
        covs = full_covariances(family)
        return np.column_stack(
            [
                stats.multivariate_normal(mean, cov).logpdf(X)
                for mean, cov in zip(family.means, covs, strict=True)
            ]
        )

    def moments(family):
        covs = full_covariances(family)
        return family.means, np.diagonal(covs, axis1=1, axis2=2)

    return FamilyCase(
        id=f"gaussian-{structure}",
        make=make,
        data=lambda rng, n, d: rng.normal(scale=3.0, size=(n, d)),
        reference_log_prob=reference,
        moments=moments,
    )


FAMILY_CASES = [_gaussian_case(name) for name in COVARIANCE_STRUCTURES]


# -- discrete families: Bernoulli, categorical, Poisson --------------------------------
def _bernoulli_case(alpha, beta):
    def make(rng, n_components, n_features):
        probabilities = rng.uniform(0.05, 0.95, size=(n_components, n_features))
        return Bernoulli(alpha, beta, probabilities=probabilities)

    def reference(family, X):
        return np.column_stack(
            [stats.bernoulli(p).logpmf(X).sum(axis=1) for p in family.probabilities]
        )

    def moments(family):
        p = family.probabilities
        return p, p * (1 - p)

    return FamilyCase(
        id=f"bernoulli-{alpha}-{beta}",
        make=make,
        data=lambda rng, n, d: rng.randint(0, 2, size=(n, d)).astype(np.float64),
        reference_log_prob=reference,
        moments=moments,
    )


def _poisson_case(gamma_shape, gamma_rate):
    def make(rng, n_components, n_features):
        rates = rng.uniform(0.5, 8.0, size=(n_components, n_features))
        return Poisson(gamma_shape, gamma_rate, rates=rates)

    def reference(family, X):
        return np.column_stack(
            [stats.poisson(rates).logpmf(X).sum(axis=1) for rates in family.rates]
        )

    return FamilyCase(
        id=f"poisson-{gamma_shape}-{gamma_rate}",
        make=make,
        data=lambda rng, n, d: rng.poisson(4.0, size=(n, d)).astype(np.float64),
        reference_log_prob=reference,
        moments=lambda family: (family.rates, family.rates),
    )


def _categorical_levels(n_features):
    return [2 + j % 3 for j in range(n_features)]  # 2, 3, 4, 2, ... levels


def _categorical_case(alpha):
    def make(rng, n_components, n_features):
        levels = _categorical_levels(n_features)
        blocks = [rng.dirichlet(np.full(n, 2.0), size=n_components) for n in levels]
        return Categorical(levels, alpha, probabilities=np.concatenate(blocks, axis=1))

    def data(rng, n_samples, n_features):
        levels = np.array(_categorical_levels(n_features))
        codes = np.floor(rng.uniform(size=(n_samples, n_features)) * levels)
        codes[: levels.max()] = np.minimum(np.arange(levels.max())[:, None], levels - 1)
        return codes  # the first rows show every level of every column

    def reference(family, X):
        columns = []
        for k in range(family.n_components):
            total = np.zeros(X.shape[0])
            for j, block in enumerate(family.item_probabilities()):
                one_hot = np.eye(block.shape[1])[X[:, j].astype(int)]
                total += stats.multinomial(1, block[k]).logpmf(one_hot)
            columns.append(total)
        return np.column_stack(columns)

    def moments(family):
        means, variances = [], []
        for block in family.item_probabilities():
            levels = np.arange(block.shape[1])
            mean = block @ levels
            means.append(mean)
            variances.append(block @ levels**2 - mean**2)
        return np.column_stack(means), np.column_stack(variances)

    return FamilyCase(
        id=f"categorical-{alpha}",
        make=make,
        data=data,
        reference_log_prob=reference,
        moments=moments,
    )


FAMILY_CASES += [
    _bernoulli_case(1.0, 1.0),
    _bernoulli_case(2.0, 3.0),
    _poisson_case(1.0, 0.0),
    _poisson_case(2.0, 0.5),
    _categorical_case(1.0),
    _categorical_case(2.0),
]


# -- products of families (mixed-type tables) -----------------------------------------
def _product_case(id, parts):
    """A product of the families of other cases, each on its own columns.

    ``parts`` is a list of (case, columns); the columns of all parts are
    0 .. n_features - 1, so this case assumes the registry's 4 features.
    """

    def make(rng, n_components, n_features):
        assert n_features == sum(len(columns) for _, columns in parts)
        return Product(
            [(case.make(rng, n_components, len(cols)), cols) for case, cols in parts]
        )

    def data(rng, n_samples, n_features):
        X = np.empty((n_samples, n_features))
        for case, columns in parts:
            X[:, columns] = case.data(rng, n_samples, len(columns))
        return X

    def reference(family, X):
        return sum(
            case.reference_log_prob(part, X[:, columns])
            for (case, columns), part in zip(parts, family.parts, strict=True)
        )

    def moments(family):
        means = np.empty((family.n_components, family.n_features))
        variances = np.empty_like(means)
        for (case, columns), part in zip(parts, family.parts, strict=True):
            means[:, columns], variances[:, columns] = case.moments(part)
        return means, variances

    return FamilyCase(id, make, data, reference, moments)


FAMILY_CASES += [
    _product_case(
        "product-mixed",
        [
            (_bernoulli_case(1.0, 1.0), [1]),
            (_gaussian_case("diag"), [0, 3]),
            (_categorical_case(1.0), [2]),
        ],
    ),
    _product_case(
        "product-counts-and-flags",
        [(_poisson_case(1.0, 0.0), [0, 2]), (_bernoulli_case(2.0, 2.0), [1, 3])],
    ),
]


# -- count vectors (text): multinomial, Dirichlet-multinomial ------------------------
def _multinomial_case(alpha):
    def make(rng, n_components, n_features):
        probabilities = rng.dirichlet(np.full(n_features, 2.0), size=n_components)
        lengths = rng.uniform(5.0, 30.0, size=n_components)
        return Multinomial(alpha, probabilities=probabilities, lengths=lengths)

    def reference(family, X):
        lengths = X.sum(axis=1)
        return np.column_stack(
            [stats.multinomial.logpmf(X, n=lengths, p=p) for p in family.probabilities]
        )

    def moments(family):
        # lengths ~ Poisson(lambda_k) make every count Poisson(lambda_k theta_kv)
        rates = family.lengths[:, None] * family.probabilities
        return rates, rates

    return FamilyCase(
        id=f"multinomial-{alpha}",
        make=make,
        data=lambda rng, n, d: rng.poisson(3.0, size=(n, d)).astype(np.float64),
        reference_log_prob=reference,
        moments=moments,
    )


def _dirichlet_multinomial_case(min_concentration):
    def make(rng, n_components, n_features):
        concentrations = rng.uniform(0.3, 3.0, size=(n_components, n_features))
        lengths = rng.uniform(5.0, 30.0, size=n_components)
        return DirichletMultinomial(
            min_concentration, concentrations=concentrations, lengths=lengths
        )

    def reference(family, X):
        lengths = X.sum(axis=1).astype(int)
        return np.column_stack(
            [
                stats.dirichlet_multinomial.logpmf(X, alpha, n=lengths)
                for alpha in family.concentrations
            ]
        )

    def moments(family):
        # lengths n ~ Poisson(lambda), then x_v has mean lambda p_v and variance
        # lambda p_v + lambda^2 p_v (1 - p_v) / (1 + A), with p = alpha / A
        precision = family.concentrations.sum(axis=1, keepdims=True)
        p, lam = family.concentrations / precision, family.lengths[:, None]
        return lam * p, lam * p + lam**2 * p * (1 - p) / (1 + precision)

    return FamilyCase(
        id=f"dirichlet_multinomial-{min_concentration}",
        make=make,
        data=lambda rng, n, d: rng.poisson(3.0, size=(n, d)).astype(np.float64),
        reference_log_prob=reference,
        moments=moments,
        stats_depend_on_parameters=True,
    )


FAMILY_CASES += [
    _multinomial_case(1.0),
    _multinomial_case(0.0),
    _dirichlet_multinomial_case(1e-6),
]


# -- positive continuous families: gamma, exponential, log-normal --------------------
def _gamma_case():
    def make(rng, n_components, n_features):
        shapes = rng.uniform(0.8, 6.0, size=(n_components, n_features))
        rates = rng.uniform(0.3, 3.0, size=(n_components, n_features))
        return GammaFamily(shapes=shapes, rates=rates)

    def reference(family, X):
        return np.column_stack(
            [
                stats.gamma(a, scale=1 / b).logpdf(X).sum(axis=1)
                for a, b in zip(family.shapes, family.rates, strict=True)
            ]
        )

    return FamilyCase(
        id="gamma",
        make=make,
        data=lambda rng, n, d: rng.gamma(2.0, 1.5, size=(n, d)),
        reference_log_prob=reference,
        moments=lambda f: (f.shapes / f.rates, f.shapes / f.rates**2),
    )


def _exponential_case():
    def make(rng, n_components, n_features):
        return Exponential(rates=rng.uniform(0.2, 4.0, size=(n_components, n_features)))

    def reference(family, X):
        return np.column_stack(
            [stats.expon(scale=1 / r).logpdf(X).sum(axis=1) for r in family.rates]
        )

    return FamilyCase(
        id="exponential",
        make=make,
        data=lambda rng, n, d: rng.exponential(2.0, size=(n, d)),
        reference_log_prob=reference,
        moments=lambda f: (1 / f.rates, 1 / f.rates**2),
    )


def _lognormal_case(covariance_type):
    def make(rng, n_components, n_features):
        means = rng.normal(scale=0.5, size=(n_components, n_features))
        covariances = 0.1 * _constrained_covariances(
            covariance_type, rng, n_components, n_features
        )
        return LogNormal(covariance_type, means=means, covariances=covariances)

    def reference(family, X):
        # the log density of log x, less the Jacobian sum_j log x_j
        structure = get_covariance_structure(family.covariance_type)
        matrices = structure.matrices(
            family.covariances, family.n_components, family.n_features
        )
        return np.column_stack(
            [
                stats.multivariate_normal(mean, cov).logpdf(np.log(X))
                - np.log(X).sum(axis=1)
                for mean, cov in zip(family.means, matrices, strict=True)
            ]
        )

    return FamilyCase(
        id=f"lognormal-{covariance_type}",
        make=make,
        data=lambda rng, n, d: rng.lognormal(0.0, 0.6, size=(n, d)),
        reference_log_prob=reference,
        moments=lambda f: f.moments(),
    )


FAMILY_CASES += [
    _gamma_case(),
    _exponential_case(),
    _lognormal_case("diag"),
    _lognormal_case("full"),
]


# -- Student-t: heavy-tailed components on the Gaussian's scale structures -----------
def _student_case(covariance_type, df_update="component"):
    def make(rng, n_components, n_features):
        means = rng.normal(scale=2.0, size=(n_components, n_features))
        scales = _gaussian_covariances(covariance_type, rng, n_components, n_features)
        # above 4 degrees of freedom the sampling test's variances are stable
        nu = rng.uniform(6.0, 12.0, size=n_components)
        return StudentT(
            covariance_type,
            df_update=df_update,
            means=means,
            scales=scales,
            degrees_of_freedom=nu,
        )

    def scale_matrices(family):
        return family.structure.matrices(
            family.scales, family.n_components, family.n_features
        )

    def reference(family, X):
        return np.column_stack(
            [
                stats.multivariate_t(mean, shape, df=nu).logpdf(X)
                for mean, shape, nu in zip(
                    family.means,
                    scale_matrices(family),
                    family.degrees_of_freedom,
                    strict=True,
                )
            ]
        )

    def moments(family):
        variances = np.diagonal(scale_matrices(family), 0, 1, 2)
        nu = family.degrees_of_freedom[:, None]
        return family.means, variances * nu / (nu - 2)

    return FamilyCase(
        id=f"student_t-{covariance_type}-{df_update}",
        make=make,
        data=lambda rng, n, d: rng.standard_t(5.0, size=(n, d)) + rng.normal(size=d),
        reference_log_prob=reference,
        moments=moments,
        stats_depend_on_parameters=True,
    )


FAMILY_CASES += [
    _student_case("full"),
    _student_case("diag"),
    _student_case("tied", "shared"),
    _student_case("spherical", "fixed"),
    _student_case("VVE"),
]


# -- compositions: Dirichlet ----------------------------------------------------------
def _dirichlet_case():
    def make(rng, n_components, n_features):
        concentrations = rng.uniform(0.5, 8.0, size=(n_components, n_features))
        return Dirichlet(concentrations=concentrations)

    def reference(family, X):
        # scipy.stats.dirichlet takes the rows as columns, shape (d, n)
        return np.column_stack(
            [stats.dirichlet(a).logpdf(X.T) for a in family.concentrations]
        )

    def moments(family):
        a = family.concentrations
        a0 = a.sum(axis=1, keepdims=True)
        return a / a0, a * (a0 - a) / (a0**2 * (a0 + 1))

    return FamilyCase(
        id="dirichlet",
        make=make,
        data=lambda rng, n, d: rng.dirichlet(np.full(d, 3.0), size=n),
        reference_log_prob=reference,
        moments=moments,
    )


FAMILY_CASES += [_dirichlet_case()]


# -- directions: von Mises-Fisher ----------------------------------------------------
def _von_mises_fisher_case():
    def make(rng, n_components, n_features):
        directions = rng.normal(size=(n_components, n_features))
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)
        concentrations = rng.uniform(0.5, 20.0, size=n_components)
        return VonMisesFisher(mean_directions=directions, concentrations=concentrations)

    def reference(family, X):
        return np.column_stack(
            [
                stats.vonmises_fisher(mu, kappa).logpdf(X)
                for mu, kappa in zip(
                    family.mean_directions, family.concentrations, strict=True
                )
            ]
        )

    def moments(family):
        # E x = A mu and E x x^T = (A / kappa) I + (1 - d A / kappa) mu mu^T, with
        # A = I_(d/2)(kappa) / I_(d/2-1)(kappa) from scipy's Bessel functions
        mu, kappa = family.mean_directions, family.concentrations[:, None]
        d = family.n_features
        a = special.ive(d / 2, kappa) / special.ive(d / 2 - 1, kappa)
        second = a / kappa + (1 - d * a / kappa) * mu**2
        return a * mu, second - (a * mu) ** 2

    def data(rng, n_samples, n_features):
        X = rng.normal(size=(n_samples, n_features))
        return X / np.linalg.norm(X, axis=1, keepdims=True)

    return FamilyCase(
        id="von_mises_fisher",
        make=make,
        data=data,
        reference_log_prob=reference,
        moments=moments,
    )


FAMILY_CASES += [_von_mises_fisher_case()]
