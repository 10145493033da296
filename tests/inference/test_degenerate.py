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
from mixtura.exceptions import EmptyComponentError, SingularCovarianceError
from mixtura.inference.degenerate import (
    MAX_RECOVERIES,
    MIN_EFFECTIVE_ROWS,
    emptied_components,
)

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
    # re-seeding on two rows collapses again (or, where the BLAS's rounding
    # lets the re-seeded component live a few iterations, it empties later),
    # and there is no regularisation to strengthen: the component goes
    events = model.fit_events_
    assert events[-1]["event"] == "pruned"
    assert all(event["event"] == "reseeded" for event in events[:-1])
    assert model.weights_.shape == (2,)
    # the 30 repeated values are one component's, whatever happened on the way
    assert len(set(model.predict(X)[100:])) == 1


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


# -- emptied components: a weight that falls to (next to) zero -----------------------
#
# Each start gives component 2 (of 3) a place no row prefers: a tiny initial
# weight between two well-separated Gaussian clusters, or two rows of each of
# two count (or binary) clusters, whose mixture every row explains worse than
# its own cluster. After the first M-step its weight is under
# MIN_EFFECTIVE_ROWS rows' worth, yet its parameters are valid (a Gaussian's
# covariance is reg_covar times the identity), so nothing collapses.


def _two_gaussian_clusters(on_degenerate):
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(-5, 1, (150, 2)), rng.normal(5, 1, (150, 2))])
    model = GaussianMixture(
        3,
        weights_init=[0.5, 0.5, 1e-300],
        means_init=[[-5, -5], [5, 5], [0, 0]],
        random_state=0,
        on_degenerate=on_degenerate,
    )
    return model, X


def _mixed_start():
    """Labels of two clusters of 150 rows, two rows of each given component 2."""
    labels = np.repeat([0, 1], 150)
    labels[[0, 1, 150, 151]] = 2
    return labels


def _two_count_clusters(on_degenerate):
    rng = np.random.default_rng(0)
    X = np.vstack([rng.poisson(2, (150, 10)), rng.poisson(50, (150, 10))])
    model = PoissonMixture(
        3, init_params=_mixed_start(), random_state=0, on_degenerate=on_degenerate
    )
    return model, X.astype(float)


def _two_binary_clusters(on_degenerate):
    rng = np.random.default_rng(0)
    X = np.vstack(
        [rng.uniform(size=(150, 30)) < 0.03, rng.uniform(size=(150, 30)) < 0.97]
    )
    model = BernoulliMixture(
        3, init_params=_mixed_start(), random_state=0, on_degenerate=on_degenerate
    )
    return model, X.astype(float)


EMPTYING = pytest.mark.parametrize(
    "make", [_two_gaussian_clusters, _two_count_clusters, _two_binary_clusters]
)


def _fit_recording(model, X):
    """Fit, returning the degenerate-component warnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(X)
    return _degenerate_warnings(caught)


def _emptied_events(model):
    return [e for e in model.fit_events_ if e["reason"] == "emptied"]


def _assert_monotone(bounds):
    # EM's bound never decreases (up to rounding of the mean)
    assert np.all(np.diff(bounds) >= -1e-10 * np.abs(bounds[1:]))


@EMPTYING
def test_an_emptied_component_is_there_without_a_recovery(make):
    # the premise: after one EM step component 2 is dead weight, with valid
    # parameters and a weight under MIN_EFFECTIVE_ROWS rows' worth
    model, X = make("stop")
    model.set_params(max_iter=1)
    _fit_recording(model, X)
    assert model.weights_.shape == (3,)
    assert model.weights_[2] * len(X) < MIN_EFFECTIVE_ROWS
    assert model.weights_[:2].min() * len(X) > 100
    assert np.all(np.isfinite(model.weights_))


@EMPTYING
def test_reseed_gives_an_emptied_component_rows_again(make):
    model, X = make("reseed")
    caught = _fit_recording(model, X)
    [event] = model.fit_events_
    assert (event["iteration"], event["event"]) == (1, "reseeded")
    assert (event["components"], event["reason"]) == ([2], "emptied")
    assert "emptied" in event["message"] and "re-seeded" in event["message"]
    assert len(caught) == 1  # one warning for the fit
    # every component holds rows at the end, none is dead weight
    assert model.weights_.shape == (3,)
    assert model.weights_.min() * len(X) > 1.0
    assert np.isfinite(model.lower_bound_) and model.converged_
    # the re-seeded state's bound may drop; from it on EM's is monotone
    _assert_monotone(model.lower_bounds_[event["iteration"] :])


def test_sklearn_keeps_the_emptied_component_as_dead_weight_silently():
    model, X = _two_gaussian_clusters("reseed")
    start = {"weights_init": model.weights_init, "means_init": model.means_init}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning either
        reference = SklearnGaussianMixture(3, random_state=0, **start).fit(X)
    # scikit-learn: converged, component 2 at the origin with weight 7e-18,
    # its covariance reg_covar times the identity
    assert reference.converged_
    assert reference.weights_[2] * len(X) < MIN_EFFECTIVE_ROWS
    np.testing.assert_allclose(reference.covariances_[2], 1e-6 * np.eye(2))
    # mixtura: re-seeded, every component holds rows, and it says so
    with pytest.warns(ConvergenceWarning, match=r"component\(s\) \[2\] emptied"):
        model.fit(X)
    assert model.weights_.min() * len(X) > 1.0


def test_a_recovery_at_the_last_iteration_keeps_a_finite_bound():
    # max_iter ends the restart right after the re-seeding: the bound is the
    # re-seeded parameters' own, not the -inf the loop skips a test with
    model, X = _two_gaussian_clusters("reseed")
    model.set_params(max_iter=1)
    _fit_recording(model, X)
    assert [e["event"] for e in model.fit_events_] == ["reseeded"]
    assert model.lower_bound_ == pytest.approx(model.score(X), rel=1e-12)


def test_reseed_is_the_default_for_an_emptied_component():
    model, X = _two_gaussian_clusters("reseed")
    default = GaussianMixture(
        3,
        weights_init=model.weights_init,
        means_init=model.means_init,
        random_state=0,
    )
    _fit_recording(model, X)
    _fit_recording(default, X)
    assert default.fit_events_ == model.fit_events_
    np.testing.assert_array_equal(default.means_, model.means_)


@EMPTYING
def test_prune_removes_an_emptied_component(make):
    model, X = make("prune")
    caught = _fit_recording(model, X)
    [event] = model.fit_events_
    assert (event["iteration"], event["event"]) == (1, "pruned")
    assert (event["components"], event["reason"]) == ([2], "emptied")
    assert "2 remain" in event["message"]
    assert len(caught) == 1
    assert model.weights_.shape == (2,)
    assert model.weights_.min() * len(X) > 100
    # the removed component held nothing: the bound does not drop at all
    _assert_monotone(model.lower_bounds_)


@EMPTYING
@pytest.mark.parametrize("on_degenerate", ["regularize", "stop"])
def test_regularize_and_stop_keep_an_emptied_component_and_record_it_once(
    make, on_degenerate
):
    model, X = make(on_degenerate)
    caught = _fit_recording(model, X)
    # recorded once, though the component stays empty for several iterations
    [event] = model.fit_events_
    assert (event["iteration"], event["event"]) == (1, "kept")
    assert (event["components"], event["reason"]) == ([2], "emptied")
    assert f"on_degenerate={on_degenerate!r}" in event["message"]
    assert len(caught) == 1
    assert model.weights_.shape == (3,) and model.converged_
    assert model.n_iter_ >= 2
    _assert_monotone(model.lower_bounds_)  # nothing was changed


@EMPTYING
def test_raise_names_the_emptied_component(make):
    model, X = make("raise")
    with pytest.raises(EmptyComponentError, match=r"component\(s\) \[2\] emptied"):
        model.fit(X)
    with pytest.raises(SingularCovarianceError) as caught:  # a degenerate component
        model.fit(X)
    assert caught.value.components == (2,)
    assert "on_degenerate='reseed' or 'prune'" in str(caught.value)


def test_a_component_on_one_row_is_not_emptied():
    # one far row is a component of its own (one row's worth of weight, as
    # scikit-learn fits it): ordinary, well above the threshold
    rng = np.random.default_rng(1)
    X = np.vstack([rng.normal(size=(100, 2)), rng.normal(8, 1, (100, 2)), [[40, 40]]])
    model = GaussianMixture(3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fit(X)
    assert model.fit_events_ == []
    assert np.sort(model.weights_)[0] * len(X) == pytest.approx(1.0)
    reference = SklearnGaussianMixture(3, random_state=0).fit(X)
    np.testing.assert_allclose(np.sort(model.weights_), np.sort(reference.weights_))


def test_the_threshold_is_in_rows_of_the_mean_sample_weight():
    # every sample weight scaled by 1e-6: the component holds the same rows'
    # worth, so it empties (and is re-seeded) the same way
    model, X = _two_gaussian_clusters("reseed")
    scaled, _ = _two_gaussian_clusters("reseed")
    _fit_recording(model, X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        scaled.fit(X, sample_weight=np.full(len(X), 1e-6))
    assert [e["event"] for e in scaled.fit_events_] == ["reseeded"]
    np.testing.assert_allclose(scaled.weights_, model.weights_, rtol=1e-6)


def test_a_frozen_tiny_weight_is_not_an_emptied_component():
    model, X = _two_gaussian_clusters("reseed")
    model.set_params(frozen="weights")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model.fit(X)
    assert model.fit_events_ == []
    assert model.weights_[2] == pytest.approx(1e-300)


def test_a_noise_component_may_hold_next_to_nothing():
    # tight clusters and no noise: the noise proportion falls towards zero,
    # which is the model's answer, not a degenerate component
    rng = np.random.default_rng(4)
    X = np.vstack([rng.normal(-3, 0.05, (200, 2)), rng.normal(3, 0.05, (200, 2))])
    model = GaussianMixture(2, noise=True, random_state=0, tol=1e-14)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    assert model.weights_[-1] * len(X) < MIN_EFFECTIVE_ROWS
    assert _emptied_events(model) == []


def test_variational_fits_prune_their_own_empty_components():
    # a Dirichlet-process mixture empties its spare components by design
    rng = np.random.default_rng(5)
    X = np.vstack([rng.normal(-5, 1, (100, 2)), rng.normal(5, 1, (100, 2))])
    model = BayesianGaussianMixture(n_components=6, random_state=0, max_iter=300)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    assert np.sort(model.weights_)[0] * len(X) < 1.0
    assert _emptied_events(model) == []


def test_emptied_components_reads_only_the_weights():
    n_rows = 300.0
    log_weights = np.log([0.6, 0.4 - 1e-9, 1e-9])
    assert emptied_components(log_weights, n_rows) == (2,)
    assert emptied_components([np.log(0.5)] * 2 + [-np.inf], n_rows) == (2,)
    assert emptied_components([np.log(0.5), np.nan, np.log(0.5)], n_rows) == (1,)
    # one row's worth is not emptied; the last (noise) column can be left out
    assert emptied_components(np.log([1 - 1 / n_rows, 1 / n_rows]), n_rows) == ()
    assert emptied_components(log_weights, n_rows, n_watched=2) == ()
