"""MixtureModel: the generic estimator over any registered family."""

import numpy as np
import pytest

import mixtura
from mixtura import GaussianMixture, MixtureModel
from mixtura.datasets import load_faithful

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_gaussian_family_gives_the_gaussian_mixture_fit(covariance_type):
    X = load_faithful()
    generic = MixtureModel(
        3,
        family="gaussian",
        family_params={"covariance_type": covariance_type},
        random_state=0,
    ).fit(X)
    specific = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(
        X
    )
    assert generic.n_iter_ == specific.n_iter_
    assert generic.lower_bound_ == pytest.approx(specific.lower_bound_, rel=1e-12)
    np.testing.assert_allclose(generic.weights_, specific.weights_, rtol=1e-10)
    np.testing.assert_allclose(generic.family_.means, specific.means_, rtol=1e-10)
    np.testing.assert_array_equal(generic.predict(X), specific.predict(X))


def test_unknown_family_lists_the_registered_ones():
    with pytest.raises(ValueError, match=r"unknown family 'nope'.*'gaussian'"):
        MixtureModel(2, family="nope").fit(load_faithful())


def test_round_trip_through_a_model_file(tmp_path):
    X = load_faithful()
    model = MixtureModel(
        2, family_params={"covariance_type": "diag", "reg_covar": 1e-4}, random_state=1
    ).fit(X)
    path = tmp_path / "model.mixtura"
    mixtura.save(model, path)
    loaded = mixtura.load(path)
    assert loaded.get_params()["family_params"] == model.family_params
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(loaded.score_samples(X), model.score_samples(X))
