"""Model files: exact round trips, and a clear ModelFileError for every bad file."""

import inspect
import json
import re
import sys
import warnings
import zipfile
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

import mixtura.io
from mixtura import GaussianMixture, ModelFileError, load, save

FAITHFUL = Path(mixtura.__file__).parent / "datasets" / "data" / "faithful.csv"
COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
FITTED = ["weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"]
FIT_INFO = ["converged_", "n_iter_", "lower_bound_", "lower_bounds_"]


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.RandomState(0)
    centres = np.array([[0.0, 0.0, 0.0], [5.0, 5.0, 0.0], [0.0, 6.0, 3.0]])
    return np.vstack([rng.randn(60, 3) + centre for centre in centres])


@pytest.fixture(scope="module")
def model(blobs):
    return GaussianMixture(3, random_state=0).fit(blobs)


@pytest.fixture
def model_file(tmp_path, model):
    path = tmp_path / "model.mixtura"
    save(model, path)
    return path


def assert_same_params(left, right):
    params, loaded = left.get_params(deep=False), right.get_params(deep=False)
    assert params.keys() == loaded.keys()
    for name, value in params.items():
        if isinstance(value, (np.ndarray, list)):
            assert np.array_equal(np.asarray(value), loaded[name]), name
        else:
            assert loaded[name] == value, name


def assert_same_model(original, loaded, X):
    assert type(loaded) is type(original)
    assert_same_params(original, loaded)
    for name in FITTED:
        expected, found = getattr(original, name), getattr(loaded, name)
        assert found.dtype == expected.dtype, name
        assert np.array_equal(found, expected), name
    for name in FIT_INFO:
        assert getattr(loaded, name) == getattr(original, name), name
    assert loaded.n_features_in_ == original.n_features_in_
    assert np.array_equal(loaded.predict_proba(X), original.predict_proba(X))
    assert np.array_equal(loaded.score_samples(X), original.score_samples(X))
    samples, labels = original.sample(50)
    loaded_samples, loaded_labels = loaded.sample(50)
    assert loaded_samples.dtype == samples.dtype
    assert np.array_equal(loaded_samples, samples)
    assert np.array_equal(loaded_labels, labels)


# -- round trips ----------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_round_trip_is_exact(tmp_path, blobs, covariance_type, dtype):
    X = blobs.astype(dtype)
    original = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(
        X
    )
    path = tmp_path / "model.mixtura"
    save(original, path)
    loaded = load(path)
    assert loaded.means_.dtype == dtype
    assert_same_model(original, loaded, X)


def test_round_trip_of_array_parameters(tmp_path, blobs):
    labels = np.repeat(np.arange(3), 60)
    original = GaussianMixture(
        3,
        covariance_type="diag",
        init_params=labels,
        weights_init=[0.3, 0.3, 0.4],
        means_init=[[0.0, 0.0, 0.0], [5.0, 5.0, 0.0], [0.0, 6.0, 3.0]],
        precisions_init=np.ones((3, 3)),
        tol=np.float32(1e-4),
        max_iter=np.int64(50),
        random_state=0,
    ).fit(blobs)
    save(original, tmp_path / "model.mixtura")
    loaded = load(tmp_path / "model.mixtura")
    assert_same_model(original, loaded, blobs)
    # lists come back as arrays; integers and floats keep their kind
    assert isinstance(loaded.means_init, np.ndarray)
    assert loaded.init_params.dtype.kind == "i"
    assert type(loaded.max_iter) is int
    assert type(loaded.tol) is float


def test_dataframe_feature_names_survive(tmp_path):
    pd = pytest.importorskip("pandas")
    frame = pd.read_csv(FAITHFUL)
    original = GaussianMixture(2, random_state=0).fit(frame)
    save(original, tmp_path / "faithful.mixtura")
    loaded = load(tmp_path / "faithful.mixtura")
    assert list(loaded.feature_names_in_) == ["eruptions", "waiting"]
    assert loaded.feature_names_in_.dtype == original.feature_names_in_.dtype
    assert np.array_equal(loaded.predict(frame), original.predict(frame))
    # the names are live: renamed columns are refused as by the original
    renamed = frame.rename(columns={"waiting": "wait"})
    with pytest.raises(ValueError, match="feature names"):
        loaded.predict(renamed)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_warm_start_continues_after_load(tmp_path, blobs):
    original = GaussianMixture(3, warm_start=True, max_iter=2, random_state=0)
    original.fit(blobs)
    save(original, tmp_path / "model.mixtura")
    loaded = load(tmp_path / "model.mixtura")
    original.fit(blobs)
    loaded.fit(blobs)
    # the loaded model continued from the saved parameters, exactly as the original
    assert loaded.lower_bounds_ == original.lower_bounds_
    for name in FITTED:
        assert np.array_equal(getattr(loaded, name), getattr(original, name)), name


def test_non_finite_fit_info_is_standard_json(tmp_path, blobs):
    # a bound of -inf (as max_iter=0 gave before its bound became the start's
    # own), which plain JSON cannot spell
    original = GaussianMixture(2, max_iter=0, random_state=0).fit(blobs)
    original.lower_bound_ = -np.inf
    save(original, tmp_path / "model.mixtura")
    document = read_document(tmp_path / "model.mixtura")
    assert document["fit_info"]["lower_bound_"] == {"float": "-inf"}
    assert load(tmp_path / "model.mixtura").lower_bound_ == -np.inf


def test_file_layout(model_file, model):
    with zipfile.ZipFile(model_file) as archive:
        names = archive.namelist()
        text = archive.read("model.json").decode("utf-8")
    document = json.loads(text, parse_constant=pytest.fail)  # standard JSON
    assert document["format"] == "mixtura-model"
    assert document["format_version"] == 2
    assert document["fitted"] == []
    assert document["estimator"] == "GaussianMixture"
    assert document["family"] == {
        "name": "gaussian",
        "config": {"covariance_type": "full", "reg_covar": 1e-6},
    }
    assert document["dtype"] == "float64"
    assert document["n_features_in_"] == 3
    assert document["feature_names_in_"] is None
    assert document["arrays"]["family.means"] == {"shape": [3, 3], "dtype": "float64"}
    assert sorted(names) == sorted(
        ["model.json"] + [f"arrays/{name}.npy" for name in document["arrays"]]
    )


def test_same_model_gives_same_bytes(tmp_path, model):
    save(model, tmp_path / "a.mixtura")
    save(model, str(tmp_path / "b.mixtura"))
    assert (tmp_path / "a.mixtura").read_bytes() == (
        tmp_path / "b.mixtura"
    ).read_bytes()


# -- what save refuses or drops -------------------------------------------------------
def test_save_unfitted_raises_and_writes_nothing(tmp_path):
    with pytest.raises(NotFittedError):
        save(GaussianMixture(2), tmp_path / "model.mixtura")
    assert list(tmp_path.iterdir()) == []


def test_callback_is_saved_as_none_with_warning(tmp_path, blobs):
    seen = []
    original = GaussianMixture(2, random_state=0, callback=seen.append).fit(blobs)
    assert seen
    with pytest.warns(UserWarning, match="'callback' holds a callable"):
        save(original, tmp_path / "model.mixtura")
    assert read_document(tmp_path / "model.mixtura")["params"]["callback"] is None
    loaded = load(tmp_path / "model.mixtura")
    assert loaded.callback is None
    assert np.array_equal(loaded.score_samples(blobs), original.score_samples(blobs))


def test_random_state_instance_is_saved_as_none_with_warning(tmp_path, blobs):
    original = GaussianMixture(2, random_state=np.random.RandomState(0)).fit(blobs)
    with pytest.warns(UserWarning, match="'random_state' holds a RandomState"):
        save(original, tmp_path / "model.mixtura")
    assert load(tmp_path / "model.mixtura").random_state is None


def test_failed_save_keeps_the_existing_file(tmp_path, model, blobs):
    path = tmp_path / "model.mixtura"
    save(model, path)
    before = path.read_bytes()
    broken = GaussianMixture(3, random_state=0).fit(blobs)
    broken.set_params(tol=object())
    with pytest.raises(TypeError, match="cannot save parameter 'tol'"):
        save(broken, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.mixtura"]  # no temp file


def test_interrupted_write_keeps_the_existing_file(tmp_path, model, monkeypatch):
    path = tmp_path / "model.mixtura"
    save(model, path)
    before = path.read_bytes()

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(mixtura.io.os, "fsync", disk_full)
    other = GaussianMixture(2, random_state=1).fit(
        np.random.RandomState(1).randn(20, 3)
    )
    with pytest.raises(OSError, match="No space left"):
        save(other, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.mixtura"]


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (np.array([["a", "b", "c"]] * 3), "numeric arrays only"),
        (np.array([[1.0, np.nan, 0.0]] * 3), "NaN or infinity"),
    ],
)
def test_save_refuses_unloadable_arrays(tmp_path, model, value, match):
    bad = GaussianMixture(3).set_params(means_init=value)
    bad.__dict__.update({k: v for k, v in vars(model).items() if k.endswith("_")})
    with pytest.raises(ValueError, match=match):
        save(bad, tmp_path / "model.mixtura")
    assert list(tmp_path.iterdir()) == []


def test_save_refuses_unregistered_classes(tmp_path, blobs):
    class MyMixture(GaussianMixture):
        pass

    with pytest.raises(TypeError, match="register_estimator"):
        save(MyMixture(2).fit(blobs), tmp_path / "model.mixtura")


# -- bad files ------------------------------------------------------------------------
def read_document(path):
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("model.json"))


def rewrite(src, dst, *, edit_json=None, edit_members=None, stored=False):
    """Copy a model file, editing its JSON document and/or its members."""
    with zipfile.ZipFile(src) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    if edit_json is not None:
        document = json.loads(members["model.json"])
        edit_json(document)
        members["model.json"] = json.dumps(document).encode()
    if edit_members is not None:
        edit_members(members)
    compression = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(dst, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def npy(array, allow_pickle=False):
    buffer = BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def set_key(*keys, value):
    def edit(document):
        target = document
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value

    return edit


def set_array(name, array, manifest=False):
    def edit(members):
        members[f"arrays/{name}.npy"] = npy(array)

    if not manifest:
        return {"edit_members": edit}
    entry = {"shape": list(array.shape), "dtype": array.dtype.name}
    return {"edit_members": edit, "edit_json": set_key("arrays", name, value=entry)}


def write_bytes(data):
    return lambda src, dst: dst.write_bytes(data)


def truncate(src, dst):
    dst.write_bytes(src.read_bytes()[: src.stat().st_size // 2])


def plain_npz(src, dst):
    with open(dst, "wb") as handle:
        np.savez(handle, means=np.zeros((3, 3)), weights=np.ones(3) / 3)


def corrupt_array_bytes(src, dst):
    # stored (uncompressed), so flipping a data byte leaves a valid zip with a bad CRC
    rewrite(src, dst, stored=True)
    data = bytearray(dst.read_bytes())
    with zipfile.ZipFile(src) as archive:
        member = archive.read("arrays/family.means.npy")
    data[data.find(member) + len(member) - 1] ^= 0xFF
    dst.write_bytes(bytes(data))


def edited(**kwargs):
    return lambda src, dst: rewrite(src, dst, **kwargs)


def means(**kwargs):
    return np.zeros((3, 3), **kwargs)


BAD_FILES = {
    "garbage bytes": (write_bytes(b"\x07garbage" * 64), "not a zip archive"),
    "text file": (write_bytes(b"eruptions,waiting\n3.6,79\n"), "not a zip archive"),
    "truncated": (truncate, "not a zip archive.*truncated"),
    "empty file": (write_bytes(b""), "not a zip archive"),
    "numpy npz": (plain_npz, "holds no model.json.*not a mixtura model file"),
    "invalid json": (
        edited(edit_members=lambda m: m.update({"model.json": b"{'format': 1"})),
        "model.json is not valid JSON",
    ),
    "json with NaN": (
        edited(edit_members=lambda m: m.update({"model.json": b'{"a": NaN}'})),
        "not valid JSON.*NaN",
    ),
    "duplicate json keys": (
        edited(edit_members=lambda m: m.update({"model.json": b'{"a": 1, "a": 2}'})),
        "duplicate keys",
    ),
    "json not an object": (
        edited(edit_members=lambda m: m.update({"model.json": b"[1, 2]"})),
        "not a mixtura model file",
    ),
    "foreign format": (
        edited(edit_json=set_key("format", value="skops")),
        "does not declare format 'mixtura-model'",
    ),
    "newer format version": (
        edited(edit_json=set_key("format_version", value=3)),
        "format version 3.*Upgrade mixtura",
    ),
    "format version zero": (
        edited(edit_json=set_key("format_version", value=0)),
        "unknown format version 0",
    ),
    "format version as text": (
        edited(edit_json=set_key("format_version", value="1")),
        "unknown format version '1'",
    ),
    "missing key": (
        edited(edit_json=lambda d: d.pop("fit_info")),
        r"lacks the keys \['fit_info'\]",
    ),
    "unknown key": (
        edited(edit_json=set_key("__reduce__", value="os.system")),
        r"has unknown keys \['__reduce__'\]",
    ),
    "unknown estimator": (
        edited(edit_json=set_key("estimator", value="KMeans")),
        r"unknown estimator 'KMeans'.*\[.*'GaussianMixture'",
    ),
    "dotted estimator name": (
        edited(edit_json=set_key("estimator", value="os.system")),
        "unknown estimator 'os.system'",
    ),
    "unknown family": (
        edited(edit_json=set_key("family", "name", value="builtins.eval")),
        "unknown family 'builtins.eval'",
    ),
    "family config not the estimator's": (
        edited(edit_json=set_key("family", "config", "covariance_type", value="diag")),
        "does not match",
    ),
    "unknown parameter": (
        edited(edit_json=set_key("params", "evil", value=1)),
        r"unknown parameters \['evil'\] for GaussianMixture",
    ),
    "parameter of unsupported type": (
        edited(edit_json=set_key("params", "tol", value={"py/object": "os.system"})),
        "parameter 'tol' has an unsupported value",
    ),
    "invalid parameter value": (
        edited(edit_json=set_key("params", "n_components", value=-1)),
        "parameters are invalid for GaussianMixture.*n_components",
    ),
    "fit dtype not float": (
        edited(edit_json=set_key("dtype", value="object")),
        "dtype must be one of",
    ),
    "missing array": (
        edited(edit_members=lambda m: m.pop("arrays/family.means.npy")),
        r"members \['arrays/family.means.npy'\] are missing",
    ),
    "extra member": (
        edited(edit_members=lambda m: m.update({"payload.pkl": b"\x80\x04."})),
        r"unexpected members \['payload.pkl'\]",
    ),
    "wrong shape": (
        edited(**set_array("family.means", np.zeros((2, 3)))),
        r"array 'family.means' has shape \(2, 3\); the manifest says \(3, 3\)",
    ),
    "wrong shape, manifest too": (
        edited(**set_array("family.means", np.zeros((2, 3)), manifest=True)),
        "'gaussian' family arrays are invalid.*covariances must have shape",
    ),
    "wrong dtype": (
        edited(**set_array("family.means", means(dtype=np.int64))),
        "array 'family.means' has dtype int64; the manifest says float64",
    ),
    "object array": (
        edited(
            edit_members=lambda m: m.update(
                {"arrays/family.means.npy": npy(means(dtype=object), True)}
            )
        ),
        "object and other non-numeric arrays are never loaded",
    ),
    "object dtype in manifest": (
        edited(edit_json=set_key("arrays", "family.means", "dtype", value="object")),
        "dtype 'object'; model files hold numeric arrays only",
    ),
    "array data cut short": (
        edited(
            edit_members=lambda m: m.update(
                {"arrays/family.means.npy": npy(means())[:-8]}
            )
        ),
        "'family.means' holds 64 bytes of data for 72 expected",
    ),
    "non-finite array": (
        edited(**set_array("family.means", np.full((3, 3), np.nan))),
        "'family.means' contains NaN or infinity",
    ),
    "unused array": (
        edited(**set_array("params.evil", np.zeros(2), manifest=True)),
        r"arrays nothing uses: \['params.evil'\]",
    ),
    "path-like array name": (
        edited(**set_array("../../etc/passwd", np.zeros(2), manifest=True)),
        "invalid array name",
    ),
    "weights not normalised": (
        edited(**set_array("log_weights", np.log(np.full(3, 0.5)))),
        "not a probability vector",
    ),
    "weights of the wrong length": (
        edited(**set_array("log_weights", np.log(np.full(2, 0.5)), manifest=True)),
        r"log_weights has shape \(2,\) for 3 components",
    ),
    "fitted arrays in a version 2 file": (
        edited(
            edit_json=lambda d: d.update(
                fitted=["means_"],
                arrays={**d["arrays"], "fitted.means_": d["arrays"]["family.means"]},
            ),
            edit_members=lambda m: m.update({"arrays/fitted.means_.npy": npy(means())}),
        ),
        r"format version 2 derives the fitted attributes.*\['means_'\]",
    ),
    "n_features_in_ mismatch": (
        edited(edit_json=set_key("n_features_in_", value=4)),
        "n_features_in_ is 4 but the components have 3 features",
    ),
    "feature names of the wrong length": (
        edited(edit_json=set_key("feature_names_in_", value=["a"])),
        "feature_names_in_ must be null or 3 strings",
    ),
    "damaged member": (corrupt_array_bytes, "member 'arrays/family.means.npy' is dam"),
}


ADVICE = (
    "Load only files written by mixtura.save|save the model again|[Uu]pgrade mixtura"
)


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_file_raises_model_file_error(tmp_path, model_file, case):
    make, match = BAD_FILES[case]
    bad = tmp_path / "bad.mixtura"
    make(model_file, bad)
    with pytest.raises(ModelFileError, match=match) as info:
        load(bad)
    message = str(info.value)
    assert str(bad) in message  # names the file
    assert re.search(ADVICE, message)  # and says what to do
    assert isinstance(info.value, ValueError)


def test_damaged_files_never_escape_as_other_errors(tmp_path, model_file):
    # random truncations and byte flips: each load fails with a ModelFileError or,
    # where the damage missed everything checked (a timestamp), loads
    rng = np.random.RandomState(0)
    data = model_file.read_bytes()
    bad = tmp_path / "bad.mixtura"
    failures = 0
    for trial in range(300):
        damaged = bytearray(data[: rng.randint(len(data))] if trial % 3 == 0 else data)
        if trial % 3:
            damaged[rng.randint(len(damaged))] ^= rng.randint(1, 256)
        bad.write_bytes(bytes(damaged))
        try:
            load(bad)
        except ModelFileError:
            failures += 1
    assert failures > 250


def test_missing_file_raises_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "nothing.mixtura")


def test_class_names_in_a_file_are_never_imported(tmp_path, model_file, monkeypatch):
    marker = tmp_path / "imported"
    payload = tmp_path / "mixtura_io_payload.py"
    payload.write_text(
        f"open({str(marker)!r}, 'w').close()\nclass Payload:\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    for field in ("estimator", ("family", "name")):
        keys = field if isinstance(field, tuple) else (field,)
        bad = tmp_path / "bad.mixtura"
        rewrite(
            model_file,
            bad,
            edit_json=set_key(*keys, value="mixtura_io_payload.Payload"),
        )
        with pytest.raises(ModelFileError, match="unknown"):
            load(bad)
    assert "mixtura_io_payload" not in sys.modules
    assert not marker.exists()


def test_io_source_never_uses_pickle():
    source = inspect.getsource(mixtura.io)
    assert "import pickle" not in source
    assert "allow_pickle=True" not in source
    assert "np.load(stream, allow_pickle=False)" in source
    assert "importlib" not in source and "__import__" not in source


def test_loading_does_not_warn(model_file):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load(model_file)


def test_dict_parameters_round_trip_and_are_audited(tmp_path):
    from mixtura import MixtureModel

    X = np.random.RandomState(0).normal(size=(60, 2))
    model = MixtureModel(
        2,
        family_params={"covariance_type": "spherical", "reg_covar": 1e-3},
        random_state=0,
    ).fit(X)
    path = tmp_path / "m.mixtura"
    save(model, path)
    assert load(path).family_params == {
        "covariance_type": "spherical",
        "reg_covar": 1e-3,
    }
    model.set_params(family_params={"covariance_type": ["not", "a", "scalar"]})
    with pytest.raises(TypeError, match="family_params"):
        save(model, tmp_path / "bad.mixtura")


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("BayesianGaussianMixture", {"n_components": 2}),
        ("DirichletProcessMixture", {"n_iter": 10}),
    ],
)
def test_estimators_without_model_file_support_refuse_clearly(name, params, tmp_path):
    import mixtura

    model = getattr(mixtura, name)(random_state=0, **params)
    model.fit(np.random.RandomState(0).normal(size=(60, 2)))
    with pytest.raises(NotImplementedError, match=f"cannot store a {name}"):
        save(model, tmp_path / "m.mixtura")
    assert not (tmp_path / "m.mixtura").exists()


# -- files of format version 1 (tests/reference/model_files/make_v1_files.py) -------
V1_FILES = Path(__file__).parent / "reference" / "model_files"
V1_EXPECTED = json.loads((V1_FILES / "v1_expected.json").read_text())


@pytest.mark.parametrize("name", sorted(V1_EXPECTED))
def test_version_1_files_load_and_predict_as_saved(name):
    """Files from the last mixtura writing version 1 predict as they did then."""
    loaded = load(V1_FILES / f"v1_{name}.mixtura")
    dtype = loaded.means_.dtype if hasattr(loaded, "means_") else np.float64
    X = np.loadtxt(FAITHFUL, delimiter=",", skiprows=1)
    rows = np.round(X[:20]) if name == "poisson" else X[:20].astype(dtype)
    expected = V1_EXPECTED[name]
    # the same parameters give the same numbers up to the rounding of the fit's
    # dtype (another BLAS may sum in another order)
    eps = np.finfo(dtype).eps
    np.testing.assert_allclose(
        loaded.predict_proba(rows), expected["predict_proba"], rtol=0, atol=1e3 * eps
    )
    np.testing.assert_allclose(
        loaded.score_samples(rows), expected["score_samples"], rtol=1e2 * eps
    )


def test_version_1_file_with_an_edited_fitted_array_is_refused(tmp_path):
    source = V1_FILES / "v1_gaussian_full_f64.mixtura"
    bad = tmp_path / "bad.mixtura"
    rewrite(source, bad, **set_array("fitted.means_", np.ones((3, 2))))
    with pytest.raises(ModelFileError, match="fitted array 'means_' does not match"):
        load(bad)


def test_version_1_file_saves_again_as_version_2(tmp_path):
    loaded = load(V1_FILES / "v1_gaussian_noise.mixtura")
    save(loaded, tmp_path / "again.mixtura")
    document = read_document(tmp_path / "again.mixtura")
    assert document["format_version"] == 2
    assert document["fitted"] == []
    again = load(tmp_path / "again.mixtura")
    X = np.loadtxt(FAITHFUL, delimiter=",", skiprows=1)
    assert np.array_equal(again.predict_proba(X), loaded.predict_proba(X))
    assert again.noise_volume_ == loaded.noise_volume_
