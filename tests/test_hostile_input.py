"""Hostile input at every entry point (issue 19), as properties tested with hypothesis.

Generated hostile arrays go to every public estimator's ``fit``, ``partial_fit``,
``predict``, ``predict_proba``, ``score_samples`` and ``sample``, to
:func:`mixtura.select` and to the command line. Each call either succeeds with
finite results of the documented shape or raises one of mixtura's own errors
(:class:`~mixtura.MixturaError`: DataValidationError, DataTypeError,
ModelFileError, SingularCovarianceError) or scikit-learn's InvalidParameterError,
with a message; never an exception from inside NumPy or SciPy, never a
RuntimeWarning (turned into an error here), and a failed call leaves a fitted
model bitwise as it was. The model files' counterpart is
``tests/test_hostile_model_files.py``.

Known failures whose fix lies outside the files this suite may change are
``xfail(strict=True)``, each naming the file and function where the fix belongs.
The number of generated cases per entry point is printed at the end of the run.
"""

from __future__ import annotations

import contextlib
import copy
import math
import signal
import struct
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.utils._param_validation import InvalidParameterError

import mixtura
import mixtura.cli
import mixtura.selection
from mixtura import MixturaError
from mixtura.estimators import ESTIMATORS
from mixtura.families import Family
from mixtura.mixture import Mixture

from ._hostile_counts import new_counts, report_counts

#: what a refusal may raise
ALLOWED = (MixturaError, InvalidParameterError)
#: settings of every property: reproducible in CI, no example database on disk
SETTINGS = {
    "deadline": None,
    "derandomize": True,
    "database": None,
    "suppress_health_check": [
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
    ],
}
#: generated cases per entry point and outcome, printed at the end
COUNTS = new_counts()


@pytest.fixture(scope="module", autouse=True)
def _report_counts(request):
    yield
    report_counts(
        request,
        COUNTS,
        "hostile input: generated cases per entry point (succeeded / refused)",
    )


# -- the estimators and the data each accepts -------------------------------------
N_ROWS, N_FEATURES, N_COMPONENTS = 24, 3, 2


def _gaussian(rng):
    X = rng.randn(N_ROWS, N_FEATURES)
    X[N_ROWS // 2 :] += 4.0
    return X


def _positive(rng):
    return np.exp(_gaussian(rng) / 2)


def _counts(rng):
    return rng.poisson([[1.0, 4.0, 9.0]], size=(N_ROWS, N_FEATURES)).astype(float)


def _binary(rng):
    return (rng.rand(N_ROWS, N_FEATURES) < 0.4).astype(float)


def _codes(rng):
    return rng.randint(0, 3, size=(N_ROWS, N_FEATURES)).astype(float)


def _unit_rows(rng):
    X = _gaussian(rng)
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def _compositions(rng):
    X = _positive(rng)
    return X / X.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class Case:
    """A public estimator with small settings and data it accepts."""

    id: str
    cls: str
    params: dict
    data: Callable

    def make(self):
        return ESTIMATORS[self.cls](**self.params)


_SMALL = {"n_components": N_COMPONENTS, "max_iter": 5, "random_state": 0}
CASES = [
    Case("GaussianMixture", "GaussianMixture", _SMALL, _gaussian),
    Case("MixtureModel-gaussian", "MixtureModel", _SMALL, _gaussian),
    Case(
        "MixtureModel-gamma", "MixtureModel", {**_SMALL, "family": "gamma"}, _positive
    ),
    Case(
        "MixtureModel-exponential",
        "MixtureModel",
        {**_SMALL, "family": "exponential"},
        _positive,
    ),
    Case(
        "MixtureModel-lognormal",
        "MixtureModel",
        {**_SMALL, "family": "lognormal"},
        _positive,
    ),
    Case(
        "MixtureModel-student_t",
        "MixtureModel",
        {**_SMALL, "family": "student_t"},
        _gaussian,
    ),
    Case(
        "MixtureModel-dirichlet",
        "MixtureModel",
        {**_SMALL, "family": "dirichlet"},
        _compositions,
    ),
    Case(
        "MixtureModel-von_mises_fisher",
        "MixtureModel",
        {**_SMALL, "family": "von_mises_fisher"},
        _unit_rows,
    ),
    Case("BayesianGaussianMixture", "BayesianGaussianMixture", _SMALL, _gaussian),
    Case(
        "BayesianMixture-poisson",
        "BayesianMixture",
        {**_SMALL, "family": "poisson"},
        _counts,
    ),
    Case(
        "BayesianMixture-gaussian",
        "BayesianMixture",
        {**_SMALL, "family": "gaussian"},
        _gaussian,
    ),
    Case("BernoulliMixture", "BernoulliMixture", _SMALL, _binary),
    Case("CategoricalMixture", "CategoricalMixture", _SMALL, _codes),
    Case("PoissonMixture", "PoissonMixture", _SMALL, _counts),
    Case("TabularMixture", "TabularMixture", _SMALL, _gaussian),
    Case("StudentMixture", "StudentMixture", _SMALL, _gaussian),
    Case("MultinomialMixture", "MultinomialMixture", _SMALL, _counts),
    Case("DirichletMultinomialMixture", "DirichletMultinomialMixture", _SMALL, _counts),
    Case(
        "DirichletProcessMixture",
        "DirichletProcessMixture",
        {"n_iter": 5, "random_state": 0},
        _gaussian,
    ),
    Case(
        "VonMisesFisherMixture",
        "VonMisesFisherMixture",
        {**_SMALL, "normalize": True},
        _unit_rows,
    ),
]
CASES_BY_ID = {case.id: case for case in CASES}
_FITTED = {}


def test_every_registered_estimator_is_covered():
    assert {case.cls for case in CASES} == set(ESTIMATORS)


def _train(case):
    return case.data(np.random.RandomState(0))


def _fitted(case):
    """A fitted model of ``case`` (fitted once; each example gets a copy)."""
    if case.id not in _FITTED:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _FITTED[case.id] = case.make().fit(_train(case))
    return copy.deepcopy(_FITTED[case.id])


# -- bitwise fingerprints of a model's whole state ---------------------------------
def fingerprint(value, depth=0):
    """A comparable, bitwise description of ``value`` and what it holds."""
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            items = tuple(fingerprint(item, depth + 1) for item in value.ravel())
            return ("ndarray", value.dtype.str, value.shape, items)
        return ("ndarray", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, np.generic):
        return ("scalar", value.dtype.str, value.tobytes())
    if isinstance(value, float):
        return ("float", struct.pack("<d", value))  # NaN == NaN, 0.0 != -0.0
    if value is None or isinstance(value, (bool, int, str, bytes)):
        return (type(value).__name__, value)
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(fingerprint(v, depth + 1) for v in value))
    if isinstance(value, dict):
        return (
            "dict",
            tuple((repr(k), fingerprint(v, depth + 1)) for k, v in value.items()),
        )
    if isinstance(value, np.random.RandomState):
        return ("RandomState", fingerprint(value.get_state(), depth + 1))
    if isinstance(value, Mixture):
        # the fitted mixture by its parameters, not the caches (E-step kernels)
        # that its first prediction builds
        return (
            "Mixture",
            fingerprint(value.log_weights, depth + 1),
            fingerprint(value.family, depth + 1),
        )
    if isinstance(value, Family):
        try:
            state = (value.config(), value.arrays())
        except (ValueError, NotImplementedError):  # a template; a variational one
            state = None
        if state is not None:
            return (type(value).__qualname__, fingerprint(state, depth + 1))
    if depth < 8 and not isinstance(value, type) and hasattr(value, "__dict__"):
        return (type(value).__qualname__, fingerprint(vars(value), depth + 1))
    return (type(value).__qualname__, id(value))


# -- calling an entry point --------------------------------------------------------
#: seconds any one call may take: a hang fails the test instead of stalling it
TIME_LIMIT = 30


class Hang(Exception):
    """A call ran past :data:`TIME_LIMIT`."""


@contextlib.contextmanager
def time_limit(seconds=TIME_LIMIT):
    """Raise :class:`Hang` in the call after ``seconds`` (where SIGALRM exists)."""
    if not hasattr(signal, "SIGALRM"):
        yield
        return

    def hang(signum, frame):
        raise Hang(f"the call ran for more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, hang)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def call(entry, function, *args):
    """``function(*args)``: its result, or the allowed error it raised (as a value).

    RuntimeWarnings are errors; an error outside :data:`ALLOWED`, one without a
    message, or a call longer than :data:`TIME_LIMIT` fails the test.
    """
    with warnings.catch_warnings(), time_limit():
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", RuntimeWarning)
        try:
            result = function(*args)
        except ALLOWED as error:
            assert str(error).strip(), f"{type(error).__name__} without a message"
            COUNTS[entry, "refused"] += 1
            return error
    COUNTS[entry, "ok"] += 1
    return result


def n_rows_of(X):
    return X.shape[0] if hasattr(X, "shape") else len(X)


def check_result(model, method, X, result):
    """A successful prediction has the documented shape and finite values."""
    n = n_rows_of(X)
    result = np.asarray(result)
    if method == "predict":
        assert result.shape == (n,) and result.dtype.kind in "iu"
        assert (result >= 0).all()
    elif method == "predict_proba":
        assert result.ndim == 2 and result.shape[0] == n
        assert np.isfinite(result).all()
        tolerance = 1e-4 if result.dtype == np.float32 else 1e-8
        np.testing.assert_allclose(result.sum(axis=1), 1.0, atol=tolerance)
    elif method == "score_samples":
        assert result.shape == (n,) and np.isfinite(result).all()
    else:
        raise AssertionError(method)


def check_samples(samples, n_samples):
    X, labels = samples
    X = np.asarray(X)
    assert X.shape[0] == n_samples and np.asarray(labels).shape == (n_samples,)
    if X.dtype.kind in "fc":
        assert np.isfinite(X).all()


#: fitted attributes documented to be NaN at times
DOCUMENTED_NAN = {"lower_bound_", "split_acceptance_rate_", "merge_acceptance_rate_"}


def check_fitted_finite(model):
    for name, value in vars(model).items():
        if name.endswith("_") and not name.startswith("_"):
            if isinstance(value, np.ndarray) and value.dtype.kind == "f":
                assert np.isfinite(value).all(), name
            elif isinstance(value, float) and name not in DOCUMENTED_NAN:
                assert math.isfinite(value), name


def _methods(model):
    return [
        m for m in ("predict", "predict_proba", "score_samples") if hasattr(model, m)
    ]


# -- hostile arrays ----------------------------------------------------------------
MALFORMED = (
    "nonfinite",
    "object",
    "strings",
    "complex",
    "ndim",
    "empty",
    "ragged",
)
DEGENERATE = (
    "few_rows",
    "constant_columns",
    "duplicated_rows",
    "huge",
    "tiny",
    "float32_huge",
    "float32_tiny",
    "integer_extremes",
    "other_dtypes",
)
_INTEGER_EXTREMES = (
    np.iinfo(np.int64).max,
    np.iinfo(np.int64).max - 1,
    np.iinfo(np.int64).min,
    2**53 + 1,
    2**62,
    np.iinfo(np.int32).max,
)


@st.composite
def hostile_arrays(draw, X, kinds):
    """One hostile variant of the valid data ``X``: (kind, array)."""
    kind = draw(st.sampled_from(kinds))
    n, d = X.shape
    row = st.integers(0, n - 1)
    column = st.integers(0, d - 1)
    if kind == "nonfinite":
        H = X.copy()
        for _ in range(draw(st.integers(1, 3))):
            H[draw(row), draw(column)] = draw(
                st.sampled_from([np.nan, np.inf, -np.inf])
            )
    elif kind == "object":
        H = X.astype(object)
        item = draw(st.sampled_from(["a", "", None, {}, [1.0], b"1", object(), 1j]))
        H[draw(row), draw(column)] = item
    elif kind == "strings":
        H = X.astype(str)
        if draw(st.booleans()):
            H = H.astype(object)
            H[draw(row), draw(column)] = draw(st.text(max_size=4))
    elif kind == "complex":
        H = X + 1j * draw(st.sampled_from([0.0, 1e-12, 1.0]))
    elif kind == "ndim":
        H = draw(
            st.sampled_from(
                [
                    np.float64(1.5),
                    np.asarray(2.0),
                    X[:, 0].copy(),
                    X[None].copy(),
                    X[:, :, None].copy(),
                    X.tolist()[0],
                ]
            )
        )
    elif kind == "empty":
        H = draw(
            st.sampled_from([X[:0].copy(), X[:, :0].copy(), np.empty((0, 0)), [], [[]]])
        )
    elif kind == "ragged":
        rows = X.tolist()
        rows[draw(row)] = rows[0][: draw(st.integers(0, d - 1))]
        H = rows
    elif kind == "few_rows":
        H = X[: draw(st.integers(1, N_COMPONENTS))].copy()
    elif kind == "constant_columns":
        H = X.copy()
        value = draw(st.sampled_from([0.0, 1.0, -3.5, 1e6]))
        for j in draw(st.sets(column, min_size=1)):
            H[:, j] = value
    elif kind == "duplicated_rows":
        H = np.repeat(X[draw(row)][None], draw(st.integers(2, n)), axis=0)
    elif kind == "huge":
        limit = float(np.finfo(np.float64).max)
        with np.errstate(over="ignore"):
            H = np.clip(X * 10.0 ** draw(st.integers(1, 308)), -limit, limit)
    elif kind == "tiny":
        H = X * 10.0 ** -draw(st.integers(1, 307))
    elif kind in ("float32_huge", "float32_tiny"):
        exponent = draw(
            st.integers(1, 38) if kind == "float32_huge" else st.integers(-45, -1)
        )
        limit = float(np.finfo(np.float32).max)
        H = np.clip(X * 10.0**exponent, -limit, limit).astype(np.float32)
    elif kind == "integer_extremes":
        H = np.rint(X).astype(np.int64)
        if draw(st.booleans()):
            H[:] = draw(st.sampled_from(_INTEGER_EXTREMES))
        else:
            for _ in range(draw(st.integers(1, 4))):
                H[draw(row), draw(column)] = draw(st.sampled_from(_INTEGER_EXTREMES))
        if draw(st.booleans()) and (H >= 0).all():
            H = H.astype(np.uint64)
            if draw(st.booleans()):
                H[draw(row), draw(column)] = np.iinfo(np.uint64).max
    elif kind == "columns":  # another number of features than fitted
        n_features = draw(st.sampled_from([1, d - 1, d + 1, 2 * d]))
        H = np.tile(X, (1, 2))[:, :n_features].copy()
    elif kind == "other_dtypes":
        dtype = draw(st.sampled_from([bool, np.float16, np.int8, np.uint8, np.int64]))
        with np.errstate(all="ignore"):
            H = X.astype(dtype)
    else:
        raise AssertionError(kind)
    return kind, H


GROUPS = {"malformed": MALFORMED, "degenerate": DEGENERATE, "columns": ("columns",)}


def _kinds(case, entry, group):
    """``group``'s kinds but the known failures of ``entry`` (tested on their own)."""
    known = {k for (id_, k, entries) in KNOWN if id_ == case.id and entry in entries}
    return tuple(kind for kind in GROUPS[group] if kind not in known)


def _strategy(case, entry, group, only=None):
    """Hostile variants of ``case``'s data: ``group``'s kinds, or kind ``only``."""
    kinds = (only,) if only is not None else _kinds(case, entry, group)
    return hostile_arrays(_train(case), kinds)


# -- known failures (xfail strict), with where the fix belongs ---------------------
#: (case id, hostile kind, entry points) -> reason
KNOWN: dict = {}


def _params(entry, groups):
    return [
        pytest.param(case, group, id=f"{case.id}-{group}")
        for case in CASES
        if hasattr(_fitted(case), entry)
        for group in groups
        if _kinds(case, entry, group)
    ]


def _known_params():
    return [
        pytest.param(
            CASES_BY_ID[id_],
            entry,
            kind,
            id=f"{id_}-{entry}-{kind}",
            marks=pytest.mark.xfail(strict=True, reason=reason),
        )
        for (id_, kind, entries), reason in KNOWN.items()
        for entry in entries
        if hasattr(_fitted(CASES_BY_ID[id_]), entry)
    ]


# -- fit and partial_fit ----------------------------------------------------------
def _check_training_call(case, method, group, data, only=None):
    model = _fitted(case)
    before = fingerprint(vars(model))
    _kind, H = data.draw(_strategy(case, method, group, only), label="hostile")
    result = call(method, getattr(model, method), H)
    if isinstance(result, BaseException):
        assert fingerprint(vars(model)) == before, f"{method} changed the model"
        return
    assert result is model
    check_fitted_finite(model)
    # the fitted model predicts the data it was fitted to, finitely
    for name in _methods(model):
        outcome = call(f"{method} -> {name}", getattr(model, name), H)
        if not isinstance(outcome, BaseException):
            check_result(model, name, H, outcome)
    if hasattr(model, "sample"):
        outcome = call(f"{method} -> sample", model.sample, 4)
        if not isinstance(outcome, BaseException):
            check_samples(outcome, 4)


@pytest.mark.parametrize(("case", "group"), _params("fit", ("malformed", "degenerate")))
@settings(max_examples=16, **SETTINGS)
@given(data=st.data())
def test_fit(case, group, data):
    _check_training_call(case, "fit", group, data)


@pytest.mark.parametrize(
    ("case", "group"),
    _params("partial_fit", ("malformed", "degenerate")),
)
@settings(max_examples=12, **SETTINGS)
@given(data=st.data())
def test_partial_fit(case, group, data):
    _check_training_call(case, "partial_fit", group, data)


_WEIGHTS = st.sampled_from(
    [
        "nan",
        "inf",
        "negative",
        "zeros",
        "one short",
        "2-d",
        "strings",
        "objects",
        "complex",
        "huge",
        "float max",
        "subnormal",
        "one row only",
        "scalar",
    ]
)


def _hostile_weights(kind, n):
    weights = np.ones(n)
    if kind in ("nan", "inf", "negative"):
        weights[n // 2] = {"nan": np.nan, "inf": np.inf, "negative": -1.0}[kind]
        return weights
    return {
        "zeros": np.zeros(n),
        "one short": weights[:-1],
        "2-d": np.ones((n, 2)),
        "strings": np.array(["1"] * (n - 1) + ["x"]),
        "objects": np.array([1.0] * (n - 1) + [{}], dtype=object),
        "complex": weights + 1j,
        "huge": np.full(n, 1e300),
        "float max": np.full(n, np.finfo(np.float64).max),
        "subnormal": np.full(n, 5e-324),
        "one row only": np.r_[np.zeros(n - 1), 1.0],
        "scalar": 2.0,
    }[kind]


@pytest.mark.parametrize(
    "case",
    [case for case in CASES if case.id != "DirichletProcessMixture"],
    ids=lambda case: case.id,
)
@settings(max_examples=10, **SETTINGS)
@given(kind=_WEIGHTS)
def test_fit_with_hostile_sample_weights(case, kind):
    model = _fitted(case)
    before = fingerprint(vars(model))
    X = _train(case)
    weights = _hostile_weights(kind, X.shape[0])
    result = call("fit (sample_weight)", lambda: model.fit(X, sample_weight=weights))
    if isinstance(result, BaseException):
        assert fingerprint(vars(model)) == before, "fit changed the model"
    else:
        check_fitted_finite(model)
        check_result(model, "score_samples", X, model.score_samples(X))


# -- predict, predict_proba, score_samples ----------------------------------------
@pytest.mark.parametrize(
    ("case", "group"), _params("predict", ("malformed", "degenerate", "columns"))
)
@settings(max_examples=12, **SETTINGS)
@given(data=st.data())
def test_predictions(case, group, data):
    _check_predictions(case, group, data)


def _check_predictions(case, group, data, only=None):
    model = _fitted(case)
    before = fingerprint(vars(model))
    _kind, H = data.draw(_strategy(case, "predict", group, only), label="hostile")
    for name in _methods(model):
        result = call(name, getattr(model, name), H)
        if not isinstance(result, BaseException):
            check_result(model, name, H, result)
        assert fingerprint(vars(model)) == before, f"{name} changed the model"


@pytest.mark.parametrize(("case", "entry", "kind"), _known_params())
@settings(max_examples=25, **SETTINGS)
@given(data=st.data())
def test_known_failures(case, entry, kind, data):
    group = next(group for group, kinds in GROUPS.items() if kind in kinds)
    if entry == "predict":
        _check_predictions(case, group, data, only=kind)
    else:
        _check_training_call(case, entry, group, data, only=kind)


# -- sample -----------------------------------------------------------------------
_SAMPLERS = [case for case in CASES if hasattr(ESTIMATORS[case.cls], "sample")]


def _check_sample(case, n_samples):
    model = _fitted(case)
    before = fingerprint(vars(model))
    result = call("sample", model.sample, n_samples)
    if isinstance(result, BaseException):
        assert fingerprint(vars(model)) == before, "sample changed the model"
    else:
        check_samples(result, int(n_samples))
    return result


@pytest.mark.parametrize("case", _SAMPLERS, ids=lambda case: case.id)
@settings(max_examples=6, **SETTINGS)
@given(
    n_samples=st.one_of(
        st.integers(1, 40), st.sampled_from([np.int64(3), np.uint8(2), np.int32(1)])
    )
)
def test_sample(case, n_samples):
    _check_sample(case, n_samples)


@pytest.mark.parametrize("case", _SAMPLERS, ids=lambda case: case.id)
@settings(max_examples=6, **SETTINGS)
@given(
    n_samples=st.one_of(
        st.integers(-3, 0),
        st.sampled_from([2.0, 2.5, float("nan"), -1.0, "3", None, [2], 1j]),
        st.sampled_from([np.array([2, 3]), np.array(2)]),
    )
)
def test_sample_invalid_number(case, n_samples):
    _check_sample(case, n_samples)


@settings(max_examples=3, **SETTINGS)
@given(n_samples=st.sampled_from([10**30, 2**63, 2**64 + 1]))
def test_sample_too_many(n_samples):
    _check_sample(CASES_BY_ID["GaussianMixture"], n_samples)


# -- pandas frames with other feature names ---------------------------------------
_NAMES = ["a", "b", "c"]


@st.composite
def renamed_frames(draw, X):
    pd = pytest.importorskip("pandas")
    names = list(_NAMES)
    how = draw(st.sampled_from(["rename", "permute", "drop", "extra", "numeric"]))
    frame = pd.DataFrame(X, columns=names)
    if how == "rename":
        j = draw(st.integers(0, len(names) - 1))
        frame = frame.rename(columns={names[j]: draw(st.sampled_from(["z", "A", ""]))})
    elif how == "permute":
        order = draw(st.permutations(names))
        frame = frame[list(order)]
    elif how == "drop":
        frame = frame.drop(columns=[draw(st.sampled_from(names))])
    elif how == "extra":
        frame = frame.assign(extra=X[:, 0])
    else:
        frame.columns = [0, 1, 2]
    return how, frame


#: case id -> reason of a known failure (xfail strict)
_FRAME_KNOWN: dict = {}


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(
            case,
            marks=[pytest.mark.xfail(strict=True, reason=_FRAME_KNOWN[case.id])]
            if case.id in _FRAME_KNOWN
            else [],
        )
        for case in CASES
        if case.id != "DirichletProcessMixture"
    ],
    ids=lambda case: case.id,
)
@settings(max_examples=5, **SETTINGS)
@given(data=st.data())
def test_dataframe_with_other_feature_names(case, data):
    pd = pytest.importorskip("pandas")
    X = _train(case)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = case.make().fit(pd.DataFrame(X, columns=_NAMES))
    before = fingerprint(vars(model))
    _how, frame = data.draw(renamed_frames(X), label="frame")
    for name in _methods(model):
        result = call(f"{name} (DataFrame)", getattr(model, name), frame)
        if not isinstance(result, BaseException):
            check_result(model, name, frame, result)
        assert fingerprint(vars(model)) == before


# -- the mixture discriminant classifier ------------------------------------------
MDA_PARAMS = {
    "EDDA": {"model_type": "EDDA", "models": ("EEE", "VVV")},
    "MclustDA": {"model_type": "MclustDA", "n_components": (1, 2), "models": ("VVV",)},
}
_LABELS = np.repeat([0, 1], N_ROWS // 2)
_MDA_FITTED = {}


def _mda(model_type):
    if model_type not in _MDA_FITTED:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = mixtura.MixtureDiscriminantAnalysis(**MDA_PARAMS[model_type])
            X = _gaussian(np.random.RandomState(0))
            _MDA_FITTED[model_type] = model.fit(X, _LABELS)
    return copy.deepcopy(_MDA_FITTED[model_type])


@pytest.mark.parametrize(
    ("model_type", "group"),
    [
        (model_type, group)
        for model_type in MDA_PARAMS
        for group in ("malformed", "degenerate")
    ],
)
@settings(max_examples=8, **SETTINGS)
@given(data=st.data())
def test_discriminant_fit(model_type, group, data):
    model = _mda(model_type)
    before = fingerprint(vars(model))
    X = _gaussian(np.random.RandomState(0))
    kinds = MALFORMED if group == "malformed" else DEGENERATE
    _kind, H = data.draw(hostile_arrays(X, kinds), label="hostile")
    labels = _LABELS if n_rows_of(H) == N_ROWS else _LABELS[: n_rows_of(H)]
    result = call("MDA.fit", model.fit, H, labels)
    if isinstance(result, BaseException):
        assert fingerprint(vars(model)) == before
    else:
        check_result(model, "predict_proba", H, model.predict_proba(H))


_HOSTILE_LABELS = {
    "nan": np.where(_LABELS == 0, np.nan, 1.0),
    "2-d": np.column_stack([_LABELS, _LABELS]),
    "object": _LABELS.astype(object),
    "short": _LABELS[:-1],
    "one class": np.zeros(N_ROWS),
    "all distinct": np.arange(N_ROWS),
    "strings": np.where(_LABELS == 0, "x", "y"),
    "None": None,
}


@pytest.mark.parametrize("model_type", list(MDA_PARAMS))
@settings(max_examples=10, **SETTINGS)
@given(which=st.sampled_from(sorted(_HOSTILE_LABELS)))
def test_discriminant_fit_with_hostile_labels(model_type, which):
    model = _mda(model_type)
    before = fingerprint(vars(model))
    X = _gaussian(np.random.RandomState(0))
    result = call("MDA.fit (labels)", model.fit, X, _HOSTILE_LABELS[which])
    if isinstance(result, BaseException):
        assert fingerprint(vars(model)) == before


@pytest.mark.parametrize(
    ("model_type", "group"),
    [
        (model_type, group)
        for model_type in MDA_PARAMS
        for group in ("malformed", "degenerate", "columns")
    ],
)
@settings(max_examples=8, **SETTINGS)
@given(data=st.data())
def test_discriminant_predictions(model_type, group, data):
    model = _mda(model_type)
    before = fingerprint(vars(model))
    X = _gaussian(np.random.RandomState(0))
    _kind, H = data.draw(hostile_arrays(X, GROUPS[group]), label="hostile")
    for name in ("predict", "predict_proba"):
        result = call(f"MDA.{name}", getattr(model, name), H)
        if not isinstance(result, BaseException):
            if name == "predict":
                assert np.asarray(result).shape == (n_rows_of(H),)
            else:
                check_result(model, name, H, result)
        assert fingerprint(vars(model)) == before


# -- mixtura.select ---------------------------------------------------------------
_SELECT = {"n_components": [1, 2], "models": ["diag", "full"], "n_jobs": 1}


def _check_table(table):
    assert isinstance(table, mixtura.selection.SelectionTable)
    for record in table.records:
        if record.get("error"):
            assert str(record["error"]).strip()
        else:
            for name in ("log_likelihood", "bic", "aic"):
                assert math.isfinite(record[name]), (name, record)


@pytest.mark.parametrize("group", ["malformed", "degenerate"])
@settings(max_examples=20, **SETTINGS)
@given(data=st.data())
def test_select(group, data):
    X = _gaussian(np.random.RandomState(0))
    # 0-d input and ragged lists: test_select_refuses_unshaped_input
    kinds = tuple(k for k in MALFORMED if k not in ("ndim", "ragged"))
    _kind, H = data.draw(
        hostile_arrays(X, kinds if group == "malformed" else DEGENERATE),
        label="hostile",
    )
    result = call("select", lambda: mixtura.select(H, max_iter=10, **_SELECT))
    if not isinstance(result, BaseException):
        _check_table(result)


@settings(max_examples=6, **SETTINGS)
@given(H=st.sampled_from([np.float64(1.0), 3.0, [[1.0, 2.0], [3.0]], [[1.0], []]]))
def test_select_refuses_unshaped_input(H):
    result = call("select (unshaped)", lambda: mixtura.select(H, **_SELECT))
    if not isinstance(result, BaseException):
        _check_table(result)


@settings(max_examples=6, **SETTINGS)
@given(data=st.data())
def test_select_raises_data_errors_instead_of_missing_cells(data):
    X = _gaussian(np.random.RandomState(0))
    kinds = ("nonfinite", "object", "complex", "empty")
    _kind, H = data.draw(hostile_arrays(X, kinds), label="hostile")
    with pytest.raises(mixtura.DataValidationError):
        mixtura.select(H, **_SELECT)


_BAD_SELECT_ARGUMENTS = [
    {"n_components": [0]},
    {"n_components": []},
    {"n_components": ["a"]},
    {"n_components": [1.5]},
    {"n_components": -1},
    {"models": ["no-such-model"]},
    {"criterion": "no-such-criterion"},
]


@settings(max_examples=10, **SETTINGS)
@given(arguments=st.sampled_from(_BAD_SELECT_ARGUMENTS))
def test_select_bad_arguments(arguments):
    X = _gaussian(np.random.RandomState(0))
    call("select (arguments)", lambda: mixtura.select(X, **{**_SELECT, **arguments}))


@settings(max_examples=6, **SETTINGS)
@given(
    arguments=st.sampled_from(
        [{"n_init": 0}, {"max_iter": -1}, {"tol": -1.0}, {"n_components": [10**9]}]
    )
)
def test_select_bad_estimator_arguments(arguments):
    X = _gaussian(np.random.RandomState(0))
    result = call(
        "select (arguments)", lambda: mixtura.select(X, **{**_SELECT, **arguments})
    )
    if not isinstance(result, BaseException):
        _check_table(result)


# -- the command line -------------------------------------------------------------
FAITHFUL_ROWS = 272


@pytest.fixture
def quick_demo(monkeypatch):
    """The demo with a one-cell grid and no figure; records what it asked for."""
    asked = []
    real_select = mixtura.selection.select

    def one_cell(X, n_components, random_state=0, **kwargs):
        # the demo passes a range: its last item, without walking it
        ks = n_components
        asked.append(ks[-1] if isinstance(ks, range) and ks else max(ks))
        return real_select(X, [1], models=["full"], random_state=random_state, n_jobs=1)

    monkeypatch.setattr(mixtura.selection, "select", one_cell)
    monkeypatch.setattr(mixtura.cli, "_save_demo_figure", lambda table, X, path: path)
    return asked


_WORDS = st.text(alphabet="abcdemoxz-_./ ", max_size=10)
_TOKENS = st.one_of(
    st.sampled_from(["demo", "--max-components", "--seed", "--output", "--version"]),
    st.sampled_from(["-h", "--", "-", "--max-components=2", "--seed=", "0", "1"]),
    st.integers(0, 2**32 - 1).map(str),
    st.integers(1, 6).map(str),
    _WORDS,
)


def run_cli(argv, capsys):
    """``main(argv)``'s exit status: returned, or raised as SystemExit."""
    try:
        status = call("cli", mixtura.cli.main, argv)
    except SystemExit as exit_:
        status = exit_.code
        COUNTS["cli", "refused" if status else "ok"] += 1
        if status == 2:
            assert "usage: mixtura" in capsys.readouterr().err
    return status


@settings(max_examples=40, **SETTINGS)
@given(argv=st.lists(_TOKENS, max_size=6))
def test_cli_arguments(argv, quick_demo, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status = run_cli(argv, capsys)
    assert status in (0, 1, 2), status


@settings(max_examples=6, **SETTINGS)
@given(seed=st.one_of(st.integers(max_value=-1), st.integers(min_value=2**32)))
def test_cli_seed_out_of_range_is_a_usage_error(seed, quick_demo, capsys):
    with pytest.raises(SystemExit) as exit_:
        mixtura.cli.main(["demo", "--seed", str(seed)])
    assert exit_.value.code == 2


@settings(max_examples=5, **SETTINGS)
@given(k=st.integers(FAITHFUL_ROWS + 1, 10**9))
def test_cli_grid_is_bounded_by_the_data(k, quick_demo, capsys):
    status = run_cli(["demo", "--max-components", str(k)], capsys)
    assert status == 2 or max(quick_demo) <= FAITHFUL_ROWS


@settings(max_examples=3, **SETTINGS)
@given(
    name=st.text(alphabet="abcxyz_-", min_size=1, max_size=8),
    extension=st.sampled_from(["png", "pdf", "svg"]),
    missing_directory=st.booleans(),
)
def test_cli_output_paths(name, extension, missing_directory, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    folder = tmp_path / "no-such-dir" if missing_directory else tmp_path
    path = folder / f"{name}.{extension}"
    status = run_cli(["demo", "--max-components", "1", "--output", str(path)], capsys)
    captured = capsys.readouterr()
    if missing_directory:
        assert status == 1 and "cannot write the plot" in captured.err
    else:
        assert status == 0 and path.exists()


def test_cli_output_of_unknown_format(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    path = tmp_path / "plot.unknown-format"
    status = run_cli(["demo", "--max-components", "1", "--output", str(path)], capsys)
    assert status in (1, 2)


def test_cli_output_without_extension(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    path = tmp_path / "plot"
    status = run_cli(["demo", "--max-components", "1", "--output", str(path)], capsys)
    out = capsys.readouterr().out
    assert status != 0 or (path.exists() and f"Plot written to {path}" in out)


def test_cli_subprocess_bad_arguments_exit_2_without_traceback():
    import subprocess

    command = [sys.executable, "-c", "from mixtura.cli import main; main()"]
    done = subprocess.run(
        [*command, "demo", "--max-components", "-3"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "usage: mixtura" in done.stderr and "Traceback" not in done.stderr
