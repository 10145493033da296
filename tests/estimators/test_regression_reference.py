"""MixtureRegression and MixtureOfExperts against R's flexmix and mixtools.

References: ``tests/reference/flexmix_regression.R`` (regenerate with
``Rscript tests/reference/flexmix_regression.R tests/reference``; R 4.2.2,
flexmix 2.3-18, mixtools 2.0.0) on flexmix's ``NPreg``, mixtools' ``CO2data``
and a simulated gated data set, each from flexmix's best of 20 restarts.
flexmix's Gaussian M-step scales the maximum-likelihood variance by
``N / (N - rank)`` (``README_regression.md`` quotes its source), so its fixed
point is not the maximum: mixtura maximises the likelihood exactly, so it must
reach at least flexmix's log-likelihood and match the script's exact-ML EM
(``ml_refit``, run from flexmix's posterior to a relative parameter change of
1e-12) and mixtools' ``regmixEM`` (which uses the ML variance). Each fit here
starts from flexmix's hard partition.
"""

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from mixtura import MixtureOfExperts, MixtureRegression
from mixtura.exceptions import ConvergenceWarning

REFERENCE = Path(__file__).parents[1] / "reference"
FITS = json.loads((REFERENCE / "flexmix_regression.json").read_text())["fits"]


def _table(name):
    return np.genfromtxt(
        REFERENCE / name, delimiter=",", names=True, dtype=None, encoding="utf-8"
    )


def _start(fit):
    return np.asarray(fit["cluster"]) - 1  # R's clusters count from 1


def _matching(ours, theirs):
    """Our coefficient columns in the reference's component order."""
    order = [int(np.argmin(np.abs(ours - column).sum(axis=1))) for column in theirs]
    assert sorted(order) == list(range(len(order)))
    return order


def _fit(estimator, X, y, start, **options):
    model = estimator(2, init_params=start, tol=1e-13, max_iter=5000, **options)
    return model.fit(X, y)


def test_npreg_gaussian_reaches_the_exact_maximum():
    data = _table("npreg.csv")
    fit = FITS["npreg_gaussian"]
    X = np.column_stack([data["x"], data["x"] ** 2])
    model = _fit(MixtureRegression, X, data["yn"], _start(fit))
    log_likelihood = model.score_samples(X, data["yn"]).sum()
    # flexmix -642.5451664, the exact maximum -642.5320137
    assert log_likelihood > fit["loglik"] + 0.01
    assert log_likelihood == pytest.approx(fit["ml_refit"]["loglik"], abs=1e-8)
    theirs = np.asarray(fit["ml_refit"]["coefficients"]).T  # (k, terms)
    ours = np.column_stack([model.intercept_, model.coef_])
    order = _matching(ours, theirs)
    np.testing.assert_allclose(ours[order], theirs, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(
        np.sqrt(model.noise_covariances_[order, 0, 0]),
        fit["ml_refit"]["sigma"],
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        model.weights_[order], fit["ml_refit"]["prior"], rtol=1e-6
    )
    assert model._n_parameters() == fit["ml_refit"]["df"]
    assert model.bic(X, data["yn"]) == pytest.approx(fit["ml_refit"]["bic"], rel=1e-9)


def test_npreg_poisson_matches_flexmix():
    data = _table("npreg.csv")
    fit = FITS["npreg_poisson"]
    X = data["x"][:, None]
    model = _fit(MixtureRegression, X, data["yp"], _start(fit), expert="poisson")
    log_likelihood = model.score_samples(X, data["yp"]).sum()
    # flexmix's Poisson M-step is a full weighted glm.fit: its fixed point is
    # the maximum up to glm's epsilon (6e-8 below the exact one)
    assert log_likelihood >= fit["loglik"] - 1e-9
    assert log_likelihood == pytest.approx(fit["ml_refit"]["loglik"], abs=1e-8)
    theirs = np.asarray(fit["ml_refit"]["coefficients"]).T
    ours = np.column_stack([model.intercept_, model.coef_])
    order = _matching(ours, theirs)
    np.testing.assert_allclose(ours[order], theirs, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(
        model.weights_[order], fit["ml_refit"]["prior"], rtol=1e-5
    )


def test_npreg_binomial_reaches_flexmixs_likelihood():
    # one Bernoulli trial per row: no finite maximum (flexmix's coefficients
    # run to hundreds); from flexmix's partition mixtura must explain the data
    # at least as well
    data = _table("npreg.csv")
    fit = FITS["npreg_binomial"]
    X = data["x"][:, None]
    model = MixtureRegression(
        2, expert="logistic", init_params=_start(fit), tol=1e-10, max_iter=3000
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # it never settles
        model.fit(X, data["yb"])
    assert model.score_samples(X, data["yb"]).sum() >= fit["loglik"] - 1e-3


def test_co2data_matches_mixtools_regmixem():
    data = _table("co2data.csv")
    fit = FITS["co2_regmixEM"]
    X = data["GNP"][:, None]
    start = np.argmax(np.asarray(fit["posterior"]), axis=1)
    model = _fit(MixtureRegression, X, data["CO2"], start)
    log_likelihood = model.score_samples(X, data["CO2"]).sum()
    # regmixEM -66.9397677928 (ML variance); flexmix -66.9837346196
    assert log_likelihood == pytest.approx(fit["loglik"], abs=1e-8)
    assert log_likelihood > FITS["co2_flexmix"]["loglik"] + 0.01
    # regmixEM stops at a change of 1e-10: its parameters agree to about 1e-6,
    # the exact-ML EM from its posterior (ml_refit) to rounding
    refit = fit["ml_refit"]
    theirs = np.asarray(refit["coefficients"]).T
    ours = np.column_stack([model.intercept_, model.coef_])
    order = _matching(ours, theirs)
    np.testing.assert_allclose(ours[order], theirs, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(ours[order], np.asarray(fit["beta"]).T, rtol=1e-5)
    np.testing.assert_allclose(
        np.sqrt(model.noise_covariances_[order, 0, 0]), refit["sigma"], rtol=1e-6
    )
    np.testing.assert_allclose(model.weights_[order], refit["prior"], rtol=1e-6)


def test_gated_experts_match_flexmix_concomitant_model():
    data = _table("moe_sim.csv")
    fit = FITS["moe_concomitant"]
    X = data["x"][:, None]
    model = _fit(MixtureOfExperts, X, data["y"], _start(fit))
    log_likelihood = model.score_samples(X, data["y"]).sum()
    # flexmix -609.6792021 (sigma inflated, gate by nnet), exact -609.6769627
    assert log_likelihood >= fit["loglik"]
    assert log_likelihood == pytest.approx(fit["ml_refit"]["loglik"], abs=1e-4)
    theirs = np.asarray(fit["ml_refit"]["coefficients"]).T
    ours = np.column_stack([model.intercept_, model.coef_])
    order = _matching(ours, theirs)
    np.testing.assert_allclose(ours[order], theirs, rtol=1e-4, atol=1e-5)
    # the gate's logit of the second component against the first
    gate = (
        np.concatenate([[0.0], model.gate_intercept_]),
        np.concatenate([[0.0], model.gate_coef_[0]]),
    )
    logit = np.array(
        [gate[0][order[1]] - gate[0][order[0]], gate[1][order[1]] - gate[1][order[0]]]
    )
    np.testing.assert_allclose(
        logit, np.asarray(fit["ml_refit"]["concomitant"])[:, 1], rtol=1e-4, atol=1e-5
    )
    without_gate = _fit(
        MixtureRegression, X, data["y"], _start(FITS["moe_no_concomitant"])
    )
    constant = without_gate.score_samples(X, data["y"]).sum()
    assert constant == pytest.approx(
        FITS["moe_no_concomitant"]["ml_refit"]["loglik"], abs=1e-6
    )
    assert log_likelihood > constant + 100
