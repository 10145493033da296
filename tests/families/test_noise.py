"""The noise family: K components of a family plus one uniform density 1 / V."""

from pathlib import Path

import array_api_strict
import numpy as np
import pytest
from scipy import stats

from mixtura.datasets import load_faithful
from mixtura.exceptions import DataValidationError, ModelFileError
from mixtura.families import FAMILIES, Gaussian, Poisson, WithNoise, get_family
from mixtura.families.noise import NoiseRegion, NoiseStats, data_region

from .test_registry import _assert_stats_equal

REFERENCE = Path(__file__).parents[1] / "reference"


def _info():
    """mclust_faithful_noise_info.txt as {key: rest of the line}."""
    lines = (REFERENCE / "mclust_faithful_noise_info.txt").read_text().splitlines()
    return dict(line.split(" ", 1) for line in lines)


def _family(rng, n_clusters=2, d=3):
    inner = Gaussian(
        "full",
        means=rng.normal(scale=3.0, size=(n_clusters, d)),
        covariances=np.stack([np.eye(d) * (k + 1) for k in range(n_clusters)]),
    )
    rotation, _ = np.linalg.qr(rng.normal(size=(d, d)))
    return WithNoise(inner, NoiseRegion(rotation, -np.arange(1, d + 1), np.ones(d)))


@pytest.fixture
def setup():
    rng = np.random.RandomState(0)
    family = _family(rng)
    X = rng.normal(scale=3.0, size=(200, 3))
    resp = rng.dirichlet(np.ones(3), size=200)
    return rng, family, X, resp


def test_hypervolume_is_mclusts_hypvol():
    # mclust: hypvol(faithful) = min(box volume 185.5, principal-component box)
    info = _info()
    X = np.asarray(load_faithful(), dtype=np.float64)
    region = data_region(X)
    assert np.exp(region.log_volume) == pytest.approx(float(info["hypvol"]), rel=1e-10)
    assert np.exp(region.log_volume) == pytest.approx(
        float(info["pc_volume"]), rel=1e-10
    )
    # every row lies in the (rotated) box
    u = X @ region.rotation
    assert np.all(u >= region.lower - 1e-9) and np.all(u <= region.upper + 1e-9)


def test_hypervolume_takes_the_bounding_box_when_it_is_smaller():
    # a plus sign: the axis-aligned box is 4 x 4, the principal axes' box larger
    t = np.linspace(-2, 2, 41)
    X = np.vstack([np.column_stack([t, 0 * t]), np.column_stack([0 * t, t])])
    X = np.vstack([X, [[2, 2], [-2, -2]]])
    region = data_region(X)
    assert region.log_volume == pytest.approx(np.log(16.0))
    np.testing.assert_array_equal(region.rotation, np.eye(2))


def test_region_of_zero_volume_is_refused():
    X = np.column_stack([np.arange(10.0), np.ones(10)])
    with pytest.raises(DataValidationError, match="zero width"):
        data_region(X)


def test_with_volume_scales_the_box_about_its_centre():
    region = NoiseRegion(np.eye(2), [0.0, 0.0], [2.0, 8.0])
    scaled = region.with_volume(4.0)
    assert np.exp(scaled.log_volume) == pytest.approx(4.0)
    np.testing.assert_allclose(scaled.lower + scaled.upper, [2.0, 8.0])
    np.testing.assert_allclose(
        (scaled.upper - scaled.lower) / (region.upper - region.lower), 0.5
    )


def test_log_prob_appends_the_constant_noise_column(setup):
    _, family, X, _ = setup
    log_prob = family.log_prob(X)
    assert family.n_components == 3 and log_prob.shape == (200, 3)
    inner = family.inner
    for k in range(2):
        expected = stats.multivariate_normal(
            inner.means[k], inner.covariances[k]
        ).logpdf(X)
        np.testing.assert_allclose(log_prob[:, k], expected, rtol=1e-10)
    # the box is 2 x 3 x 4
    np.testing.assert_allclose(log_prob[:, 2], -np.log(24.0))
    assert family.log_prob(X.astype(np.float32)).dtype == np.float32


@pytest.mark.parametrize("split", [1, 57, 199])
def test_statistics_are_additive(setup, split):
    _, family, X, resp = setup
    whole = family.statistics(X, resp)
    assert isinstance(whole, NoiseStats)
    parts = family.statistics(X[:split], resp[:split]) + family.statistics(
        X[split:], resp[split:]
    )
    _assert_stats_equal(whole.inner, parts.inner)
    np.testing.assert_allclose(whole.resp_sum, parts.resp_sum, rtol=1e-12)
    np.testing.assert_allclose(whole.resp_sum, resp.sum(axis=0), rtol=1e-12)


def test_statistics_scale_with_sample_weight(setup):
    _, family, X, resp = setup
    doubled = family.statistics(X, resp, sample_weight=np.full(200, 2.0))
    scaled = family.statistics(X, resp) * 2
    _assert_stats_equal(doubled.inner, scaled.inner)
    np.testing.assert_allclose(doubled.resp_sum, scaled.resp_sum, rtol=1e-12)


def test_statistics_of_the_template_equal_the_fitted_familys(setup):
    _, family, X, resp = setup
    template = get_family(family.name)(Gaussian("full"))
    _assert_stats_equal(
        template.statistics(X, resp).inner, family.statistics(X, resp).inner
    )


def test_maximize_fits_the_inner_family_and_keeps_the_region(setup):
    _, family, X, resp = setup
    fitted = family.maximize(family.statistics(X, resp))
    assert isinstance(fitted, WithNoise) and fitted.region is family.region
    inner = family.inner.maximize(family.inner.statistics(X, resp[:, :2]))
    np.testing.assert_allclose(fitted.inner.means, inner.means)
    np.testing.assert_allclose(fitted.inner.covariances, inner.covariances)


def test_a_template_cannot_be_maximised(setup):
    _, family, X, resp = setup
    template = WithNoise(Gaussian("full"))
    with pytest.raises(ValueError, match="template without a region"):
        template.maximize(family.statistics(X, resp))


def test_noise_cannot_wrap_noise(setup):
    _, family, _, _ = setup
    with pytest.raises(ValueError, match="second noise"):
        WithNoise(family, family.region)


def test_sample_draws_noise_uniformly_in_the_region(setup):
    rng, family, _, _ = setup
    labels = np.repeat([0, 1, 2], [1000, 1000, 20_000])
    X = family.sample(labels, rng)
    np.testing.assert_allclose(
        X[:1000].mean(axis=0), family.inner.means[0], atol=5 * np.sqrt(1 / 1000)
    )
    u = X[labels == 2] @ family.region.rotation
    assert np.all(u >= family.region.lower) and np.all(u <= family.region.upper)
    width = family.region.upper - family.region.lower
    np.testing.assert_allclose(
        u.mean(axis=0), (family.region.lower + family.region.upper) / 2, atol=0.05
    )
    np.testing.assert_allclose(u.var(axis=0), width**2 / 12, rtol=0.05)


def test_n_parameters_count_the_volume_as_mclust_does(setup):
    _, family, _, _ = setup
    assert family.n_parameters() == family.inner.n_parameters() + 1


def test_round_trip_through_config_and_arrays(setup):
    _, family, X, _ = setup
    assert FAMILIES["with_noise"] is WithNoise
    rebuilt = get_family(family.name).from_arrays(family.config(), family.arrays())
    np.testing.assert_array_equal(rebuilt.log_prob(X), family.log_prob(X))
    assert rebuilt.n_parameters() == family.n_parameters()


def test_noise_wraps_other_families():
    rng = np.random.RandomState(1)
    inner = Poisson(rates=np.array([[1.0, 2.0], [5.0, 3.0]]))
    family = WithNoise(inner, NoiseRegion(np.eye(2), [0.0, 0.0], [10.0, 10.0]))
    X = rng.poisson(3.0, size=(50, 2)).astype(np.float64)
    np.testing.assert_allclose(family.log_prob(X)[:, :2], inner.log_prob(X))
    rebuilt = WithNoise.from_arrays(family.config(), family.arrays())
    np.testing.assert_array_equal(rebuilt.log_prob(X), family.log_prob(X))


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda config, arrays: arrays.pop("noise_lower"), "lack"),
        (
            lambda config, arrays: arrays.update(noise_upper=-arrays["noise_upper"]),
            "invalid noise region",
        ),
        (lambda config, arrays: config["inner"].update(name="nope"), "unknown"),
        (lambda config, arrays: config.update(inner=None), "config"),
    ],
)
def test_invalid_model_file_arrays_are_refused(setup, change, match):
    _, family, _, _ = setup
    config, arrays = family.config(), dict(family.arrays())
    config["inner"] = dict(config["inner"])
    change(config, arrays)
    with pytest.raises((ModelFileError, DataValidationError), match=match):
        WithNoise.from_arrays(config, arrays)


def test_array_api_strict_gives_the_same_results(setup):
    _, family, X, resp = setup
    X_strict = array_api_strict.asarray(X)
    log_prob = family.log_prob(X_strict)
    assert isinstance(log_prob, type(X_strict))
    np.testing.assert_allclose(np.asarray(log_prob), family.log_prob(X), rtol=1e-12)
    stats_strict = family.statistics(X_strict, array_api_strict.asarray(resp))
    _assert_stats_equal(stats_strict.inner, family.statistics(X, resp).inner)
