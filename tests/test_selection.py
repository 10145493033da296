import math

import numpy as np
import pytest
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

from mixtura import GaussianMixture
from mixtura.datasets import load_faithful
from mixtura.selection import CRITERIA, SelectionTable, select

COVARIANCE_TYPES = ("spherical", "diag", "tied", "full")


@pytest.fixture(scope="module")
def faithful():
    return load_faithful()


@pytest.fixture(scope="module")
def table(faithful):
    return select(faithful, n_components=range(1, 5), random_state=0)


def test_grid_shape_and_records(table):
    assert isinstance(table, SelectionTable)
    assert table.models == COVARIANCE_TYPES
    assert table.n_components == (1, 2, 3, 4)
    assert table.n_samples == 272
    assert len(table) == len(table.records) == 16
    keys = {(r["model"], r["n_components"]) for r in table.records}
    assert keys == {(m, k) for m in COVARIANCE_TYPES for k in range(1, 5)}
    assert not table.missing()


def test_criteria_from_log_likelihood(table):
    n = table.n_samples
    for record in table.records:
        loglik, p = record["log_likelihood"], record["n_parameters"]
        assert record["bic"] == pytest.approx(-2 * loglik + p * math.log(n))
        assert record["aic"] == pytest.approx(-2 * loglik + 2 * p)
        assert record["mclust_bic"] == -record["bic"]


def test_n_parameters_of_full_two_components(table):
    # 1 weight + 2 * 2 means + 2 * 3 covariance entries
    assert table[("full", 2)]["n_parameters"] == 11


@pytest.mark.parametrize("criterion", ["bic", "aic"])
def test_best_is_the_minimum(table, criterion):
    fitted = [r for r in table.records if not r["missing"]]
    smallest = min(fitted, key=lambda r: r[criterion])
    assert table.best(criterion) == (smallest["model"], smallest["n_components"])


def test_mclust_bic_is_maximised_and_agrees_with_bic(table):
    assert table.best("mclust_bic") == table.best("bic")
    assert CRITERIA["mclust_bic"].direction == -1
    assert CRITERIA["bic"].direction == 1


def test_faithful_bic_picks_two_full_components(table):
    assert table.best("bic") == ("full", 2)
    best = table.best_model_
    assert isinstance(best, GaussianMixture)
    assert (best.covariance_type, best.n_components) == ("full", 2)


@pytest.mark.parametrize("covariance_type", ["diag", "tied", "full"])
def test_best_cell_agrees_with_sklearn(faithful, table, covariance_type):
    k = min(
        table.n_components,
        key=lambda k: table.value("bic", covariance_type, k),
    )
    reference = SklearnGaussianMixture(
        k, covariance_type=covariance_type, random_state=0
    ).fit(faithful)
    assert table.value("bic", covariance_type, k) == pytest.approx(
        reference.bic(faithful), rel=1e-6
    )
    assert table[(covariance_type, k)]["log_likelihood"] == pytest.approx(
        reference.score(faithful) * len(faithful), rel=1e-6
    )


def test_failing_cells_are_recorded_as_missing():
    X = np.random.default_rng(0).normal(size=(5, 2))
    table = select(X, n_components=[1, 8], covariance_types=["diag", "full"])
    missing = table.missing()
    assert set(missing) == {("diag", 8), ("full", 8)}
    assert all("n_components" in reason for reason in missing.values())
    record = table[("full", 8)]
    assert record["missing"]
    assert math.isnan(record["bic"])
    assert table.estimator("full", 8) is None
    assert table.best("bic")[1] == 1
    text = table.to_text()
    assert "Missing full, K = 8" in text


@pytest.mark.filterwarnings("ignore:Number of distinct clusters")
def test_singular_covariance_is_recorded_as_missing():
    # two distinct points repeated: K = 3 leaves a component with zero variance,
    # and without regularisation its covariance is singular
    X = np.repeat([[0.0, 0.0], [1.0, 1.0]], 10, axis=0)
    table = select(X, n_components=[3], covariance_types=["full"], reg_covar=0.0)
    assert ("full", 3) in table.missing()
    assert "covariance" in table.missing()[("full", 3)]


def test_all_cells_failing():
    table = select(np.array([[0.0, 0.0], [1.0, 1.0]]), n_components=[5])
    with pytest.raises(ValueError, match="every cell"):
        table.best()
    assert "Best: none" in table.to_text()


def test_to_text_marks_the_best(table):
    text = table.to_text("bic")
    assert "lower is better" in text
    star_lines = [
        line for line in text.splitlines() if "*" in line and "Best" not in line
    ]
    assert len(star_lines) == 1
    assert star_lines[0].split()[0] == "2"
    assert "Best: full, K = 2" in text
    assert str(table) == text
    assert "higher is better" in table.to_text("mclust_bic")


def test_to_pandas(table):
    pd = pytest.importorskip("pandas")
    frame = table.to_pandas()
    assert isinstance(frame, pd.DataFrame)
    assert len(frame) == 16
    assert {"model", "n_components", "bic", "aic", "mclust_bic"} <= set(frame.columns)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_estimator_params_reach_the_fits(faithful):
    table = select(faithful, n_components=[2], covariance_types=["full"], max_iter=1)
    assert table.estimator("full", 2).max_iter == 1
    assert table[("full", 2)]["converged"] is False


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"covariance_types": ["VVV-unknown"]}, "unknown covariance_type"),
        ({"covariance_types": []}, "at least one"),
        ({"n_components": [0, 1]}, "positive integer"),
        ({"n_components": []}, "positive integer"),
        ({"tol": -1.0}, "tol"),
    ],
)
def test_bad_calls_raise(kwargs, match):
    X = np.random.default_rng(0).normal(size=(20, 2))
    with pytest.raises(ValueError, match=match):
        select(X, **kwargs)


def test_unknown_criterion(table):
    with pytest.raises(ValueError, match="unknown criterion"):
        table.best("icl-typo")
