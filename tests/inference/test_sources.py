"""The data entry point: every kind of data, one validation, one NaN rule."""

import warnings

import numpy as np
import pytest

from mixtura import (
    BernoulliMixture,
    ConvergenceWarning,
    DataValidationError,
    GaussianMixture,
    PoissonMixture,
)
from mixtura.inference import sources
from mixtura.inference.dask_data import DaskData
from mixtura.inference.data import ArrayData
from mixtura.inference.sources import (
    ArraySource,
    DaskSource,
    SourceKind,
    StreamSource,
    source_kind,
    to_fit_data,
)
from mixtura.inference.stream_data import StreamData
from mixtura.streams import ChunkStream

da = pytest.importorskip("dask.array")


def _blobs(n=900, d=3, seed=0):
    rng = np.random.RandomState(seed)
    centres = rng.normal(scale=5.0, size=(3, d))
    return centres[rng.randint(3, size=n)] + rng.normal(size=(n, d))


def _holes(X, fraction=0.2, seed=1):
    X = X.copy()
    X[np.random.RandomState(seed).uniform(size=X.shape) < fraction] = np.nan
    return X


def _stream(X, n_chunks=7):
    return ChunkStream(lambda: iter(np.array_split(X, n_chunks)), "the test stream")


def _as_array(X):
    return X


def _as_dask(X):
    return da.from_array(X, chunks=(200, X.shape[1]))


KINDS = {"array": _as_array, "dask": _as_dask, "stream": _stream}


def _quiet_fit(model, X, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, **kwargs)


def test_each_kind_is_recognised_by_one_registered_object():
    X = _blobs()
    assert isinstance(source_kind(X), ArraySource)
    assert isinstance(source_kind(X.tolist()), ArraySource)
    assert isinstance(source_kind(_as_dask(X)), DaskSource)
    assert isinstance(source_kind(_stream(X)), StreamSource)


@pytest.mark.parametrize(
    ("kind", "seam_type"),
    [("array", ArrayData), ("dask", DaskData), ("stream", StreamData)],
)
def test_the_entry_point_gives_each_kinds_seam_object(kind, seam_type):
    X = _blobs()
    model = GaussianMixture(3)
    fit_data = to_fit_data(
        KINDS[kind](X),
        None,
        model._data_rules(),
        random_state=np.random.RandomState(0),
    )
    assert isinstance(fit_data.data, seam_type)
    assert fit_data.data.n_samples == len(X)
    assert fit_data.data.total_weight == len(X)
    # fewer rows than INITIAL_ROWS: the initialisation sees all of them
    assert isinstance(fit_data.initial, ArrayData)
    np.testing.assert_array_equal(
        np.sort(fit_data.initial.X, axis=0), np.sort(X, axis=0)
    )
    assert fit_data.dtype == np.float64
    assert model.n_features_in_ == 3


def _error(make_model, data):
    with pytest.raises((DataValidationError, ValueError)) as error:
        make_model().fit(data)
    return str(error.value)


@pytest.mark.parametrize(
    ("damage", "missing"),
    [
        (lambda X: X.__setitem__((10, 2), np.nan), "error"),
        (lambda X: X.__setitem__((20, 1), -np.inf), "em"),
        (lambda X: X.__setitem__((slice(None), 1), np.nan), "em"),
    ],
    ids=["nan-refused", "infinity-refused", "column-entirely-missing"],
)
def test_every_kind_refuses_the_same_values_with_the_same_message(damage, missing):
    X = _blobs()
    damage(X)
    messages = {
        kind: _error(lambda: GaussianMixture(2, missing=missing), make(X))
        for kind, make in KINDS.items()
    }
    assert len(set(messages.values())) == 1, messages
    assert "column" in messages["array"]


def test_missing_em_unavailable_for_a_family_is_refused_first_for_every_kind():
    X = _holes(_blobs())
    messages = {
        kind: _error(lambda: GaussianMixture(2, missing="em", noise=True), make(X))
        for kind, make in KINDS.items()
    }
    assert len(set(messages.values())) == 1, messages
    assert "missing='em' is not available" in messages["array"]


def test_a_stream_with_nan_fits_missing_values_as_the_array_does():
    X = _holes(_blobs())
    options = {"missing": "em", "random_state": 0, "tol": 1e-8, "max_iter": 50}
    memory = _quiet_fit(GaussianMixture(3, **options), X)
    # the stream starts from its first rows: here all of them, so the same start
    streamed = _quiet_fit(GaussianMixture(3, **options), _stream(X))
    assert streamed.n_iter_ == memory.n_iter_
    np.testing.assert_allclose(streamed.lower_bounds_, memory.lower_bounds_, rtol=1e-10)
    np.testing.assert_allclose(streamed.means_, memory.means_, rtol=1e-8)
    np.testing.assert_allclose(streamed.covariances_, memory.covariances_, rtol=1e-8)


def test_a_stream_with_nan_beyond_its_first_rows_equals_the_array_fit(monkeypatch):
    X = _holes(_blobs(n=1500))
    start = _quiet_fit(GaussianMixture(3, missing="em", random_state=0, max_iter=3), X)
    params = {
        "missing": "em",
        "tol": 1e-8,
        "weights_init": start.weights_,
        "means_init": start.means_,
        "precisions_init": start.precisions_,
    }
    monkeypatch.setattr(sources, "INITIAL_ROWS", 200)  # initialise on one chunk
    streamed = _quiet_fit(GaussianMixture(3, **params), _stream(X, 11))
    memory = _quiet_fit(GaussianMixture(3, **params), X)
    assert streamed.n_iter_ == memory.n_iter_
    np.testing.assert_allclose(streamed.lower_bounds_, memory.lower_bounds_, rtol=1e-10)
    np.testing.assert_allclose(streamed.means_, memory.means_, rtol=1e-8)


@pytest.mark.filterwarnings("ignore:.*nothing observed")
@pytest.mark.parametrize(
    ("estimator", "make"),
    [
        (PoissonMixture, lambda rng: rng.poisson([1.0, 6.0, 3.0], (800, 3))),
        (BernoulliMixture, lambda rng: rng.random((800, 4)) < [0.2, 0.8, 0.5, 0.3]),
    ],
    ids=["poisson", "bernoulli"],
)
def test_discrete_families_fit_missing_values_on_streams(estimator, make):
    X = _holes(make(np.random.default_rng(0)).astype(float), 0.15)
    options = {"missing": "em", "random_state": 0, "tol": 1e-8}
    memory = _quiet_fit(estimator(2, **options), X)
    streamed = _quiet_fit(estimator(2, **options), _stream(X, 5))
    assert streamed.lower_bound_ == pytest.approx(memory.lower_bound_, rel=1e-10)
    np.testing.assert_allclose(streamed.weights_, memory.weights_, rtol=1e-8)


def test_every_chunk_passes_the_estimators_check_not_only_the_first(monkeypatch):
    X = np.random.default_rng(0).poisson(3.0, size=(600, 2)).astype(float)
    X[500, 1] = -1.0  # beyond the first rows
    monkeypatch.setattr(sources, "INITIAL_ROWS", 100)
    with pytest.raises(DataValidationError, match="Poisson"):
        PoissonMixture(2).fit(_stream(X, 6))
    X[500, 1] = np.nan
    with pytest.raises(DataValidationError, match="NaN in column 1"):
        PoissonMixture(2).fit(_stream(X, 6))
    _quiet_fit(PoissonMixture(2, missing="em", max_iter=3), _stream(X, 6))


def test_predictions_on_a_stream_are_those_of_its_rows():
    X = _blobs()
    model = GaussianMixture(3, random_state=0).fit(X)
    stream = _stream(X)
    np.testing.assert_array_equal(model.predict(stream), model.predict(X))
    np.testing.assert_allclose(model.predict_proba(stream), model.predict_proba(X))
    np.testing.assert_allclose(model.score_samples(stream), model.score_samples(X))


def test_partial_fit_takes_any_kind_of_batch():
    X = _blobs()
    memory = GaussianMixture(3, random_state=0).partial_fit(X)
    for make in (_as_dask, _stream):
        batch = GaussianMixture(3, random_state=0).partial_fit(make(X))
        np.testing.assert_allclose(batch.means_, memory.means_, rtol=1e-10)
        assert batch.lower_bound_ == pytest.approx(memory.lower_bound_, rel=1e-12)


def test_a_stream_refuses_sample_weight():
    X = _blobs()
    with pytest.raises(DataValidationError, match="sample_weight is not supported"):
        GaussianMixture(2).fit(_stream(X), sample_weight=np.ones(len(X)))


def test_the_same_row_count_error_for_every_kind():
    X = _blobs(n=4)
    messages = {
        kind: _error(lambda: GaussianMixture(5), make(X))
        for kind, make in KINDS.items()
    }
    assert len(set(messages.values())) == 1, messages
    assert "n_samples >= n_components" in messages["array"]


class _Transposed:
    """Data given column by column (a new kind, for the registry test)."""

    def __init__(self, columns):
        self.columns = columns


class _TransposedSource(SourceKind):
    def accepts(self, X):
        return isinstance(X, _Transposed)

    def fit_data(self, X, sample_weight, rules, *, reset, random_state):
        return ArraySource().fit_data(
            X.columns.T, sample_weight, rules, reset=reset, random_state=random_state
        )

    def map_rows(self, X, function, rules, *, n_columns=None, dtype=None):
        return ArraySource().map_rows(X.columns.T, function, rules)


def test_a_registered_kind_is_used_by_the_estimators(monkeypatch):
    monkeypatch.setattr(sources, "SOURCE_KINDS", list(sources.SOURCE_KINDS))
    sources.register_source_kind(_TransposedSource())
    X = _blobs()
    model = GaussianMixture(3, random_state=0).fit(_Transposed(X.T))
    reference = GaussianMixture(3, random_state=0).fit(X)
    np.testing.assert_allclose(model.means_, reference.means_)
    np.testing.assert_array_equal(model.predict(_Transposed(X.T)), reference.predict(X))
