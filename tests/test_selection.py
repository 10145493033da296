import csv
import math
from pathlib import Path

import numpy as np
import pytest
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

from mixtura import GaussianMixture, selection
from mixtura.datasets import load_faithful
from mixtura.inference import parallel
from mixtura.selection import CRITERIA, SelectionTable, _split_labels, select

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


# -- mclust's models and criteria -----------------------------------------------------
# Reference numbers: tests/reference/mclust_faithful.R (R 4.2.2, mclust 6.0.0),
# run as `Rscript tests/reference/mclust_faithful.R tests/reference`.
REFERENCE = Path(__file__).parent / "reference"
MCLUST_MODELS = (
    "EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE",
    "VEE", "EVE", "VVE", "EEV", "VEV", "EVV", "VVV",
)  # fmt: skip
# a tight EM tolerance (mclust stops at a relative change of 1e-5 of log L)
MCLUST_FIT = {"reg_covar": 0.0, "tol": 1e-6, "max_iter": 5000}


def _mclust_bic_table():
    """mclust's BIC (higher is better): {(model, K): value or NaN}."""
    with open(REFERENCE / "mclust_faithful_bic.csv") as handle:
        rows = list(csv.DictReader(handle))
    return {
        (model, int(row["G"])): float(row[model]) if row[model] != "NA" else math.nan
        for row in rows
        for model in MCLUST_MODELS
    }


def _mclust_partitions():
    """mclust's initial partitions (its hc) for K = 1..9, labels from 0."""
    with open(REFERENCE / "mclust_faithful_hc.csv") as handle:
        rows = list(csv.reader(handle))[1:]
    labels = np.array(rows, dtype=int) - 1
    return {k: labels[:, k - 1] for k in range(1, 10)}


def _compare(table, reference):
    """Differences ours - mclust per cell; missing cells on either side apart."""
    differences, missing = {}, []
    for key, expected in reference.items():
        ours = table.value("mclust_bic", *key)
        if math.isnan(expected) or math.isnan(ours):
            missing.append((key, expected, ours))
        else:
            differences[key] = ours - expected
    return differences, missing


def _report(differences, missing, what):
    higher = {key: round(d, 3) for key, d in differences.items() if d > 0.5}
    lower = {key: round(d, 3) for key, d in differences.items() if d < -0.5}
    print(f"\n{what}: max |ours - mclust| = {max(map(abs, differences.values())):.3f}")
    print(f"{len(higher)} cells higher than mclust's by more than 0.5: {higher}")
    print(f"{len(lower)} cells lower by more than 0.5: {lower}")
    print(f"missing cells (mclust NA or failed here): {missing}")
    return lower


@pytest.mark.slow
def test_every_mclust_cell_is_matched_from_mclusts_own_partitions(faithful):
    # From mclust's initial partitions, mixtura's EM and M-steps reach every one of
    # the 14 x 9 optima mclust reports, or a higher likelihood (mclust stops EM at
    # a relative change of 1e-5, and its VEV/VEE/EVE/VVE inner iterations early).
    reference = _mclust_bic_table()
    partitions = _mclust_partitions()
    cells = []
    X = np.asarray(faithful)
    for model in MCLUST_MODELS:
        for k in range(1, 10):
            table = select(X, [k], [model], init_params=partitions[k], **MCLUST_FIT)
            cells.append(table._cells[(model, k)])
    table = SelectionTable(cells, n_samples=len(X), criterion="mclust_bic")
    differences, missing = _compare(table, reference)
    lower = _report(differences, missing, "from mclust's partitions")
    assert not lower
    assert not [cell for cell in missing if not math.isnan(cell[1])]


@pytest.fixture(scope="module")
def mclust_grid(faithful):
    # select's defaults for a grid of mclust's models (MCLUST_GRID_DEFAULTS: one
    # start per cell from mclust's own hierarchy, no ridge, mclust's convergence
    # rule: a relative change of 1e-5 of the total log-likelihood)
    return select(faithful, range(1, 10), "mclust", "mclust_bic")


@pytest.mark.slow
def test_faithful_best_model_is_mclusts(mclust_grid):
    # mclust: EEE, 3 components, BIC -2314.316, log L -1126.326, 11 parameters
    # (log L -1126.316 when mclust's EM is run to a tight tolerance, see
    # mclust_faithful_info.txt); mixtura, with mclust's convergence rule from
    # mclust's start, stops between the two (-1126.322)
    assert mclust_grid.best() == ("EEE", 3)
    best = mclust_grid[("EEE", 3)]
    assert best["n_parameters"] == 11
    assert best["mclust_bic"] == pytest.approx(-2314.316, abs=0.05)
    assert best["log_likelihood"] == pytest.approx(-1126.3159, abs=0.01)
    assert best["log_likelihood"] >= -1126.326
    summary = mclust_grid.summary()
    assert summary.splitlines()[1].split()[0] == "EEE,3"
    assert len(summary.splitlines()) == 4


@pytest.mark.slow
def test_faithful_grid_from_mixturas_own_starts(mclust_grid):
    # mixtura's own starts against mclust's table: every one of the 126 cells
    # reaches mclust's BIC (within 0.5) or higher. mixtura's hierarchy is
    # mclust's merge for merge (tests/inference/test_hierarchical.py), so each
    # cell starts where mclust's does; before it was (when ties were broken
    # otherwise) the hc partitions alone left cells lower (EVV,8 by 1.22), and
    # the grid needed k-means starts and refits from splits, six times slower.
    for k, labels in _mclust_partitions().items():
        assert np.array_equal(mclust_grid.estimator("VVV", k).init_params, labels)
    differences, missing = _compare(mclust_grid, _mclust_bic_table())
    lower = _report(differences, missing, "from mixtura's starts")
    assert not missing
    assert not lower


def test_icl_is_bic_plus_twice_the_log_max_responsibilities(faithful):
    table = select(faithful, [2, 3], ["VEV", "EEE"], random_state=0)
    for model in ("VEV", "EEE"):
        for k in (2, 3):
            estimator = table.estimator(model, k)
            log_max = np.sum(np.log(estimator.predict_proba(faithful).max(axis=1)))
            record = table[(model, k)]
            assert record["mclust_icl"] == pytest.approx(
                record["mclust_bic"] + 2 * log_max, rel=1e-10
            )
            assert record["icl"] == -record["mclust_icl"]
            assert record["mclust_icl"] <= record["mclust_bic"]


def test_icl_matches_mclusts_icl_on_its_best_model(faithful):
    # reference: icl(Mclust(faithful, G = 3, modelNames = "EEE")) from R
    with open(REFERENCE / "mclust_faithful_cells.csv") as handle:
        row = next(
            r for r in csv.DictReader(handle) if r["model"] == "EEE" and r["G"] == "3"
        )
    table = select(
        faithful, [3], ["EEE"], init_params=_mclust_partitions()[3], **MCLUST_FIT
    )
    # mclust stops EM earlier (relative change 1e-5): its BIC is 0.02 lower and
    # the entropy term, more sensitive, moves ICL by 0.46; the entropy term itself
    # is 44, so a wrong definition would miss by far more than the tolerance
    assert table.value("mclust_bic", "EEE", 3) == pytest.approx(
        float(row["bic"]), abs=0.05
    )
    assert table.value("mclust_icl", "EEE", 3) == pytest.approx(
        float(row["icl"]), abs=0.75
    )


def test_models_alias_and_mclust_shorthand(faithful):
    table = select(faithful, [1], "mclust")
    assert table.models == MCLUST_MODELS
    assert select(faithful, [1], models=["VEV"]).models == ("VEV",)
    assert select(faithful, [1], covariance_types=["VEV"]).models == ("VEV",)
    with pytest.raises(ValueError, match="alias"):
        select(faithful, [1], models=["VEV"], covariance_types=["EEE"])
    univariate = select(np.asarray(faithful)[:, :1], [1, 2], "mclust")
    assert univariate.models == ("E", "V")


def test_multivariate_model_on_one_feature_is_a_missing_cell_with_the_reason():
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(size=(20, 1)), rng.normal(6.0, 1.0, (20, 1))])
    table = select(X, [1, 2], ["VEV", "V"])
    assert set(table.missing()) == {("VEV", 1), ("VEV", 2)}
    assert "use 'E'" in table.missing()[("VEV", 2)]
    assert not math.isnan(table.value("bic", "V", 2))


def test_table_criterion_sets_the_default_direction(faithful):
    table = select(faithful, [1, 2, 3], ["EEE", "VVV"], "mclust_icl")
    assert table.criterion == "mclust_icl"
    assert table.best() == table.best("icl")
    assert "higher is better" in table.to_text()
    with pytest.raises(ValueError, match="unknown criterion"):
        select(faithful, [1], ["EEE"], "bic-typo")


def test_to_pandas_has_icl_columns(faithful):
    pytest.importorskip("pandas")
    frame = select(faithful, [1, 2], ["EEE"]).to_pandas()
    assert {"icl", "mclust_icl", "log_likelihood", "n_parameters"} <= set(frame)


def test_share_partitions_never_lowers_a_cell(faithful):
    plain = select(faithful, [3, 4], ["VEV", "EVE", "EEE"], random_state=1)
    shared = select(
        faithful, [3, 4], ["VEV", "EVE", "EEE"], random_state=1, share_partitions=2
    )
    for record in plain.records:
        key = (record["model"], record["n_components"])
        assert shared[key]["log_likelihood"] >= record["log_likelihood"] - 1e-9


def test_refit_from_splits_never_lowers_a_cell(faithful):
    plain = select(faithful, [2, 3, 4], ["VEV", "EII"], random_state=1)
    split = select(
        faithful, [2, 3, 4], ["VEV", "EII"], random_state=1, refit_from_splits=True
    )
    for record in plain.records:
        key = (record["model"], record["n_components"])
        assert split[key]["log_likelihood"] >= record["log_likelihood"] - 1e-9
    # the grid's smallest K has no fit at K - 1 to split: it is kept as fitted
    assert split[("VEV", 2)]["log_likelihood"] == plain[("VEV", 2)]["log_likelihood"]


def test_split_labels_split_each_cluster_and_keep_noise():
    Z = np.array([[0.0, 0], [0, 1], [5, 5], [5, 6], [9, 9], [1, 0]])
    labels = np.array([0, 0, 1, 1, -1, 0])
    partitions = _split_labels(Z, labels, 0)
    assert len(partitions) == 2
    for split in partitions:
        assert split[4] == -1
        assert set(np.unique(split)) == {-1, 0, 1, 2}
        # each new cluster lies inside one old cluster
        assert len(np.unique(labels[split == 2])) == 1


def test_parallel_grid_equals_the_sequential_one(faithful):
    sequential = select(faithful, [1, 2], ["EEE", "VII"], n_jobs=1)
    parallel = select(faithful, [1, 2], ["EEE", "VII"], n_jobs=2)
    for record in sequential.records:
        key = (record["model"], record["n_components"])
        # worker processes run their BLAS on one thread, this one on several:
        # products may round differently in the last digit
        assert parallel[key]["log_likelihood"] == pytest.approx(
            record["log_likelihood"], rel=1e-12
        )


def test_parallel_refit_from_splits_equals_the_sequential_one(faithful):
    grid = {"n_components": [1, 2, 3], "models": ["EEE", "VII"], "random_state": 0}
    sequential = select(faithful, **grid, refit_from_splits=True, n_jobs=1)
    parallel = select(faithful, **grid, refit_from_splits=True, n_jobs=2)
    for record in sequential.records:
        key = (record["model"], record["n_components"])
        # worker processes run their BLAS on one thread, this one on several:
        # products may round differently in the last digit
        assert parallel[key]["log_likelihood"] == pytest.approx(
            record["log_likelihood"], rel=1e-12
        )


def _workers_used(monkeypatch):
    used = []
    original = selection.parallel_map

    def recording(function, tasks, n_workers, serial_seconds=0.0, costs=None):
        used.append(n_workers)
        return original(function, tasks, n_workers, serial_seconds, costs)

    monkeypatch.setattr(selection, "parallel_map", recording)
    return used


def test_mclust_grid_by_default_runs_on_every_cpu_and_equals_one_process(
    faithful, monkeypatch
):
    used = _workers_used(monkeypatch)
    default = select(faithful, range(1, 10), "mclust")
    expected = parallel.worker_count(-1, 126, 1) if parallel._forks() else 1
    assert used == [expected]
    sequential = select(faithful, range(1, 10), "mclust", n_jobs=1)
    assert used[-1] == 1
    for record in sequential.records:
        key = (record["model"], record["n_components"])
        assert default[key]["missing"] == record["missing"]
        if not record["missing"]:
            assert default[key]["bic"] == pytest.approx(record["bic"], rel=1e-12)
            assert default[key]["converged"] == record["converged"]


def test_a_small_grid_or_a_shared_generator_stays_in_one_process(faithful, monkeypatch):
    used = _workers_used(monkeypatch)
    select(faithful[:50], [1, 2], ["EEE", "VII"])  # 200 rows fitted: too little
    select(faithful, range(1, 10), "mclust", random_state=np.random.RandomState(0))
    assert used == [1, 1]


@pytest.mark.parametrize("n_jobs", [0, 2.5])
def test_a_bad_n_jobs_is_refused_before_any_fit(faithful, n_jobs):
    with pytest.raises(ValueError, match="n_jobs must be"):
        select(faithful, [1, 2], ["EEE"], n_jobs=n_jobs)


def test_cells_equal_direct_fits_with_their_seed_and_several_starts(faithful):
    # the grid runs each K's k-means starts once for all models
    # (init.shared_kmeans); every cell must still be the direct fit
    grid = select(faithful, n_components=[2, 3], random_state=3, n_init=2)
    for covariance_type in COVARIANCE_TYPES:
        for k in (2, 3):
            direct = GaussianMixture(
                k, covariance_type=covariance_type, random_state=3, n_init=2
            ).fit(faithful)
            assert grid[(covariance_type, k)]["log_likelihood"] == pytest.approx(
                direct.score(faithful) * len(faithful), rel=1e-12
            )


def test_a_given_tol_on_an_mclust_grid_keeps_the_absolute_reading(faithful):
    # mclust's relative rule is a default that comes with mclust's tolerance; a
    # caller's tol is read as GaussianMixture reads it unless tol_mode is given
    own = select(faithful, [2], ["VVV"], tol=1e-4)
    assert own.estimator("VVV", 2).tol_mode == "absolute"
    default = select(faithful, [2], ["VVV"])
    assert default.estimator("VVV", 2).tol_mode == "relative"
    assert default.estimator("VVV", 2).tol == 1e-5
    relative = select(faithful, [2], ["VVV"], tol=1e-4, tol_mode="relative")
    assert relative.estimator("VVV", 2).tol_mode == "relative"


def test_select_with_partial_labels_fits_each_cell_semi_supervised():
    rng = np.random.RandomState(0)
    X = np.vstack([rng.normal(0, 1, (150, 2)), rng.normal(4, 1, (150, 2))])
    labels = np.full(300, -1)
    labels[:10], labels[150:160] = 1, 0  # the labelled rows fix the order
    table = select(X, [1, 2, 3], models=["full", "diag"], y=labels)
    # K=1 cannot hold label 1: a missing cell, with the estimator's reason
    assert table.value("bic", "full", 1) != table.value("bic", "full", 1)  # NaN
    assert "label" in table.records[0]["error"].lower()
    assert table.best("bic")[1] == 2
    cell = table.estimator("full", 2)
    direct = GaussianMixture(2, covariance_type="full", random_state=0).fit(X, labels)
    np.testing.assert_allclose(cell.means_, direct.means_)
    assert cell.means_[1, 0] < 2 < cell.means_[0, 0]
    assert table.value("bic", "full", 2) == pytest.approx(direct.bic(X))
