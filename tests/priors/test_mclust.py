"""The conjugate prior of Fraley & Raftery (2007) against R's mclust 6.0.0.

Reference numbers: tests/reference/mclust_faithful_prior.R (R 4.2.2, mclust 6.0.0),
run as `Rscript tests/reference/mclust_faithful_prior.R tests/reference`.
"""

import csv
import math
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from sklearn.utils._param_validation import InvalidParameterError

from mixtura import GaussianMixture, load, save
from mixtura.datasets import load_faithful
from mixtura.families import Gaussian, get_covariance_structure
from mixtura.inference import ArrayData, em_step
from mixtura.mixture import Mixture
from mixtura.priors.mclust import MclustPrior, log_prior, resolve_prior
from mixtura.selection import SelectionTable, select

REFERENCE = Path(__file__).parents[1] / "reference"

#: the models mclust fits with a prior (its meVEE, meEVE, meVVE, meEVV refuse)
SUPPORTED = ("EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE", "EEV", "VEV", "VVV")
UNSUPPORTED = ("VEE", "EVE", "VVE", "EVV")
#: models whose one-step mstepXXX equals the M-step of mclust's EM (meXXX); mclust's
#: mstepEEI, mstepEVI and mstepEEV use other denominators or drop the shrinkage
SAME_MSTEP = ("EII", "VII", "VEI", "VVI", "EEE", "VEV", "VVV", "E", "V")
SAME_MSTEP_NO_SHRINKAGE = (*SAME_MSTEP, "EEV")
#: a tight EM tolerance, as the references were made (mclust: relative 1e-11)
TIGHT = {"reg_covar": 0.0, "tol": 1e-12, "max_iter": 100_000}


@pytest.fixture(scope="module")
def faithful():
    return np.asarray(load_faithful(), dtype=np.float64)


def _data(faithful, model):
    """faithful, or its waiting column for the univariate models."""
    return faithful[:, 1:2] if model in ("E", "V") else faithful


def _starts(model, k):
    """mclust's initial partition at K (labels from 0): hc, or qclass for 1-D."""
    name = (
        "mclust_prior_waiting_starts.csv"
        if model in ("E", "V")
        else "mclust_faithful_hc.csv"
    )
    with open(REFERENCE / name) as handle:
        rows = list(csv.reader(handle))[1:]
    return np.array(rows, dtype=int)[:, k - 1] - 1


def _fits():
    """{(model, G, stage): {(what, k, i, j): value}} from mclust_prior_fits.csv."""
    fits = defaultdict(dict)
    with open(REFERENCE / "mclust_prior_fits.csv") as handle:
        for row in csv.DictReader(handle):
            key = (row["what"], int(row["k"]), int(row["i"]), int(row["j"]))
            value = math.nan if row["value"] == "NA" else float(row["value"])
            fits[(row["model"], int(row["G"]), row["stage"])][key] = value
    return fits


FITS = _fits()


def _reference(model, k, stage, n_features):
    """mclust's weights (K,), means (K, d), covariances (K, d, d), log-likelihood."""
    values = FITS[(model, k, stage)]
    weights = np.array([values[("pro", c, 0, 0)] for c in range(k)])
    means = np.array(
        [[values[("mean", c, i, 0)] for i in range(n_features)] for c in range(k)]
    )
    covariances = np.array(
        [
            [[values[("sigma", c, i, j)] for j in range(n_features)] for i in range(2)]
            for c in range(k)
        ]
        if n_features == 2
        else [[[values[("sigma", c, 0, 0)]]] for c in range(k)]
    )
    return weights, means, covariances, values.get(("loglik", 0, 0, 0), math.nan)


def _one_m_step(X, labels, model, prior):
    """Weights, means and (K, d, d) covariances of one MAP M-step from labels."""
    k = labels.max() + 1
    structure = get_covariance_structure(model)
    template = Gaussian(structure, 0.0, prior=prior)
    stats = template.statistics(X, np.eye(k)[labels])
    mixture = Mixture.from_statistics(template, stats)
    family = mixture.family
    covariances = structure.matrices(family.covariances, k, X.shape[1])
    return mixture.weights, family.means, covariances


# -- defaults --------------------------------------------------------------------------
def _default_rows():
    rows = defaultdict(lambda: defaultdict(list))
    with open(REFERENCE / "mclust_prior_defaults.csv") as handle:
        for row in csv.DictReader(handle):
            key = (row["data"], row["model"], int(row["G"]))
            rows[key][row["what"]].append(float(row["value"]))
    return rows


@pytest.mark.parametrize(("key", "expected"), list(_default_rows().items()))
def test_default_prior_equals_mclusts_defaultPrior(faithful, key, expected):
    data, model, k = key
    X = faithful[:, 1:2] if data == "waiting" else faithful
    prior = MclustPrior.default(X, k, model)
    assert prior.shrinkage == expected["shrinkage"][0]
    assert prior.dof == expected["dof"][0]
    np.testing.assert_allclose(prior.mean, expected["mean"], rtol=1e-13)
    np.testing.assert_allclose(
        np.ravel(prior.scale, order="F"), expected["scale"], rtol=1e-13
    )


# -- one M-step from the same start ------------------------------------------------
@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize("model", SAME_MSTEP)
def test_map_m_step_equals_mclusts_mstep(faithful, model, k):
    X = _data(faithful, model)
    prior = resolve_prior("default", X, k, get_covariance_structure(model))
    weights, means, covariances = _one_m_step(X, _starts(model, k), model, prior)
    ref_weights, ref_means, ref_covariances, _ = _reference(
        model, k, "mstep", X.shape[1]
    )
    np.testing.assert_allclose(weights, ref_weights, rtol=1e-12)
    np.testing.assert_allclose(means, ref_means, rtol=1e-12)
    # VEI and VEV iterate inside the M-step; mclust stops them at sqrt(eps)
    scale = np.abs(ref_covariances).max()
    np.testing.assert_allclose(covariances, ref_covariances, atol=1e-6 * scale)


@pytest.mark.parametrize("model", SAME_MSTEP_NO_SHRINKAGE)
def test_map_m_step_without_shrinkage_equals_mclusts(faithful, model):
    X = _data(faithful, model)
    prior = resolve_prior({"shrinkage": 0}, X, 3, get_covariance_structure(model))
    _, means, covariances = _one_m_step(X, _starts(model, 3), model, prior)
    _, ref_means, ref_covariances, _ = _reference(model, 3, "mstep0", X.shape[1])
    np.testing.assert_allclose(means, ref_means, rtol=1e-12)
    scale = np.abs(ref_covariances).max()
    np.testing.assert_allclose(covariances, ref_covariances, atol=1e-6 * scale)


# -- EM from the same start -------------------------------------------------------
def _em_cases():
    return [
        (model, k)
        for model in (*SUPPORTED, "E", "V")
        for k in (2, 3)
        if not math.isnan(FITS[(model, k, "me")][("loglik", 0, 0, 0)])
    ]


@pytest.mark.parametrize(("model", "k"), _em_cases())
def test_map_em_equals_mclusts_me(faithful, model, k):
    # mclust's me(..., prior = priorControl()) from its own initial partition, run
    # to a relative tolerance of 1e-11 (VEI, 3 has no reference: a component
    # vanishes in mclust's tight run)
    X = _data(faithful, model)
    fitted = GaussianMixture(
        k,
        covariance_type=model,
        prior="default",
        init_params=_starts(model, k),
        **TIGHT,
    ).fit(X)
    weights, means, covariances, loglik = _reference(model, k, "me", X.shape[1])
    assert fitted.score(X) * len(X) == pytest.approx(loglik, abs=1e-5)
    structure = get_covariance_structure(model)
    ours = structure.matrices(fitted.covariances_, k, X.shape[1])
    # both EMs crawl near these optima: the log-likelihoods agree to 1e-5, the
    # parameters to ~1e-4 (the exact comparison is the one-step test above)
    np.testing.assert_allclose(fitted.weights_, weights, atol=1e-4)
    np.testing.assert_allclose(fitted.means_, means, rtol=1e-4)
    np.testing.assert_allclose(ours, covariances, atol=1e-4 * np.abs(covariances).max())


@pytest.mark.parametrize("model", [m for m in SUPPORTED if m != "EEI"] + ["E", "V"])
def test_penalised_log_likelihood_never_decreases(faithful, model):
    # EM with a prior climbs log L + log prior (EEI is excluded: mclust's meEEI
    # keeps the unshrunk means, which is not a MAP step)
    X = _data(faithful, model)
    structure = get_covariance_structure(model)
    prior = resolve_prior("default", X, 3, structure)
    template = Gaussian(structure, 0.0, prior=prior)
    labels = _starts(model, 3)
    mixture = Mixture.from_statistics(
        template, template.statistics(X, np.eye(3)[labels])
    )
    data = ArrayData(X)
    values = []
    for _ in range(40):
        new, mean_log_likelihood = em_step(mixture, data)
        values.append(mean_log_likelihood * len(X) + log_prior(mixture.family, prior))
        mixture = new
    steps = np.diff(values)
    assert (steps >= -1e-9 * np.abs(values[1:])).all(), steps.min()


def test_log_prior_is_the_penalty_of_the_map_step(faithful):
    # one MAP M-step maximises Q + log prior: nudging its covariance lowers it
    X = faithful
    structure = get_covariance_structure("VVV")
    prior = resolve_prior("default", X, 2, structure)
    resp = np.eye(2)[_starts("VVV", 2)]
    best = Gaussian(structure, 0.0, prior=prior).maximize(
        Gaussian(structure, 0.0).statistics(X, resp)
    )

    def objective(family):
        return float(np.sum(resp * family.log_prob(X))) + log_prior(family, prior)

    for factor in (0.99, 1.01):
        nudged = Gaussian(
            structure,
            0.0,
            means=best.means,
            covariances=best.covariances * factor,
        )
        assert objective(nudged) < objective(best)


# -- selection under the prior -------------------------------------------------------
def _mclust_table(name, models):
    with open(REFERENCE / name) as handle:
        rows = list(csv.DictReader(handle))
    return {
        (model, int(row["G"])): math.nan if row[model] == "NA" else float(row[model])
        for row in rows
        for model in models
    }


def _mclust_tolerance(X, model, k, mclust_bic):
    """mclust's stop, ``|change of log L| < 1e-5 (1 + |log L|)``, per sample.

    With a prior EM climbs log L + log prior, not log L, so where EM stops moves
    the reported log-likelihood; the cell's log L is read back from mclust's BIC.
    """
    n_samples, n_features = X.shape
    n_parameters = (
        get_covariance_structure(model).n_parameters(k, n_features)
        + k * n_features
        + k
        - 1
    )
    log_likelihood = (mclust_bic + n_parameters * math.log(n_samples)) / 2
    return 1e-5 * (1 + abs(log_likelihood)) / n_samples


def _grid_from_mclusts_starts(X, reference):
    """A selection table fitted cell by cell from mclust's partitions."""
    cells = []
    for (model, k), expected in reference.items():
        tol = 1e-8 if math.isnan(expected) else _mclust_tolerance(X, model, k, expected)
        table = select(
            X,
            [k],
            [model],
            prior="default",
            init_params=_starts(model, k),
            reg_covar=0.0,
            tol=tol,
            max_iter=20_000,
        )
        cells.append(table._cells[(model, k)])
    return SelectionTable(cells, n_samples=len(X), criterion="mclust_bic")


def _compare(table, reference):
    differences, missing = {}, []
    for key, expected in reference.items():
        ours = table.value("mclust_bic", *key)
        if math.isnan(expected) or math.isnan(ours):
            missing.append((key, expected, ours))
        else:
            differences[key] = ours - expected
    higher = {key: round(d, 3) for key, d in differences.items() if d > 0.5}
    lower = {key: round(d, 3) for key, d in differences.items() if d < -0.5}
    print(f"\nmax |ours - mclust| = {max(map(abs, differences.values())):.4f}")
    print(f"cells higher than mclust's by more than 0.5: {higher}")
    print(f"cells lower by more than 0.5: {lower}")
    return differences, missing, lower


def test_univariate_bic_table_matches_mclusts(faithful):
    # mclustBIC(faithful$waiting, G = 1:5, prior = priorControl()), from mclust's
    # quantile starts and with its stopping rule
    X = faithful[:, 1:2]
    reference = _mclust_table("mclust_prior_waiting_bic.csv", ("E", "V"))
    table = _grid_from_mclusts_starts(X, reference)
    differences, missing, _ = _compare(table, reference)
    assert not missing
    assert max(map(abs, differences.values())) < 0.5


@pytest.mark.slow
def test_bic_table_under_the_prior_matches_mclusts(faithful):
    # mclustBIC(faithful, G = 1:9, prior = priorControl()): from mclust's
    # partitions and with its stopping rule, every cell is matched within 0.5
    # (measured 2026-11-25: within 0.11, none higher; with a tight tolerance 20
    # cells end higher and EVI,5 and EEI,6 lower by 0.8 and 0.7, as EM with a
    # prior climbs log L + log prior). The four models without a prior are
    # missing on both sides.
    reference = _mclust_table("mclust_prior_bic.csv", (*SUPPORTED, *UNSUPPORTED))
    table = _grid_from_mclusts_starts(faithful, reference)
    differences, missing, lower = _compare(table, reference)
    assert not lower
    assert max(map(abs, differences.values())) < 0.5
    assert len(differences) == len(SUPPORTED) * 9
    assert {key[0] for key, _, _ in missing} == set(UNSUPPORTED)
    assert all(math.isnan(ours) for _, _, ours in missing)


def test_select_passes_the_prior_to_every_cell(faithful):
    table = select(faithful, [1, 2], ["VVV", "EII", "VEE"], prior="default")
    for k in (1, 2):
        for model in ("VVV", "EII"):
            estimator = table.estimator(model, k)
            assert estimator.prior == "default"
            assert isinstance(estimator.prior_, MclustPrior)
        assert "no conjugate prior" in table.missing()[("VEE", k)]


# -- API, errors, model files ----------------------------------------------------------
def test_no_prior_is_maximum_likelihood(faithful):
    plain = GaussianMixture(2, covariance_type="VEV", random_state=0).fit(faithful)
    none = GaussianMixture(2, covariance_type="VEV", random_state=0, prior=None)
    none.fit(faithful)
    assert none.prior_ is None
    np.testing.assert_array_equal(plain.covariances_, none.covariances_)
    np.testing.assert_array_equal(plain.means_, none.means_)


def test_dict_overrides_the_default(faithful):
    fitted = GaussianMixture(
        2, covariance_type="VVV", prior={"shrinkage": 0.5, "dof": 7}, random_state=0
    ).fit(faithful)
    default = MclustPrior.default(faithful, 2, "VVV")
    assert fitted.prior_.shrinkage == 0.5
    assert fitted.prior_.dof == 7
    np.testing.assert_array_equal(fitted.prior_.scale, default.scale)
    np.testing.assert_array_equal(fitted.prior_.mean, default.mean)


@pytest.mark.parametrize(
    ("model", "prior", "match"),
    [
        ("VVV", {"shrinkage": -1.0}, "shrinkage must be >= 0"),
        ("VVV", {"dof": 1.0}, "dof must exceed n_features - 1 = 1"),
        ("VVV", {"dof": math.nan}, "dof must be finite"),
        ("VVV", {"scale": [[1.0, 2.0], [2.0, 1.0]]}, "positive definite"),
        ("VVV", {"scale": [[1.0, 0.5], [0.0, 1.0]]}, "symmetric"),
        ("VVV", {"scale": np.eye(3)}, r"must be a \(2, 2\) matrix"),
        ("VVV", {"scale": 2.0}, r"must be a \(2, 2\) matrix"),
        ("VII", {"scale": np.eye(2)}, "one positive number"),
        ("VVI", {"scale": -1.0}, "one positive number"),
        ("VVV", {"mean": [1.0, 2.0, 3.0]}, "prior mean must be 2 finite numbers"),
        ("VVV", {"shrink": 0.1}, r"unknown prior entries \['shrink'\]"),
        ("VEE", "default", "no conjugate prior"),
        ("EVV", {"dof": 5}, "mclust offers none for VEE, EVE, VVE and EVV"),
    ],
)
def test_bad_priors_raise_clear_errors(faithful, model, prior, match):
    with pytest.raises(ValueError, match=match):
        GaussianMixture(2, covariance_type=model, prior=prior).fit(faithful)


def test_a_prior_of_the_wrong_type_is_refused(faithful):
    with pytest.raises(InvalidParameterError, match="prior"):
        GaussianMixture(2, prior="mclust").fit(faithful)


def test_a_family_refuses_a_prior_for_a_model_without_one(faithful):
    prior = MclustPrior.default(faithful, 2, "VVV")
    with pytest.raises(ValueError, match="no conjugate prior"):
        Gaussian("EVE", prior=prior)


def test_sklearn_names_take_their_mclust_twins_rules(faithful):
    for name, twin in (("full", "VVV"), ("tied", "EEE"), ("diag", "VVI")):
        kwargs = {"prior": "default", "init_params": _starts("VVV", 3), **TIGHT}
        ours = GaussianMixture(3, covariance_type=name, **kwargs).fit(faithful)
        theirs = GaussianMixture(3, covariance_type=twin, **kwargs).fit(faithful)
        assert ours.score(faithful) == pytest.approx(theirs.score(faithful), rel=1e-9)


@pytest.mark.parametrize("prior", ["default", {"shrinkage": 0.05, "dof": 5.0}])
def test_prior_survives_save_and_load(faithful, tmp_path, prior):
    fitted = GaussianMixture(2, covariance_type="VEV", prior=prior, random_state=0)
    fitted.fit(faithful)
    path = tmp_path / "model.mixtura"
    save(fitted, path)
    loaded = load(path)
    assert loaded.get_params()["prior"] == prior
    np.testing.assert_array_equal(loaded.predict(faithful), fitted.predict(faithful))
    refitted = loaded.set_params(random_state=0).fit(faithful)
    np.testing.assert_allclose(refitted.means_, fitted.means_, rtol=1e-10)
