"""Hostile model files (issue 19): :func:`mixtura.load` on generated corruptions.

Every saved model of a registered estimator is truncated, edited byte by byte,
given a newer format version, arrays of other shapes, dtypes and values, member
names that climb out of the archive, foreign class names and planted pickle
payloads. Each load either raises :class:`~mixtura.ModelFileError` with a
message or gives a model that predicts, scores and samples finitely (and, where
the damage missed every checked byte, exactly as the saved one); no payload ever
runs. Known failures are ``xfail(strict=True)`` naming where the fix belongs.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import pickle
import signal
import sys
import warnings
import zipfile

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mixtura
from mixtura import ModelFileError, load, save

from ._hostile_counts import new_counts, report_counts

SETTINGS = {
    "deadline": None,
    "derandomize": True,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}
COUNTS = new_counts()


@pytest.fixture(scope="module", autouse=True)
def _report_counts(request):
    yield
    report_counts(
        request,
        COUNTS,
        "hostile model files: generated cases per entry point (loaded / refused)",
    )


@contextlib.contextmanager
def time_limit(seconds=30):
    """Fail a load that hangs (a crafted file must not make it run forever)."""
    if not hasattr(signal, "SIGALRM"):
        yield
        return

    def hang(signum, frame):
        raise TimeoutError(f"load ran for more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, hang)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# -- saved models -----------------------------------------------------------------
def _gaussian(rng):
    X = rng.randn(30, 3)
    X[15:] += 4.0
    return X


def _positive(rng):
    return np.exp(_gaussian(rng) / 2)


def _counts(rng):
    return rng.poisson([[1.0, 4.0, 9.0]], size=(30, 3)).astype(float)


def _unit_rows(rng):
    X = _gaussian(rng)
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def _compositions(rng):
    X = _positive(rng)
    return X / X.sum(axis=1, keepdims=True)


def _table(rng):
    X = _gaussian(rng)
    return pd.DataFrame(
        {
            "x": X[:, 0],
            "y": X[:, 1],
            "kind": np.where(X[:, 2] > 2, "high", "low"),
            "count": rng.poisson(3, size=30),
        }
    )


_SMALL = {"n_components": 2, "max_iter": 10, "random_state": 0}
MODELS = {
    "GaussianMixture-full": (mixtura.GaussianMixture(**_SMALL), _gaussian),
    "GaussianMixture-diag-float32": (
        mixtura.GaussianMixture(covariance_type="diag", **_SMALL),
        lambda rng: _gaussian(rng).astype(np.float32),
    ),
    "GaussianMixture-tied": (
        mixtura.GaussianMixture(covariance_type="tied", **_SMALL),
        _gaussian,
    ),
    "GaussianMixture-noise": (mixtura.GaussianMixture(noise=True, **_SMALL), _gaussian),
    "MixtureModel-gamma": (mixtura.MixtureModel(family="gamma", **_SMALL), _positive),
    "MixtureModel-exponential": (
        mixtura.MixtureModel(family="exponential", **_SMALL),
        _positive,
    ),
    "MixtureModel-lognormal": (
        mixtura.MixtureModel(family="lognormal", **_SMALL),
        _positive,
    ),
    "MixtureModel-dirichlet": (
        mixtura.MixtureModel(family="dirichlet", **_SMALL),
        _compositions,
    ),
    "BernoulliMixture": (
        mixtura.BernoulliMixture(binarize=0.0, **_SMALL),
        _gaussian,
    ),
    "CategoricalMixture": (
        mixtura.CategoricalMixture(**_SMALL),
        lambda rng: rng.randint(0, 3, size=(30, 3)).astype(float),
    ),
    "PoissonMixture": (mixtura.PoissonMixture(**_SMALL), _counts),
    "TabularMixture": (mixtura.TabularMixture(**_SMALL), _table),
    "StudentMixture": (mixtura.StudentMixture(**_SMALL), _gaussian),
    "MultinomialMixture": (mixtura.MultinomialMixture(**_SMALL), _counts),
    "DirichletMultinomialMixture": (
        mixtura.DirichletMultinomialMixture(**_SMALL),
        _counts,
    ),
    "VonMisesFisherMixture": (
        mixtura.VonMisesFisherMixture(normalize=True, **_SMALL),
        _unit_rows,
    ),
}
MODEL_NAMES = sorted(MODELS)


def test_every_estimator_that_saves_is_covered():
    covered = {type(model).__name__ for model, _ in MODELS.values()}
    savable = {
        name
        for name, cls in mixtura.estimators.ESTIMATORS.items()
        if getattr(cls, "_saves_to_model_files", True)
    }
    assert savable <= covered


class SavedModels(dict):
    """name -> (file bytes, members, document, training data, the fitted model)."""

    def __repr__(self):  # hypothesis prints the arguments of a failing case
        return f"SavedModels({sorted(self)})"


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """The saved models (see :class:`SavedModels`)."""
    folder = tmp_path_factory.mktemp("models")
    files = SavedModels()
    for name, (model, make_data) in MODELS.items():
        X = make_data(np.random.RandomState(0))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X)
        path = folder / f"{name}.mixtura"
        save(model, path)
        with zipfile.ZipFile(path) as archive:
            members = {member: archive.read(member) for member in archive.namelist()}
        document = json.loads(members["model.json"])
        files[name] = (path.read_bytes(), members, document, X, model)
    return files


def archive_bytes(members, compression=zipfile.ZIP_DEFLATED):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def npy_bytes(array, allow_pickle=False):
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def load_bytes(entry, data, tmp_path, original=None, exact=False):
    """Load ``data`` as a model file: the model, or the ModelFileError raised.

    A model that loads must predict, score and sample finitely (with
    RuntimeWarnings as errors), and with ``exact`` bit for bit as ``original``.
    """
    path = tmp_path / "hostile.mixtura"
    path.write_bytes(data)
    with warnings.catch_warnings(), time_limit():
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", RuntimeWarning)
        try:
            model = load(path)
        except ModelFileError as error:
            assert str(error).startswith("Cannot load model file")
            COUNTS[entry, "refused"] += 1
            return error
        COUNTS[entry, "ok"] += 1
        if original is not None:
            check_usable(model, *original, exact=exact)
    return model


def check_usable(model, X, saved_model, exact):
    """Finite predictions, scores and samples; exactly the saved ones if ``exact``."""
    try:
        proba = model.predict_proba(X)
        scores = model.score_samples(X)
        samples, _ = model.sample(5)
    except mixtura.MixturaError as error:  # e.g. an edit the data no longer fits
        assert not exact, error
        return
    assert np.isfinite(proba).all() and np.isfinite(scores).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-4)
    if np.asarray(samples).dtype.kind == "f":
        assert np.isfinite(samples).all()
    if exact:
        np.testing.assert_array_equal(proba, saved_model.predict_proba(X))
        np.testing.assert_array_equal(scores, saved_model.score_samples(X))


# -- truncated and byte-edited files ----------------------------------------------
@settings(max_examples=60, **SETTINGS)
@given(name=st.sampled_from(MODEL_NAMES), cut=st.floats(0.0, 0.9999))
def test_truncated_files_are_refused(saved, tmp_path_factory, name, cut):
    data = saved[name][0]
    tmp_path = tmp_path_factory.mktemp("t")
    result = load_bytes("load (truncated)", data[: int(cut * len(data))], tmp_path)
    assert isinstance(result, ModelFileError)


@settings(max_examples=80, **SETTINGS)
@given(
    name=st.sampled_from(MODEL_NAMES),
    edits=st.lists(
        st.tuples(st.floats(0.0, 0.9999), st.integers(1, 255)), min_size=1, max_size=6
    ),
    stored=st.booleans(),
)
def test_bytes_edited_at_random(saved, tmp_path_factory, name, edits, stored):
    _, members, _, X, model = saved[name]
    # stored (uncompressed) archives let an edit land in the data themselves,
    # where only the CRC tells; deflated ones in the compressed stream
    data = bytearray(
        archive_bytes(members, zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED)
    )
    for where, mask in edits:
        data[int(where * len(data))] ^= mask
    tmp_path = tmp_path_factory.mktemp("b")
    # damage that misses every checked byte (a timestamp) loads the saved model
    load_bytes("load (bytes edited)", bytes(data), tmp_path, (X, model), exact=True)


# -- format versions --------------------------------------------------------------
def edited_document(members, edit):
    members = dict(members)
    document = json.loads(members["model.json"])
    edit(document)
    members["model.json"] = json.dumps(document).encode()
    return archive_bytes(members)


@settings(max_examples=25, **SETTINGS)
@given(
    name=st.sampled_from(MODEL_NAMES),
    version=st.one_of(
        st.integers(mixtura.io.FORMAT_VERSION + 1, 10**40),
        st.sampled_from([0, -1, 2.5, "2", None, True, [2], {"v": 2}]),
    ),
)
def test_other_format_versions_are_refused(saved, tmp_path_factory, name, version):
    members = saved[name][1]
    data = edited_document(members, lambda d: d.update(format_version=version))
    result = load_bytes("load (format version)", data, tmp_path_factory.mktemp("v"))
    assert isinstance(result, ModelFileError)
    if isinstance(version, int) and not isinstance(version, bool) and version > 2:
        assert "Upgrade mixtura" in str(result)


# -- edited JSON values -----------------------------------------------------------
_JSON = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(10**30), 10**30),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=8),
        st.sampled_from(["os.system", "builtins.eval", "../x", "__import__"]),
        st.sampled_from([{"float": "nan"}, {"float": "inf"}, {"array": "log_weights"}]),
    ),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=6,
)


def _paths(value, prefix=()):
    """Every key path into the JSON document."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))


@settings(max_examples=120, **SETTINGS)
@given(name=st.sampled_from(MODEL_NAMES), data=st.data())
def test_json_values_edited(saved, tmp_path_factory, name, data):
    _, members, document, X, model = saved[name]
    # the encoding's levels: test_encoding_values_edited
    paths = [path for path in _paths(document) if path and path[0] != "encoding"]
    path = data.draw(st.sampled_from(paths), label="path")
    value = data.draw(_JSON, label="value")

    def edit(document):
        target = document
        for key in path[:-1]:
            target = target[key]
        if data.draw(st.booleans(), label="delete") and isinstance(target, dict):
            del target[path[-1]]
        else:
            target[path[-1]] = value

    hostile = edited_document(members, edit)
    load_bytes("load (JSON edited)", hostile, tmp_path_factory.mktemp("j"), (X, model))


@pytest.mark.parametrize("name", ["CategoricalMixture", "TabularMixture"])
@settings(max_examples=40, **SETTINGS)
@given(data=st.data())
def test_encoding_values_edited(saved, tmp_path_factory, name, data):
    _, members, document, X, model = saved[name]
    paths = [path for path in _paths(document) if path and path[0] == "encoding"]
    path = data.draw(st.sampled_from(paths), label="path")
    value = data.draw(_JSON, label="value")

    def edit(document):
        target = document
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    hostile = edited_document(members, edit)
    load_bytes(
        "load (encoding edited)", hostile, tmp_path_factory.mktemp("e"), (X, model)
    )


# -- arrays of other shapes, dtypes and values ------------------------------------
_DTYPES = [
    "bool",
    "int8",
    "uint8",
    "int64",
    "uint64",
    "float16",
    "float32",
    "float64",
    "complex128",
    "<U3",
    "S2",
    "datetime64[s]",
    "object",
    [("a", "f8"), ("b", "i4")],
]


@settings(max_examples=150, **SETTINGS)
@given(
    name=st.sampled_from(MODEL_NAMES),
    data=st.data(),
    shape=st.one_of(st.none(), st.lists(st.integers(0, 4), max_size=3).map(tuple)),
    dtype=st.sampled_from(_DTYPES),
    update_manifest=st.booleans(),
)
def test_arrays_of_other_shapes_and_dtypes(
    saved, tmp_path_factory, name, data, shape, dtype, update_manifest
):
    _, members, document, X, model = saved[name]
    array_name = data.draw(st.sampled_from(sorted(document["arrays"])), label="array")
    members = dict(members)
    if shape is None:  # the saved values, in another dtype
        saved_array = np.load(io.BytesIO(members[f"arrays/{array_name}.npy"]))
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            array = saved_array.astype(dtype)
        shape = array.shape
    else:
        array = np.ones(shape, dtype=dtype)
    members[f"arrays/{array_name}.npy"] = npy_bytes(
        array, allow_pickle=array.dtype.hasobject
    )
    if update_manifest:
        document = json.loads(members["model.json"])
        document["arrays"][array_name] = {
            "shape": list(shape),
            "dtype": array.dtype.name,
        }
        members["model.json"] = json.dumps(document).encode()
    result = load_bytes(
        "load (array shape/dtype)", archive_bytes(members), tmp_path_factory.mktemp("a")
    )
    if array.dtype.kind not in "biuf":
        assert isinstance(result, ModelFileError)
    elif not isinstance(result, ModelFileError):
        check_usable(result, X, model, exact=False)


_VALUE_EDITS = {
    "x1e300": lambda a: a * 1e300,
    "x1e-300": lambda a: a * 1e-300,
    "zeros": np.zeros_like,
    "negated": np.negative,
    "ones": np.ones_like,
    "1e150": lambda a: np.full_like(a, 1e150),
    "one entry 1e200": lambda a: np.where(
        np.arange(a.size).reshape(a.shape) == 0, 1e200, a
    ),
    "transposed": lambda a: a.T.copy(),
}
#: (model, array, edit) -> reason of a known failure (xfail strict)
KNOWN_VALUE_EDITS: dict = {}


def _value_edits(saved, name):
    _, members, document, _, _ = saved[name]
    for array_name in sorted(document["arrays"]):
        array = np.load(io.BytesIO(members[f"arrays/{array_name}.npy"]))
        if array.dtype.kind != "f":
            continue
        for edit_name, edit in _VALUE_EDITS.items():
            yield array_name, edit_name, edit(array)


def _with_array(members, array_name, array):
    members = dict(members)
    members[f"arrays/{array_name}.npy"] = npy_bytes(array)
    document = json.loads(members["model.json"])
    document["arrays"][array_name] = {
        "shape": list(array.shape),
        "dtype": array.dtype.name,
    }
    members["model.json"] = json.dumps(document).encode()
    return archive_bytes(members)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_array_values_edited(saved, tmp_path, name):
    # every float array of the file scaled, zeroed, negated, ... (consistently
    # with the manifest): refused, or a model that predicts and samples finitely
    _, members, _, X, model = saved[name]
    for array_name, edit_name, array in _value_edits(saved, name):
        if (name, array_name, edit_name) in KNOWN_VALUE_EDITS:
            continue
        with np.errstate(all="ignore"):
            hostile = _with_array(members, array_name, array)
        load_bytes("load (array values)", hostile, tmp_path, (X, model))


@pytest.mark.parametrize(
    ("name", "array_name", "edit_name"),
    [
        pytest.param(*key, marks=pytest.mark.xfail(strict=True, reason=reason))
        for key, reason in KNOWN_VALUE_EDITS.items()
    ],
)
def test_known_array_value_failures(saved, tmp_path, name, array_name, edit_name):
    _, members, _, X, model = saved[name]
    array = np.load(io.BytesIO(members[f"arrays/{array_name}.npy"]))
    hostile = _with_array(members, array_name, _VALUE_EDITS[edit_name](array))
    load_bytes("load (array values)", hostile, tmp_path, (X, model))


# -- member names that climb out of the archive -----------------------------------
_TRAVERSAL = st.sampled_from(
    [
        "../x.npy",
        "../../x.npy",
        "arrays/../../x.npy",
        "/tmp/x.npy",
        "arrays/../model.json",
        "arrays\\..\\..\\x.npy",
        "C:/x.npy",
        "arrays/log_weights.npy/../../x.npy",
        "./model.json",
    ]
)


@settings(max_examples=30, **SETTINGS)
@given(
    name=st.sampled_from(MODEL_NAMES),
    member=_TRAVERSAL,
    how=st.sampled_from(["extra member", "renamed member", "manifest name"]),
)
def test_path_traversal_member_names(saved, tmp_path_factory, name, member, how):
    _, members, document, _, _ = saved[name]
    members = dict(members)
    array_name = sorted(document["arrays"])[0]
    if how == "extra member":
        members[member] = npy_bytes(np.zeros(2))
    elif how == "renamed member":
        members[member] = members.pop(f"arrays/{array_name}.npy")
    else:
        document = json.loads(members["model.json"])
        document["arrays"][member] = document["arrays"].pop(array_name)
        members["model.json"] = json.dumps(document).encode()
    tmp_path = tmp_path_factory.mktemp("p")
    before = sorted(os.listdir(tmp_path.parent))
    result = load_bytes("load (path traversal)", archive_bytes(members), tmp_path)
    assert isinstance(result, ModelFileError)
    assert sorted(os.listdir(tmp_path.parent)) == before  # nothing extracted


# -- planted pickle payloads ------------------------------------------------------
class Payload:
    """Unpickling it creates the sentinel directory: the proof it ran."""

    def __init__(self, sentinel):
        self.sentinel = sentinel

    def __reduce__(self):
        return (os.mkdir, (self.sentinel,))


def _planted(members, document, where, sentinel):
    members = dict(members)
    payload = Payload(sentinel)
    array_name = sorted(document["arrays"])[0]
    member = f"arrays/{array_name}.npy"
    if where == "object array, manifest unchanged":
        members[member] = npy_bytes(
            np.array([payload], dtype=object), allow_pickle=True
        )
    elif where == "object array, manifest says object":
        members[member] = npy_bytes(
            np.array([payload], dtype=object), allow_pickle=True
        )
        document = json.loads(members["model.json"])
        document["arrays"][array_name] = {"shape": [1], "dtype": "object"}
        members["model.json"] = json.dumps(document).encode()
    elif where == "raw pickle as an array member":
        members[member] = pickle.dumps(payload)
    elif where == "raw pickle as model.json":
        members["model.json"] = pickle.dumps(payload)
    elif where == "extra pickle member":
        members["payload.pkl"] = pickle.dumps(payload)
    elif where == "whole file a pickle":
        return pickle.dumps(payload)
    elif where == "npz of an object array":
        buffer = io.BytesIO()
        np.savez(buffer, payload=np.array([payload], dtype=object))
        return buffer.getvalue()
    else:
        raise AssertionError(where)
    return archive_bytes(members)


_PAYLOAD_PLACES = [
    "object array, manifest unchanged",
    "object array, manifest says object",
    "raw pickle as an array member",
    "raw pickle as model.json",
    "extra pickle member",
    "whole file a pickle",
    "npz of an object array",
]


@settings(max_examples=30, **SETTINGS)
@given(name=st.sampled_from(MODEL_NAMES), where=st.sampled_from(_PAYLOAD_PLACES))
def test_planted_pickle_payloads_never_run(saved, tmp_path_factory, name, where):
    _, members, document, _, _ = saved[name]
    tmp_path = tmp_path_factory.mktemp("k")
    sentinel = str(tmp_path / "payload-ran")
    data = _planted(members, document, where, sentinel)
    result = load_bytes("load (pickle payload)", data, tmp_path)
    assert isinstance(result, ModelFileError)
    assert not os.path.exists(sentinel)


def test_the_payload_would_run_if_unpickled(tmp_path):
    sentinel = str(tmp_path / "ran")
    pickle.loads(pickle.dumps(Payload(sentinel)))
    assert os.path.isdir(sentinel)


# -- names of classes, imported never ---------------------------------------------
@settings(max_examples=30, **SETTINGS)
@given(
    name=st.sampled_from(MODEL_NAMES),
    field=st.sampled_from(["estimator", "family"]),
    foreign=st.one_of(
        st.sampled_from(
            ["os.system", "builtins.eval", "subprocess.Popen", "pickle.loads"]
        ),
        st.text(max_size=12),
    ),
)
def test_foreign_class_names_are_never_imported(
    saved, tmp_path_factory, name, field, foreign
):
    members = saved[name][1]
    modules = set(sys.modules)

    def edit(document):
        if field == "estimator":
            document["estimator"] = foreign
        else:
            document["family"]["name"] = foreign

    result = load_bytes(
        "load (class names)",
        edited_document(members, edit),
        tmp_path_factory.mktemp("c"),
    )
    assert isinstance(result, ModelFileError)
    assert set(sys.modules) == modules
