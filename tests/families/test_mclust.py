"""mclust's 14 multivariate models and E, V: M-steps, constraints, counts, errors.

The generic structure tests (test_covariance.py, test_registry.py, the monotone
EM test of test_loop.py) run over every registered structure, mclust's included;
this file checks what is specific to the eigen-decomposition models.
"""

import csv
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import ortho_group

from mixtura import GaussianMixture, load, save
from mixtura.families import COVARIANCE_STRUCTURES, Gaussian, get_covariance_structure
from mixtura.families.mclust import (
    MCLUST_MODELS,
    MCLUST_STRUCTURES,
    MULTIVARIATE_MODELS,
    UNIVARIATE_MODELS,
)

REFERENCE = Path(__file__).parents[1] / "reference"
multivariate = pytest.mark.parametrize("name", MULTIVARIATE_MODELS)


def _decompose(covariances):
    """Volumes (K,), shapes (K, d) (decreasing, det 1) and orientations (K, d, d)."""
    values, vectors = np.linalg.eigh(covariances)
    values, vectors = values[:, ::-1], vectors[:, :, ::-1]
    volumes = np.exp(np.log(values).mean(axis=1))
    return volumes, values / volumes[:, None], vectors


def _same_orientation(a, b):
    """Whether two eigenvector matrices agree up to the signs of the columns."""
    return np.allclose(np.abs(np.sum(a * b, axis=0)), 1.0, atol=1e-6)


def _check_constraints(name, covariances):
    """Assert that (K, d, d) covariances satisfy model ``name``'s constraints."""
    volumes, shapes, orientations = _decompose(covariances)
    volume, shape, orientation = name
    if volume == "E":
        np.testing.assert_allclose(volumes, volumes[0], rtol=1e-8)
    if shape == "E":
        np.testing.assert_allclose(shapes, np.broadcast_to(shapes[0], shapes.shape))
    if shape == "I":
        np.testing.assert_allclose(shapes, 1.0, rtol=1e-8)
    off_diagonal = covariances - np.einsum("kii->ki", covariances)[:, :, None] * np.eye(
        covariances.shape[-1]
    )
    if orientation == "I":
        np.testing.assert_allclose(off_diagonal, 0.0, atol=1e-12)
    if orientation == "E" and shape != "I":
        assert all(_same_orientation(orientations[0], o) for o in orientations)


def _model_covariances(name, rng, n_components, n_features):
    """Covariances lambda_k D_k A_k D_k^T satisfying model ``name`` exactly."""
    volume, shape, orientation = name
    volumes = (
        np.full(n_components, 1.5)
        if volume == "E"
        else rng.uniform(0.5, 3.0, n_components)
    )

    def random_shape():
        values = np.sort(rng.uniform(0.2, 4.0, n_features))[::-1]
        return values / np.exp(np.log(values).mean())

    if shape == "I":
        shapes = np.ones((n_components, n_features))
    elif shape == "E":
        shapes = np.broadcast_to(random_shape(), (n_components, n_features))
    else:
        shapes = np.stack([random_shape() for _ in range(n_components)])
    if orientation == "I":
        rotations = np.broadcast_to(
            np.eye(n_features), (n_components,) + (n_features,) * 2
        )
    elif orientation == "E":
        rotations = np.broadcast_to(
            ortho_group.rvs(n_features, random_state=rng),
            (n_components,) + (n_features,) * 2,
        )
    else:
        rotations = np.stack(
            [ortho_group.rvs(n_features, random_state=rng) for _ in range(n_components)]
        )
    scaled = volumes[:, None] * shapes
    return np.einsum("kij,kj,klj->kil", rotations, scaled, rotations)


def _as_matrices(name, covariances, n_components, n_features):
    return get_covariance_structure(name).matrices(
        covariances, n_components, n_features
    )


def test_every_model_is_registered_with_its_name():
    assert set(MCLUST_MODELS) <= set(COVARIANCE_STRUCTURES)
    assert len(MULTIVARIATE_MODELS) == 14
    for name, structure in MCLUST_STRUCTURES.items():
        assert structure.name == name
        assert get_covariance_structure(name) is structure


def _reference_counts():
    with open(REFERENCE / "mclust_nparams.csv") as handle:
        return [
            (row["model"], int(row["d"]), int(row["G"]), int(row["nparams"]))
            for row in csv.DictReader(handle)
        ]


@pytest.mark.parametrize(("model", "d", "k", "expected"), _reference_counts())
def test_parameter_count_equals_mclusts_nMclustParams(model, d, k, expected):
    # reference: nMclustParams(model, d, G) from R's mclust (mclust_faithful.R)
    structure = get_covariance_structure(model)
    assert structure.n_parameters(k, d) + k * d + (k - 1) == expected


@multivariate
def test_m_step_recovers_parameters_of_data_that_satisfy_the_model(name):
    # one-hot responsibilities of a large sample from each component: the M-step
    # must return (close to) the covariances the data were drawn from
    rng = np.random.RandomState(sum(map(ord, name)))
    n_components, n_features, n_per = 3, 3, 20_000
    truth = _model_covariances(name, rng, n_components, n_features)
    means = rng.normal(scale=10.0, size=(n_components, n_features))
    labels = np.repeat(np.arange(n_components), n_per)
    X = np.vstack(
        [
            means[k] + rng.standard_normal((n_per, n_features)) @ factor.T
            for k, factor in enumerate(np.linalg.cholesky(truth))
        ]
    )
    resp = np.eye(n_components)[labels]
    template = Gaussian(name, reg_covar=0.0)
    fitted = template.maximize(template.statistics(X, resp))
    covariances = _as_matrices(name, fitted.covariances, n_components, n_features)
    np.testing.assert_allclose(fitted.means, means, atol=0.1)
    np.testing.assert_allclose(covariances, truth, rtol=0.06, atol=0.06)
    _check_constraints(name, covariances)


@multivariate
def test_m_step_output_satisfies_the_constraints_on_any_scatter(name):
    rng = np.random.RandomState(1)
    X = rng.normal(size=(400, 4)) @ rng.normal(size=(4, 4))
    resp = rng.dirichlet(np.ones(3), size=400)
    template = Gaussian(name, reg_covar=0.0)
    fitted = template.maximize(template.statistics(X, resp))
    _check_constraints(name, _as_matrices(name, fitted.covariances, 3, 4))


@multivariate
def test_m_step_beats_every_other_covariance_of_the_model(name):
    # the constrained M-step minimises sum_k n_k log det S_k + tr(W_k S_k^-1) over
    # the model's covariances: random members of the model never do better
    rng = np.random.RandomState(2)
    X = rng.normal(size=(300, 3)) * [1.0, 2.0, 0.5]
    resp = rng.dirichlet(np.ones(3), size=300)
    template = Gaussian(name, reg_covar=0.0)
    stats = template.statistics(X, resp)
    scatter = stats.scatter if stats.full else None

    def objective(covariances):
        matrices = _as_matrices(name, covariances, 3, 3)
        full_scatter = (
            scatter
            if scatter is not None
            else np.stack([np.cov(X.T, aweights=r, bias=True) for r in resp.T])
            * stats.resp_sum[:, None, None]
        )
        logdet = np.linalg.slogdet(matrices)[1]
        trace = np.einsum("kij,kji->k", full_scatter, np.linalg.inv(matrices))
        return np.sum(stats.resp_sum * logdet + trace)

    best = objective(template.maximize(stats).covariances)
    structure = get_covariance_structure(name)
    for seed in range(20):
        candidate = _model_covariances(name, np.random.RandomState(seed), 3, 3)
        if not structure.full_scatter:
            candidate = np.einsum("kii->ki", candidate)
            if name in ("EII", "VII"):
                candidate = candidate[:, 0]
        assert best <= objective(candidate) + 1e-9


@pytest.mark.parametrize("name", ["VEI", "VEV", "VEE", "EVE", "VVE"])
def test_an_iterative_m_step_from_a_start_improves_on_it(name):
    # EM passes the previous covariances as the inner iterations' start: the
    # M-step's objective (sum_k n_k log det S_k + tr(W_k S_k^-1)) must be no
    # worse than at that start (a generalised EM step, whatever the start), and
    # the convex rules (VEI, VEV, VEE) reach the same minimiser as from scratch
    rng = np.random.RandomState(4)
    X = rng.normal(size=(300, 3)) @ rng.normal(size=(3, 3))
    resp = rng.dirichlet(np.ones(3) * 2, size=300)
    template = Gaussian(name, reg_covar=0.0)
    stats = template.statistics(X, resp)
    structure = get_covariance_structure(name)
    full_scatter = (
        np.stack([np.cov(X.T, aweights=r, bias=True) for r in resp.T])
        * stats.resp_sum[:, None, None]
    )

    def objective(covariances):
        matrices = _as_matrices(name, covariances, 3, 3)
        logdet = np.linalg.slogdet(matrices)[1]
        trace = np.einsum("kij,kji->k", full_scatter, np.linalg.inv(matrices))
        return np.sum(stats.resp_sum * logdet + trace)

    cold = structure.covariances_from_scatter(stats.scatter, stats.resp_sum, 0.0)
    for seed in range(5):
        start = _model_covariances(name, np.random.RandomState(seed), 3, 3)
        if not structure.full_scatter:
            start = np.einsum("kii->ki", start)
        warm = structure.covariances_from_scatter(
            stats.scatter, stats.resp_sum, 0.0, start=start
        )
        _check_constraints(name, _as_matrices(name, warm, 3, 3))
        assert objective(warm) <= objective(start) + 1e-9
        if name in ("VEI", "VEV", "VEE"):
            np.testing.assert_allclose(warm, cold, rtol=1e-6, atol=1e-9)
    # a start that cannot seed the iterations (wrong shape, not finite) is ignored
    for unusable in (np.full_like(cold, np.nan), cold[:2]):
        np.testing.assert_array_equal(
            structure.covariances_from_scatter(
                stats.scatter, stats.resp_sum, 0.0, start=unusable
            ),
            cold,
        )


@pytest.mark.parametrize("name", MULTIVARIATE_MODELS)
def test_one_feature_with_a_multivariate_model_says_use_e_or_v(name):
    X = np.random.RandomState(0).normal(size=(50, 1))
    with pytest.raises(ValueError, match=r"use 'E' .* or 'V'"):
        GaussianMixture(2, covariance_type=name).fit(X)


@pytest.mark.parametrize("name", UNIVARIATE_MODELS)
def test_univariate_model_on_several_features_names_the_multivariate_ones(name):
    X = np.random.RandomState(0).normal(size=(50, 2))
    with pytest.raises(ValueError, match=r"univariate.*'EII'"):
        GaussianMixture(2, covariance_type=name).fit(X)


def test_unknown_model_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown covariance_type 'VVX'.*'VEV'"):
        get_covariance_structure("VVX")
    with pytest.raises(ValueError, match="covariance_type"):
        GaussianMixture(2, covariance_type="VVX").fit(np.zeros((5, 2)))


@pytest.mark.parametrize("name", ["VEV", "EVE", "VEI", "EEE", "VII"])
def test_estimator_fits_predicts_and_round_trips_through_a_model_file(name, tmp_path):
    rng = np.random.RandomState(0)
    X = np.vstack([rng.normal(size=(100, 2)), rng.normal(size=(100, 2)) * 2 + 6])
    model = GaussianMixture(2, covariance_type=name, random_state=0).fit(X)
    assert model.covariance_type == name
    path = tmp_path / "model.mixtura"
    save(model, path)
    loaded = load(path)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_allclose(loaded.score_samples(X), model.score_samples(X))
    expected = get_covariance_structure(name).n_parameters(2, 2) + 2 * 2 + 1
    assert model._n_parameters() == expected
    assert model.bic(X) == pytest.approx(
        -2 * model.score(X) * len(X) + expected * math.log(len(X))
    )


def test_univariate_models_agree_with_mclust_on_waiting_times():
    # reference: mclustBIC(faithful$waiting, G = 1:5) (mclust_faithful.R)
    from mixtura.datasets import load_faithful

    X = np.asarray(load_faithful())[:, [1]]
    with open(REFERENCE / "mclust_waiting_bic.csv") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        k = int(row["G"])
        for name in UNIVARIATE_MODELS:
            best = max(
                -GaussianMixture(
                    k,
                    covariance_type=name,
                    reg_covar=0.0,
                    tol=1e-7,
                    max_iter=2000,
                    init_params=init,
                    random_state=0,
                )
                .fit(X)
                .bic(X)
                for init in ("hc", "kmeans")
            )
            assert best >= float(row[name]) - 0.5, (name, k)


def test_vvv_equals_full_and_vvi_equals_diag():
    rng = np.random.RandomState(3)
    X = rng.normal(size=(200, 3)) @ rng.normal(size=(3, 3))
    resp = rng.dirichlet(np.ones(2), size=200)
    for mclust_name, sklearn_name in (("VVV", "full"), ("VVI", "diag"), ("VII", None)):
        fitted = Gaussian(mclust_name).maximize(
            Gaussian(mclust_name).statistics(X, resp)
        )
        if sklearn_name is None:
            reference = Gaussian("spherical").maximize(
                Gaussian("spherical").statistics(X, resp)
            )
        else:
            reference = Gaussian(sklearn_name).maximize(
                Gaussian(sklearn_name).statistics(X, resp)
            )
        np.testing.assert_allclose(
            fitted.covariances, reference.covariances, rtol=1e-10
        )


def test_singular_scatter_is_reported_as_singular_covariance():
    from mixtura.exceptions import SingularCovarianceError

    X = np.repeat([[0.0, 0.0], [1.0, 1.0]], 10, axis=0)
    resp = np.eye(2)[np.repeat([0, 1], 10)]
    for name in ("EVV", "VEV", "VEE", "EVE", "VVE", "VEI", "EVI", "VII"):
        template = Gaussian(name, reg_covar=0.0)
        with pytest.raises(SingularCovarianceError):
            template.maximize(template.statistics(X, resp))
