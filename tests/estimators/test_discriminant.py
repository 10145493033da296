"""MixtureDiscriminantAnalysis: mclust's MclustDA and EDDA classifiers.

Reference numbers: tests/reference/mclustda_diabetes.R (R 4.2.2, mclust 6.0.0),
run as `Rscript tests/reference/mclustda_diabetes.R tests/reference`.
"""

import json
import math
import zipfile
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.discriminant_analysis import (
    LinearDiscriminantAnalysis,
    QuadraticDiscriminantAnalysis,
)
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

from mixtura import (
    DataValidationError,
    GaussianMixture,
    MixtureDiscriminantAnalysis,
    ModelFileError,
    load,
    save,
)
from mixtura.estimators import COMPOSITE_ESTIMATORS, ESTIMATORS
from mixtura.exceptions import SingularCovarianceError
from mixtura.families.mclust import MCLUST_STRUCTURES

REFERENCE = json.loads(
    (Path(__file__).parents[1] / "reference" / "mclustda_diabetes.json").read_text()
)
# mclust's EM stops when the log-likelihood changes by less than 1e-5 of itself
# and reports the log-likelihood of the E-step before its last M-step; mixtura
# reports the one of its final parameters. The BIC of a cell (about -1000 to
# -2300 here) differs by up to 0.02 for that reason alone.
BIC_TOLERANCE = 0.025
# VVE's M-step is iterative; mixtura iterates it to 1e-10, mclust stops sooner:
# its cells differ by up to 15 (mixtura higher in all but one), and are compared
# only where they are chosen.
ITERATIVE_M_STEP = {"VVE"}
# one fixed split of iris for every cross-validated comparison
IRIS_FOLDS = StratifiedKFold(5, shuffle=True, random_state=0)


@pytest.fixture(scope="module")
def diabetes():
    data = REFERENCE["data"]
    return np.array(data["X"], dtype=float), np.array(data["class"])


@pytest.fixture(scope="module")
def mclustda(diabetes):
    return MixtureDiscriminantAnalysis().fit(*diabetes)


@pytest.fixture(scope="module")
def edda(diabetes):
    return MixtureDiscriminantAnalysis("EDDA").fit(*diabetes)


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


def _cross_validated_accuracy(estimator, X, y):
    return float(np.mean(cross_val_predict(estimator, X, y, cv=IRIS_FOLDS) == y))


# -- iris: cross-validated accuracy against scikit-learn's QDA ------------------------
def test_edda_on_iris_is_at_least_as_accurate_as_qda(iris):
    qda = _cross_validated_accuracy(QuadraticDiscriminantAnalysis(), *iris)
    edda = _cross_validated_accuracy(MixtureDiscriminantAnalysis("EDDA"), *iris)
    message = f"5-fold accuracy on iris: EDDA {edda:.4f}, QDA {qda:.4f}"
    assert edda >= qda, message
    assert edda == pytest.approx(0.9667, abs=1e-4), message  # 145 of 150


@pytest.mark.slow
def test_mclustda_on_iris_against_qda(iris):
    # Choosing K (up to 5) and the model afresh in each fold, on 40 rows per
    # class, MclustDA misclassifies a few rows more than QDA (0.9467 or 0.9533
    # against 0.9667); EDDA, whose grid holds QDA's model, does not (test
    # above). Which: in the third fold the 40 setosa rows (measured to 0.1,
    # so with many ties) admit near-singular fits that mclust reports as NA
    # (mclustBIC gives VVE,3 and EVE,4 as NA there and picks a K = 1 model):
    # mixtura keeps EVE,4 (BIC 118 in mclust's sign) and, depending on the
    # last bits of the VVE M-step, either a spike of VVE,3 (log-likelihood
    # 853.7 on 40 rows) or a collapse there. mclust's per-model singularity
    # tests (sqrt(eps) bounds on each model's scale and shape) are not
    # reproduced (docs/architecture.md, known gaps).
    qda = _cross_validated_accuracy(QuadraticDiscriminantAnalysis(), *iris)
    mclustda = _cross_validated_accuracy(MixtureDiscriminantAnalysis(), *iris)
    message = f"5-fold accuracy on iris: MclustDA {mclustda:.4f}, QDA {qda:.4f}"
    assert mclustda >= qda - 3 / 150 - 1e-12, message
    assert mclustda >= 0.9466, message


def test_edda_eee_is_linear_discriminant_analysis(iris):
    # one covariance shared by the classes, estimated from the pooled scatter
    X, y = iris
    edda = MixtureDiscriminantAnalysis("EDDA", models=["EEE"]).fit(X, y)
    lda = LinearDiscriminantAnalysis(solver="lsqr").fit(X, y)
    np.testing.assert_allclose(edda.predict_proba(X), lda.predict_proba(X), atol=1e-8)


# -- against R's MclustDA on mclust's diabetes data -----------------------------------
def _compare_tables(clf, reference):
    """(class, model, K, mixtura - mclust) of every cell both fitted; R-only cells."""
    differences, only_in_r = [], []
    for label, expected in reference["models"].items():
        table = expected["bic_table"]
        for row, k in enumerate(table["G"]):
            for column, model in enumerate(table["models"]):
                value = table["values"][row][column]
                ours = clf.bic_[label].value("mclust_bic", model, k)
                if value is not None and math.isnan(ours):
                    only_in_r.append((label, model, k))
                elif value is not None:
                    differences.append((label, model, k, ours - value))
    return differences, only_in_r


@pytest.mark.parametrize("case", ["mclustda", "split"])
def test_chosen_models_and_bic_tables_match_mclust(diabetes, mclustda, case):
    reference = REFERENCE[case]
    X, y = diabetes
    if case == "split":
        rows = np.asarray(reference["train"])
        clf = MixtureDiscriminantAnalysis().fit(X[rows], y[rows])
    else:
        clf = mclustda
    for label, expected in reference["models"].items():
        chosen = (clf.model_names_[label], clf.n_components_[label])
        assert chosen == (expected["model"], expected["G"]), label
        bic = clf.bic_[label].value("mclust_bic", *chosen)
        assert bic == pytest.approx(expected["bic"], abs=BIC_TOLERANCE), label
        assert clf.bic_[label][chosen]["n_parameters"] == expected["df"]
        assert clf.class_count_[list(clf.classes_).index(label)] == expected["n"]
    differences, only_in_r = _compare_tables(clf, reference)
    assert not only_in_r, f"cells mclust fits and mixtura does not: {only_in_r}"
    off = [d for d in differences if d[1] not in ITERATIVE_M_STEP]
    assert len(off) > 150
    worst = max(off, key=lambda d: abs(d[3]))
    assert abs(worst[3]) <= BIC_TOLERANCE, worst


def test_mclustda_predictions_match_mclust(diabetes, mclustda):
    X, _ = diabetes
    reference = REFERENCE["mclustda"]
    np.testing.assert_array_equal(mclustda.predict(X), reference["classification"])
    # the class densities are mclust's: its posteriors to rounding
    np.testing.assert_allclose(mclustda.predict_proba(X), reference["z"], atol=1e-9)
    np.testing.assert_allclose(mclustda.priors_, reference["prop"], rtol=1e-12)
    assert mclustda.log_likelihood_ == pytest.approx(reference["loglik"], rel=1e-9)
    assert mclustda.n_parameters_ == reference["df"]
    bic = 2 * mclustda.log_likelihood_ - mclustda.n_parameters_ * math.log(len(X))
    assert bic == pytest.approx(reference["bic"], rel=1e-9)


def test_split_test_predictions_match_mclust(diabetes):
    X, y = diabetes
    reference = REFERENCE["split"]
    train, test = np.asarray(reference["train"]), np.asarray(reference["test"])
    clf = MixtureDiscriminantAnalysis().fit(X[train], y[train])
    predicted = clf.predict(X[test])
    np.testing.assert_array_equal(predicted, reference["classification"])
    # here mclust's EM stops a few iterations from mixtura's on some classes
    # (the BIC within BIC_TOLERANCE): the posteriors agree to 0.01
    np.testing.assert_allclose(clf.predict_proba(X[test]), reference["z"], atol=0.01)
    assert 1 - clf.score(X[test], y[test]) == pytest.approx(reference["error"])


def test_edda_matches_mclust(diabetes, edda):
    X, _ = diabetes
    reference = REFERENCE["edda"]
    table = edda.bic_[edda.classes_[0]]
    assert all(edda.bic_[label] is table for label in edda.classes_)
    for model, expected in reference["bic"].items():
        ours = table.value("mclust_bic", model, len(edda.classes_))
        if model in ITERATIVE_M_STEP:
            assert ours >= expected, model  # its M-step iterated further
        else:
            assert ours == pytest.approx(expected, abs=0.003), model
    assert set(edda.model_names_.values()) == {reference["model"]}
    assert set(edda.n_components_.values()) == {1}
    assert edda.n_parameters_ == reference["df"]
    assert edda.log_likelihood_ == pytest.approx(reference["loglik"], rel=1e-9)
    np.testing.assert_array_equal(edda.predict(X), reference["classification"])
    np.testing.assert_allclose(edda.predict_proba(X), reference["z"], atol=1e-9)


def test_edda_class_models_are_the_common_fits_components(edda):
    n_classes = len(edda.classes_)
    model = edda.model_names_[edda.classes_[0]]
    joint = edda.bic_[edda.classes_[0]].estimator(model, n_classes)
    assert joint.covariance_type == model and joint.n_iter_ == 0
    for code, label in enumerate(edda.classes_):
        class_model = edda.models_[label]
        np.testing.assert_allclose(class_model.means_[0], joint.means_[code])
        expected = joint.covariances_[code]  # VVV: one full matrix per class
        np.testing.assert_allclose(class_model.covariances_[0], expected, rtol=1e-10)


# -- the classifier API -------------------------------------------------------------
def test_probabilities_follow_bayes_rule_with_given_priors(diabetes, edda):
    X, y = diabetes
    priors = np.array([0.5, 0.2, 0.3])
    clf = MixtureDiscriminantAnalysis("EDDA", priors=priors * 10).fit(X, y)
    np.testing.assert_allclose(clf.priors_, priors)
    expected = edda.predict_log_proba(X) + np.log(priors / edda.priors_)
    expected -= np.log(np.exp(expected).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(clf.predict_log_proba(X), expected, atol=1e-10)
    np.testing.assert_allclose(
        clf.predict_proba(X), np.exp(clf.predict_log_proba(X)), rtol=1e-12
    )
    assert clf.score(X, y) == pytest.approx(np.mean(clf.predict(X) == y))


def test_string_labels_and_feature_names(diabetes):
    pd = pytest.importorskip("pandas")
    X, y = diabetes
    frame = pd.DataFrame(X, columns=REFERENCE["data"]["columns"])
    clf = MixtureDiscriminantAnalysis("EDDA").fit(frame, y)
    assert list(clf.feature_names_in_) == REFERENCE["data"]["columns"]
    assert list(clf.classes_) == REFERENCE["data"]["classes"]
    assert set(clf.predict(frame)) <= set(clf.classes_)


# -- model files ----------------------------------------------------------------------
def _records(table):
    return json.dumps(
        [
            {key: value for key, value in record.items() if key != "converged"}
            for record in table.records
        ],
        sort_keys=True,
        default=float,
    )


@pytest.mark.parametrize("fitted", ["mclustda", "edda"])
def test_save_load_round_trip(tmp_path, diabetes, fitted, request):
    clf = request.getfixturevalue(fitted)
    X, _ = diabetes
    path = tmp_path / "model.mixtura"
    save(clf, path)
    loaded = load(path)
    assert type(loaded) is MixtureDiscriminantAnalysis
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
    np.testing.assert_array_equal(loaded.classes_, clf.classes_)
    assert loaded.classes_.dtype == clf.classes_.dtype
    for name in ("model_names_", "n_components_"):
        assert getattr(loaded, name) == getattr(clf, name)
    for attribute in ("log_likelihood_", "n_parameters_", "n_features_in_"):
        assert getattr(loaded, attribute) == getattr(clf, attribute)
    for label in clf.classes_:
        assert isinstance(loaded.models_[label], GaussianMixture)
        assert _records(loaded.bic_[label]) == _records(clf.bic_[label])
        assert loaded.bic_[label].best("mclust_bic") == clf.bic_[label].best(
            "mclust_bic"
        )
    assert loaded.get_params()["models"] == clf.get_params()["models"]
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    assert "models/0/arrays/log_weights.npy" in names
    assert not any(name.endswith((".pkl", ".pickle")) for name in names)


def test_round_trip_keeps_integer_labels_and_given_priors(tmp_path, iris):
    X, y = iris
    clf = MixtureDiscriminantAnalysis(
        "EDDA", models=("EEE", "VVV"), priors=[0.2, 0.3, 0.5]
    ).fit(X, y + 1)
    save(clf, tmp_path / "iris.mixtura")
    loaded = load(tmp_path / "iris.mixtura")
    assert loaded.classes_.tolist() == [1, 2, 3]
    assert loaded.get_params()["models"] == ("EEE", "VVV")
    np.testing.assert_array_equal(loaded.priors_, clf.priors_)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


def _edit(path, edit):
    """Rewrite ``path``'s model.json through ``edit(document)``."""
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    document = json.loads(members["model.json"])
    edit(document)
    members["model.json"] = json.dumps(document).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def _set(*keys, value):
    def edit(document):
        for key in keys[:-1]:
            document = document[key]
        document[keys[-1]] = value

    return edit


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (_set("estimator", value="os.system"), "unknown composite estimator"),
        (_set("models", 0, "estimator", value="eval"), r"part 0.*unknown estimator"),
        (_set("models", value=[]), "models must be a list"),
        (_set("state", "classes", value=["a"]), "state is invalid"),
        (_set("state", "tables", value=[]), "state is invalid"),
        (_set("state", "priors", value=[-1, 1, 1]), "state is invalid"),
        (_set("params", "model_type", value="QDA"), "parameters are invalid"),
        (_set("extra", value=1), "unknown keys"),
    ],
)
def test_edited_files_are_refused(tmp_path, edda, edit, match):
    path = tmp_path / "model.mixtura"
    save(edda, path)
    _edit(path, edit)
    with pytest.raises(ModelFileError, match=match):
        load(path)


def test_a_part_without_its_arrays_is_refused(tmp_path, edda):
    path = tmp_path / "model.mixtura"
    save(edda, path)
    with zipfile.ZipFile(path) as archive:
        members = {
            name: archive.read(name)
            for name in archive.namelist()
            if not name.startswith("models/1/")
        }
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(ModelFileError, match="missing"):
        load(path)


def test_registries():
    assert COMPOSITE_ESTIMATORS["MixtureDiscriminantAnalysis"] is (
        MixtureDiscriminantAnalysis
    )
    # the mixture registry drives the clusterers' generic tests; a classifier
    # has its own checks below
    assert "MixtureDiscriminantAnalysis" not in ESTIMATORS


# -- bad input ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "X", "y", "error", "match"),
    [
        ({}, [[0.0, 1], [1, 0], [2, 2]], [0, 1], DataValidationError, "one class"),
        ({}, [[0.0, np.nan], [1, 0], [2, 2]], [0, 0, 1], ValueError, "NaN"),
        ({}, [[0.0, 1], [1, 0], [2, 2]], [0, np.nan, 1], ValueError, "y contains"),
        ({}, [[0.0, 1], [1, 0], [2, 2]], None, ValueError, "requires y"),
        ({}, [[0.0, 1], [1, 0], [2, 2]], [0, 0, 1], DataValidationError, "1 sample"),
        ({}, [[0.0, 1], [1, 0], [2, 2]], [0.5, 1.5, 2.5], ValueError, "Unknown label"),
        ({"priors": [1.0]}, [[0.0], [1], [2], [3]], [0, 0, 1, 1], ValueError, "one "),
        ({"priors": [1, -1]}, [[0.0], [1], [2], [3]], [0, 0, 1, 1], ValueError, "neg"),
        ({"model_type": "QDA"}, [[0.0], [1]], [0, 1], InvalidParameterError, "model"),
        ({"models": ["XYZ"]}, [[0.0], [1], [2], [3]], [0, 0, 1, 1], ValueError, "XYZ"),
    ],
)
def test_bad_input_raises_clearly(kwargs, X, y, error, match):
    with pytest.raises(error, match=match):
        MixtureDiscriminantAnalysis(**kwargs).fit(np.asarray(X), y)


def test_a_class_no_model_fits_is_named():
    X = np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 2.0], [2.0, 1.0], [3.0, 3.0]])
    with pytest.raises(ValueError, match=r"class 0 \(2 rows\).*every cell"):
        MixtureDiscriminantAnalysis(models=["VVV"]).fit(X, [0, 0, 1, 1, 1])


def test_a_failed_fit_leaves_the_fitted_model_unchanged(diabetes, edda):
    X, y = diabetes
    clf = MixtureDiscriminantAnalysis("EDDA").fit(X, y)
    before = dict(clf.__dict__)
    proba = clf.predict_proba(X)
    with pytest.raises(DataValidationError):
        clf.fit(X[:10, :2], y[:9])
    assert clf.__dict__ == before
    np.testing.assert_array_equal(clf.predict_proba(X), proba)


def test_predicting_before_fit_or_with_other_columns(diabetes, edda):
    X, _ = diabetes
    with pytest.raises(NotFittedError):
        MixtureDiscriminantAnalysis().predict(X)
    with pytest.raises(ValueError, match="3 features"):
        edda.predict(X[:, :2])


def test_vve_m_step_on_a_singular_scatter_raises_promptly():
    # an iris class's hierarchical start at K = 5 has a 2-row cluster in 4-D;
    # its VVE M-step once fed LAPACK's SVD infinities, which never returned
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(2, 4))
    deviations = rows - rows.mean(axis=0)
    scatter = np.stack([np.eye(4) * 5, deviations.T @ deviations])
    with pytest.raises(SingularCovarianceError):
        MCLUST_STRUCTURES["VVE"].covariances_from_scatter(scatter, np.array([5, 2]), 0)


# -- scikit-learn's checks ----------------------------------------------------------
# Small grids keep the checks quick; 'E' and 'V' serve one-feature data, 'EII' and
# 'VVV' the rest (a model that does not fit the data's dimension is a missing cell).
@parametrize_with_checks(
    [
        MixtureDiscriminantAnalysis(
            n_components=(1, 2), models=("E", "V", "EII", "VVV")
        ),
        MixtureDiscriminantAnalysis("EDDA"),
    ]
)
def test_sklearn_compatible_classifier(estimator, check):
    check(estimator)
