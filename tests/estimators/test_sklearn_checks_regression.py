"""scikit-learn's estimator checks for the regression estimators.

The mixtures of regressions and of experts are regressors whose ``score`` is
the mean conditional log-likelihood and whose ``score_samples`` needs y (the
conditional density of y given x), as issue 16 specifies; the checks that
assume R^2, ``score_samples(X)`` or no ``predict_proba`` on a regressor are
expected to fail, each with its reason.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from mixtura.estimators import CONDITIONAL_ESTIMATORS

_SCORE_IS_LOG_LIKELIHOOD = (
    "score is the mean conditional log-likelihood (issue 16), not R^2, so it "
    "need not exceed 0.5"
)
_SCORE_SAMPLES_NEEDS_Y = (
    "score_samples is log p(y | x): it needs y, which the check does not pass"
)
_MEMBERSHIP_PROBABILITIES = (
    "predict_proba gives the experts' membership probabilities (issue 16), "
    "which the check forbids on a regressor"
)
EXPECTED_FAILED_CHECKS = {
    "check_regressors_train": _SCORE_IS_LOG_LIKELIHOOD,
    "check_methods_sample_order_invariance": _SCORE_SAMPLES_NEEDS_Y,
    "check_methods_subset_invariance": _SCORE_SAMPLES_NEEDS_Y,
    "check_regressors_no_decision_function": _MEMBERSHIP_PROBABILITIES,
}


# One expert, as the Gaussian mixture's checks use one component: the checks'
# data have no mixture structure, and check_sample_weight_equivalence compares
# fits from the k-means starts of weighted and of repeated rows, which differ
# (test_regression.py compares them from one start, with two experts)
@parametrize_with_checks(
    [cls(n_components=1, random_state=0) for cls in CONDITIONAL_ESTIMATORS.values()],
    expected_failed_checks=lambda estimator: EXPECTED_FAILED_CHECKS,
)
def test_sklearn_compatible_regressor(estimator, check):
    check(estimator)
