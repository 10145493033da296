"""Recovery from collapsed components (``on_degenerate``), against scikit-learn.

Each case is data made to collapse a component: scikit-learn#18216's diverging
start, a cluster of duplicated rows without regularisation, a start with one
component per row. Where scikit-learn raises the test says so; mixtura
finishes with finite, valid parameters and records what it did.
"""

import warnings

import numpy as np
import pytest
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

from mixtura import (
    BayesianGaussianMixture,
    BernoulliMixture,
    ConvergenceWarning,
    GaussianMixture,
    MixtureModel,
    PoissonMixture,
    StudentMixture,
)
from mixtura.exceptions import SingularCovarianceError
from mixtura.inference.degenerate import MAX_RECOVERIES

from ..estimators.test_gaussian import _diverging_start


def _duplicated_cluster(seed=0):
    """200 standard normal rows and 50 copies of one far point."""
    rng = np.random.default_rng(seed)
    return np.vstack([rng.normal(size=(200, 2)), np.tile([5.0, 5.0], (50, 1))])


def _assert_valid(model, n_features):
    assert np.isfinite(model.lower_bound_)
    assert np.all(np.isfinite(model.means_))
    np.testing.assert_allclose(model.weights_.sum(), 1.0)
    matrices = np.reshape(model.covariances_, (-1, n_features, n_features))
    assert np.all(np.linalg.eigvalsh(matrices) > 0)


def _degenerate_warnings(caught):
    return [w for w in caught if "fit_events_" in str(w.message)]


@pytest.mark.parametrize("on_degenerate", ["reseed", "regularize", "prune"])
def test_the_diverging_start_of_sklearn_18216_is_recovered(on_degenerate):
    X, params = _diverging_start()
    params["covariance_type"] = "full"
    params["precisions_init"] = np.array(
        [np.eye(3) * p for p in params["precisions_init"]]
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = GaussianMixture(**params, on_degenerate=on_degenerate).fit(X)
    _assert_valid(model, 3)
    events = model.fit_events_
    assert events and events[0]["iteration"] == 1
    # the two components of precision 1e6 collapse (full matrices: a third too)
    assert {0, 1} <= set(events[0]["components"])
    # at most MAX_RECOVERIES recoveries, then (if it still collapses) the
    # restart stops with one 'collapsed' event at its last valid parameters
    recoveries = [e for e in events if e["event"] != "collapsed"]
    assert len(recoveries) <= MAX_RECOVERIES
    assert len(events) - len(recoveries) <= 1
    # one warning for the whole fit, whatever the number of events
    assert len(_degenerate_warnings(caught)) == 1
    expected = {"reseed": "reseeded", "regularize": "regularized", "prune": "pruned"}
    assert events[0]["event"] == expected[on_degenerate]
    if on_degenerate == "prune":
        assert model.weights_.shape[0] == 6 - sum(
            len(e["components"]) for e in events if e["event"] == "pruned"
        )


def test_a_duplicated_cluster_without_regularisation_breaks_sklearn_not_mixtura():
    X = _duplicated_cluster()
    with pytest.raises(ValueError, match="ill-defined empirical covariance"):
        SklearnGaussianMixture(3, reg_covar=0.0, random_state=0).fit(X)
    with pytest.warns(ConvergenceWarning, match="fit_events_"):
        model = GaussianMixture(3, reg_covar=0.0, random_state=0).fit(X)
    _assert_valid(model, 2)
    [event] = [e for e in model.fit_events_ if e["iteration"] == 0]
    assert event["event"] == "regularized" and "reg_covar=" in event["message"]
    # the duplicated rows end up in one component of their own
    labels = model.predict(X)
    assert len(set(labels[200:])) == 1
    assert np.mean(labels[:200] == labels[200]) < 0.05


def test_one_component_per_row_is_regularised_not_raised():
    X = np.random.RandomState(0).normal(size=(8, 2))
    with pytest.raises(ValueError, match="ill-defined empirical covariance"):
        SklearnGaussianMixture(8, reg_covar=0.0, random_state=0).fit(X)
    with pytest.warns(ConvergenceWarning, match="fit_events_"):
        model = GaussianMixture(8, reg_covar=0.0, random_state=0).fit(X)
    _assert_valid(model, 2)
    assert model.fit_events_[0]["event"] == "regularized"


def test_raise_and_stop_keep_the_old_behaviours():
    X, params = _diverging_start()
    with pytest.raises(SingularCovarianceError) as caught:
        GaussianMixture(**params, on_degenerate="raise").fit(X)
    assert caught.value.components == (0, 1)
    with pytest.warns(ConvergenceWarning, match="stopped at iteration 1"):
        stopped = GaussianMixture(**params, on_degenerate="stop").fit(X)
    assert [e["event"] for e in stopped.fit_events_] == ["collapsed"]
    assert stopped.n_iter_ == 1 and not stopped.converged_


def test_on_degenerate_is_checked():
    with pytest.raises(ValueError, match="on_degenerate"):
        GaussianMixture(2, on_degenerate="ignore").fit(np.eye(4))


def test_a_student_t_fit_on_duplicated_rows_is_recovered():
    X = _duplicated_cluster(1)
    with pytest.warns(ConvergenceWarning, match="fit_events_"):
        model = StudentMixture(3, reg_covar=0.0, random_state=0).fit(X)
    assert np.isfinite(model.lower_bound_)
    assert np.all(np.linalg.eigvalsh(model.scales_) > 0)
    assert model.fit_events_[0]["event"] == "regularized"


def test_a_family_without_regularisation_prunes_its_collapsed_component():
    # a log-normal component on one repeated value: the family has no
    # reg_covar hook, so the recovery removes the component instead
    rng = np.random.default_rng(2)
    X = np.vstack([rng.lognormal(size=(100, 1)), np.full((30, 1), 20.0)])
    model = MixtureModel(
        3,
        family="lognormal",
        family_params={"covariance_type": "full", "reg_covar": 0.0},
        random_state=0,
    )
    with pytest.warns(ConvergenceWarning, match="fit_events_"):
        model.fit(X)
    assert np.isfinite(model.lower_bound_)
    # re-seeding on two rows collapses again, and there is no regularisation
    # to strengthen: the component goes
    [event] = model.fit_events_
    assert event["event"] == "pruned"
    assert model.weights_.shape == (2,)


@pytest.mark.parametrize(
    "make",
    [
        lambda: (GaussianMixture(3, max_iter=0, random_state=0), "normal"),
        lambda: (StudentMixture(2, max_iter=0, random_state=0), "normal"),
        lambda: (PoissonMixture(2, max_iter=0, random_state=0), "counts"),
        lambda: (BernoulliMixture(2, max_iter=0, random_state=0), "binary"),
        lambda: (
            BayesianGaussianMixture(n_components=3, max_iter=0, random_state=0),
            "normal",
        ),
    ],
)
def test_max_iter_zero_gives_finite_fitted_attributes(make):
    model, kind = make()
    rng = np.random.default_rng(3)
    X = {
        "normal": rng.normal(size=(120, 2)),
        "counts": rng.poisson(3.0, size=(120, 2)).astype(float),
        "binary": (rng.uniform(size=(120, 3)) < 0.4).astype(float),
    }[kind]
    model.fit(X)
    assert model.n_iter_ == 0 and not model.converged_
    assert np.isfinite(model.lower_bound_)
    for name, value in vars(model).items():
        if name.endswith("_") and not name.startswith("_"):
            array = np.asarray(value)
            if array.dtype.kind == "f":
                assert np.all(np.isfinite(array)), name
