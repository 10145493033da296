"""GaussianMixture(noise=...): Gaussians plus a uniform noise component, vs mclust."""

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from mixtura import GaussianMixture, load, save
from mixtura.datasets import load_faithful
from mixtura.exceptions import DataValidationError
from mixtura.selection import SelectionTable, select

# Reference numbers: tests/reference/mclust_faithful_noise.R (R 4.2.2, mclust
# 6.0.0), run as `Rscript tests/reference/mclust_faithful_noise.R tests/reference`.
REFERENCE = Path(__file__).parents[1] / "reference"
MCLUST_MODELS = (
    "EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE",
    "VEE", "EVE", "VVE", "EEV", "VEV", "EVV", "VVV",
)  # fmt: skip
# mclust's EM from mclust's start, to a tight tolerance
TIGHT = {"reg_covar": 0.0, "tol": 1e-14, "max_iter": 100_000}


@pytest.fixture(scope="module")
def faithful():
    return np.asarray(load_faithful(), dtype=np.float64)


@pytest.fixture(scope="module")
def noise_init():
    """mclust's noise initialisation: the 10% of rows farthest (Mahalanobis)."""
    with open(REFERENCE / "mclust_faithful_noise_init.csv") as handle:
        return np.array([row["noise"] == "TRUE" for row in csv.DictReader(handle)])


@pytest.fixture(scope="module")
def partitions():
    """mclust's hc partitions of the non-noise rows, G = 1..5 (-1: noise rows)."""
    with open(REFERENCE / "mclust_faithful_noise_hc.csv") as handle:
        labels = np.array(list(csv.reader(handle))[1:], dtype=int) - 1
    return {g: labels[:, g - 1] for g in range(1, 6)}


def _fits():
    with open(REFERENCE / "mclust_faithful_noise_fits.csv") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def simulated():
    """Three Gaussian clusters and 10% uniform background (labels -1)."""
    rng = np.random.RandomState(0)
    centres = np.array([[0.0, 0.0], [6.0, 6.0], [0.0, 7.0]])
    clusters = np.vstack([rng.normal(c, 0.6, size=(300, 2)) for c in centres])
    background = rng.uniform([-4.0, -4.0], [10.0, 11.0], size=(100, 2))
    X = np.vstack([clusters, background])
    truth = np.repeat([0, 1, 2, -1], [300, 300, 300, 100])
    return X, truth


@pytest.mark.parametrize("fit", _fits(), ids=lambda fit: f"{fit['model']},{fit['G']}")
def test_em_from_mclusts_start_matches_mclust(faithful, noise_init, partitions, fit):
    g = int(fit["G"])
    gm = GaussianMixture(
        g,
        covariance_type=fit["model"],
        noise=True,
        noise_init=noise_init,
        init_params=partitions[g],
        **TIGHT,
    ).fit(faithful)
    log_likelihood = gm.score(faithful) * len(faithful)
    assert gm.noise_volume_ == pytest.approx(1 / float(fit["Vinv"]), rel=1e-10)
    # both run EM until the log-likelihood stops changing (mclust: relative
    # change 1e-13; mixtura: 1e-14 per sample), from the same start
    assert log_likelihood == pytest.approx(float(fit["loglik"]), abs=1e-6)
    assert gm._n_parameters() == int(fit["nparams"])
    proportions = np.array(fit["pro"].split(";"), dtype=float)
    np.testing.assert_allclose(gm.weights_, proportions, atol=1e-5)
    means = np.array(fit["mean"].split(";"), dtype=float).reshape(g, 2)
    np.testing.assert_allclose(gm.means_, means, rtol=0, atol=5e-5)
    bic = -gm.bic(faithful)
    assert bic == pytest.approx(float(fit["bic"]), abs=1e-4)


def test_bic_table_from_mclusts_partitions_matches_mclust(
    faithful, noise_init, partitions
):
    # mclustBIC(faithful, G = 1:5, initialization = list(noise = noise_init)): from
    # mclust's starts every cell reaches mclust's BIC or higher (mclust stops EM
    # at a relative change of 1e-5)
    with open(REFERENCE / "mclust_faithful_noise_bic.csv") as handle:
        reference = {
            (model, int(row["G"])): float(row[model])
            for row in csv.DictReader(handle)
            for model in MCLUST_MODELS
        }
    params = {"reg_covar": 0.0, "tol": 1e-6, "max_iter": 5000}
    cells = []
    for g in range(1, 6):
        table = select(
            faithful,
            [g],
            "mclust",
            init_params=partitions[g],
            noise=True,
            noise_init=noise_init,
            **params,
        )
        cells.extend(table._cells.values())
    table = SelectionTable(cells, n_samples=len(faithful), criterion="mclust_bic")
    differences = {
        key: table.value("mclust_bic", *key) - value for key, value in reference.items()
    }
    assert not any(math.isnan(d) for d in differences.values())
    assert min(differences.values()) >= -0.5, differences
    # mclust's best cell: EEI with 3 Gaussians (and noise)
    assert max(reference, key=reference.get) == ("EEI", 3)
    assert table.best() == ("EEI", 3)


@pytest.mark.slow
def test_bic_table_from_mixturas_own_starts_reaches_mclusts(faithful, noise_init):
    # mixtura's hc on the rows outside noise_init, then every one-cluster split
    # of the fit at K - 1: each cell reaches mclust's BIC or higher (hc alone
    # left VEE,5 2.2 and VVV,4 0.9 lower; all 14 models take about 30 s)
    with open(REFERENCE / "mclust_faithful_noise_bic.csv") as handle:
        rows = list(csv.DictReader(handle))
    models = ("EEI", "VEE", "EVV", "VEV", "VVV")
    table = select(
        faithful,
        range(1, 6),
        models,
        init_params="hc",
        refit_from_splits=True,
        noise=True,
        noise_init=noise_init,
        reg_covar=0.0,
        tol=1e-6,
        max_iter=5000,
    )
    for row in rows:
        for model in models:
            ours = table.value("mclust_bic", model, int(row["G"]))
            assert ours >= float(row[model]) - 0.5, (model, row["G"])
    assert table.best("mclust_bic") == ("EEI", 3)


def test_select_passes_noise_through(faithful, noise_init):
    table = select(
        faithful, [2], ["VVV"], init_params="hc", noise=True, noise_init=noise_init
    )
    estimator = table.best_model_
    assert estimator.weights_.shape == (3,)
    # nMclustParams("VVV", 2, 2, noise = TRUE) = 13
    assert table[("VVV", 2)]["n_parameters"] == 13


def test_log_likelihood_never_decreases(simulated):
    X, _ = simulated
    for model in ("VVV", "EEI", "VEV"):
        gm = GaussianMixture(
            3, covariance_type=model, noise=True, tol=1e-8, random_state=0
        ).fit(X)
        assert np.min(np.diff(gm.lower_bounds_)) >= -1e-12


def test_noise_weight_and_background_are_recovered(simulated):
    X, truth = simulated
    gm = GaussianMixture(3, noise=True, random_state=0)
    labels = gm.fit_predict(X)
    np.testing.assert_array_equal(labels, gm.predict(X))
    assert gm.weights_.shape == (4,) and gm.weights_.sum() == pytest.approx(1.0)
    assert gm.weights_[-1] == pytest.approx(0.1, abs=0.03)
    # the background points away from the clusters are noise; the clusters are not
    far = np.min(np.linalg.norm(X[:, None] - gm.means_[None], axis=2), axis=1) > 3
    assert np.mean(labels[(truth == -1) & far] == -1) > 0.95
    assert np.mean(labels[truth >= 0] == -1) < 0.01
    proba = gm.predict_proba(X)
    assert proba.shape == (1000, 4)
    np.testing.assert_array_equal(
        np.where(proba.argmax(axis=1) == 3, -1, proba.argmax(axis=1)), labels
    )
    # without noise the background inflates the covariances
    plain = GaussianMixture(3, random_state=0).fit(X)
    assert (
        np.trace(plain.covariances_, axis1=1, axis2=2).max()
        > 2 * np.trace(gm.covariances_, axis1=1, axis2=2).max()
    )


def test_noise_init_starts_the_gaussians_on_the_other_rows(simulated):
    X, truth = simulated
    gm = GaussianMixture(
        3, noise=True, noise_init=truth == -1, max_iter=0, random_state=0
    )
    gm.fit(X)
    # the initial M-step: the noise weight is the share of rows marked as noise
    assert gm.weights_[-1] == pytest.approx(0.1)
    np.testing.assert_allclose(
        np.sort(gm.means_[:, 0]),
        np.sort([X[truth == k, 0].mean() for k in range(3)]),
        atol=1e-8,
    )
    # -1 labels in init_params are noise rows too
    labelled = GaussianMixture(3, noise=True, init_params=truth, max_iter=0)
    labelled.fit(X)
    assert labelled.weights_[-1] == pytest.approx(0.1)


def test_a_given_volume(simulated):
    X, _ = simulated
    gm = GaussianMixture(3, noise=500.0, random_state=0).fit(X)
    assert gm.noise_volume_ == pytest.approx(500.0)
    log_density = gm.score_samples(X)
    mixture = gm._fitted_mixture()
    np.testing.assert_allclose(mixture.family.log_prob(X)[:, -1], -np.log(500.0))
    assert np.isfinite(log_density).all()


def test_sample_labels_noise_minus_one(simulated):
    X, _ = simulated
    gm = GaussianMixture(3, noise=True, random_state=0).fit(X)
    samples, labels = gm.sample(5000)
    assert samples.shape == (5000, 2)
    assert set(np.unique(labels)) == {-1, 0, 1, 2}
    assert np.mean(labels == -1) == pytest.approx(gm.weights_[-1], abs=0.02)
    region = gm._fitted_mixture().family.region
    u = samples[labels == -1] @ region.rotation
    assert np.all((u >= region.lower) & (u <= region.upper))


def test_save_load_round_trip(tmp_path, simulated):
    X, truth = simulated
    gm = GaussianMixture(
        3, covariance_type="VEV", noise=True, noise_init=truth == -1, random_state=0
    ).fit(X)
    path = tmp_path / "noise.mixtura"
    save(gm, path)
    loaded = load(path)
    assert loaded.noise_volume_ == gm.noise_volume_
    np.testing.assert_array_equal(loaded.weights_, gm.weights_)
    np.testing.assert_array_equal(loaded.predict(X), gm.predict(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), gm.predict_proba(X))
    np.testing.assert_array_equal(loaded.score_samples(X), gm.score_samples(X))
    assert loaded.bic(X) == gm.bic(X)


@pytest.mark.parametrize("volume", [0.0, -1.0, "big"])
def test_non_positive_volume_is_refused(simulated, volume):
    X, _ = simulated
    with pytest.raises(ValueError, match="'noise' parameter"):
        GaussianMixture(2, noise=volume).fit(X)


def test_bad_noise_init_is_refused(simulated):
    X, truth = simulated
    with pytest.raises(DataValidationError, match=r"one entry per training row"):
        GaussianMixture(2, noise=True, noise_init=truth[:-1] == -1).fit(X)
    with pytest.raises(DataValidationError, match="boolean"):
        GaussianMixture(2, noise=True, noise_init=(truth == -1).astype(int)).fit(X)
    with pytest.raises(ValueError, match="noise is None"):
        GaussianMixture(2, noise_init=truth == -1).fit(X)
    with pytest.raises(DataValidationError, match="start as noise"):
        GaussianMixture(2, noise=True, noise_init=np.ones(len(X), bool)).fit(X)


def test_weights_init_includes_the_noise_weight(simulated):
    X, _ = simulated
    gm = GaussianMixture(
        3, noise=True, weights_init=[0.3, 0.3, 0.3, 0.1], max_iter=0, random_state=0
    ).fit(X)
    np.testing.assert_allclose(gm.weights_, [0.3, 0.3, 0.3, 0.1])
    with pytest.raises(ValueError, match=r"shape of \(4,\)"):
        GaussianMixture(3, noise=True, weights_init=[0.4, 0.3, 0.3]).fit(X)


def test_refit_without_noise_drops_it(simulated):
    X, _ = simulated
    gm = GaussianMixture(3, noise=True, random_state=0).fit(X)
    gm.set_params(noise=None).fit(X)
    assert gm.weights_.shape == (3,)
    assert gm.predict_proba(X).shape == (1000, 3)


def test_dask_fit_and_predictions(simulated):
    da = pytest.importorskip("dask.array")
    X, _ = simulated
    lazy = da.from_array(X, chunks=(250, 2))
    gm = GaussianMixture(3, noise=True, random_state=0).fit(lazy)
    assert gm.weights_.shape == (4,)
    proba = gm.predict_proba(lazy)
    assert proba.shape == (1000, 4)
    np.testing.assert_allclose(proba.compute(), gm.predict_proba(X))
    np.testing.assert_array_equal(gm.predict(lazy).compute(), gm.predict(X))


def test_missing_values_and_impute_are_refused_with_noise(simulated):
    X, _ = simulated
    gm = GaussianMixture(3, noise=True, random_state=0).fit(X)
    with pytest.raises(ValueError, match="noise component"):
        gm.impute(X)
    with pytest.raises(ValueError, match="with_noise"):
        GaussianMixture(3, noise=True, missing="em").fit(X)


def test_numpy_booleans_mean_the_datas_volume(faithful):
    gm = GaussianMixture(2, noise=np.True_, random_state=0).fit(faithful)
    assert gm.noise_volume_ == pytest.approx(131.8688010035, rel=1e-10)
    plain = GaussianMixture(2, noise=np.False_, random_state=0).fit(faithful)
    assert plain.weights_.shape == (2,)
