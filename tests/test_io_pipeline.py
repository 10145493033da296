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

from mixtura import GaussianMixture, MixtureModel, load, save
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
