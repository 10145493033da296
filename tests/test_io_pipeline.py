"""Model files of scikit-learn pipelines ending in a mixtura estimator."""

import json
import os
import pickle
import zipfile
from io import BytesIO

import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    MaxAbsScaler,
    MinMaxScaler,
    Normalizer,
    RobustScaler,
    StandardScaler,
)

from mixtura import (
    GaussianMixture,
    GaussianMixtureRegression,
    MixtureDiscriminantAnalysis,
    MixtureModel,
    load,
    save,
)
from mixtura.exceptions import ModelFileError


def _data():
    X = np.random.RandomState(0).normal(size=(200, 5))
    X[:100] += 4
    return X


def _pipelines():
    gm = GaussianMixture(2, random_state=0)
    return {
        "scaler+gaussian": make_pipeline(StandardScaler(), gm),
        "pca+mixture-model": make_pipeline(PCA(3), MixtureModel(2, random_state=0)),
        "arpack+minmax": make_pipeline(PCA(3, svd_solver="arpack"), MinMaxScaler(), gm),
        "randomized+more": make_pipeline(
            PCA(3, svd_solver="randomized", random_state=0),
            MaxAbsScaler(),
            RobustScaler(),
            FunctionTransformer(),
            gm,
        ),
        "covariance-eigh": make_pipeline(PCA(2, svd_solver="covariance_eigh"), gm),
        "imputer+passthrough": make_pipeline(SimpleImputer(), "passthrough", gm),
    }


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    X = _data()
    path = tmp_path_factory.mktemp("pipe") / "scaler.mixtura"
    pipeline = _pipelines()["scaler+gaussian"].fit(X)
    save(pipeline, path)
    return pipeline, path


@pytest.mark.parametrize("name", list(_pipelines()))
def test_a_pipeline_round_trips_bit_for_bit(tmp_path, name):
    X = _data()
    pipeline = _pipelines()[name].fit(X)
    path = tmp_path / "pipeline.mixtura"
    save(pipeline, path)
    loaded = load(path)
    assert [step for step, _ in loaded.steps] == [step for step, _ in pipeline.steps]
    assert np.array_equal(loaded.predict(X), pipeline.predict(X))
    assert np.array_equal(loaded.score_samples(X), pipeline.score_samples(X))
    assert np.array_equal(loaded.predict_proba(X), pipeline.predict_proba(X))


def test_an_unknown_transformer_is_refused_by_name(tmp_path):
    pipeline = make_pipeline(Normalizer(), GaussianMixture(2, random_state=0))
    pipeline.fit(_data())
    with pytest.raises(TypeError, match=r"'normalizer' \(Normalizer\).*StandardScaler"):
        save(pipeline, tmp_path / "p.mixtura")
    assert not os.listdir(tmp_path)


def test_a_function_transformer_with_a_function_is_refused(tmp_path):
    pipeline = make_pipeline(
        FunctionTransformer(np.log1p), GaussianMixture(2, random_state=0)
    ).fit(np.abs(_data()))
    with pytest.raises(TypeError, match="func=None"):
        save(pipeline, tmp_path / "p.mixtura")


def test_a_final_step_that_is_not_mixtura_is_refused(tmp_path):
    pipeline = make_pipeline(StandardScaler(), PCA(2)).fit(_data())
    with pytest.raises(TypeError, match="last step 'pca'"):
        save(pipeline, tmp_path / "p.mixtura")


def _edited(path, tmp_path, edit_json=None, edit_members=None):
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    if edit_json is not None:
        document = json.loads(members["model.json"])
        edit_json(document)
        members["model.json"] = json.dumps(document).encode()
    if edit_members is not None:
        edit_members(members)
    target = tmp_path / "edited.mixtura"
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return target


def _npy(array, allow_pickle=False):
    buffer = BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def _wrong_shape(members):
    members["arrays/steps.0.mean_.npy"] = _npy(np.zeros(4))


def _wrong_manifest_shape(document):
    document["arrays"]["steps.0.mean_"]["shape"] = [4]


@pytest.mark.parametrize(
    ("edit_json", "edit_members", "match"),
    [
        (None, _wrong_shape, "has shape"),
        (_wrong_manifest_shape, None, r"needs shape \(5,\)"),
        (
            lambda doc: doc["steps"][0].update({"class": "os.system"}),
            None,
            "unknown transformer 'os.system'",
        ),
        (
            lambda doc: doc["steps"][0].update({"class": "Normalizer"}),
            None,
            "unknown transformer 'Normalizer'",
        ),
        (
            lambda doc: doc["steps"][0]["attributes"].update(evil_=1),
            None,
            r"unknown attributes \['evil_'\]",
        ),
        (
            lambda doc: doc["steps"][0]["params"].update(copy={"__reduce__": 1}),
            None,
            "unsupported value",
        ),
        (
            lambda doc: doc["steps"][0]["attributes"].update(n_features_in_=4),
            None,
            "needs shape",
        ),
    ],
    ids=[
        "array-shape",
        "manifest-shape",
        "foreign-class",
        "unlisted-class",
        "unknown-attribute",
        "tagged-param",
        "width",
    ],
)
def test_an_edited_pipeline_file_is_refused(
    saved, tmp_path, edit_json, edit_members, match
):
    _, path = saved
    target = _edited(path, tmp_path, edit_json, edit_members)
    with pytest.raises(ModelFileError, match=match):
        load(target)


class Payload:
    """Makes a directory when unpickled."""

    def __init__(self, sentinel):
        self.sentinel = sentinel

    def __reduce__(self):
        return (os.mkdir, (self.sentinel,))


@pytest.mark.parametrize("how", ["object-npy", "raw-pickle"])
def test_a_planted_pickle_payload_never_runs(saved, tmp_path, how):
    _, path = saved
    sentinel = str(tmp_path / "payload-ran")
    member = "arrays/steps.0.mean_.npy"

    def plant(members):
        if how == "object-npy":
            members[member] = _npy(np.array([Payload(sentinel)]), allow_pickle=True)
        else:
            members[member] = pickle.dumps(Payload(sentinel))

    target = _edited(path, tmp_path, edit_members=plant)
    with pytest.raises(ModelFileError):
        load(target)
    assert not os.path.exists(sentinel)
    # the payload is live: unpickling it would have run it
    pickle.loads(pickle.dumps(Payload(sentinel)))
    assert os.path.isdir(sentinel)


def test_the_pipeline_document_names_no_module(saved):
    _, path = saved
    with zipfile.ZipFile(path) as archive:
        text = archive.read("model.json").decode()
    assert "sklearn" not in text and "pickle" not in text
    assert json.loads(text)["estimator"] == "Pipeline"


def test_a_pipeline_fitted_on_a_dataframe_keeps_its_column_names(tmp_path):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    values = np.vstack([rng.normal(size=(60, 2)), rng.normal(size=(60, 2)) + 4.0])
    frame = pd.DataFrame(values, columns=["eruptions", "waiting"])
    pipeline = make_pipeline(StandardScaler(), GaussianMixture(2, random_state=0))
    pipeline.fit(frame)
    path = tmp_path / "pipeline.mixtura"
    save(pipeline, path)
    loaded = load(path)
    np.testing.assert_array_equal(
        loaded.predict_proba(frame), pipeline.predict_proba(frame)
    )
    np.testing.assert_array_equal(loaded.feature_names_in_, ["eruptions", "waiting"])
    np.testing.assert_array_equal(
        loaded.steps[0][1].feature_names_in_, pipeline.steps[0][1].feature_names_in_
    )
    # the fitted names are checked at predict time, as in the pipeline saved
    with pytest.raises(ValueError, match="feature names"):
        loaded.predict(frame[["waiting", "eruptions"]])


# -- a composite estimator as the last step ----------------------------------------
def _classes():
    X = _data()
    return X, np.repeat(np.array(["a", "b"]), 100)


def _composites():
    """name -> (unfitted pipeline, X, y, the prediction methods to compare)."""
    X, labels = _classes()
    target = X[:, 0] - 2.0 * X[:, 1] + np.random.RandomState(1).normal(size=200)
    classifier = ("predict", "predict_proba", "predict_log_proba")
    return {
        "scaler+mclustda": (
            make_pipeline(
                StandardScaler(), MixtureDiscriminantAnalysis(models=["VVV", "EEE"])
            ),
            X,
            labels,
            classifier,
        ),
        "pca+edda": (
            make_pipeline(PCA(3), MixtureDiscriminantAnalysis("EDDA")),
            X,
            labels,
            classifier,
        ),
        "scaler+regression": (
            make_pipeline(
                StandardScaler(), GaussianMixtureRegression(2, random_state=0)
            ),
            X,
            target,
            ("predict", "predict_covariance"),
        ),
    }


@pytest.fixture(scope="module")
def saved_composite(tmp_path_factory):
    pipeline, X, y, _ = _composites()["scaler+mclustda"]
    pipeline.fit(X, y)
    path = tmp_path_factory.mktemp("composite") / "mclustda.mixtura"
    save(pipeline, path)
    return pipeline, path


@pytest.mark.parametrize("name", list(_composites()))
def test_a_pipeline_ending_in_a_composite_round_trips_bit_for_bit(tmp_path, name):
    pipeline, X, y, methods = _composites()[name]
    pipeline.fit(X, y)
    path = tmp_path / "pipeline.mixtura"
    save(pipeline, path)
    loaded = load(path)
    assert type(loaded[-1]) is type(pipeline[-1])
    for method in methods:
        np.testing.assert_array_equal(
            _call(loaded, method, X), _call(pipeline, method, X), err_msg=method
        )


def _call(pipeline, method, X):
    """``pipeline.method(X)``, through the transformers where Pipeline lacks it."""
    if hasattr(pipeline, method):
        return getattr(pipeline, method)(X)
    return getattr(pipeline[-1], method)(pipeline[:-1].transform(X))


@pytest.mark.parametrize("name", list(_composites()))
def test_the_composite_is_its_own_archive_nested_under_models_0(tmp_path, name):
    # the reference is the composite's own file, written by save() alone: the
    # pipeline's document and members under models/0/ must be exactly that file's
    pipeline, X, y, _ = _composites()[name]
    pipeline.fit(X, y)
    save(pipeline, tmp_path / "pipeline.mixtura")
    save(pipeline[-1], tmp_path / "alone.mixtura")
    with zipfile.ZipFile(tmp_path / "pipeline.mixtura") as archive:
        nested = {n: archive.read(n) for n in archive.namelist()}
    with zipfile.ZipFile(tmp_path / "alone.mixtura") as archive:
        alone = {n: archive.read(n) for n in archive.namelist()}
    document = json.loads(nested.pop("model.json"))
    assert document["models"] == [json.loads(alone.pop("model.json"))]
    below = {
        n[len("models/0/") :]: data for n, data in nested.items() if "models/" in n
    }
    assert below == alone
    assert any(n.startswith("models/0/models/0/arrays/") for n in nested)


def test_a_composite_fitted_on_a_dataframe_keeps_its_column_names(tmp_path):
    pd = pytest.importorskip("pandas")
    X, labels = _classes()
    frame = pd.DataFrame(X, columns=list("vwxyz"))
    pipeline = make_pipeline(
        StandardScaler(), MixtureDiscriminantAnalysis("EDDA", models=["EEE"])
    ).fit(frame, labels)
    save(pipeline, tmp_path / "p.mixtura")
    loaded = load(tmp_path / "p.mixtura")
    np.testing.assert_array_equal(loaded.feature_names_in_, list("vwxyz"))
    np.testing.assert_array_equal(
        loaded.predict_proba(frame), pipeline.predict_proba(frame)
    )
    assert loaded.classes_.tolist() == ["a", "b"]


def _nested_part_shape(members):
    name = "models/0/models/1/arrays/family.means.npy"
    members[name] = _npy(np.zeros((7, 5)))


def _nested_manifest_traversal(document):
    part = document["models"][0]["models"][1]
    part["arrays"]["../../x"] = part["arrays"].pop("log_weights")


def _deeper_nesting(document):
    # a composite's part is a mixture estimator, never another composite
    composite = document["models"][0]
    composite["models"][0] = json.loads(json.dumps(composite))


def _fewer_features(document):
    document["models"][0]["n_features_in_"] = 4


@pytest.mark.parametrize(
    ("edit_json", "edit_members", "match"),
    [
        (None, _nested_part_shape, "has shape"),
        (_nested_manifest_traversal, None, r"invalid array name '\.\./\.\./x'"),
        (
            None,
            lambda m: m.update({"models/0/models/../../x.npy": _npy(np.zeros(2))}),
            "unexpected members",
        ),
        (
            None,
            lambda m: m.update(
                {"models/0/models/0/arrays/../../../../x.npy": _npy(np.zeros(2))}
            ),
            "unexpected members",
        ),
        (
            None,
            lambda m: m.pop("models/0/models/1/arrays/log_weights.npy"),
            "missing",
        ),
        (
            lambda doc: doc["models"][0].update(estimator="os.system"),
            None,
            "unknown composite estimator 'os.system'",
        ),
        (_deeper_nesting, None, r"\[part 0\] \[part 0\].*lacks the keys"),
        (_fewer_features, None, "the last step has 4 features"),
        (
            lambda doc: doc["models"][0]["state"].update(priors=[1.0]),
            None,
            "disagree",
        ),
    ],
    ids=[
        "nested-array-shape",
        "nested-manifest-traversal",
        "traversal-below-models",
        "traversal-below-a-part",
        "missing-part-member",
        "foreign-composite",
        "composite-in-a-composite",
        "width",
        "state",
    ],
)
def test_an_edited_composite_pipeline_file_is_refused(
    saved_composite, tmp_path, edit_json, edit_members, match
):
    _, path = saved_composite
    target = _edited(path, tmp_path, edit_json, edit_members)
    before = sorted(os.listdir(tmp_path.parent))
    with pytest.raises(ModelFileError, match=match):
        load(target)
    assert sorted(os.listdir(tmp_path.parent)) == before  # nothing extracted


def test_a_pickle_planted_in_a_nested_part_never_runs(saved_composite, tmp_path):
    _, path = saved_composite
    sentinel = str(tmp_path / "payload-ran")
    member = "models/0/models/0/arrays/family.means.npy"

    def plant(members):
        members[member] = _npy(np.array([Payload(sentinel)]), allow_pickle=True)

    with pytest.raises(ModelFileError, match="dtype"):
        load(_edited(path, tmp_path, edit_members=plant))
    assert not os.path.exists(sentinel)
